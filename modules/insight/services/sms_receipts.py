"""SMS delivery receipts: "sent" (Arkesel accepted the message) is not "delivered" (the handset has it).

When PUBLIC_URL is set, each message goes to Arkesel with a callback URL on the hub,
`<PUBLIC_URL>/api/sms/receipts/<sms id>?token=<token>`, where the token is the hub's signature of the SMS id
(HMAC-SHA256 under SECRET_KEY: the first key signs, any key of the list verifies, so keys can be rotated).
Only a caller holding that URL, Arkesel, can report on the message. A receipt names one of the message's
Arkesel ids and its status; the last receipt of each id is kept, a final one for good, and the message's
state is computed again (`sms_delivery`).
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from flask import current_app
from itsdangerous import Signer

from modules.core import audit
from modules.core.auth import configured_keys
from modules.core.extensions import db
from modules.core.types import utcnow
from modules.insight.models import SmsMessage
from modules.insight.services.common import not_found
from modules.insight.services.sms_delivery import locked, outcome, settle

RECEIPTS_PATH = "/api/sms/receipts"
SALT = "insight.sms-receipt"


def _signer() -> Signer:
    # itsdangerous signs with the last key and verifies with all; SECRET_KEY lists the newest first.
    return Signer(list(reversed(configured_keys("SECRET_KEY_LIST"))), salt=SALT, digest_method=hashlib.sha256)


def receipt_token(sms_id: str) -> str:
    """The token of the message's callback URL: the hub's signature of its id (URL-safe)."""
    return _signer().get_signature(sms_id).decode()


def token_is_valid(sms_id: str, token: str | None) -> bool:
    """Whether `token` is the hub's signature of `sms_id` under one of the SECRET_KEY keys."""
    return bool(token) and _signer().verify_signature(sms_id, token)


def callback_url(sms_id: str) -> str | None:
    """Where Arkesel reports the message's delivery; None when PUBLIC_URL is not set (no receipts asked for)."""
    public_url = str(current_app.config.get("PUBLIC_URL") or "").strip().rstrip("/")
    if not public_url:
        return None
    return f"{public_url}{RECEIPTS_PATH}/{sms_id}?{urlencode({'token': receipt_token(sms_id)})}"


def record_receipt(sms_id: str, arkesel_id: str, status: str, reason: str | None, actor: str) -> None:
    """Keep Arkesel's receipt of one of a message's Arkesel ids (the callback token was checked) and store
    the message's new state. NotFound when the message is unknown, or when `arkesel_id` is not one of its
    ids and it already keeps as many receipts of other ids as it has recipients. The final receipt of an id
    is kept for good: a later one (a repeat, a late SENT) changes nothing, and neither does the same
    receipt twice."""
    sms = locked(sms_id)
    if sms is None:
        db.session.rollback()
        raise not_found("SMS message")
    if not _may_keep(sms, arkesel_id):
        db.session.rollback()
        raise not_found("Arkesel message of this SMS")
    kept, status = sms.receipts.get(arkesel_id), status.strip().upper()
    if kept and (outcome(kept["status"]) != "waiting" or (kept["status"], kept["reason"]) == (status, reason)):
        db.session.rollback()
        return
    sms.receipts = {**sms.receipts, arkesel_id: {"status": status, "reason": reason, "at": utcnow().isoformat()}}
    settle(sms)
    audit.record("insight", "sms.receipt", actor=actor, subject_id=sms.id,
                 details={"receipt": status, "status": sms.status})
    db.session.commit()


def _may_keep(sms: SmsMessage, arkesel_id: str) -> bool:
    """Whether a receipt of `arkesel_id` may be kept: one of the message's ids, an id already kept, or, while
    the message keeps fewer receipts of unmatched ids than it has recipients, a new one (a receipt may come
    before the worker has stored the ids Arkesel answered the send with; the bound keeps what a holder of
    the callback URL can store in proportion to the message)."""
    sent_ids = set(sms.provider_ids.values())
    if arkesel_id in sent_ids or arkesel_id in sms.receipts:
        return True
    return sum(1 for known in sms.receipts if known not in sent_ids) < len(sms.recipients)

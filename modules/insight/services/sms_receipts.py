"""SMS delivery receipts: "sent" (Arkesel accepted the message) is not "delivered" (the handset has it).

When PUBLIC_URL is set, each message goes to Arkesel with a callback URL on the hub,
`<PUBLIC_URL>/api/sms/receipts/<sms id>?token=<token>`, where the token is the hub's signature of the SMS id
(HMAC-SHA256 under SECRET_KEY: the first key signs, any key of the list verifies, so keys can be rotated).
Only a caller holding that URL, Arkesel, can report on the message. A receipt names one of the message's
Arkesel ids and its status; the last receipt of each recipient is kept, a final one for good.
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

RECEIPTS_PATH = "/api/sms/receipts"
SALT = "insight.sms-receipt"
# Arkesel's (and the SMSC's short) words for a handset reached, and for a message that never will be.
DELIVERED = frozenset({"DELIVERED", "DELIVRD"})
FAILED = frozenset({"FAILED", "UNDELIVERED", "UNDELIV", "UNDELIVERABLE", "REJECTED", "REJECTD", "EXPIRED",
                    "EXPIRD", "DELETED", "BLACKLISTED", "BLOCKED"})


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


def outcome(status: str) -> str:
    """What a gateway status says of a recipient: `delivered`, `failed` (final either way) or `waiting`
    (SENT, SUBMITTED, PENDING and any other word: the message is on its way)."""
    word = status.strip().upper()
    return "delivered" if word in DELIVERED else "failed" if word in FAILED else "waiting"


def record_receipt(sms_id: str, provider_id: str, status: str, reason: str | None, actor: str) -> None:
    """Keep Arkesel's receipt of one recipient of a message whose callback token was checked, and move the
    message to its new state. NotFound when the message, or that Arkesel id among its recipients, is
    unknown. A recipient's final receipt is kept for good: a later one (a repeat, a late SENT) changes
    nothing, and neither does the same receipt twice."""
    sms = db.session.get(SmsMessage, sms_id, with_for_update=True)
    if sms is None:
        raise not_found("SMS message")
    recipient = next((who for who, sent_id in sms.provider_ids.items() if sent_id == provider_id), None)
    if recipient is None:
        raise not_found("Arkesel message of this SMS")
    kept, status = sms.receipts.get(recipient), status.strip().upper()
    if kept and (outcome(kept["status"]) != "waiting" or (kept["status"], kept["reason"]) == (status, reason)):
        db.session.rollback()
        return
    sms.receipts = {**sms.receipts, recipient: {"status": status, "reason": reason, "at": utcnow().isoformat()}}
    sms.status, sms.error = message_state(sms)
    audit.record("insight", "sms.receipt", actor=actor, subject_id=sms.id,
                 details={"receipt": status, "status": sms.status})
    db.session.commit()


def message_state(sms: SmsMessage) -> tuple[str, str | None]:
    """(status, error) of a sent message from its recipients' receipts: delivered when every one was
    delivered, failed when every one failed, partially_delivered when all are final and some were delivered;
    `sent` while one is waiting. The error names the failures and the gateway's last reason."""
    receipts = [sms.receipts.get(who) for who in sms.provider_ids]
    outcomes = [outcome(receipt["status"]) if receipt else "waiting" for receipt in receipts]
    if not outcomes or "waiting" in outcomes:
        return "sent", sms.error
    failures = [receipt for receipt, said in zip(receipts, outcomes, strict=True) if said == "failed"]
    if not failures:
        return "delivered", None
    last = failures[-1]
    error = f"{len(failures)} of {len(outcomes)} recipient(s) not reached; Arkesel: {last['status']}" + (
        f" ({last['reason']})" if last["reason"] else "")
    return ("failed" if len(failures) == len(outcomes) else "partially_delivered"), error


def receipt_counts(sms: SmsMessage) -> dict[str, int]:
    """{"delivered", "failed", "waiting"}: recipients by their final receipt; waiting, those without one yet."""
    finals = [outcome(receipt["status"]) for receipt in sms.receipts.values()]
    delivered, failed = finals.count("delivered"), finals.count("failed")
    return {"delivered": delivered, "failed": failed, "waiting": max(0, len(sms.recipients) - delivered - failed)}

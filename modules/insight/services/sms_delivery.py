"""The delivery state of an SMS, computed from its recipients, the Arkesel id of each and those ids' receipts.

`provider_ids` ({recipient: Arkesel id}) is what Arkesel's answer to the send said of each recipient: its
message id; null when the answer listed ids and none for this number (Arkesel did not accept it: failed for
good); no entry when the answer listed no ids at all (Arkesel accepted the message without saying under which
ids: the recipient is untracked, since no receipt can be matched to it). `receipts` ({Arkesel id: {"status",
"reason", "at"}}) holds the last receipt of each id. A replay sends the message again under new ids: the old
ids' receipts stay stored but no longer count, since they are no longer the recipients' ids.

Both writers of the state, the receipt endpoint and the worker after a send, read the message `locked` and
store `settle`'s answer, so that neither works from a state the other has since changed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import update

from modules.core.extensions import db
from modules.core.sql import on_postgresql
from modules.insight.models import SmsMessage

# Arkesel's (and the SMSC's short) words for a handset reached, and for a message that never will be.
DELIVERED = frozenset({"DELIVERED", "DELIVRD"})
FAILED = frozenset({"FAILED", "UNDELIVERED", "UNDELIV", "UNDELIVERABLE", "REJECTED", "REJECTD", "EXPIRED",
                    "EXPIRD", "DELETED", "BLACKLISTED", "BLOCKED"})
OUTCOMES = ("delivered", "failed", "waiting", "untracked")
NOT_ACCEPTED = "Arkesel did not accept this number"


@dataclass(frozen=True)
class Delivery:
    """A message's state: `status` (see `delivery_state`), `error` (None, or what went wrong, naming no
    number) and `counts`, its recipients by outcome ({"delivered", "failed", "waiting", "untracked"})."""

    status: str
    error: str | None
    counts: dict[str, int]


def outcome(status: str) -> str:
    """What a gateway status says of a recipient: `delivered`, `failed` (final either way) or `waiting`
    (SENT, SUBMITTED, PENDING and any other word: the message is on its way)."""
    word = status.strip().upper()
    return "delivered" if word in DELIVERED else "failed" if word in FAILED else "waiting"


def provider_ids_of(recipients: list[str], ids: dict[str, str] | None) -> dict[str, str | None]:
    """The `provider_ids` of a send Arkesel answered with `ids` ({recipient: id}, or None when its answer
    listed no ids at all): each recipient's id, null for a recipient the listed ids leave out."""
    return {} if ids is None else {recipient: ids.get(recipient) for recipient in recipients}


def delivery_state(recipients: list[str], provider_ids: dict[str, str | None],
                   receipts: dict[str, dict]) -> Delivery:
    """The state of a message Arkesel has answered the send of. `sent` while a tracked recipient waits for
    its final receipt; then `delivered` when every recipient was delivered, `failed` when every one failed,
    `partially_delivered` when some were delivered (the others failed or untracked), and `untracked` when
    none was delivered and some are untracked (nothing more can be learnt: untracked counts as neither
    delivered nor failed)."""
    said = [_recipient_outcome(recipient, provider_ids, receipts) for recipient in recipients]
    counts = {**dict.fromkeys(OUTCOMES, 0), **Counter(result for result, _ in said)}
    failures = [failure for result, failure in said if result == "failed"]
    return Delivery(_status(counts, len(recipients)), _error(failures, counts["untracked"], len(recipients)),
                    counts)


def _recipient_outcome(recipient: str, provider_ids: dict[str, str | None],
                       receipts: dict[str, dict]) -> tuple[str, str | None]:
    """(outcome, what the gateway said of a failure) of one recipient."""
    if recipient not in provider_ids:
        return "untracked", None
    arkesel_id = provider_ids[recipient]
    if arkesel_id is None:
        return "failed", NOT_ACCEPTED
    receipt = receipts.get(arkesel_id)
    said = outcome(receipt["status"]) if receipt else "waiting"
    if said != "failed":
        return said, None
    return said, f"Arkesel: {receipt['status']}" + (f" ({receipt['reason']})" if receipt["reason"] else "")


def _status(counts: dict[str, int], recipients: int) -> str:
    if counts["waiting"]:
        return "sent"
    if counts["delivered"] == recipients:
        return "delivered"
    if counts["failed"] == recipients:
        return "failed"
    return "partially_delivered" if counts["delivered"] else "untracked"


def _error(failures: list[str], untracked: int, recipients: int) -> str | None:
    """Names the failures with the last one's reason, and the untracked recipients; None when neither."""
    said = []
    if failures:
        said.append(f"{len(failures)} of {recipients} recipient(s) not reached; {failures[-1]}")
    if untracked:
        said.append(f"{untracked} of {recipients} recipient(s) untracked (Arkesel gave no message id)")
    return "; ".join(said) or None


def sms_delivery(sms: SmsMessage) -> Delivery:
    """The state of `sms`: `delivery_state` once Arkesel has answered its send (`sent_at`); before that
    (queued, or failed without Arkesel ever accepting it) its stored status and error, every recipient
    waiting."""
    if sms.sent_at is None:
        return Delivery(sms.status, sms.error, {**dict.fromkeys(OUTCOMES, 0), "waiting": len(sms.recipients)})
    return delivery_state(sms.recipients, sms.provider_ids, sms.receipts)


def settle(sms: SmsMessage) -> None:
    """Store the state of `sms` (read `locked`) in its status and error."""
    delivery = sms_delivery(sms)
    sms.status, sms.error = delivery.status, delivery.error


def locked(sms_id: str) -> SmsMessage | None:
    """The SMS read afresh under a lock held until the transaction ends, so that of two writers of its state
    the second reads what the first committed. PostgreSQL: `SELECT ... FOR UPDATE` of its row. SQLite has no
    row locks and a plain read takes none (another writer may commit between the read and this transaction's
    first write): a write first takes the database's one write lock, then the row is read."""
    if not on_postgresql():
        table = SmsMessage.__table__
        db.session.execute(update(table).where(table.c.id == sms_id).values(status=table.c.status))
    return db.session.get(SmsMessage, sms_id, with_for_update=True, populate_existing=True)

"""Actions on customers (connect, disconnect, warn): each commits with the customer's new status."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from modules.core import audit, metrics
from modules.core.exceptions import NotFound
from modules.core.extensions import db
from modules.core.types import new_id, utcnow
from modules.insight.models import STATUS_AFTER, Customer, CustomerAction
from modules.insight.services.common import (
    CUSTOMER_GONE,
    Actor,
    InvalidFields,
    canonical_id,
    commit_written,
    get_customer,
    paginate,
)

BATCH_LIMIT = 1000


def list_actions(filters: dict[str, Any], customer_id: str | None = None) -> dict[str, Any]:
    """Newest first, optionally of one customer, filtered by action, source or batch."""
    query = select(CustomerAction)
    if customer_id is not None:
        query = query.where(CustomerAction.customer_id == get_customer(customer_id).id)
    for name in ("action", "source", "batch_id"):
        if filters.get(name):
            query = query.where(getattr(CustomerAction, name) == filters[name])
    return paginate(query, filters["page"], filters["limit"], CustomerAction.created_at.desc(), CustomerAction.id)


def record_action(data: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Record one action as performed by `actor` (whatever `performed_by` the body named); returns its
    stored values. An unknown customer, or one deleted by a concurrent request meanwhile, is NotFound."""
    customer = get_customer(data["customer_id"])
    action = CustomerAction(id=new_id(), customer_id=customer.id, action=data["action"],
                            performed_by=actor.name,
                            source=data["source"], batch_id=data.get("batch_id"), created_at=utcnow())
    db.session.add(action)
    customer.status = STATUS_AFTER[data["action"]]
    audit.record("insight", f"action.{data['action']}", actor=actor.audit, subject_id=customer.id,
                 details={"action_id": action.id, "source": data["source"]})
    written = commit_written(action, CUSTOMER_GONE)
    metrics.ingested("insight")
    return written


def record_actions(items: list[dict[str, Any]], actor: Actor) -> list[str]:
    """All or nothing: every customer must exist (ids written any way, see canonical_id); one multi-row
    insert, one status update per status. A customer deleted by a concurrent request meanwhile is found
    missing as it would have been a moment later."""
    if not 1 <= len(items) <= BATCH_LIMIT:
        wrong_size = f"Send 1 to {BATCH_LIMIT} actions."
        raise InvalidFields(wrong_size, details={"_schema": [wrong_size]})
    keys = [canonical_id(item["customer_id"]) for item in items]
    _refuse_missing(items, keys)
    now = utcnow()
    rows = [{"id": new_id(), "customer_id": key, "action": item["action"], "performed_by": actor.name,
             "source": item["source"], "batch_id": item.get("batch_id"), "created_at": now}
            for item, key in zip(items, keys, strict=True)]
    try:
        db.session.execute(insert(CustomerAction), rows)
        _apply_statuses({row["customer_id"]: STATUS_AFTER[row["action"]] for row in rows})
        audit.record("insight", "action.batch", actor=actor.audit, details={"actions": len(rows)})
        db.session.commit()
        metrics.ingested("insight", len(rows))
    except IntegrityError:  # a customer was deleted after the check
        db.session.rollback()
        _refuse_missing(items, keys)
        raise
    return [row["id"] for row in rows]


def _refuse_missing(items: list[dict[str, Any]], keys: list[str | None]) -> None:
    """NotFound CUSTOMER_NOT_FOUND listing, as the client wrote them, the ids of customers that do not exist."""
    wanted = {key for key in keys if key}
    found = set(db.session.scalars(select(Customer.id).where(Customer.id.in_(wanted)))) if wanted else set()
    missing = sorted({item["customer_id"] for item, key in zip(items, keys, strict=True) if key not in found})
    if missing:
        raise NotFound(f"{len(missing)} customer(s) not found; no action was recorded.", code="CUSTOMER_NOT_FOUND",
                       details={"customer_ids": missing})


def _apply_statuses(status_by_customer: dict[str, str]) -> None:
    """Set each customer's status (the last action of a customer wins), one UPDATE per status."""
    by_status: dict[str, list[str]] = defaultdict(list)
    for customer_id, status in status_by_customer.items():
        by_status[status].append(customer_id)
    now = utcnow()
    for status, ids in by_status.items():
        for start in range(0, len(ids), 1000):
            db.session.execute(update(Customer).where(Customer.id.in_(ids[start:start + 1000]))
                               .values(status=status, updated_at=now).execution_options(synchronize_session=False))

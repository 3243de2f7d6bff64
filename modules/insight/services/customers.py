"""Customers: list with filters, create, update, delete, and the dashboard's figures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from modules.core import audit, metrics
from modules.core.exceptions import Conflict, DomainError
from modules.core.extensions import db
from modules.core.sql import LIKE_ESCAPE, contains_pattern
from modules.core.types import new_id, utcnow
from modules.insight import normalise
from modules.insight.models import CUSTOMER_STATUSES, Customer, CustomerAction
from modules.insight.services.common import Actor, commit_written, get_customer, not_found, paginate

KPI_WINDOW = timedelta(days=30)
RECENT_ACTIONS = 10
NEWEST_FIRST = (Customer.created_at.desc(), Customer.id)


def list_customers(filters: dict[str, Any]) -> dict[str, Any]:
    """One page of the customers `matching` the filters, newest first (`paginate`'s envelope)."""
    return paginate(matching(filters), filters["page"], filters["limit"], *NEWEST_FIRST)


def every_customer(filters: dict[str, Any]) -> Iterator[Customer]:
    """Every customer `matching` the filters, newest first, read in chunks (a CSV export keeps memory flat)."""
    yield from db.session.scalars(matching(filters).order_by(*NEWEST_FIRST).execution_options(yield_per=500))


def phones_of(filters: dict[str, Any], most: int) -> list[str]:
    """At most `most` distinct stored phones of the customers `matching` the filters, in no set order (a bulk
    SMS to a filtered list: ask for one more than allowed to learn that there are too many)."""
    query = matching(filters).with_only_columns(Customer.phone).distinct().order_by(Customer.phone).limit(most)
    return list(db.session.scalars(query))


def matching(filters: dict[str, Any]) -> Select:
    """Customers whose name, account number or phone contains `search` (a phone written any way also finds
    its stored form), with `status`, `arrears_min`, `arrears_max`, `date_from` and `date_to` (creation time)
    when given."""
    query = select(Customer)
    search = (filters.get("search") or "").strip()
    if search:
        pattern = contains_pattern(search)
        matches = [Customer.name.ilike(pattern, escape=LIKE_ESCAPE),
                   Customer.account_number.ilike(pattern, escape=LIKE_ESCAPE),
                   Customer.phone.like(pattern, escape=LIKE_ESCAPE)]
        try:  # "+233 24 123 4567" finds the customer stored as 0241234567
            matches.append(Customer.phone == normalise.normalise_phone(search, current_app.config[
                "DEFAULT_PHONE_REGION"]))
        except ValueError:
            pass
        query = query.where(or_(*matches))
    if filters.get("status"):
        query = query.where(Customer.status == filters["status"])
    if filters.get("arrears_min") is not None:
        query = query.where(Customer.arrears >= filters["arrears_min"])
    if filters.get("arrears_max") is not None:
        query = query.where(Customer.arrears <= filters["arrears_max"])
    if filters.get("date_from"):
        query = query.where(Customer.created_at >= filters["date_from"])
    if filters.get("date_to"):
        query = query.where(Customer.created_at < filters["date_to"])
    return query


def _account_taken(account_number: str, except_id: str | None = None) -> bool:
    query = select(Customer.id).where(Customer.account_number == account_number)
    if except_id:
        query = query.where(Customer.id != except_id)
    return db.session.scalar(query) is not None


def _duplicate(account_number: str) -> Conflict:
    return Conflict(f"A customer with account number {account_number} already exists.",
                    code="CUSTOMER_ALREADY_EXISTS", details={"account_number": account_number})


def _refusals(account_number: str) -> dict[type[Exception], Callable[[], DomainError]]:
    """What a concurrent request may have done meanwhile: taken the account number (the unique index
    refuses the INSERT or UPDATE: the contract's CUSTOMER_ALREADY_EXISTS), or deleted the customer being
    changed (the UPDATE matches no row: not found)."""
    return {IntegrityError: lambda: _duplicate(account_number), StaleDataError: not_found}


def create_customer(data: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """The new customer's stored values; Conflict CUSTOMER_ALREADY_EXISTS when the account number is taken."""
    if _account_taken(data["account_number"]):
        raise _duplicate(data["account_number"])
    customer = Customer(id=new_id(), **data)
    db.session.add(customer)
    audit.record("insight", "customer.created", actor=actor.audit, subject_id=customer.id)
    written = commit_written(customer, _refusals(data["account_number"]))
    metrics.ingested("insight")
    return written


def update_customer(customer_id: str, changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """The customer's stored values after `changes`; NotFound for an unknown customer, Conflict
    CUSTOMER_ALREADY_EXISTS for a taken account number."""
    customer = get_customer(customer_id)
    account = changes.get("account_number")
    if account and _account_taken(account, except_id=customer.id):
        raise _duplicate(account)
    for name, value in changes.items():
        setattr(customer, name, value)
    audit.record("insight", "customer.updated", actor=actor.audit, subject_id=customer.id,
                 details={"fields": sorted(changes)})
    return commit_written(customer, _refusals(account or customer.account_number))


def delete_customer(customer_id: str, actor: Actor) -> None:
    customer = get_customer(customer_id)
    db.session.delete(customer)
    audit.record("insight", "customer.deleted", actor=actor.audit, subject_id=customer_id)
    db.session.commit()


def _percent_change(current: int, previous: int) -> float:
    if previous == 0:
        return 100.0 if current else 0.0
    return round((current - previous) * 100 / previous, 1)


def _kpis(total_customers: int) -> list[dict[str, Any]]:
    """Each figure of the last 30 days against the 30 days before; `is_positive` means good news."""
    now = utcnow()
    start, previous_start = now - KPI_WINDOW, now - 2 * KPI_WINDOW
    customers_before = db.session.scalar(select(func.count()).where(Customer.created_at < start))
    recent = func.sum(case((CustomerAction.created_at >= start, 1), else_=0))
    earlier = func.sum(case((CustomerAction.created_at < start, 1), else_=0))
    counts = {action: (int(now_count or 0), int(then_count or 0)) for action, now_count, then_count in
              db.session.execute(select(CustomerAction.action, recent, earlier)
                                 .where(CustomerAction.created_at >= previous_start)
                                 .group_by(CustomerAction.action))}
    growth = _percent_change(total_customers, customers_before)
    kpis = [{"title": "Total Customers", "value": str(total_customers), "change": growth, "is_positive": growth >= 0}]
    good_when_rising = {"connect": True, "disconnect": False, "warn": False, "sms_sent": True}
    titles = {"connect": "Reconnections (30 days)", "disconnect": "Disconnections (30 days)",
              "warn": "Warnings (30 days)", "sms_sent": "SMS Sent (30 days)"}
    for action, title in titles.items():
        current, previous = counts.get(action, (0, 0))
        change = _percent_change(current, previous)
        kpis.append({"title": title, "value": str(current), "change": change,
                     "is_positive": change >= 0 if good_when_rising[action] else change <= 0})
    return kpis


def dashboard() -> dict[str, Any]:
    by_status = dict(db.session.execute(select(Customer.status, func.count()).group_by(Customer.status)).all())
    total_arrears = db.session.scalar(select(func.coalesce(func.sum(Customer.arrears), 0)))
    total = sum(by_status.values())
    recent = db.session.scalars(select(CustomerAction).order_by(CustomerAction.created_at.desc(), CustomerAction.id)
                                .limit(RECENT_ACTIONS)).all()
    answer: dict[str, Any] = {"total_customers": total}
    answer.update({f"{status}_customers": by_status.get(status, 0) for status in CUSTOMER_STATUSES})
    answer.update(total_arrears=Decimal(str(total_arrears)), recent_actions=list(recent), kpis=_kpis(total))
    return answer


def customers_received(since: datetime) -> int:
    """Customers created since `since` (the console's overview: new customers from uploads and the API; an
    update of a known customer or an operator's action is not a record received), through the created_at
    index."""
    return db.session.scalar(select(func.count()).select_from(Customer).where(Customer.created_at >= since))

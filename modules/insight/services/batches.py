"""Spreadsheet upload and batch processing: validate rows, then create or update customers in bulk.

`process_batch` is one transaction of a few bulk statements (multi-row upserts by account number, which
also set the status of rows with an action and tell created from updated customers, and a multi-row
insert of the actions), and the batch id is a primary key, so re-posting a batch applies nothing twice,
even when two posts race. A batch id names one body: the fingerprint of the body it was first applied
with is kept, an exact repeat answers as the first time did (nothing applied), and the same id with
another body is a 409 (BATCH_ID_REUSED).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from modules.core import audit
from modules.core.exceptions import Conflict
from modules.core.extensions import db
from modules.core.fields import LaxInteger
from modules.core.sql import dialect_insert
from modules.core.types import new_id, utcnow
from modules.insight.models import STATUS_AFTER, Customer, CustomerAction, ProcessedBatch
from modules.insight.rows import Row, validate_rows
from modules.insight.services.common import Actor, InvalidFields, UnusableInput
from modules.insight.spreadsheet import Limits, SpreadsheetError, read_rows

CHUNK = 1000
Progress = Callable[[int], None]


def _region() -> str:
    return current_app.config["DEFAULT_PHONE_REGION"]


def _max_rows() -> int:
    return int(current_app.config["INSIGHT_UPLOAD_MAX_ROWS"])


def read_spreadsheet(stream: IO[bytes]) -> list[tuple[int, dict[str, Any]]]:
    """Every data row of the file; a file that cannot be read is UnusableInput saying why."""
    try:
        return list(read_rows(stream, Limits.from_config(current_app.config)))
    except SpreadsheetError as exc:
        raise UnusableInput(str(exc)) from exc


def summary(rows: list[Row]) -> dict[str, Any]:
    valid = sum(row.valid for row in rows)
    return {"data": [row.shown() for row in rows], "total": len(rows), "valid_count": valid,
            "error_count": len(rows) - valid}


def validate_upload(stream: IO[bytes]) -> dict[str, Any]:
    return summary(validate_rows(read_spreadsheet(stream), _region()))


def _numbered(raw_rows: list[Any]) -> Iterable[tuple[int, Mapping[str, Any]]]:
    """Rows as sent by the front end, numbered by their own `row` when they carry one (a whole number, or
    digits as text: `"70"`), else by their place in the list, from 1."""
    for place, raw in enumerate(raw_rows, start=1):
        yield _row_number(raw.get("row"), place), raw


def _row_number(given: Any, place: int) -> int:
    if given is None or isinstance(given, bool):
        return place
    try:
        return _ROW_NUMBER.deserialize(given)
    except ValidationError:
        return place


_ROW_NUMBER = LaxInteger()


def _check_size(raw_rows: list[Any]) -> None:
    if len(raw_rows) > _max_rows():
        raise UnusableInput(f"Too many rows: at most {_max_rows()} per request.")


def validate_customers(raw_rows: list[dict[str, Any]]) -> dict[str, Any]:
    _check_size(raw_rows)
    rows = validate_rows(_numbered(raw_rows), _region())
    validated = [row.shown() for row in rows if row.valid]
    errors = [{"row": row.number, "error": "; ".join(row.messages()), "errors": row.messages(), "data": row.given}
              for row in rows if not row.valid]
    return {"validated": validated, "errors": errors, "total": len(rows), "valid_count": len(validated),
            "error_count": len(errors)}


def checked_batch_rows(raw_rows: list[dict[str, Any]]) -> list[Row]:
    """Rows of a batch, or InvalidFields naming each bad row by its place in `data` (from 0, as FastAPI's
    `loc` does) and field; messages name rows as the client numbers them (see `_numbered`)."""
    _check_size(raw_rows)
    rows = validate_rows(_numbered(raw_rows), _region(), with_action=True)
    problems = {str(index): {name: [message] for name, message in row.errors}
                for index, row in enumerate(rows) if not row.valid}
    if problems:
        raise InvalidFields("Some rows have errors; nothing was applied.", details={"data": problems})
    return rows


def fingerprint(body: Any) -> str:
    """SHA-256 (hex) of `body` as canonical JSON: keys sorted, no spaces; values JSON cannot hold as text."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def apply_batch(raw_rows: list[dict[str, Any]], batch_id: str | None, default_action: str | None,
                actor: Actor) -> dict[str, Any]:
    """The process-batch request: a known batch id answers at once (the first answer, or Conflict
    BATCH_ID_REUSED when the body differs); otherwise validate, then apply."""
    body_fingerprint = fingerprint({"data": raw_rows, "action": default_action})
    known = db.session.get(ProcessedBatch, batch_id) if batch_id else None
    if known is not None:
        return _repeat(known, body_fingerprint)
    rows = checked_batch_rows(raw_rows)
    return process_batch(rows, batch_id, default_action, actor, body_fingerprint)


def _upsert(table_rows: list[dict[str, Any]], update_status: bool) -> tuple[dict[str, str], int]:
    """Insert or update customers by account number; returns ({account_number: id}, customers created).
    A row that was inserted comes back with the id proposed for it, an updated one with its stored id, so
    the counts are exact even when another request creates some of these customers at the same moment."""
    table = Customer.__table__  # Core statements: the ORM's per-row bookkeeping costs seconds at 10,000 rows
    statement = dialect_insert(table)
    changed = ["name", "phone", "arrears", "updated_at"] + (["status"] if update_status else [])
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.account_number], set_={name: statement.excluded[name] for name in changed}
    ).returning(table.c.account_number, table.c.id)
    ids: dict[str, str] = {}
    for start in range(0, len(table_rows), CHUNK):
        result = db.session.execute(statement, table_rows[start:start + CHUNK])
        ids.update({account: customer_id for account, customer_id in result.all()})
    created = sum(ids[row["account_number"]] == row["id"] for row in table_rows)
    return ids, created


def process_batch(rows: list[Row], batch_id: str | None, default_action: str | None, actor: Actor,
                  body_fingerprint: str, progress: Progress | None = None) -> dict[str, Any]:
    """Apply validated rows once per batch id (one transaction). `body_fingerprint` identifies what was
    sent (see `fingerprint`); `progress(n)` reports rows applied. A known batch id: see `_repeat`."""
    batch_id = batch_id or new_id()
    known = db.session.get(ProcessedBatch, batch_id)
    if known is not None:
        return _repeat(known, body_fingerprint)
    now = utcnow()
    # Rows with an action also set the status; the others leave an existing customer's status alone.
    upserts: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    actions: list[tuple[str, str]] = []
    for row in rows:
        action = row.clean.get("action") or default_action
        upserts[bool(action)].append({
            "id": new_id(), "name": row.clean["name"], "account_number": row.clean["account_number"],
            "phone": row.clean["phone"], "arrears": row.clean["arrears"],
            "status": STATUS_AFTER[action] if action else "connected", "created_at": now, "updated_at": now})
        if action:
            actions.append((row.clean["account_number"], action))
    batch = ProcessedBatch(batch_id=batch_id, performed_by=actor.name, rows=len(rows), customers_created=0,
                           customers_updated=0, actions_created=len(actions), fingerprint=body_fingerprint,
                           created_at=now)
    db.session.add(batch)
    try:
        db.session.flush()  # claims the batch id before any customer is touched
        ids: dict[str, str] = {}
        for update_status, group in upserts.items():
            group_ids, created = _upsert(group, update_status)
            ids.update(group_ids)
            batch.customers_created += created
            if progress:
                progress(len(group))
        batch.customers_updated = len(rows) - batch.customers_created
        if actions:
            db.session.execute(insert(CustomerAction.__table__), [
                {"id": new_id(), "customer_id": ids[account], "action": action, "performed_by": actor.name,
                 "source": "batch", "batch_id": batch_id, "created_at": now} for account, action in actions])
        audit.record("insight", "batch.processed", actor=actor.audit, subject_id=batch_id,
                     details={"rows": len(rows), "customers_created": batch.customers_created,
                              "customers_updated": batch.customers_updated, "actions_created": len(actions)})
        db.session.commit()
    except IntegrityError:  # the same batch id was applied by a concurrent request
        db.session.rollback()
        known = db.session.get(ProcessedBatch, batch_id)
        if known is None:
            raise
        return _repeat(known, body_fingerprint)
    return _answer(batch, f"Batch processed: {batch.customers_created} customer(s) created, "
                          f"{batch.customers_updated} updated, {batch.actions_created} action(s) recorded.")


def _answer(batch: ProcessedBatch, message: str) -> dict[str, Any]:
    return {"message": message, "actions_created": batch.actions_created,
            "customers_created": batch.customers_created, "customers_updated": batch.customers_updated,
            "batch_id": batch.batch_id, "success": True, "errors": []}


def _repeat(batch: ProcessedBatch, body_fingerprint: str) -> dict[str, Any]:
    """A batch id seen before: the same body gets the first answer's counts (nothing is applied again);
    another body is Conflict BATCH_ID_REUSED. A batch applied before fingerprints were kept counts as the
    same body."""
    if batch.fingerprint is not None and batch.fingerprint != body_fingerprint:
        raise Conflict(f"Batch {batch.batch_id} was already processed with other content; nothing was applied. "
                       "Send new content under a new batch_id.", code="BATCH_ID_REUSED",
                       details={"batch_id": batch.batch_id})
    return _answer(batch, f"Batch {batch.batch_id} was already processed; nothing was applied again.")

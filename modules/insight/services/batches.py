"""Batches: customer rows, from a spreadsheet or the API, validated, then applied once per batch id.

`import_file` is the spreadsheet upload, for the API (validation only) and the CLI (which also applies
the file): read, validate every row, and apply the rows when every one is valid. `apply_batch` is the
process-batch request: rows the front end sends, validated the same way, then applied.

`process_batch` is one transaction of a few bulk statements (multi-row upserts by account number, which
also set the status of rows with an action and tell created from updated customers, and a multi-row
insert of the actions), and the batch id is a primary key, so re-posting a batch applies nothing twice,
even when two posts race. A batch id names one content: the fingerprint of what the batch applied is
kept (`content_fingerprint`: each row's clean values and action, computed from the validated rows, so a
file imported from a shell and the same rows posted to the API are the same content), an exact repeat
answers as the first time did (nothing applied), and the same id with other content is Conflict
BATCH_ID_REUSED.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from typing import IO, Any, Protocol

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from modules.core import audit, metrics
from modules.core.exceptions import Conflict
from modules.core.extensions import db
from modules.core.fields import LaxInteger
from modules.core.sql import dialect_insert
from modules.core.types import new_id, utcnow
from modules.insight.models import STATUS_AFTER, Customer, CustomerAction, ProcessedBatch
from modules.insight.normalise import format_amount
from modules.insight.rows import Row, validate_rows
from modules.insight.services.common import Actor, InvalidFields, UnusableInput
from modules.insight.spreadsheet import Limits, SpreadsheetError, read_rows

CHUNK = 1000
Numbered = tuple[int, Mapping[str, Any]]  # (the row's number as the client sees it, its values by column)
Advance = Callable[[int], None]  # told how many more rows were applied


@dataclass(frozen=True)
class Batch:
    """How rows are applied: by whom, under which id (None: a new one), with which action for rows that
    name none (None: no action, the customers keep their status)."""

    actor: Actor
    batch_id: str | None = None
    action: str | None = None
    # The fingerprint the hub kept before 2026-11-30 for an API body (`body_fingerprint`): a batch recorded
    # then is still recognised when its client sends the same body again.
    body_fingerprint: str | None = None


class InvalidRows(InvalidFields):
    """Rows with errors, so nothing was applied. `rows` are all the rows (for a report); `details` name each
    bad row by its place among them, from 0 (as FastAPI's `loc` does), and its fields."""

    def __init__(self, rows: list[Row]):
        problems = {str(index): {name: [message] for name, message in row.errors}
                    for index, row in enumerate(rows) if not row.valid}
        super().__init__("Some rows have errors; nothing was applied.", details={"data": problems})
        self.rows = rows


class Progress(Protocol):
    """What a caller shows while a file is imported (the CLI's progress bars)."""

    def reading(self, rows: Iterator[Numbered]) -> AbstractContextManager[Iterable[Numbered]]:
        """Wraps the file's rows as they are read and validated."""

    def applying(self, total: int) -> AbstractContextManager[Advance]:
        """While `total` valid rows are applied."""


class Quietly:
    """No progress shown."""

    def reading(self, rows: Iterator[Numbered]) -> AbstractContextManager[Iterable[Numbered]]:
        return nullcontext(rows)

    def applying(self, total: int) -> AbstractContextManager[Advance]:
        return nullcontext(lambda _count: None)


QUIETLY = Quietly()


@dataclass(frozen=True)
class FileImport:
    """A spreadsheet's rows, validated, and the batch's answer when they were applied (else None)."""

    rows: list[Row]
    applied: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """Every row, cleaned where it could be, with its errors: the spreadsheet upload's answer."""
        valid = sum(row.valid for row in self.rows)
        return {"data": [row.shown() for row in self.rows], "total": len(self.rows), "valid_count": valid,
                "error_count": len(self.rows) - valid}


def _region() -> str:
    return current_app.config["DEFAULT_PHONE_REGION"]


def _max_rows() -> int:
    return int(current_app.config["INSIGHT_UPLOAD_MAX_ROWS"])


def import_file(stream: IO[bytes], batch: Batch | None = None, progress: Progress = QUIETLY) -> FileImport:
    """Read a spreadsheet (.xlsx or .csv: the bytes decide) and validate every row; with `batch`, apply the
    rows as that batch (see process_batch) when every one is valid and there is at least one. Raises
    UnusableInput for a file that is not a customer spreadsheet (saying why); with `batch`, InvalidRows when
    a row has errors, Conflict BATCH_ID_REUSED when the batch id was applied with other content."""
    try:
        with progress.reading(read_rows(stream, Limits.from_config(current_app.config))) as numbered:
            rows = validate_rows(numbered, _region())
    except SpreadsheetError as exc:
        raise UnusableInput(str(exc)) from exc
    if batch is None or not rows:
        return FileImport(rows)
    if not all(row.valid for row in rows):
        raise InvalidRows(rows)
    with progress.applying(len(rows)) as advance:
        return FileImport(rows, process_batch(rows, batch, advance))


def _numbered(raw_rows: list[Any]) -> Iterator[Numbered]:
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


def apply_batch(raw_rows: list[dict[str, Any]], batch: Batch) -> dict[str, Any]:
    """The process-batch request: validate the rows (each may name its own action), then apply them (see
    process_batch). Raises UnusableInput for too many rows, InvalidRows naming each bad row by its place in
    the list (messages name rows as the client numbers them, see `_numbered`), Conflict BATCH_ID_REUSED."""
    _check_size(raw_rows)
    rows = validate_rows(_numbered(raw_rows), _region(), with_action=True)
    if not all(row.valid for row in rows):
        raise InvalidRows(rows)
    return process_batch(rows, replace(batch, body_fingerprint=body_fingerprint(raw_rows, batch.action)))


def body_fingerprint(raw_rows: list[dict[str, Any]], default_action: str | None) -> str:
    """The fingerprint of a process-batch body as batches applied before 2026-11-30 kept it: SHA-256 (hex) of
    `{"data": rows, "action": default_action}` as canonical JSON (keys sorted, no spaces)."""
    canonical = json.dumps({"data": raw_rows, "action": default_action}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def content_fingerprint(rows: list[Row], default_action: str | None) -> str:
    """SHA-256 (hex) of what applying valid `rows` does: each row's clean name, account number, phone,
    arrears and action (its own, else `default_action`), in order. How the rows were written (spreadsheet
    cells or JSON, spelling of a phone, key order, row numbers) does not count."""
    applied = [[row.clean["name"], row.clean["account_number"], row.clean["phone"],
                format_amount(row.clean["arrears"]), row.clean.get("action") or default_action] for row in rows]
    canonical = json.dumps(applied, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


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


def process_batch(rows: list[Row], batch: Batch, advance: Advance | None = None) -> dict[str, Any]:
    """Apply valid rows once per batch id, in one transaction; `advance(n)` is told of rows applied. Returns
    the batch's answer; a known batch id answers as the first time, or Conflict BATCH_ID_REUSED when it was
    applied with other content (see `_repeat`)."""
    batch_id = batch.batch_id or new_id()
    fingerprint = content_fingerprint(rows, batch.action)
    known = db.session.get(ProcessedBatch, batch_id)
    if known is not None:
        return _repeat(known, fingerprint, batch.body_fingerprint)
    now = utcnow()
    upserts, actions = _planned(rows, batch.action, now)
    processed = ProcessedBatch(batch_id=batch_id, performed_by=batch.actor.name, rows=len(rows),
                               customers_created=0, customers_updated=0, actions_created=len(actions),
                               fingerprint=fingerprint, created_at=now)
    db.session.add(processed)
    try:
        db.session.flush()  # claims the batch id before any customer is touched
        ids: dict[str, str] = {}
        for update_status, group in upserts.items():
            group_ids, created = _upsert(group, update_status)
            ids.update(group_ids)
            processed.customers_created += created
            if advance:
                advance(len(group))
        processed.customers_updated = len(rows) - processed.customers_created
        if actions:
            db.session.execute(insert(CustomerAction.__table__), [
                {"id": new_id(), "customer_id": ids[account], "action": action, "performed_by": batch.actor.name,
                 "source": "batch", "batch_id": batch_id, "created_at": now} for account, action in actions])
        audit.record("insight", "batch.processed", actor=batch.actor.audit, subject_id=batch_id,
                     details={"rows": len(rows), "customers_created": processed.customers_created,
                              "customers_updated": processed.customers_updated, "actions_created": len(actions)})
        db.session.commit()
        metrics.ingested("insight", len(rows))
    except IntegrityError:  # the same batch id was applied by a concurrent request
        db.session.rollback()
        known = db.session.get(ProcessedBatch, batch_id)
        if known is None:
            raise
        return _repeat(known, fingerprint, batch.body_fingerprint)
    return _answer(processed, f"Batch processed: {processed.customers_created} customer(s) created, "
                              f"{processed.customers_updated} updated, {processed.actions_created} action(s) recorded.")


def _planned(rows: list[Row], default_action: str | None,
             now: datetime) -> tuple[dict[bool, list[dict[str, Any]]], list[tuple[str, str]]]:
    """The customers' upsert values, grouped by whether the row has an action (which also sets the status;
    the others leave an existing customer's status alone), and the (account number, action) to record."""
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
    return upserts, actions


def _answer(batch: ProcessedBatch, message: str) -> dict[str, Any]:
    return {"message": message, "actions_created": batch.actions_created,
            "customers_created": batch.customers_created, "customers_updated": batch.customers_updated,
            "batch_id": batch.batch_id, "success": True, "errors": []}


def _repeat(batch: ProcessedBatch, fingerprint: str, body_fingerprint: str | None = None) -> dict[str, Any]:
    """A batch id seen before: the same content gets the first answer's counts (nothing is applied again);
    other content is Conflict BATCH_ID_REUSED. A batch applied before fingerprints were kept counts as the
    same content, and one kept with the older body fingerprint matches the same body."""
    if batch.fingerprint is not None and batch.fingerprint not in (fingerprint, body_fingerprint):
        raise Conflict(f"Batch {batch.batch_id} was already processed with other content; nothing was applied. "
                       "Send new content under a new batch_id.", code="BATCH_ID_REUSED",
                       details={"batch_id": batch.batch_id})
    return _answer(batch, f"Batch {batch.batch_id} was already processed; nothing was applied again.")

"""A spreadsheet upload under review, carried between the console's pages, and its results as an .xlsx.

Between "upload" and "Process" the parsed rows must survive without per-host state (web processes may run
on different machines with no shared disk, and no database row is kept for an upload that is never
processed): the review page carries them in a hidden form field, signed and compressed by itsdangerous
(`Review.sealed`), with the batch id chosen at upload. A tampered or older-than-an-hour field is refused
(`Review.opened` raises `StaleReview`); the rows are validated again by the batch service when processed.
The field is bounded by what a form may carry (Flask's MAX_FORM_MEMORY_SIZE, 500 kB by default, minus
`FORM_MARGIN`): about 20,000 typical rows fit; a larger review says to split the file (see `fits`).

Rows are kept compact, as lists in COLUMNS order: [row number, name, account number, phone, arrears,
[[column, why], ...]], the values cleaned where they could be, else as given (`Row.shown()`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from modules.core.auth import configured_keys
from modules.insight.rows import COLUMNS, Row

SALT = "console.customers_upload"
MAX_AGE_SECONDS = 3600
DEFAULT_FORM_MEMORY = 500_000  # Flask's default MAX_FORM_MEMORY_SIZE
FORM_MARGIN = 2_000  # the CSRF token and the field names
RESULT_HEADER = ("row", *COLUMNS, "outcome", "errors")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class StaleReview(ValueError):
    """A review field that was changed, or is older than MAX_AGE_SECONDS."""


@dataclass(frozen=True)
class Review:
    """The rows of one uploaded file, the batch id that processing them will use, and the batch's answer
    (its message) once processed, else None."""

    batch_id: str
    rows: list[list[Any]]
    processed: str | None = None

    @classmethod
    def of(cls, batch_id: str, rows: list[Row]) -> Review:
        return cls(batch_id, [_compact(row) for row in rows])

    @property
    def error_count(self) -> int:
        return sum(bool(row[-1]) for row in self.rows)

    @property
    def processable(self) -> bool:
        return bool(self.rows) and not self.error_count and self.processed is None

    def batch_rows(self) -> list[dict[str, Any]]:
        """The rows as a process-batch body's `data` (each with its own row number)."""
        return [{"row": row[0], **dict(zip(COLUMNS, row[1:-1], strict=True))} for row in self.rows]

    def outcome(self, row: list[Any]) -> str:
        if row[-1]:
            return "error"
        return "processed" if self.processed else "valid, not processed"

    def sealed(self) -> str:
        return _serializer().dumps({"batch": self.batch_id, "rows": self.rows, "processed": self.processed})

    @classmethod
    def opened(cls, sealed: str) -> Review:
        """The review a page carried; raises StaleReview if it was changed or is too old."""
        try:
            content = _serializer().loads(sealed, max_age=MAX_AGE_SECONDS)
        except BadSignature:  # also SignatureExpired
            raise StaleReview("This review expired or was changed: upload the file again.") from None
        return cls(content["batch"], content["rows"], content["processed"])


def _compact(row: Row) -> list[Any]:
    shown = row.shown()
    return [row.number, *(shown[name] for name in COLUMNS), [list(error) for error in row.errors]]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(list(reversed(configured_keys("SECRET_KEY_LIST"))), salt=SALT)


def form_limit() -> int:
    """The longest sealed review a form can carry back, in characters (ASCII: bytes)."""
    return int(current_app.config.get("MAX_FORM_MEMORY_SIZE") or DEFAULT_FORM_MEMORY) - FORM_MARGIN


def fits(sealed: str) -> bool:
    return len(sealed) <= form_limit()


def results_workbook(review: Review) -> bytes:
    """The review as an .xlsx: a header, then a row per input row with its values, outcome and errors. Every
    cell is text, written as a string cell, so a value such as `=HYPERLINK(...)` shows as typed and never
    runs as a formula, and an amount or account number keeps the digits it was given."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Results")
    sheet.append(RESULT_HEADER)
    for row in review.rows:
        values = [str(row[0]), *(str(value) for value in row[1:-1]), review.outcome(row),
                  "; ".join(f"{column}: {why}" for column, why in row[-1])]
        sheet.append([_text_cell(sheet, value) for value in values])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _text_cell(sheet: Any, value: str) -> WriteOnlyCell:
    """A string cell of `value`; a control character that an .xlsx cannot hold (U+0000-U+001F but tab, LF
    and CR) is written as its escape, `\\x01`, so the row still shows what was given."""
    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub(lambda found: f"\\x{ord(found.group()):02x}", value))
    cell.data_type = "s"  # openpyxl marks text starting with "=" as a formula
    return cell

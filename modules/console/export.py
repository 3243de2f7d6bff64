"""CSV export of a console list: streamed row by row, every cell safe to open in a spreadsheet.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return would be read as a formula by Excel,
LibreOffice or Google Sheets (CSV injection, OWASP): such a cell is written with a leading apostrophe,
which those programs show as text and do not print. Every other value is written as it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from flask import Response, request, stream_with_context, url_for

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """`value` as CSV text: None is empty, a datetime ISO 8601, text that could start a formula gets `'`."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(header)
    yield take()
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        yield take()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A streamed `text/csv` download named `filename`. `rows` is consumed while the answer is sent (a
    generator that pages through the database keeps memory flat). Nothing of `rows` is read before the
    view returns: its database session ends then (a server-side cursor opened before would be invalid),
    and the stream reads with a fresh one. Check a filter before calling this, so that a refusal is a page."""
    return Response(stream_with_context(_lines(header, rows)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


def csv_link(endpoint: str, **values: Any) -> str:
    """The CSV download of the list on this page: the same endpoint and filters, with `format=csv` and no
    page cursor."""
    args = {key: value for key, value in request.args.items() if key not in ("after", "format")}
    return url_for(endpoint, **{**args, **values, "format": "csv"})

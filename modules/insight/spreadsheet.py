"""Reading customer spreadsheets (.xlsx with openpyxl in read-only mode, and .csv), row by row.

Headers are matched case- and space-insensitively (`Account Number` is `account_number`). Any problem
with the file itself is a `SpreadsheetError` with a message for the operator (the API answers 400).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from modules.insight.rows import COLUMNS

NOT_A_SPREADSHEET = "The file is not a spreadsheet: upload an .xlsx workbook or a .csv file."
_ZIP_MAGIC = b"PK\x03\x04"


class SpreadsheetError(ValueError):
    pass


def header_key(value: Any) -> str:
    return "".join(str(value or "").split()).replace("_", "").lower()


_WANTED = {header_key(column): column for column in COLUMNS}


def read_rows(stream: IO[bytes], filename: str, max_rows: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (row number as the spreadsheet shows it, {column: value}) for every non-blank data row."""
    head = stream.read(4)
    stream.seek(0)
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if head == _ZIP_MAGIC:
        lines = _xlsx_lines(stream)
    elif suffix in ("xlsx", "xlsm", "xls", "ods"):
        raise SpreadsheetError(NOT_A_SPREADSHEET + " This file is not a valid .xlsx workbook.")
    else:
        lines = _csv_lines(stream)
    yield from _records(lines, max_rows)


def _records(lines: Iterator[tuple[Any, ...]], max_rows: int) -> Iterator[tuple[int, dict[str, Any]]]:
    numbered = enumerate(lines, start=1)
    header = next((cells for _, cells in numbered if not _blank(cells)), None)
    if header is None:
        raise SpreadsheetError("The file is empty: the first row must name the columns "
                               + ", ".join(COLUMNS) + ".")
    positions: dict[str, int] = {}
    for index, key in enumerate(map(header_key, header)):
        if key in _WANTED:
            positions.setdefault(_WANTED[key], index)
    missing = [column for column in COLUMNS if column not in positions]
    if missing:
        raise SpreadsheetError(f"Missing column(s): {', '.join(missing)}. The first row must name the columns "
                               f"{', '.join(COLUMNS)}.")
    count = 0
    for number, cells in numbered:
        if _blank(cells):
            continue
        count += 1
        if count > max_rows:
            raise SpreadsheetError(f"The file has more than {max_rows} rows: split it into smaller files.")
        yield number, {column: cells[index] if index < len(cells) else None for column, index in positions.items()}


def _blank(cells: tuple[Any, ...]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def _xlsx_lines(stream: IO[bytes]) -> Iterator[tuple[Any, ...]]:
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise SpreadsheetError(NOT_A_SPREADSHEET) from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None or not hasattr(sheet, "iter_rows"):
            raise SpreadsheetError("The workbook has no worksheet.")
        try:
            yield from sheet.iter_rows(values_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
            raise SpreadsheetError(NOT_A_SPREADSHEET) from exc
    finally:
        workbook.close()


def _csv_lines(stream: IO[bytes]) -> Iterator[tuple[Any, ...]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        sample = text.read(4096)
        if "\x00" in sample:
            raise SpreadsheetError(NOT_A_SPREADSHEET)
        first_line = sample.splitlines()[0] if sample else ""
        delimiter = max(",;\t", key=first_line.count)  # Excel writes ";" where "," is the decimal mark
        for cells in csv.reader(_chain(sample, text), delimiter=delimiter):
            yield tuple(cells)
    except UnicodeDecodeError as exc:
        raise SpreadsheetError(NOT_A_SPREADSHEET + " A .csv file must be UTF-8 text (Excel: \"CSV UTF-8\").") from exc
    except csv.Error as exc:
        raise SpreadsheetError(f"The CSV file cannot be read: {exc}.") from exc


def _chain(first: str, rest: IO[str]) -> Iterator[str]:
    """The lines of `first` followed by the rest of the stream (the delimiter check read the start)."""
    yield from io.StringIO(first + rest.readline())
    yield from rest

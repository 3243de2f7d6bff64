"""Reading customer spreadsheets (.xlsx, see workbook.py, and .csv), row by row, within limits.

The bytes decide what a file is, not its name: a zip is read as a workbook, known binary formats (an old
.xls, a PDF, an image) are refused, anything else is read as UTF-8 CSV. Headers are matched case- and
space-insensitively (`Account Number` is `account_number`). Every row after the header counts toward
the row limit, blank or not, and no cell may be longer than a spreadsheet cell can be. Any problem with
the file itself is a `SpreadsheetError` with a message for the operator (the API answers 400).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from openpyxl.utils import get_column_letter

from modules.insight.cells import Formula
from modules.insight.rows import COLUMNS
from modules.insight.spreadsheet.parts import UnreadableWorkbook
from modules.insight.spreadsheet.workbook import worksheet_rows

NOT_A_SPREADSHEET = "The file is not a spreadsheet: upload an .xlsx workbook or a .csv file."
NOT_UTF8 = NOT_A_SPREADSHEET + " A .csv file must be UTF-8 text (Excel: \"CSV UTF-8\")."
_ZIP = b"PK"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 workbooks, and password-protected .xlsx files
_BINARY_SIGNATURES = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x09\x08", b"\x09\x04", b"\x09\x02")


class SpreadsheetError(ValueError):
    pass


@dataclass(frozen=True)
class Limits:
    """How much of a file is read: data rows after the header (blank ones count), bytes once unpacked
    (an .xlsx inflated, a .csv as is), characters in one cell, cells of a workbook (blank ones count)."""

    max_rows: int
    max_unzipped_bytes: int
    max_cell_chars: int
    max_cells: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        return cls(int(config["INSIGHT_UPLOAD_MAX_ROWS"]), int(config["INSIGHT_MAX_UNZIPPED_BYTES"]),
                   int(config["INSIGHT_MAX_CELL_CHARS"]), int(config["INSIGHT_MAX_CELLS"]))


def header_key(value: Any) -> str:
    return "".join(str(value or "").split()).replace("_", "").lower()


_WANTED = {header_key(column): column for column in COLUMNS}
# Excel's `sep=` line: one character that can separate values (not a quote, a letter, a digit or a space).
_SEPARATOR_LINE = re.compile(r'sep=(?P<separator>[^"\w \r\n])', re.IGNORECASE)


def read_rows(stream: IO[bytes], limits: Limits) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (row number as the spreadsheet shows it, {column: value}) for every non-blank data row."""
    head = stream.read(8)
    stream.seek(0)
    if head.startswith(_ZIP):
        lines = _workbook_lines(stream, limits)
    elif head.startswith(_OLE2):
        raise SpreadsheetError("This is an Excel 97-2003 workbook (.xls) or a password-protected one: save it as "
                               ".xlsx, without a password.")
    elif head.startswith(_BINARY_SIGNATURES):
        raise SpreadsheetError(NOT_A_SPREADSHEET)
    else:
        lines = _csv_lines(stream, limits)
    yield from _records(lines, limits)


def _records(lines: Iterator[tuple[int, dict[int, Any]]], limits: Limits) -> Iterator[tuple[int, dict[str, Any]]]:
    header_number, header = next(((number, cells) for number, cells in lines if not _blank(cells, limits)),
                                 (0, None))
    if header is None:
        raise SpreadsheetError("The file is empty: the first row must name the columns "
                               + ", ".join(COLUMNS) + ".")
    positions: dict[str, int] = {}
    for index in sorted(header):
        column = _WANTED.get(header_key(header[index]))
        if column in positions:
            raise SpreadsheetError(f"The column {column} appears twice in the first row (columns "
                                   f"{get_column_letter(positions[column] + 1)} and {get_column_letter(index + 1)}): "
                                   "keep one of them, so that no value is read from the wrong one.")
        if column is not None:
            positions[column] = index
    missing = [column for column in COLUMNS if column not in positions]
    if missing:
        raise SpreadsheetError(f"Missing column(s): {', '.join(missing)}. The first row must name the columns "
                               f"{', '.join(COLUMNS)}.")
    for number, cells in lines:
        if number - header_number > limits.max_rows:
            raise SpreadsheetError(f"The file has more than {limits.max_rows} rows (blank rows count): split it "
                                   "into smaller files.")
        if not _blank(cells, limits):
            yield number, {column: cells.get(index) for column, index in positions.items()}


def _blank(cells: dict[int, Any], limits: Limits) -> bool:
    """Whether a row holds nothing; refuses a cell longer than a spreadsheet cell can be."""
    blank = True
    for cell in cells.values():
        text = cell.value if isinstance(cell, Formula) else cell
        if isinstance(text, str):
            if len(text) > limits.max_cell_chars:
                raise SpreadsheetError(f"A cell is longer than {limits.max_cell_chars} characters: this is not a "
                                       "customer list.")
            blank = blank and not text.strip()
        elif cell is not None:
            blank = False
    return blank


def _workbook_lines(stream: IO[bytes], limits: Limits) -> Iterator[tuple[int, dict[int, Any]]]:
    try:
        yield from worksheet_rows(stream, limits.max_unzipped_bytes, limits.max_cells)
    except UnreadableWorkbook as exc:
        raise SpreadsheetError(str(exc)) from exc


class _Capped(io.RawIOBase):
    """The upload's bytes, refused past `limit` (the CLI reads files of any size)."""

    def __init__(self, raw: IO[bytes], limit: int):
        super().__init__()
        self._raw, self._left, self._limit = raw, limit, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer)
        self._left -= count
        if self._left < 0:
            raise SpreadsheetError(f"The file is larger than {self._limit / 1_000_000:g} MB: split it into "
                                   "smaller files.")
        return count


def _csv_lines(stream: IO[bytes], limits: Limits) -> Iterator[tuple[int, dict[int, Any]]]:
    """The CSV's records, numbered from 1 as a spreadsheet program shows them. Lines may end in CRLF, LF or
    CR alone (classic Mac). A first line `sep=;`, which Excel writes and reads, names the delimiter and is
    not a row; otherwise the delimiter is whichever of `,`, `;` and tab the first line holds most."""
    text = io.TextIOWrapper(io.BufferedReader(_Capped(stream, limits.max_unzipped_bytes)), encoding="utf-8-sig",
                            newline="")
    try:
        lines = _checked_lines(text)
        first_line = next(lines, "")
        declared = _SEPARATOR_LINE.fullmatch(first_line.rstrip("\r\n"))
        if declared:
            delimiter = declared["separator"]
        else:
            delimiter = max(",;\t", key=first_line.count)  # Excel writes ";" where "," is the decimal mark
            lines = itertools.chain([first_line], lines)
        for number, cells in enumerate(csv.reader(lines, delimiter=delimiter, strict=True), start=1):
            yield number, dict(enumerate(cells))
    except UnicodeDecodeError as exc:
        raise SpreadsheetError(NOT_UTF8) from exc
    except csv.Error as exc:
        raise SpreadsheetError(f"The CSV file cannot be read: {exc}.") from exc


def _checked_lines(text: IO[str]) -> Iterator[str]:
    """The text's lines, ends kept (any of CRLF, LF or CR ends one: the stream is opened with newline="");
    a NUL character, which no text file holds, refuses the file."""
    for line in text:
        if "\x00" in line:
            raise SpreadsheetError(NOT_A_SPREADSHEET + " (It holds NUL characters, which no text file does.)")
        yield line

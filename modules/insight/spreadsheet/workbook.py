"""The first visible worksheet of an .xlsx workbook, row by row: hidden sheets (often stale copies) are
skipped, as are chartsheets. The workbook's parts are read within bounds (see `parts.py`).

openpyxl's reader reads the manifest and the workbook part (sheets, date system), parts it parses whole
and which may be at most 1 MB each. The rest is streamed (`parts.read_units`), each element dropped once read,
and counted: the styles (only each cell format's number format), the shared strings, and the sheet, whose
cells openpyxl's own cell parser reads. So every row the sheet holds is read, whatever size its
`<dimension>` declares; a cell keeps whether it is a formula besides the value it last showed
(`cells.Formula`), an error cell stays an error (`cells.CellError`), and a number shown through a number
format other than General keeps that format (`cells.Formatted`), for the columns that read it as text.
The sheet's cells and the shared strings may number at most INSIGHT_MAX_CELLS, and all the XML elements
read four times that.

This uses openpyxl 3.1 internals (pinned): `ExcelReader`'s steps and `parser`, `WorkSheetParser.parse_cell`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import ARC_STYLE, SHARED_STRINGS, SHEET_MAIN_NS

from modules.insight.cells import CellError, Formatted, Formula
from modules.insight.spreadsheet.parts import (
    DAMAGED,
    ROW,
    Budget,
    Parts,
    UnreadableWorkbook,
    check_archive,
    read_units,
    too_big,
)

CELL, FORMULA, SHARED_STRING, TEXT, RUN, NUMBER_FORMAT, CELL_FORMAT, CELL_FORMATS = (
    f"{{{SHEET_MAIN_NS}}}{name}" for name in ("c", "f", "si", "t", "r", "numFmt", "xf", "cellXfs"))
MAX_COLUMNS = 16_384  # Excel's last column, XFD
MAX_ROW_NUMBER = 1_048_576  # Excel's last row
MAX_CELL_FORMATS = 65_536  # Excel keeps at most 64,000
# Number formats that show a number as typed. `@` is Text: a number typed before the column was made Text
# keeps showing as General shows it. A format the workbook does not define ("") is not among them.
AS_GENERAL = ("general", "@")


class _FirstSheet(ExcelReader):
    """openpyxl's workbook reader, reading only what the first worksheet's cells need."""

    def __init__(self, stream: IO[bytes], max_cells: int):
        super().__init__(stream, read_only=True, data_only=True, keep_links=False)
        self.archive.close()
        self.archive = Parts(stream)
        self.max_cells = max_cells
        self.budget = Budget(max_cells)

    def read(self) -> None:
        self.read_manifest()
        self.read_workbook()
        self.archive.streamed = frozenset(self.valid_files)

    def first_worksheet(self) -> str:
        """The part of the first visible worksheet, in the workbook's order of tabs. Chartsheets and hidden
        sheets (`hidden`, `veryHidden`: often stale copies nobody sees) are skipped."""
        worksheets = [(sheet, relation) for sheet, relation in self.parser.find_sheets()
                      if "worksheet" in relation.Type]
        for sheet, relation in worksheets:
            if sheet.state in (None, "visible"):
                if relation.target not in self.valid_files:
                    raise UnreadableWorkbook(DAMAGED)
                return relation.target
        if worksheets:
            raise UnreadableWorkbook("The workbook has no visible worksheet: unhide the sheet with the customers "
                                     "(right-click a sheet tab, Unhide) and save it again.")
        raise UnreadableWorkbook("The workbook has no worksheet.")

    def number_formats(self) -> list[str]:
        """The number format code of each cell format (`General`, `0.00`, `"ACC-"0000`...), by index."""
        if ARC_STYLE not in self.valid_files:
            return []
        custom: dict[int, str] = {}
        formats: list[int] = []
        with self.archive.open(ARC_STYLE) as source:
            for element, parent in read_units(source, frozenset({NUMBER_FORMAT, CELL_FORMAT}), self.budget):
                if element.tag == NUMBER_FORMAT:
                    custom[int(element.get("numFmtId"))] = element.get("formatCode", "")
                elif element.tag == CELL_FORMAT and parent.tag == CELL_FORMATS:
                    formats.append(int(element.get("numFmtId", 0)))
                    if len(formats) > MAX_CELL_FORMATS:
                        raise UnreadableWorkbook(DAMAGED)
        return [custom.get(number) or builtin_format_code(number) or "" for number in formats]

    def shared_string_table(self) -> list[str]:
        """The shared strings, as openpyxl reads them (plain text and rich-text runs, no phonetic runs)."""
        declared = self.package.find(SHARED_STRINGS)
        part = declared.PartName[1:] if declared is not None else None
        if part not in self.valid_files:
            return []
        strings: list[str] = []
        with self.archive.open(part) as source:
            for element, _parent in read_units(source, frozenset({SHARED_STRING}), self.budget):
                if element.tag == SHARED_STRING:
                    strings.append(((element.findtext(TEXT) or "") + "".join(
                        run.findtext(TEXT) or "" for run in element.iterfind(RUN))).replace("x005F_", ""))
                    if len(strings) > self.max_cells:
                        raise too_big(self.max_cells)
        return strings


class _CellParser(WorkSheetParser):
    """openpyxl's cell parser with cached values (data_only), telling formula cells and error cells apart,
    and keeping the number format of a typed number that is not shown as General shows it."""

    def __init__(self, shared_strings: list[str], epoch: Any, number_formats: list[str]):
        dates = {index for index, code in enumerate(number_formats) if is_date_format(code)}
        durations = {index for index, code in enumerate(number_formats) if is_timedelta_format(code)}
        super().__init__(None, shared_strings, data_only=True, epoch=epoch, date_formats=dates,
                         timedelta_formats=durations)
        self.shown_formats = {index: code for index, code in enumerate(number_formats)
                              if index not in dates and code.lower() not in AS_GENERAL}

    def cell_value(self, element: Any) -> tuple[int, int, Any]:
        cell = self.parse_cell(element)
        value = CellError(str(cell["value"])) if cell["data_type"] == "e" else cell["value"]
        if element.find(FORMULA) is not None:
            value = Formula(value)
        elif cell["data_type"] == "n" and value is not None and cell["style_id"] in self.shown_formats:
            value = Formatted(value, self.shown_formats[cell["style_id"]])
        return cell["row"], cell["column"], value


def worksheet_rows(stream: IO[bytes], max_unzipped_bytes: int,
                   max_cells: int) -> Iterator[tuple[int, dict[int, Any]]]:
    """(row number, {column index from 0: value}) for each row the first visible worksheet holds, blank or
    not. Values are str, int, float, bool, date/time, `Formula`, `CellError` or `Formatted`. Raises
    UnreadableWorkbook."""
    check_archive(stream, max_unzipped_bytes)
    try:
        reader = _FirstSheet(stream, max_cells)
        reader.read()
        path = reader.first_worksheet()
        parser = _CellParser(reader.shared_string_table(), reader.wb.epoch, reader.number_formats())
        with reader.archive.open(path) as source:
            yield from _rows(parser, source, reader.budget, max_cells)
    except UnreadableWorkbook:
        raise
    except Exception as exc:  # openpyxl, zipfile and XML raise whatever they meet in a damaged file
        raise UnreadableWorkbook(DAMAGED) from exc


def _rows(parser: _CellParser, source: IO[bytes], budget: Budget,
          max_cells: int) -> Iterator[tuple[int, dict[int, Any]]]:
    number, cells, row_element, cell_count = 0, {}, None, 0
    for element, parent in read_units(source, frozenset({CELL}), budget):
        row = element if element.tag == ROW else parent
        if row is not row_element:  # a new row: its number, from `r` or the one after the last
            if row is None or row.tag != ROW:
                raise UnreadableWorkbook(DAMAGED)  # a cell outside a row
            number, cells, row_element = _row_number(row, number), {}, row
            parser.row_counter, parser.col_counter = number, 0
        if element.tag == CELL:
            cell_count += 1
            if cell_count > max_cells:
                raise too_big(max_cells)
            _add_cell(cells, number, parser.cell_value(element))
        else:
            yield number, cells
            row_element = None


def _row_number(element: Any, previous: int) -> int:
    """The row's `r`, or the next number when it has none; rows only go down the sheet."""
    given = element.get("r")
    if given is None:
        number = previous + 1
    elif given.isascii() and given.isdigit() and len(given) <= 7:
        number = int(given)
    else:
        raise UnreadableWorkbook(DAMAGED)
    if not previous < number <= MAX_ROW_NUMBER:
        raise UnreadableWorkbook(DAMAGED)
    return number


def _add_cell(cells: dict[int, Any], number: int, cell: tuple[int, int, Any]) -> None:
    row, column, value = cell
    if row != number or not 1 <= column <= MAX_COLUMNS or column - 1 in cells:
        raise UnreadableWorkbook(DAMAGED)
    if value is not None:
        cells[column - 1] = value

"""Reading the first visible worksheet of an .xlsx workbook, row by row, within limits checked before and
while reading, so that a damaged or hostile file is a clear refusal within seconds and bounded memory.
Hidden sheets (often stale copies) are skipped, as are chartsheets.

Before parsing: the zip's declared sizes (INSIGHT_MAX_UNZIPPED_BYTES in all), its compression methods
(spreadsheet programs use deflate or none) and that it is an .xlsx (an .ods or another zip is refused).
A zip entry never inflates past its declared size (zipfile stops there and the CRC check fails), so the
declared sizes bound what is read even when they lie. XML goes through defusedxml (a DTD entity or an
external entity is an error, never expanded or fetched).

openpyxl's reader reads the manifest and the workbook part (sheets, date system), parts it parses whole
and which may be at most 1 MB each. The rest is streamed here, each element dropped once read, and
counted: the styles (only each cell format's number format), the shared strings, and the sheet, whose
cells openpyxl's own cell parser reads. So every row the sheet holds is read, whatever size its
`<dimension>` declares; a cell keeps whether it is a formula besides the value it last showed
(`cells.Formula`), an error cell stays an error (`cells.CellError`), and a number shown through a number
format other than General keeps that format (`cells.Formatted`), for the columns that read it as text.
The sheet's cells and the shared strings may number at most INSIGHT_MAX_CELLS, and all the XML elements
read four times that.

Before expat sees a streamed part, `_BoundedMarkup` refuses comments, CDATA sections and processing
instructions (no spreadsheet program writes them there) and any stretch of more than MAX_TOKEN_BYTES
without a `<`: so no single XML token (a tag with its attributes, a text) can be longer. Python's expat
(2.5) rescans an unfinished token at every 16 KB it is fed, so a 26 MB attribute value, which compresses
to 27 KB, took 35 s of CPU and got the worker killed; now it is refused after the first 256 KB.

This uses openpyxl 3.1 internals (pinned): `ExcelReader`'s steps and `parser`, `WorkSheetParser.parse_cell`.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from defusedxml.ElementTree import iterparse
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import ARC_STYLE, SHARED_STRINGS, SHEET_MAIN_NS

from modules.insight.cells import CellError, Formatted, Formula

ROW, CELL, FORMULA, SHARED_STRING, TEXT, RUN, NUMBER_FORMAT, CELL_FORMAT, CELL_FORMATS = (
    f"{{{SHEET_MAIN_NS}}}{name}" for name in ("row", "c", "f", "si", "t", "r", "numFmt", "xf", "cellXfs"))
WHOLE_PART_BYTES = 1_000_000  # the manifest, the workbook part and relationships are small
MAX_COLUMNS = 16_384  # Excel's last column, XFD
MAX_ROW_NUMBER = 1_048_576  # Excel's last row
MAX_CELL_FORMATS = 65_536  # Excel keeps at most 64,000
MAX_ELEMENTS_PER_UNIT = 1_000  # a cell is a value, a formula, or a string of rich-text runs
EXCEL_CELL_CHARS = 32_767
MAX_UNIT_CHARS = 4 * EXCEL_CELL_CHARS  # a cell's text with its formula or phonetic runs, counted while read
TOO_LONG_CELL = (f"A cell of the workbook holds more text than a spreadsheet cell can ({EXCEL_CELL_CHARS} "
                 "characters): the file was not written by a spreadsheet program.")
ELEMENTS_PER_CELL = 4
# Number formats that show a number as typed. `@` is Text: a number typed before the column was made Text
# keeps showing as General shows it. A format the workbook does not define ("") is not among them.
AS_GENERAL = ("general", "@")
DAMAGED = ("The file is not a readable spreadsheet: the workbook is damaged. Open it in a spreadsheet "
           "program and save it again as .xlsx.")


class UnreadableWorkbook(ValueError):
    """Why the workbook cannot be read, in words for the operator."""


def check_archive(stream: IO[bytes], max_unzipped_bytes: int) -> None:
    """Refuse, before parsing, a zip that is not an .xlsx or that would inflate past the limit."""
    try:
        with zipfile.ZipFile(stream) as archive:
            entries = archive.infolist()
            names = {entry.filename for entry in entries}
            mimetype = archive.getinfo("mimetype") if "mimetype" in names else None
            if mimetype is not None and mimetype.file_size < 100 and b"opendocument" in archive.read(mimetype):
                raise UnreadableWorkbook("This is an OpenDocument spreadsheet (.ods): save it as .xlsx.")
    except zipfile.BadZipFile as exc:
        raise UnreadableWorkbook(DAMAGED) from exc
    finally:
        stream.seek(0)
    if "[Content_Types].xml" not in names:
        raise UnreadableWorkbook("The file is a zip archive, not an .xlsx workbook.")
    if any(entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) for entry in entries):
        raise UnreadableWorkbook("The workbook is compressed in a way spreadsheet programs do not use: open it "
                                 "in a spreadsheet program and save it again as .xlsx.")
    if sum(entry.file_size for entry in entries) > max_unzipped_bytes:
        raise UnreadableWorkbook(f"The workbook unpacks to more than {max_unzipped_bytes / 1_000_000:g} MB: "
                                 "split it into smaller files.")


class _Parts(zipfile.ZipFile):
    """The workbook's zip: a part that openpyxl parses whole may be at most WHOLE_PART_BYTES."""

    streamed: frozenset[str] = frozenset()

    def open(self, name: Any, mode: str = "r", *args: Any, **kwargs: Any) -> IO[bytes]:
        entry = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        if entry.filename not in self.streamed and entry.file_size > WHOLE_PART_BYTES:
            raise UnreadableWorkbook(DAMAGED)
        return super().open(name, mode, *args, **kwargs)


MAX_TOKEN_BYTES = 256 * 1024  # a cell holds at most 32,767 characters: 160 KB even as escaped UTF-8
_UNUSUAL_MARKUP = re.compile(rb"<!--|<!\[CDATA\[|<\?")


class _BoundedMarkup:
    """A part's bytes as iterparse reads them, refused (UnreadableWorkbook) when they hold a comment, a
    CDATA section, a processing instruction other than the XML declaration, or more than MAX_TOKEN_BYTES
    without a `<` (see the module)."""

    def __init__(self, source: IO[bytes]):
        self.source, self.offset, self.since_tag, self.tail = source, 0, 0, b""

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        seen = self.tail + data
        for found in _UNUSUAL_MARKUP.finditer(seen):
            at = self.offset - len(self.tail) + found.start()
            if not (found.group() == b"<?" and at <= 3):  # the XML declaration, after a byte order mark at most
                raise UnreadableWorkbook(DAMAGED)
        last = data.rfind(b"<")
        if last < 0:
            self.since_tag += len(data)
        else:
            longest_inside = max((len(run) for run in data[:last].split(b"<")), default=0) \
                if len(data) > MAX_TOKEN_BYTES else 0
            self.since_tag = max(self.since_tag + data.find(b"<"), longest_inside)
            if self.since_tag <= MAX_TOKEN_BYTES:
                self.since_tag = len(data) - last - 1
        if self.since_tag > MAX_TOKEN_BYTES:
            raise UnreadableWorkbook(DAMAGED)
        self.offset += len(data)
        self.tail = seen[-8:]
        return data


class _Budget:
    """XML elements left to read in the whole workbook: ELEMENTS_PER_CELL for each cell allowed."""

    def __init__(self, max_cells: int):
        self.max_cells, self.left = max_cells, ELEMENTS_PER_CELL * max_cells

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise too_big(self.max_cells)


def too_big(max_cells: int) -> UnreadableWorkbook:
    return UnreadableWorkbook(f"The workbook holds more than a customer list of {max_cells} cells does: split it "
                              "into smaller files.")


def _units(source: IO[bytes], units: frozenset[str], budget: _Budget) -> Iterator[tuple[Any, Any]]:
    """(element, parent) for each finished element whose tag is in `units`, read whole, or is a `<row>`.
    Every element is removed from its parent once finished (a unit once yielded), so memory stays that of
    one unit."""
    open_elements: list[Any] = []
    unit_depth = inside = unit_chars = 0
    for event, element in iterparse(_BoundedMarkup(source), events=("start", "end"), forbid_dtd=True):
        if event == "start":
            budget.spend()
            open_elements.append(element)
            if unit_depth:
                inside += 1
                if inside > MAX_ELEMENTS_PER_UNIT:
                    raise UnreadableWorkbook(DAMAGED)
            elif element.tag in units:
                unit_depth, inside, unit_chars = len(open_elements), 0, 0
            continue
        if unit_depth:  # a unit's text is counted as its parts end, before a huge one is built whole
            unit_chars += len(element.text or "") + len(element.tail or "")
            if unit_chars > MAX_UNIT_CHARS:
                raise UnreadableWorkbook(TOO_LONG_CELL)
        open_elements.pop()
        if unit_depth and len(open_elements) >= unit_depth:
            continue  # inside a unit: kept until the unit is read
        parent = open_elements[-1] if open_elements else None
        if unit_depth or element.tag == ROW:
            unit_depth = 0
            yield element, parent
        if parent is not None:
            parent.remove(element)


class _FirstSheet(ExcelReader):
    """openpyxl's workbook reader, reading only what the first worksheet's cells need."""

    def __init__(self, stream: IO[bytes], max_cells: int):
        super().__init__(stream, read_only=True, data_only=True, keep_links=False)
        self.archive.close()
        self.archive = _Parts(stream)
        self.max_cells = max_cells
        self.budget = _Budget(max_cells)

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
            for element, parent in _units(source, frozenset({NUMBER_FORMAT, CELL_FORMAT}), self.budget):
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
            for element, _parent in _units(source, frozenset({SHARED_STRING}), self.budget):
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


def _rows(parser: _CellParser, source: IO[bytes], budget: _Budget,
          max_cells: int) -> Iterator[tuple[int, dict[int, Any]]]:
    number, cells, row_element, cell_count = 0, {}, None, 0
    for element, parent in _units(source, frozenset({CELL}), budget):
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

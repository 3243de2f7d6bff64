"""The parts of an .xlsx workbook, read within bounds checked before and while reading, so that a damaged or
hostile file is a clear refusal (`UnreadableWorkbook`) within seconds and bounded memory.

Before parsing (`check_archive`): the zip's declared sizes (INSIGHT_MAX_UNZIPPED_BYTES in all), its
compression methods (spreadsheet programs use deflate or none) and that it is an .xlsx (an .ods or another
zip is refused). A zip entry never inflates past its declared size (zipfile stops there and the CRC check
fails), so the declared sizes bound what is read even when they lie. A part that openpyxl parses whole may
be at most WHOLE_PART_BYTES (`Parts`).

While reading a streamed part (`read_units`): XML goes through defusedxml (a DTD entity or an external entity is
an error, never expanded or fetched); each element is dropped once read, and counted against a `Budget` of
ELEMENTS_PER_CELL elements for each cell allowed. Before expat sees the bytes, `_BoundedMarkup` refuses
comments, CDATA sections and processing instructions (no spreadsheet program writes them there) and any
stretch of more than MAX_TOKEN_BYTES without a `<`: so no single XML token (a tag with its attributes, a
text) can be longer. Python's expat (2.5) rescans an unfinished token at every 16 KB it is fed, so a 26 MB
attribute value, which compresses to 27 KB, took 35 s of CPU and got the worker killed; now it is refused
after the first 256 KB.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from defusedxml.ElementTree import iterparse
from openpyxl.xml.constants import SHEET_MAIN_NS

ROW = f"{{{SHEET_MAIN_NS}}}row"
WHOLE_PART_BYTES = 1_000_000  # the manifest, the workbook part and relationships are small
MAX_ELEMENTS_PER_UNIT = 1_000  # a cell is a value, a formula, or a string of rich-text runs
EXCEL_CELL_CHARS = 32_767
MAX_UNIT_CHARS = 4 * EXCEL_CELL_CHARS  # a cell's text with its formula or phonetic runs, counted while read
TOO_LONG_CELL = (f"A cell of the workbook holds more text than a spreadsheet cell can ({EXCEL_CELL_CHARS} "
                 "characters): the file was not written by a spreadsheet program.")
ELEMENTS_PER_CELL = 4
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


class Parts(zipfile.ZipFile):
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


class Budget:
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


def read_units(source: IO[bytes], units: frozenset[str], budget: Budget) -> Iterator[tuple[Any, Any]]:
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

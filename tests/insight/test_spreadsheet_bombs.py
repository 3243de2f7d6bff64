"""Spreadsheet bombs: small files that inflate to huge sheets, huge cells or huge XML tokens. Each is a
quick 400 in bounded memory, never a worker killed or a hang. Every file here is built in code."""

import io
import json
import struct
import subprocess
import sys
import time
import zipfile

import pytest

from modules.core.config import PROJECT_ROOT
from tests.insight.test_spreadsheet_files import DAMAGED, HEADER, SHEET, good_xlsx, rows_of
from tests.insight.test_upload import upload, xlsx

# Bombs: built in memory, small once compressed -----------------------------------------------------------

def workbook_with_sheet(write_sheet, declared_size=None) -> bytes:
    """A workbook whose sheet is streamed by `write_sheet(write)`; `declared_size` makes its zip entry lie."""
    base = zipfile.ZipFile(io.BytesIO(good_xlsx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in base.namelist():
            if name != SHEET:
                target.writestr(name, base.read(name))
        with target.open(SHEET, "w") as sheet:
            write_sheet(sheet.write)
    data = out.getvalue()
    return data if declared_size is None else lie_about_size(data, SHEET, declared_size)


def lie_about_size(data: bytes, name: str, size: int) -> bytes:
    """Make the zip's central directory, which readers trust, declare `size` unpacked bytes for `name`."""
    data, encoded = bytearray(data), name.encode()
    at = data.index(b"PK\x01\x02")
    while data[at + 46: at + 46 + len(encoded)] != encoded:
        at = data.index(b"PK\x01\x02", at + 4)
    struct.pack_into("<I", data, at + 24, size)
    return bytes(data)


OPEN = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
CLOSE = b"</sheetData></worksheet>"
HEAD_ROW = b'<row r="1">' + b"".join(b'<c t="inlineStr"><is><t>%s</t></is></c>' % column.encode()
                                     for column in HEADER) + b"</row>"


def blank_rows(count: int):
    def write(put):
        put(OPEN + HEAD_ROW)
        chunk = b"<row/>" * 100_000
        for _ in range(count // 100_000):
            put(chunk)
        put(CLOSE)
    return write


def one_huge_cell(size: int):
    def write(put):
        put(OPEN + HEAD_ROW + b'<row><c t="inlineStr"><is><t>')
        chunk = b"a" * 1_000_000
        for _ in range(size // 1_000_000):
            put(chunk)
        put(b"</t></is></c></row>" + CLOSE)
    return write


def empty_cells(count: int):
    def write(put):
        put(OPEN + HEAD_ROW)
        row = b"<row>" + b"<c/>" * 16_000 + b"</row>"
        for _ in range(count // 16_000):
            put(row)
        put(CLOSE)
    return write


def one_long_token(opening: bytes, filler: bytes, closing: bytes, size: int):
    """`size` bytes of `filler` between `opening` and `closing` after the header row: one XML token (an
    attribute value, a comment; Python's expat rescans an unfinished token at every 16 KB it is fed, so
    reading it took time growing with its square), or one cell of many text runs."""
    def write(put):
        put(OPEN + HEAD_ROW + opening)
        chunk = filler * (1_000_000 // len(filler))
        for _ in range(size // len(chunk)):
            put(chunk)
        put(closing + CLOSE)
    return write


BOMBS = {
    "10 million blank rows": lambda: workbook_with_sheet(blank_rows(10_000_000)),
    "10 million blank rows, declared small": lambda: workbook_with_sheet(blank_rows(10_000_000), 1_000_000),
    "one 600 MB cell": lambda: workbook_with_sheet(one_huge_cell(600_000_000)),
    "one 600 MB cell, declared small": lambda: workbook_with_sheet(one_huge_cell(600_000_000), 20_000_000),
    "2 million blank rows within the size limit": lambda: workbook_with_sheet(blank_rows(2_000_000)),
    "8 million empty cells within the size limit": lambda: workbook_with_sheet(empty_cells(8_000_000)),
    "a 26 MB attribute value": lambda: workbook_with_sheet(one_long_token(b'<row r="2" x="', b"A", b'"/>',
                                                                          26_000_000)),
    "a 26 MB comment": lambda: workbook_with_sheet(one_long_token(b"<!--", b"<a>", b"-->", 26_000_000)),
    "a 47 MB cell in 250 KB runs": lambda: workbook_with_sheet(one_long_token(
        b'<row r="2"><c r="A2" t="inlineStr"><is>', b"<r><t>" + b"a" * 250_000 + b"</t></r>", b"</is></c></row>",
        47_500_000)),
}
BOMB_MESSAGES = {
    "a 47 MB cell in 250 KB runs": "A cell of the workbook holds more text than a spreadsheet cell can",
    "10 million blank rows": "The workbook unpacks to more than 50 MB",
    "one 600 MB cell": "The workbook unpacks to more than 50 MB",
    "one 600 MB cell, declared small": DAMAGED,  # reading stops at the declared size, and the CRC fails
    "10 million blank rows, declared small": "The file has more than 20000 rows (blank rows count)",
    "2 million blank rows within the size limit": "The file has more than 20000 rows (blank rows count)",
    "8 million empty cells within the size limit": "The workbook holds more than a customer list of 200000 cells",
    "a 26 MB attribute value": DAMAGED,
    "a 26 MB comment": DAMAGED,
}


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("bombs")
    paths = {}
    for kind, build in BOMBS.items():
        paths[kind] = folder / f"{len(paths)}.xlsx"
        paths[kind].write_bytes(build())
    return paths


def test_bombs_are_small_files(bombs):
    assert max(path.stat().st_size for path in bombs.values()) < 1_000_000


@pytest.mark.parametrize("kind", list(BOMBS))
def test_a_bomb_is_a_quick_400(client, operator_headers, bombs, kind):
    started = time.monotonic()
    response = upload(client, operator_headers, bombs[kind].read_bytes(), "bomb.xlsx")
    elapsed = time.monotonic() - started
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith(BOMB_MESSAGES[kind])
    assert elapsed < 10, f"{kind}: {elapsed:.1f} s"


MEASURE = """
import json, resource, sys, time
from modules.insight.spreadsheet import Limits, SpreadsheetError, read_rows
limits = Limits(20000, 50_000_000, 32767, 200_000)
results = {}
for path in sys.argv[1:]:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    try:
        with open(path, "rb") as stream:
            outcome = "read %d rows" % len(list(read_rows(stream, limits)))
    except SpreadsheetError as exc:
        outcome = str(exc)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    results[path] = [outcome, round(time.monotonic() - started, 2), round(grown, 1)]
print(json.dumps(results))
"""


def test_bombs_are_refused_in_bounded_memory(bombs):
    """Each bomb read in a fresh process (the shared reader behind the API and the CLI): the peak resident
    memory grows by less than 100 MB."""
    paths = [str(path) for path in bombs.values()]
    done = subprocess.run([sys.executable, "-c", MEASURE, *paths], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    results = json.loads(done.stdout)
    for kind, path in zip(BOMBS, paths, strict=True):
        outcome, seconds, grown_mb = results[path]
        assert outcome.startswith(BOMB_MESSAGES[kind]), (kind, outcome)
        assert (grown_mb < 100, seconds < 10) == (True, True), (kind, grown_mb, seconds)


def test_the_bomb_builder_really_lies(bombs):
    assert zipfile.ZipFile(bombs["one 600 MB cell, declared small"]).getinfo(SHEET).file_size == 20_000_000


def test_the_longest_cell_a_spreadsheet_holds_is_no_long_token(client, operator_headers):
    """32,767 characters (Excel's most) that each need escaping, as one XML text: read, not refused as damaged
    (the name is then a row error of its own)."""
    data = xlsx([["&<" * 16_383 + "&", "ACC-1", "0241234567", "10"]])
    response = upload(client, operator_headers, data, "long.xlsx")
    [(_number, account, _arrears, errors)] = rows_of(response)
    assert account == "ACC-1" and any(error.startswith("name:") for error in errors)

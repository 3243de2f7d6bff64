"""Spreadsheet files as they arrive: typed cells, lying metadata, damaged and hostile files (bombs: see
test_spreadsheet_bombs.py).

Every file here is built in code. A file that cannot be read is a 400 with a clear message, quickly,
in bounded memory; never a 500, never a hang, never the content of a file it points at.
"""

import datetime
import io
import time
import zipfile

import pytest

from tests.insight.test_upload import upload, xlsx

HEADER = ["name", "account_number", "phone", "arrears"]
SHEET = "xl/worksheets/sheet1.xml"
GOOD_ROW = ["Ama Mensah", "ACC-1", "0241234567", 10]


def rezip(data: bytes, changes: dict, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """The workbook `data` with parts replaced (bytes), edited (a function of the old bytes) or removed
    (None); parts not in it are added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as target:
        for name in source.namelist():
            change = changes.get(name, source.read(name))
            content = change(source.read(name)) if callable(change) else change
            if content is not None:
                target.writestr(name, content)
        for name, content in changes.items():
            if name not in source.namelist() and content is not None:
                target.writestr(name, content)
    return out.getvalue()


def edit_sheet(data: bytes, old: bytes, new: bytes) -> bytes:
    return rezip(data, {SHEET: lambda xml: xml.replace(old, new, 1)})


def rows_of(response) -> list:
    assert response.status_code == 200, response.get_json()
    return [(row["row"], row["account_number"], row["arrears"], row["errors"]) for row in response.get_json()["data"]]


def test_every_row_is_read_whatever_size_the_sheet_declares(client, operator_headers):
    data = xlsx([[f"Ama {chr(65 + n)}", f"ACC-{n}", "0241234567", n] for n in range(5)])
    lying = edit_sheet(data, b'<dimension ref="A1:D6" />', b'<dimension ref="A1:B2" />')
    assert b'ref="A1:B2"' in zipfile.ZipFile(io.BytesIO(lying)).read(SHEET)
    body = upload(client, operator_headers, lying, "c.xlsx").get_json()
    assert [row["account_number"] for row in body["data"]] == [f"ACC-{n}" for n in range(5)]
    assert body["valid_count"] == 5


def typed_workbook() -> bytes:
    data = xlsx([
        ["Ama", "=\"ACC\"&1", "0241234567", "=40+2"],
        ["Kofi", datetime.date(2024, 3, 5), datetime.time(9, 30), True],
        ["Esi", "#N/A", "0241234567", "#DIV/0!"],
        ["Yaw", 1.2345678901234567e+19, 241234567.0, datetime.datetime(2024, 1, 2, 3, 4)],
        ["=HYPERLINK(\"http://example.com\")", "ACC-5", "+233 24 123 4567", "=1/0"],
        ["Akosua", "ACC-6", "0241234567", "=10*2"],
    ])
    # A spreadsheet program stores the value a formula last showed; openpyxl writes none.
    data = edit_sheet(data, b'<c r="B2"><f>"ACC"&amp;1</f><v /></c>',
                      b'<c r="B2" t="str"><f>"ACC"&amp;1</f><v>ACC1</v></c>')
    data = edit_sheet(data, b"<f>40+2</f><v />", b"<f>40+2</f><v>42</v>")
    return edit_sheet(data, b'<c r="D6"><f>1/0</f><v /></c>', b'<c r="D6" t="e"><f>1/0</f><v>#DIV/0!</v></c>')


def test_typed_cells_the_spreadsheet_may_have_changed_are_row_errors(client, operator_headers):
    data = typed_workbook()
    assert b't="e"' in zipfile.ZipFile(io.BytesIO(data)).read(SHEET), "openpyxl writes #N/A as an error cell"
    body = upload(client, operator_headers, data, "typed.xlsx").get_json()
    errors = {row["row"]: row["errors"] for row in body["data"]}
    formula = ("Is a formula: text columns take typed values only (a formula could change what is stored or run "
               "when the data is exported).")
    assert errors[2] == [f"account_number: {formula}"], "the formula's result, 42, is a fine amount"
    assert errors[3] == [
        "account_number: The spreadsheet turned this value into a date or time (2024-03-05): format the column "
        "as Text and type the value again.",
        "phone: The spreadsheet turned this value into a date or time (09:30:00): format the column as Text and "
        "type the value again.",
        "arrears: Must be a text or a number."]
    assert errors[4] == ["account_number: The cell shows the error #N/A: correct it in the spreadsheet.",
                         "arrears: The cell shows the error #DIV/0!: correct it in the spreadsheet."]
    assert errors[5] == [
        "account_number: The spreadsheet stored this as the number 1.23456789012346e+19, which may not be what was "
        "typed: format the column as Text and type the value again.",
        "arrears: The spreadsheet turned this value into a date or time (2024-01-02T03:04:00): format the column "
        "as Text and type the value again."]
    assert errors[6] == [f"name: {formula}", "arrears: The cell shows the error #DIV/0!: correct it in the "
                                             "spreadsheet."]
    assert errors[7] == ["arrears: Is a formula that was never computed: open the file in a spreadsheet program "
                         "and save it again."]
    assert [(row["row"], row["phone"], row["arrears"]) for row in body["data"] if row["row"] in (2, 5)] == [
        (2, "0241234567", "42.00"), (5, "0241234567", "2024-01-02T03:04:00")]


def test_the_cli_import_reads_typed_cells_the_same_way(app, tmp_path):
    path = tmp_path / "typed.xlsx"
    path.write_bytes(typed_workbook())
    result = app.test_cli_runner().invoke(args=["insight", "import", str(path)])
    assert result.exit_code == 1
    assert "row 4: account_number: The cell shows the error #N/A" in result.output


# Broken files ------------------------------------------------------------------------------------------

def good_xlsx() -> bytes:
    return xlsx([GOOD_ROW])


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
                             for n in range(1, 10))
                  + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                  + b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>')
XXE = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
       b'<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c><c r="B1" t="inlineStr"><is><t>&xxe;</t>'
       b'</is></c></row></sheetData></worksheet>')


def a_zip(parts: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def no_sheets(data: bytes) -> bytes:
    def drop(xml: bytes) -> bytes:
        start, end = xml.index(b"<sheets>"), xml.index(b"</sheets>") + len(b"</sheets>")
        return xml[:start] + b"<sheets/>" + xml[end:]
    return rezip(data, {"xl/workbook.xml": drop})


def chartsheet_first() -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    workbook = Workbook()
    sheet = workbook.active
    for row in (HEADER, GOOD_ROW):
        sheet.append(row)
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=4, min_row=1, max_row=2))
    workbook.create_chartsheet("Chart", 0).add_chart(chart)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


BROKEN = {
    "truncated zip": lambda: good_xlsx()[: len(good_xlsx()) // 2],
    "zip without its sheet": lambda: rezip(good_xlsx(), {SHEET: None}),
    "sheet cut mid-tag": lambda: rezip(good_xlsx(), {SHEET: lambda xml: xml[: xml.index(b"<row r=\"2\"") + 7]}),
    "billion laughs in the sheet": lambda: rezip(good_xlsx(), {SHEET: BILLION_LAUGHS}),
    "billion laughs in the workbook part": lambda: rezip(good_xlsx(), {
        "xl/workbook.xml": lambda xml: BILLION_LAUGHS.split(b"<worksheet")[0] + xml.split(b"?>", 1)[-1]}),
    "external entity in the sheet": lambda: rezip(good_xlsx(), {SHEET: XXE}),
    "a bad shared-string index": lambda: edit_sheet(good_xlsx(), b'<c r="A2" t="inlineStr"><is><t>Ama Mensah</t></is>',
                                                    b'<c r="A2" t="s"><v>99</v>'),
    "a date cell that is no date": lambda: edit_sheet(good_xlsx(), b'<c r="D2" t="n"><v>10</v>',
                                                      b'<c r="D2" t="d"><v>not a date</v>'),
    "rows out of order": lambda: edit_sheet(good_xlsx(), b'<row r="2">', b'<row r="1">'),
    "a row number that is no number": lambda: edit_sheet(good_xlsx(), b'<row r="2">', b'<row r="2x">'),
    "a cell outside its row": lambda: edit_sheet(good_xlsx(), b'<c r="D2"', b'<c r="D7"'),
    "a column past XFD": lambda: edit_sheet(good_xlsx(), b'<c r="D2"', b'<c r="XFE2"'),
    "the same cell twice": lambda: edit_sheet(good_xlsx(), b'<c r="D2"', b'<c r="A2"'),
    "bzip2-compressed parts": lambda: rezip(good_xlsx(), {}, zipfile.ZIP_BZIP2),
    "workbook without sheets": lambda: no_sheets(good_xlsx()),
    "a zip that is no workbook": lambda: a_zip({"notes.txt": b"hello"}),
    "an OpenDocument spreadsheet": lambda: a_zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                                                  "content.xml": b"<x/>"}),
    "an old .xls (BIFF in OLE2)": lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
    "a PDF named .xlsx": lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
    "an empty file": lambda: b"",
    "a Latin-1 CSV": lambda: "name,account_number,phone,arrears\nSoci\u00e9t\u00e9,A,0241234567,1\n".encode("latin-1"),
    "a UTF-16 CSV": lambda: "name,account_number,phone,arrears\nAma,A,0241234567,1\n".encode("utf-16"),
    "a CSV with a NUL past its first 4 KB": lambda: (
        b"name,account_number,phone,arrears\n" + b"Ama,A,0241234567,1\n" * 300 + b"Ko\x00fi,B,0241234567,1\n"),
    "a CSV with a huge field": lambda: b"name,account_number,phone,arrears\n\"" + b"x" * 200_000 + b"\",A,1,1\n",
    "a CSV cell longer than a spreadsheet cell": lambda: b"name,account_number,phone,arrears\n" + b"x" * 40_000
    + b",A,1,1\n",
    "a CSV with an unclosed quote": lambda: b"name,account_number,phone,arrears\n\"Ama,A,0241234567,1\n",
}
MESSAGES = {
    "workbook without sheets": "The workbook has no worksheet.",
    "a zip that is no workbook": "The file is a zip archive, not an .xlsx workbook.",
    "an OpenDocument spreadsheet": "This is an OpenDocument spreadsheet (.ods): save it as .xlsx.",
    "an old .xls (BIFF in OLE2)": "This is an Excel 97-2003 workbook (.xls) or a password-protected one",
    "an empty file": "The file is empty",
    "a Latin-1 CSV": "The file is not a spreadsheet: upload an .xlsx workbook or a .csv file. A .csv file must be "
                     "UTF-8",
    "a UTF-16 CSV": "The file is not a spreadsheet: upload an .xlsx workbook or a .csv file. A .csv file must be "
                    "UTF-8",
    "a CSV with a NUL past its first 4 KB": "The file is not a spreadsheet",
    "a CSV with a huge field": "The CSV file cannot be read: field larger than field limit",
    "a CSV cell longer than a spreadsheet cell": "A cell is longer than 32767 characters",
    "a CSV with an unclosed quote": "The CSV file cannot be read: unexpected end of data.",
    "bzip2-compressed parts": "The workbook is compressed in a way spreadsheet programs do not use",
    "a PDF named .xlsx": "The file is not a spreadsheet",
}
DAMAGED = "The file is not a readable spreadsheet: the workbook is damaged."


@pytest.mark.parametrize("kind", list(BROKEN))
def test_each_broken_file_is_a_400_with_a_clear_message(client, operator_headers, kind):
    started = time.monotonic()
    for filename in ("customers.xlsx", "customers.csv"):
        response = upload(client, operator_headers, BROKEN[kind](), filename)
        assert response.status_code == 400, (kind, response.get_json())
        assert response.get_json()["detail"].startswith(MESSAGES.get(kind, DAMAGED)), response.get_json()
        assert "root:" not in response.get_data(as_text=True)
    assert time.monotonic() - started < 10


def test_the_content_decides_not_the_name(client, operator_headers):
    csv_content = ("name,account_number,phone,arrears\n" + ",".join(map(str, GOOD_ROW)) + "\n").encode()
    assert rows_of(upload(client, operator_headers, good_xlsx(), "renamed.csv")) == [(2, "ACC-1", "10.00", [])]
    assert rows_of(upload(client, operator_headers, csv_content, "renamed.xlsx")) == [(2, "ACC-1", "10.00", [])]
    assert rows_of(upload(client, operator_headers, chartsheet_first(), "chart.xlsx")) == [(2, "ACC-1", "10.00", [])]


def test_the_cli_says_why_a_damaged_workbook_is_refused(app, tmp_path):
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(BROKEN["sheet cut mid-tag"]())
    result = app.test_cli_runner().invoke(args=["insight", "import", str(path)])
    assert result.exit_code == 1 and f"Error: {DAMAGED}" in result.output


def test_a_csv_larger_than_the_unpacked_limit_is_refused(make_app, operator_headers):
    client = make_app(INSIGHT_MAX_UNZIPPED_BYTES=10_000).test_client()
    content = b"name,account_number,phone,arrears\n" + b"".join(
        b"Ama,A-%d,0241234567,1\n" % n for n in range(1000))
    response = upload(client, operator_headers, content, "big.csv")
    assert (response.status_code, response.get_json()) == (
        400, {"detail": "The file is larger than 0.01 MB: split it into smaller files."})

"""What the operator sees in the spreadsheet is what is read, or the file or row is refused: the visible
sheet, numbers as their format shows them, one column per name, CSV files as Excel writes them."""

import io
import zipfile

import pytest
from openpyxl import Workbook

from tests.insight.test_spreadsheet_files import HEADER, rezip
from tests.insight.test_upload import upload

ADVICE = "format the column as Text and type the value again."


def workbook(*sheets, hidden=(), active=0) -> bytes:
    """A workbook of sheets (lists of rows, the header first); sheets whose index is in `hidden` are hidden,
    as `hidden` or `veryHidden` (the value of the mapping)."""
    book = Workbook()
    book.remove(book.active)
    for index, rows in enumerate(sheets):
        sheet = book.create_sheet(f"Sheet{index + 1}")
        for row in rows:
            sheet.append(row)
        sheet.sheet_state = dict(hidden).get(index, "visible")
    book.active = active
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rows_of(response) -> list:
    assert response.status_code == 200, response.get_json()
    return [(row["row"], row["account_number"], row["phone"], row["errors"]) for row in response.get_json()["data"]]


STALE = [HEADER, ["Old Name", "OLD-1", "0241234567", 999]]
CURRENT = [HEADER, ["Ama Mensah", "ACC-1", "0241234567", 10]]


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_first_sheet_is_skipped_for_the_first_visible_one(client, operator_headers, state):
    data = workbook(STALE, CURRENT, hidden={0: state}, active=1)
    assert rows_of(upload(client, operator_headers, data, "book.xlsx")) == [(2, "ACC-1", "0241234567", [])]
    later_hidden = workbook(CURRENT, STALE, [HEADER], hidden={1: state}, active=2)
    assert rows_of(upload(client, operator_headers, later_hidden, "book.xlsx")) == [(2, "ACC-1", "0241234567", [])]


def test_a_workbook_without_a_visible_worksheet_is_a_400(client, operator_headers):
    data = workbook(STALE, CURRENT, hidden={0: "hidden"}, active=1)
    data = rezip(data, {"xl/workbook.xml": lambda xml: xml.replace(b'state="visible"', b'state="veryHidden"')})
    assert b'state="veryHidden"' in zipfile.ZipFile(io.BytesIO(data)).read("xl/workbook.xml")
    response = upload(client, operator_headers, data, "book.xlsx")
    assert (response.status_code, response.get_json()) == (400, {"detail": (
        "The workbook has no visible worksheet: unhide the sheet with the customers (right-click a sheet tab, "
        "Unhide) and save it again.")})


def formatted_workbook(cells) -> bytes:
    """One data row per (column, value, number format) in `cells`, the other columns plain."""
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for number, (column, value, number_format) in enumerate(cells):
        row = {"name": "Ama Mensah", "account_number": f"ACC-{number}", "phone": "0241234567", "arrears": 1}
        row[column] = value
        sheet.append([row[name] for name in HEADER])
        sheet.cell(row=number + 2, column=HEADER.index(column) + 1).number_format = number_format
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def formatted_refusal(value, number_format):
    return (f"The spreadsheet shows the number {value} through the number format {number_format!r}, so what it "
            f"shows is not what the cell holds: {ADVICE}")


LABELLED = '"ACC-"0000'
FORMATTED = [
    (("account_number", 123, "00000"), "00123", []),
    (("account_number", 4568, "0"), "4568", []),
    (("account_number", 4569, "@"), "4569", []),
    (("account_number", 4570, "General"), "4570", []),
    (("account_number", 4567, LABELLED), "4567", [f"account_number: {formatted_refusal(4567, LABELLED)}"]),
    (("account_number", 1234, "#,##0"), "1234", [f"account_number: {formatted_refusal(1234, '#,##0')}"]),
    (("account_number", 12.5, "00000"), "12.5", ["account_number: The spreadsheet stored this as the number 12.5, "
                                                 f"which may not be what was typed: {ADVICE}"]),
    (("phone", 241234567, "0000000000"), "0241234567", []),
    (("phone", 241234567, "General"), "0241234567", []),
    (("phone", 241234567, "000 000 0000"), "241234567",
     [f"phone: {formatted_refusal(241234567, '000 000 0000')}"]),
    (("arrears", 1250.5, "#,##0.00"), "ACC-10", []),
]


def test_numbers_in_text_columns_are_read_as_their_format_shows_them_or_refused(client, operator_headers):
    body = upload(client, operator_headers, formatted_workbook([cell for cell, _, _ in FORMATTED]), "f.xlsx")
    assert body.status_code == 200, body.get_json()
    got = [(row["account_number"] if column != "phone" else row["phone"], row["errors"])
           for row, ((column, _, _), _, _) in zip(body.get_json()["data"], FORMATTED, strict=True)]
    assert got == [(shown, errors) for _, shown, errors in FORMATTED]
    assert body.get_json()["data"][-1]["arrears"] == "1250.50"


def test_a_negative_number_under_a_zeros_format_keeps_its_sign_where_it_shows(client, operator_headers):
    body = upload(client, operator_headers, formatted_workbook([("account_number", -123, "00000")]), "f.xlsx")
    [row] = body.get_json()["data"]
    assert row["account_number"] == "-00123"
    assert row["errors"] == ["account_number: Account number '-00123' starts with '-': a spreadsheet would run it "
                             "as a formula."]


def test_a_number_format_the_workbook_does_not_define_is_refused_in_text_columns(client, operator_headers):
    data = formatted_workbook([("account_number", 123, "00000")])
    data = rezip(data, {"xl/styles.xml": lambda xml: xml.replace(b'formatCode="00000"', b'formatCode=""')})
    [row] = upload(client, operator_headers, data, "f.xlsx").get_json()["data"]
    assert row["errors"] == ["account_number: The spreadsheet shows the number 123 through the number format that "
                             f"this reader does not know, so what it shows is not what the cell holds: {ADVICE}"]


@pytest.mark.parametrize("header, message", [
    ("name,account_number,phone,arrears,Phone", "The column phone appears twice in the first row (columns C and E)"),
    ("Name,Account Number,phone,ACCOUNT_NUMBER,arrears",
     "The column account_number appears twice in the first row (columns B and D)"),
])
def test_a_column_named_twice_refuses_the_file_naming_it(client, operator_headers, header, message):
    response = upload(client, operator_headers, f"{header}\nAma,A-1,0241234567,1,0201234567\n".encode(), "c.csv")
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith(message)


def test_a_column_named_twice_in_a_workbook_names_the_columns(client, operator_headers):
    data = workbook([[*HEADER, "Account_Number"], ["Ama Mensah", "ACC-1", "0241234567", 1, "ACC-2"]])
    response = upload(client, operator_headers, data, "book.xlsx")
    assert (response.status_code, response.get_json()) == (400, {"detail": (
        "The column account_number appears twice in the first row (columns B and E): keep one of them, so that "
        "no value is read from the wrong one.")})


ROUNDED = "looks like a number the spreadsheet rounded"


@pytest.mark.parametrize("text", ["1.23457E+15", "1.23457e+15", "1E+15", "-2.5E-03", " 9.99999E+11 "])
def test_text_in_scientific_notation_is_refused_in_text_columns(client, operator_headers, text):
    content = f"name,account_number,phone,arrears\nAma,{text},{text},1\n"
    [row] = upload(client, operator_headers, content.encode(), "excel.csv").get_json()["data"]
    assert row["errors"] == [
        f"account_number: This {ROUNDED} ({text.strip()}): format the column as Text and export again.",
        f"phone: This {ROUNDED} ({text.strip()}): format the column as Text and export again."]
    api = client.post("/api/customers/", headers=operator_headers,
                      json={"name": "Ama", "account_number": text, "phone": "0241234567"})
    assert api.status_code == 422 and ROUNDED in api.get_json()["detail"][0]["msg"]


def test_account_numbers_that_only_look_a_little_like_numbers_are_kept(client, operator_headers):
    content = "name,account_number,phone,arrears\nAma,2E10,0241234567,1\nKofi,1.5E+,0201234567,1\n"
    body = upload(client, operator_headers, content.encode(), "c.csv").get_json()
    assert [(row["account_number"], row["errors"]) for row in body["data"]] == [("2E10", []), ("1.5E+", [])]


def test_a_classic_mac_csv_with_cr_line_ends_is_read(client, operator_headers):
    lines = ["name,account_number,phone,arrears", "Ama,ACC-1,0241234567,1", "Kofi,\"ACC\r2\",0201234567,2"]
    lines += [f"Yaw,ACC-{n},0551234567,3" for n in range(3, 400)]  # past the first 4 KB the delimiter check reads
    response = upload(client, operator_headers, "\r".join(lines).encode(), "mac.csv")
    body = response.get_json()
    assert (response.status_code, body["total"]) == (200, 399)
    assert [(row["row"], row["account_number"]) for row in body["data"][:2]] == [(2, "ACC-1"), (3, "ACC\r2")]
    assert (body["data"][-1]["row"], body["data"][-1]["account_number"]) == (400, "ACC-399")


@pytest.mark.parametrize("first_line, separator", [("sep=;", ";"), ("SEP=|", "|"), ("sep=,", ","),
                                                   ("sep=\t", "\t")])
def test_an_excel_sep_line_names_the_delimiter_and_is_not_a_row(client, operator_headers, first_line, separator):
    content = "\r\n".join([first_line, separator.join(HEADER),
                            separator.join(["Ama", "ACC-1", "0241234567", '"1,250.50"'])])
    response = upload(client, operator_headers, ("\ufeff" + content).encode(), "excel.csv")
    assert response.status_code == 200, response.get_json()
    [row] = response.get_json()["data"]
    assert (row["row"], row["account_number"], row["arrears"], row["errors"]) == (2, "ACC-1", "1250.50", [])

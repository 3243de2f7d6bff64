"""The Spreadsheet upload pages: every row with its errors, a corrected file processed once, the results as
an .xlsx, the role and CSRF checks, and refused files as clear 4xx pages."""

from __future__ import annotations

import html
import io
import random
import re

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.insight.models import Customer, ProcessedBatch
from tests.console.conftest import create, csrf_token, sign_in

HEADER = ["name", "account_number", "phone", "arrears"]
GOOD = [["Ama Mensah", "ACC-1001", "0240000001", 120.5],
        ["kofi boateng-asante", "ACC-1002", "+233 24 400 0101", 0],
        ["Yaw Owusu", "ACC-1003", "0551234567", "75.25"]]
TWO_BAD = [GOOD[0], ["Kofi 2Pac", "ACC-1002", "0244000101", 0], GOOD[2], ["Esi Appiah", "ACC-1004", "12345", 3]]
UPLOAD = "/console/customers/upload"


def xlsx(rows, header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, content: bytes, filename: str = "customers.xlsx"):
    token = csrf_token(client.get(UPLOAD).get_data(as_text=True))
    return client.post(UPLOAD, data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def review_of(page_html: str) -> str:
    found = re.search(r'name="review" value="([^"]+)"', page_html)
    assert found, "the page carries no review"
    return html.unescape(found.group(1))


def post_review(client, endpoint: str, page_html: str):
    form = {"csrf_token": csrf_token(page_html), "review": review_of(page_html)}
    return client.post(f"{UPLOAD}/{endpoint}", data=form)


def customers(app) -> dict[str, tuple[str, str, str]]:
    with app.app_context():
        return {c.account_number: (c.name, c.phone, f"{c.arrears:.2f}") for c in db.session.scalars(select(Customer))}


def test_a_file_with_two_bad_rows_shows_both_errors_and_stores_nothing(app, operator_client):
    answer = upload(operator_client, xlsx(TWO_BAD))
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "4 row(s), 2 with errors" in page
    assert "Row 3, <span class=\"mono\">name</span>: Name may only contain letters" in page
    assert "Row 5, <span class=\"mono\">phone</span>: Not a valid phone number" in page
    assert "/console/customers/upload/process" not in page
    assert customers(app) == {}


def test_a_corrected_file_processes_once_and_the_customers_are_stored(app, operator_client, field_operator):
    upload(operator_client, xlsx(TWO_BAD))
    reviewed = upload(operator_client, xlsx(GOOD)).get_data(as_text=True)
    assert "3 row(s), 0 with errors" in reviewed
    processed = post_review(operator_client, "process", reviewed)
    assert processed.status_code == 200
    assert "Batch processed: 3 customer(s) created, 0 updated" in processed.get_data(as_text=True)
    assert customers(app) == {"ACC-1001": ("Ama Mensah", "0240000001", "120.50"),
                              "ACC-1002": ("Kofi Boateng-Asante", "0244000101", "0.00"),
                              "ACC-1003": ("Yaw Owusu", "0551234567", "75.25")}
    again = post_review(operator_client, "process", reviewed)  # a double click, or a reload
    assert again.status_code == 200
    assert "was already processed; nothing was applied again" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProcessedBatch)) == 1
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.event == "batch.processed")).one()
        assert entry.actor == f"operator:{field_operator}"


def test_processed_customers_are_listed_by_the_api(app, operator_client, operator_headers):
    post_review(operator_client, "process", upload(operator_client, xlsx(GOOD)).get_data(as_text=True))
    listed = app.test_client().get("/api/customers/", headers=operator_headers).get_json()
    names = {customer["account_number"]: customer["name"] for customer in listed["data"]}
    assert names == {"ACC-1001": "Ama Mensah", "ACC-1002": "Kofi Boateng-Asante", "ACC-1003": "Yaw Owusu"}


def results(answer) -> list[tuple]:
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument")
    sheet = load_workbook(io.BytesIO(answer.data)).active
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


def test_the_results_download_has_a_row_per_input_row_with_its_outcome(operator_client):
    lines = ["name,account_number,phone,arrears", '"=HYPERLINK(""http://x"")",ACC-9,0240000009,1',
             *(",".join(str(value) for value in row) for row in TWO_BAD)]
    page = upload(operator_client, "\n".join(lines).encode(), "customers.csv").get_data(as_text=True)
    rows = results(post_review(operator_client, "results", page))
    assert rows[0] == ("row", "name", "account_number", "phone", "arrears", "outcome", "errors")
    assert [row[0] for row in rows[1:]] == ["2", "3", "4", "5", "6"]
    assert [row[5] for row in rows[1:]] == ["error", "valid, not processed", "error", "valid, not processed", "error"]
    assert rows[1][1] == "=HYPERLINK(\"http://x\")"  # text, never a formula
    assert load_workbook(io.BytesIO(post_review(operator_client, "results", page).data)).active["B2"].data_type == "s"
    assert rows[5][6].startswith("phone: Not a valid phone number")


def test_the_results_after_processing_say_processed(operator_client):
    page = post_review(operator_client, "process",
                       upload(operator_client, xlsx(GOOD)).get_data(as_text=True)).get_data(as_text=True)
    rows = results(post_review(operator_client, "results", page))
    assert rows[1:] == [("2", "Ama Mensah", "ACC-1001", "0240000001", "120.50", "processed", None),
                        ("3", "Kofi Boateng-Asante", "ACC-1002", "0244000101", "0.00", "processed", None),
                        ("4", "Yaw Owusu", "ACC-1003", "0551234567", "75.25", "processed", None)]


def test_a_csv_file_is_read_the_same_way(app, operator_client):
    content = b"name;account_number;phone;arrears\r\nAma Mensah;ACC-1001;0240000001;120.50\r\n"
    page = upload(operator_client, content, "customers.csv").get_data(as_text=True)
    assert "1 row(s), 0 with errors" in page
    post_review(operator_client, "process", page)
    assert customers(app) == {"ACC-1001": ("Ama Mensah", "0240000001", "120.50")}


@pytest.fixture
def agent_client(app, admin):
    create(app, "agent@example.com", "agent")
    client = app.test_client()
    assert sign_in(client, "agent@example.com").status_code == 303
    return client


@pytest.mark.parametrize("path", [UPLOAD, f"{UPLOAD}/process", f"{UPLOAD}/results"])
def test_an_agent_gets_403_on_get_and_post(agent_client, path):
    refused = agent_client.get(UPLOAD)
    assert refused.status_code == 403
    token = csrf_token(refused.get_data(as_text=True))  # the sign-out form's
    answer = agent_client.post(path, data={"csrf_token": token, "file": (io.BytesIO(xlsx(GOOD)), "c.xlsx")},
                               content_type="multipart/form-data")
    assert answer.status_code == 403


def test_a_post_without_csrf_is_400_and_stores_nothing(app, operator_client):
    answer = operator_client.post(UPLOAD, data={"file": (io.BytesIO(xlsx(GOOD)), "c.xlsx")},
                                  content_type="multipart/form-data")
    assert answer.status_code == 400
    reviewed = upload(operator_client, xlsx(GOOD)).get_data(as_text=True)
    assert operator_client.post(f"{UPLOAD}/process", data={"review": review_of(reviewed)}).status_code == 400
    assert customers(app) == {}


@pytest.mark.parametrize(("content", "filename", "message"), [
    (b"%PDF-1.4 not a list", "customers.xlsx", "The file is not a spreadsheet"),
    (b"\x89PNG\r\n\x1a\n", "customers.csv", "The file is not a spreadsheet"),
    (b"PK\x03\x04 cut short", "customers.xlsx", "not a readable spreadsheet"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "old.xls", "Excel 97-2003"),
    (xlsx(GOOD, header=["name", "phone"]), "customers.xlsx", "Missing column(s): account_number, arrears"),
    (xlsx([]), "customers.xlsx", "no customer rows"),
])
def test_a_file_that_is_not_a_customer_spreadsheet_is_a_400_page_saying_why(operator_client, content, filename,
                                                                            message):
    answer = upload(operator_client, content, filename)
    assert answer.status_code == 400
    assert message in html.unescape(answer.get_data(as_text=True))
    assert answer.mimetype == "text/html"


def test_no_file_is_a_400_page(operator_client):
    token = csrf_token(operator_client.get(UPLOAD).get_data(as_text=True))
    answer = operator_client.post(UPLOAD, data={"csrf_token": token}, content_type="multipart/form-data")
    assert answer.status_code == 400
    assert "Choose a file to upload" in answer.get_data(as_text=True)


def test_a_file_over_the_request_limit_is_a_413_page(make_app, field_operator, operator_client):
    client = make_app(MAX_CONTENT_LENGTH=100_000).test_client()
    assert sign_in(client, "field@example.com").status_code == 303
    answer = upload(client, b"name,account_number,phone,arrears\n" + b"x" * 200_000, "big.csv")
    assert answer.status_code == 413
    assert answer.mimetype == "text/html"


def test_a_file_over_the_row_limit_is_a_400_page(make_app, field_operator):
    client = make_app(INSIGHT_UPLOAD_MAX_ROWS=2).test_client()
    assert sign_in(client, "field@example.com").status_code == 303
    answer = upload(client, xlsx(GOOD))
    assert answer.status_code == 400
    assert "more than 2 rows" in answer.get_data(as_text=True)


def test_a_changed_or_foreign_review_is_refused_and_nothing_is_stored(app, operator_client):
    page = upload(operator_client, xlsx(GOOD)).get_data(as_text=True)
    forged = review_of(page)[:-3] + "AAA"
    answer = operator_client.post(f"{UPLOAD}/process", data={"csrf_token": csrf_token(page), "review": forged})
    assert answer.status_code == 400
    assert "upload the file again" in answer.get_data(as_text=True)
    assert customers(app) == {}


NEAR_LIMIT_ROWS = 2650


def many_rows(count: int) -> list[list]:
    """Valid rows with distinct, hardly compressible account numbers and phones."""
    draw = random.Random(19)
    return [[f"Customer {chr(65 + i % 26)}{chr(65 + i // 26 % 26)}", f"ACC-{draw.randrange(10**6):06d}-{i}",
             f"024{draw.randrange(10**7):07d}", draw.randrange(10**5)] for i in range(count)]


def test_a_review_too_large_for_a_form_says_to_split_the_file(make_app, field_operator):
    client = make_app(MAX_FORM_MEMORY_SIZE=80_000).test_client()  # the multipart parser reads 64 KiB at a time
    assert sign_in(client, "field@example.com").status_code == 303
    page = upload(client, xlsx(many_rows(8000))).get_data(as_text=True)
    assert "8000 row(s), 0 with errors" in page
    assert "too large to process from the console" in page
    assert 'name="review"' not in page


def test_a_review_near_the_form_limit_still_processes(make_app, field_operator):
    app = make_app(MAX_FORM_MEMORY_SIZE=80_000)
    client = app.test_client()
    assert sign_in(client, "field@example.com").status_code == 303
    page = upload(client, xlsx(many_rows(NEAR_LIMIT_ROWS))).get_data(as_text=True)
    assert 70_000 < len(review_of(page)) <= 78_000
    answer = post_review(client, "process", page)
    assert answer.status_code == 200
    assert f"Batch processed: {NEAR_LIMIT_ROWS} customer(s) created" in answer.get_data(as_text=True)


def test_uploads_from_the_console_are_rate_limited_per_operator(make_app):
    """The console's upload counts against INGEST_RATE_LIMIT per signed-in operator, like the API's."""
    app = make_app(INGEST_RATE_LIMIT="2/minute")
    create(app, "limited@example.com", "operator")
    client = app.test_client()
    assert sign_in(client, "limited@example.com").status_code == 303
    token = csrf_token(client.get("/console/customers/upload").get_data(as_text=True))
    answers = [client.post("/console/customers/upload", data={"csrf_token": token},
                           content_type="multipart/form-data").status_code for _ in range(3)]
    assert answers == [400, 400, 429]


def test_the_customers_list_links_to_the_upload(operator_client):
    listed = operator_client.get("/console/customers").get_data(as_text=True)
    assert 'href="/console/customers/upload"' in listed

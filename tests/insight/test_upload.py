"""Spreadsheet upload, row validation and batch processing (once per batch id), and the CLI import."""

import io
import json

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.insight.models import Customer, CustomerAction, ProcessedBatch

COLUMNS = ("name", "account_number", "phone", "arrears")

HEADERS = ["Name", "ACCOUNT NUMBER", " phone ", "Arrears"]
GOOD_AND_BAD = [
    ["ama mensah", "ACC-1", "024-123-4567", 120.5],
    ["Kofi 2Pac", "ACC-2", "12345", -3],
    [None, None, None, None],
    ["Élodie O'Neil", 1003, 201234567, "1,250.00"],
    ["Yaw", "ACC-1", "0551234567", "abc"],
]


def xlsx(rows, headers=HEADERS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, headers, content: bytes, filename: str):
    return client.post("/api/upload/excel", headers=headers, data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def test_an_xlsx_comes_back_with_every_error_of_every_row(client, operator_headers):
    response = upload(client, operator_headers, xlsx(GOOD_AND_BAD), "customers.xlsx")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["total"], body["valid_count"], body["error_count"]) == (4, 2, 2)
    assert body["data"] == [
        {"row": 2, "name": "Ama Mensah", "account_number": "ACC-1", "phone": "0241234567", "arrears": "120.50",
         "status": "validated", "errors": []},
        {"row": 3, "name": "Kofi 2Pac", "account_number": "ACC-2", "phone": "12345", "arrears": "-3",
         "status": "error", "errors": ["name: Name may only contain letters, spaces, hyphens and apostrophes.",
                                       "phone: Not a valid phone number for GH.",
                                       "arrears: Arrears cannot be negative."]},
        {"row": 5, "name": "Élodie O'Neil", "account_number": "1003", "phone": "0201234567", "arrears": "1250.00",
         "status": "validated", "errors": []},
        {"row": 6, "name": "Yaw", "account_number": "ACC-1", "phone": "0551234567", "arrears": "abc",
         "status": "error", "errors": ["arrears: Not a valid amount: 'abc'.", "account_number: Duplicate of row 2."]},
    ]


def test_a_csv_is_read_too_with_semicolons_and_a_bom(client, operator_headers, app):
    content = "\ufeffname;account_number;phone;arrears;notes\nAma Mensah;ACC-1;+233 24 123 4567;10.00;x\n"
    body = upload(client, operator_headers, content.encode(), "export.csv").get_json()
    assert body["data"][0]["phone"] == "0241234567" and body["valid_count"] == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 0, "validation stores nothing"


@pytest.mark.parametrize("content, filename, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.png", "The file is not a spreadsheet"),
    (b"PK\x03\x04 not really a zip", "customers.xlsx", "The file is not a readable spreadsheet"),
    (b"%PDF-1.4 binary", "customers.xlsx", "The file is not a spreadsheet"),
    (b"just some words\nand more words\n", "notes.txt", "Missing column(s): name, account_number, phone, arrears"),
    (b"name,phone\nAma,0241234567\n", "short.csv", "Missing column(s): account_number, arrears"),
    (b"", "empty.csv", "The file is empty"),
])
def test_a_file_that_is_not_a_customer_spreadsheet_is_a_400(client, operator_headers, content, filename, message):
    response = upload(client, operator_headers, content, filename)
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith(message)


def test_too_many_rows_is_a_400(make_app, operator_headers):
    client = make_app(INSIGHT_UPLOAD_MAX_ROWS=3).test_client()
    rows = "".join(f"Ama,ACC-{n},0241234567,1\n" for n in range(4))
    response = upload(client, operator_headers, f"name,account_number,phone,arrears\n{rows}".encode(), "big.csv")
    assert (response.status_code, response.get_json()) == (
        400, {"detail": "The file has more than 3 rows (blank rows count): split it into smaller files."})


def test_a_missing_file_is_a_422(client, operator_headers):
    response = client.post("/api/upload/excel", headers=operator_headers, data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["body", "file"]


def test_validate_customers_splits_valid_and_invalid_rows(client, operator_headers):
    response = client.post("/api/upload/validate-customers", headers=operator_headers, json={"customers": [
        {"row": 7, "name": "Ama", "account_number": "A1", "phone": "0241234567", "arrears": "5"},
        {"name": "", "account_number": "A2", "phone": "0241234567", "arrears": {"x": 1}},
    ]})
    body = response.get_json()
    assert (body["total"], body["valid_count"], body["error_count"]) == (2, 1, 1)
    assert body["validated"][0]["row"] == 7 and body["validated"][0]["arrears"] == "5.00"
    assert body["errors"] == [{"row": 2, "error": "name: Name is required.; arrears: Must be a text or a number.",
                               "errors": ["name: Name is required.", "arrears: Must be a text or a number."],
                               "data": {"name": "", "account_number": "A2", "phone": "0241234567",
                                        "arrears": "[object]"}}]


def test_validate_customers_takes_a_bare_array_as_the_front_end_sends(client, operator_headers):
    rows = [{"row": 2, "name": "Ama", "account_number": "A1", "phone": "0241234567", "arrears": "5"},
            {"row": 3, "name": "Kofi", "account_number": "A2", "phone": "555", "arrears": "1"}]
    bare = client.post("/api/upload/validate-customers", headers=operator_headers, json=rows)
    wrapped = client.post("/api/upload/validate-customers", headers=operator_headers, json={"customers": rows})
    assert bare.status_code == wrapped.status_code == 200
    assert bare.get_json() == wrapped.get_json()
    assert (bare.get_json()["valid_count"], bare.get_json()["errors"][0]["row"]) == (1, 3)
    refused = client.post("/api/upload/validate-customers", headers=operator_headers, json=[{"name": "A\u0000"}, 5])
    assert refused.status_code == 422


ROWS = [{"name": "ama mensah", "account_number": "ACC-1", "phone": "0241234567", "arrears": "10"},
        {"name": "Kofi", "account_number": "ACC-2", "phone": "0201234567", "arrears": 20, "action": "disconnect"}]


def counts(app):
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (Customer, CustomerAction, ProcessedBatch))


def test_process_batch_applies_once_per_batch_id(client, operator_headers, app):
    existing = client.post("/api/customers/", headers=operator_headers, json={
        "name": "Old Name", "account_number": "ACC-1", "phone": "0551234567", "status": "disconnected"}).get_json()
    body = {"data": ROWS, "batch_id": "june-2026", "action": "warn"}
    first = client.post("/api/upload/process-batch", headers=operator_headers, json=body)
    assert first.status_code == 200
    assert first.get_json() == {
        "message": "Batch processed: 1 customer(s) created, 1 updated, 2 action(s) recorded.", "actions_created": 2,
        "customers_created": 1, "customers_updated": 1, "batch_id": "june-2026", "success": True, "errors": []}
    again = client.post("/api/upload/process-batch", headers=operator_headers, json=body).get_json()
    assert (again["actions_created"], again["customers_created"], again["customers_updated"]) == (2, 1, 1)
    assert again["message"] == "Batch june-2026 was already processed; nothing was applied again."
    assert counts(app) == (2, 2, 1)
    with app.app_context():
        updated = db.session.get(Customer, existing["id"])
        assert (updated.name, updated.phone, str(updated.arrears), updated.status) == (
            "Ama Mensah", "0241234567", "10.00", "warned")
        kofi = db.session.scalar(select(Customer).where(Customer.account_number == "ACC-2"))
        assert kofi.status == "disconnected"
        actions = db.session.execute(select(CustomerAction.action, CustomerAction.source, CustomerAction.batch_id)
                                     .order_by(CustomerAction.action)).all()
        assert [tuple(a) for a in actions] == [("disconnect", "batch", "june-2026"), ("warn", "batch", "june-2026")]


def test_a_batch_kept_with_the_older_body_fingerprint_is_still_recognised(client, operator_headers, app):
    """Batches applied before 2026-11-30 kept a fingerprint of the request body: the same body again is a
    repeat (200, nothing applied), other content under that id a 409."""
    from modules.core.types import utcnow
    from modules.insight.services.batches import body_fingerprint

    body = {"data": ROWS, "batch_id": "may-2026", "action": "warn"}
    with app.app_context():
        db.session.add(ProcessedBatch(batch_id="may-2026", performed_by="Before", rows=2, customers_created=2,
                                      customers_updated=0, actions_created=2, created_at=utcnow(),
                                      fingerprint=body_fingerprint(ROWS, "warn")))
        db.session.commit()
    again = client.post("/api/upload/process-batch", headers=operator_headers, json=body)
    assert again.status_code == 200
    assert again.get_json()["message"] == "Batch may-2026 was already processed; nothing was applied again."
    other = client.post("/api/upload/process-batch", headers=operator_headers, json={**body, "action": "connect"})
    assert other.status_code == 409 and other.get_json()["detail"]["error_code"] == "BATCH_ID_REUSED"
    assert counts(app) == (0, 0, 1), "nothing was applied"


def test_rows_without_an_action_keep_the_customers_status(client, operator_headers, app):
    client.post("/api/customers/", headers=operator_headers, json={
        "name": "Ama", "account_number": "ACC-1", "phone": "0241234567", "status": "disconnected"})
    body = client.post("/api/upload/process-batch", headers=operator_headers, json={"data": ROWS[:1]}).get_json()
    assert (body["customers_updated"], body["actions_created"], len(body["batch_id"])) == (1, 0, 36)
    with app.app_context():
        assert db.session.scalar(select(Customer.status)) == "disconnected"


@pytest.mark.parametrize("data", [
    [ROWS[0], {**ROWS[1], "phone": "123"}],
    [ROWS[0], {**ROWS[1], "action": "celebrate"}],
    [ROWS[0], {**ROWS[0], "name": "Twin"}],
])
def test_a_batch_with_a_bad_row_applies_nothing(client, operator_headers, app, data):
    response = client.post("/api/upload/process-batch", headers=operator_headers, json={"data": data,
                                                                                           "batch_id": "b"})
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"][:3] == ["body", "data", 1]
    assert counts(app) == (0, 0, 0)


def test_cli_import_with_progress_and_a_batch_id(app, tmp_path):
    path = tmp_path / "customers.xlsx"
    path.write_bytes(xlsx([GOOD_AND_BAD[0], GOOD_AND_BAD[3]]))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["insight", "import", str(path), "--batch-id", "cli-1", "--action", "warn"])
    assert result.exit_code == 0, result.output
    assert "Batch processed: 2 customer(s) created, 0 updated, 2 action(s) recorded." in result.output
    again = runner.invoke(args=["insight", "import", str(path), "--batch-id", "cli-1", "--action", "warn"])
    assert "already processed" in again.output
    other = runner.invoke(args=["insight", "import", str(path), "--batch-id", "cli-1"])
    assert other.exit_code == 1 and "Batch cli-1 was already processed with other content" in other.output
    assert counts(app) == (2, 2, 1)


def test_cli_import_refuses_a_file_with_errors(app, tmp_path):
    path = tmp_path / "customers.xlsx"
    path.write_bytes(xlsx(GOOD_AND_BAD))
    result = app.test_cli_runner().invoke(args=["insight", "import", str(path)])
    assert result.exit_code == 1
    assert "row 3: name: Name may only contain" in result.output and "nothing was imported" in result.output
    assert counts(app) == (0, 0, 0)


FILE_ROWS = [GOOD_AND_BAD[0], GOOD_AND_BAD[3]]


def _posted_as_the_front_end_does(client, headers, content: bytes, batch_id: str, action: str | None):
    """The file validated by the API, then its rows applied as the front end does: the validated rows of
    the answer, posted under `batch_id`."""
    validated = upload(client, headers, content, "customers.xlsx").get_json()["data"]
    return client.post("/api/upload/process-batch", headers=headers,
                       json={"data": validated, "batch_id": batch_id, "action": action})


def test_a_file_imported_from_a_shell_and_posted_to_the_api_is_one_batch(app, client, operator_headers, tmp_path):
    """The CLI and the API apply a file through the same service: the same rows and action under one batch id
    are the same batch, whichever came first; other content under it is refused by both."""
    path = tmp_path / "customers.xlsx"
    path.write_bytes(xlsx(FILE_ROWS))
    runner = app.test_cli_runner()
    imported = runner.invoke(args=["insight", "import", str(path), "--batch-id", "shell-first", "--action", "warn"])
    assert imported.exit_code == 0, imported.output
    repeat = _posted_as_the_front_end_does(client, operator_headers, path.read_bytes(), "shell-first", "warn")
    assert (repeat.status_code, repeat.get_json()) == (200, {
        "message": "Batch shell-first was already processed; nothing was applied again.", "actions_created": 2,
        "customers_created": 2, "customers_updated": 0, "batch_id": "shell-first", "success": True, "errors": []})
    raw = client.post("/api/upload/process-batch", headers=operator_headers, json={"batch_id": "shell-first",
                      "action": "warn", "data": [dict(zip(COLUMNS, row, strict=True)) for row in FILE_ROWS]})
    assert (raw.status_code, raw.get_json()["message"]) == (200, repeat.get_json()["message"])
    other = _posted_as_the_front_end_does(client, operator_headers, path.read_bytes(), "shell-first", "connect")
    assert (other.status_code, other.get_json()["detail"]["error_code"]) == (409, "BATCH_ID_REUSED")

    posted = _posted_as_the_front_end_does(client, operator_headers, path.read_bytes(), "api-first", None)
    assert posted.status_code == 200 and posted.get_json()["customers_updated"] == 2
    again = runner.invoke(args=["insight", "import", str(path), "--batch-id", "api-first"])
    assert again.exit_code == 0 and "Batch api-first was already processed; nothing was applied again." in again.output
    refused = runner.invoke(args=["insight", "import", str(path), "--batch-id", "api-first", "--action", "warn"])
    assert refused.exit_code == 1 and "Batch api-first was already processed with other content" in refused.output
    assert counts(app) == (2, 2, 2)


def test_a_dry_run_only_validates(app, tmp_path):
    path = tmp_path / "customers.xlsx"
    path.write_bytes(xlsx(FILE_ROWS))
    result = app.test_cli_runner().invoke(args=["insight", "import", str(path), "--dry-run", "--batch-id", "d"])
    assert result.exit_code == 0, result.output
    assert "2 row(s), 2 valid, 0 with errors" in result.output and "dry run: nothing was imported" in result.output
    assert counts(app) == (0, 0, 0)


def test_a_shell_import_is_audited_as_the_cli_and_performed_by_its_name(app, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("name,account_number,phone,arrears\nAma Mensah,ACC-1,0241234567,10\n")
    result = app.test_cli_runner().invoke(args=["insight", "import", str(path), "--batch-id", "b1", "--action",
                                                "warn", "--performed-by", "night shift"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.execute(select(AuditEntry.event, AuditEntry.actor, AuditEntry.subject_id)
                                  .where(AuditEntry.domain == "insight")).one() == ("batch.processed", "cli", "b1")
        assert (db.session.scalar(select(CustomerAction.performed_by)),
                db.session.scalar(select(ProcessedBatch.performed_by))) == ("night shift", "night shift")


def test_two_identical_batches_racing_apply_once(make_app, operator_headers, app):
    from concurrent.futures import ThreadPoolExecutor

    clients = [make_app().test_client() for _ in range(2)]
    body = {"data": ROWS, "batch_id": "race", "action": "warn"}
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: c.post("/api/upload/process-batch", headers=operator_headers, json=body),
                                clients))
    assert sorted(answer.status_code for answer in answers) == [200, 200]
    assert [answer.get_json()["customers_created"] for answer in answers] == [2, 2]
    assert counts(app) == (2, 2, 1)


def test_a_batch_id_reused_with_another_body_is_a_409_and_applies_nothing(client, operator_headers, app):
    first = client.post("/api/upload/process-batch", headers=operator_headers,
                        json={"data": ROWS, "batch_id": "june", "action": "warn"})
    assert first.status_code == 200
    changed = [{**ROWS[0], "arrears": "11"}, ROWS[1]]
    for body in ({"data": changed, "batch_id": "june", "action": "warn"},
                 {"data": ROWS, "batch_id": "june", "action": "disconnect"},
                 {"data": ROWS[:1], "batch_id": "june", "action": "warn"}):
        response = client.post("/api/upload/process-batch", headers=operator_headers, json=body)
        assert (response.status_code, response.get_json()) == (409, {"detail": {
            "error_code": "BATCH_ID_REUSED", "message": "Batch june was already processed with other content; "
            "nothing was applied. Send new content under a new batch_id.", "details": {"batch_id": "june"}}})
    assert counts(app) == (2, 2, 1)
    with app.app_context():
        assert db.session.scalar(select(Customer.arrears).where(Customer.account_number == "ACC-1")) == 10
    reordered = json.dumps({"action": "warn", "batch_id": "june",
                            "data": [dict(reversed(list(row.items()))) for row in ROWS]}, indent=2)
    same = client.post("/api/upload/process-batch", headers=operator_headers, data=reordered,
                       content_type="application/json")
    assert (same.status_code, same.get_json()) == (200, {**first.get_json(), "message": (
        "Batch june was already processed; nothing was applied again.")})


def test_two_batches_racing_under_one_id_with_different_bodies_apply_one(make_app, operator_headers, app):
    from concurrent.futures import ThreadPoolExecutor

    clients = [make_app().test_client() for _ in range(2)]
    bodies = [{"data": ROWS, "batch_id": "race", "action": "warn"},
              {"data": ROWS, "batch_id": "race", "action": "disconnect"}]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda pair: pair[0].post("/api/upload/process-batch", headers=operator_headers,
                                                          json=pair[1]), zip(clients, bodies, strict=True)))
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    assert counts(app) == (2, 2, 1)
    winner = bodies[[answer.status_code for answer in answers].index(200)]["action"]
    with app.app_context():
        assert set(db.session.scalars(select(CustomerAction.action))) == {winner, "disconnect"}


def test_cli_import_of_a_file_that_is_not_a_spreadsheet_says_why(app, tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("just some notes\nno columns here\n")
    result = app.test_cli_runner().invoke(args=["insight", "import", str(path)])
    assert result.exit_code == 1
    assert "Error: Missing column(s): name, account_number, phone, arrears." in result.output


def test_an_operator_over_the_rate_limit_gets_429_and_nothing_is_applied(make_app, operator_headers):
    app = make_app(INGEST_RATE_LIMIT="1/minute")
    client = app.test_client()
    assert client.post("/api/upload/process-batch", headers=operator_headers,
                       json={"data": ROWS, "batch_id": "first"}).status_code == 200
    before = counts(app)
    refused = client.post("/api/upload/process-batch", headers=operator_headers,
                          json={"data": ROWS, "batch_id": "second"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "detail" in refused.get_json()
    assert counts(app) == before


def test_actions_in_a_batch_are_accepted_in_any_case(client, operator_headers, app):
    rows = [{**ROWS[0], "action": "WARN"}, {**ROWS[1], "action": None}]
    response = client.post("/api/upload/process-batch", headers=operator_headers,
                           json={"data": rows, "action": "Disconnect"})
    assert response.status_code == 200, response.get_json()
    with app.app_context():
        stored = db.session.execute(select(Customer.account_number, Customer.status, CustomerAction.action)
                                    .join(CustomerAction, CustomerAction.customer_id == Customer.id)
                                    .order_by(Customer.account_number)).all()
    assert [tuple(row) for row in stored] == [("ACC-1", "warned", "warn"), ("ACC-2", "disconnected", "disconnect")]
    refused = client.post("/api/upload/process-batch", headers=operator_headers,
                          json={"data": [{**ROWS[0], "action": "nap"}]})
    assert refused.get_json()["detail"] == [{"loc": ["body", "data", 0, "action"],
                                             "msg": "Must be one of: connect, disconnect, warn.",
                                             "type": "value_error"}]


def test_row_numbers_are_the_clients_own_or_counted_from_one(client, operator_headers):
    rows = [{**ROWS[0], "row": "70"}, {**ROWS[0], "row": " 71 "}, {**ROWS[0], "row": 72.0}, {**ROWS[0]},
            {**ROWS[0], "row": "seventy"}, {**ROWS[0], "row": True}]
    validated = client.post("/api/upload/validate-customers", headers=operator_headers, json=rows).get_json()
    assert [(row["row"], row["errors"]) for row in validated["validated"]] == [(70, [])]
    assert [(row["row"], row["errors"]) for row in validated["errors"]] == [
        (number, ["account_number: Duplicate of row 70."]) for number in (71, 72, 4, 5, 6)]
    batch = client.post("/api/upload/process-batch", headers=operator_headers,
                        json={"data": [ROWS[1], ROWS[0], {**ROWS[0], "name": "Twin"}]})
    assert batch.get_json()["detail"] == [{"loc": ["body", "data", 2, "account_number"],
                                           "msg": "Duplicate of row 2.", "type": "value_error"}]
    numbered = client.post("/api/upload/process-batch", headers=operator_headers,
                           json={"data": [{**ROWS[0], "row": "9"}, {**ROWS[0], "row": 12}]})
    assert numbered.get_json()["detail"] == [{"loc": ["body", "data", 1, "account_number"],
                                              "msg": "Duplicate of row 9.", "type": "value_error"}]

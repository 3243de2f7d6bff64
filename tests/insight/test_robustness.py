"""No input gives a 5xx: malformed JSON, wrong types, arrays for objects, NUL, huge values, unicode."""

from sqlalchemy import func, select

from modules.core.extensions import db
from modules.insight.models import Customer, CustomerAction, SmsMessage

NASTY_BODIES = [
    "{not json", "[]", "[1, 2]", "null", "\"text\"", "12", "{\"a\": ",
    "{\"name\": \"A\\u0000\", \"account_number\": \"A\\u0000\", \"phone\": \"\\u0000\", \"arrears\": \"1\\u0000\"}",
    "{\"customer_id\": \"x\\u0000\", \"action\": \"warn\", \"performed_by\": \"\\u0000\", \"batch_id\": \"\\u0000\"}",
    "{\"message\": \"hi\\u0000\", \"recipients\": [\"0241234567\\u0000\"], \"customer_id\": \"\\u0000\"}",
    "{\"customers\": [{\"name\": {\"x\": [1]}, \"phone\": [], \"arrears\": 1e999}], \"data\": [null, 5, \"row\"]}",
    "{\"data\": [{\"name\": \"\\u0000\", \"account_number\": 1e400, \"phone\": true, \"arrears\": -1e308}]}",
    "{\"name\": \"" + "x" * 100_000 + "\", \"arrears\": 1" + "0" * 5000 + "}",
    "{\"name\": \"\U0001F600 \u202e\", \"account_number\": \"\u0627\u0644\u0639\u0631\u0628\u064a\u0629\", "
    "\"phone\": \"\uff10\uff12\uff14\uff11\uff12\uff13\uff14\uff15\uff16\uff17\", \"arrears\": \"\u0661\u0662\"}",
]
PATHS_WITH_BODIES = ["/api/customers/", "/api/actions/", "/api/actions/batch", "/api/sms/send",
                     "/api/sms/send-bulk", "/api/upload/validate-customers", "/api/upload/process-batch"]
ODD_IDS = ["%00", "x" * 500, "%E2%80%AE", "..%2F..", "' OR 1=1 --"]


def test_nasty_bodies_never_give_a_5xx(sms_client, operator_headers, sms_app):
    server_errors = []
    for path in PATHS_WITH_BODIES + ["/api/customers/ID", "/api/sms/templates/warning"]:
        method = "PUT" if path.endswith(("/ID", "/warning")) else "POST"
        for body in NASTY_BODIES:
            for content_type in ("application/json", "text/plain"):
                response = sms_client.open(path, method=method, data=body, content_type=content_type,
                                           headers=operator_headers)
                if response.status_code >= 500 or not response.is_json:
                    server_errors.append((method, path, body[:60], content_type, response.status_code))
    assert server_errors == []
    with sms_app.app_context():
        assert [db.session.scalar(select(func.count()).select_from(model))
                for model in (Customer, CustomerAction, SmsMessage)] == [0, 0, 0], "nothing was stored"


def test_odd_ids_and_queries_never_give_a_5xx(sms_client, operator_headers):
    server_errors = []
    urls = [f"/api/customers/{odd}" for odd in ODD_IDS] + [f"/api/actions/customer/{odd}" for odd in ODD_IDS]
    urls += [f"/api/sms/status/{odd}" for odd in ODD_IDS]
    urls += ["/api/customers/?search=%00", "/api/customers/?search=" + "%25" * 100, "/api/customers/?page=99999999999",
             "/api/customers/?arrears_min=1e999", "/api/customers/?date_from=2026-13-45", "/api/actions/?batch_id=%00",
             "/api/customers/?date_from=2026-01-01T00:00:00", "/api/customers/?limit=1&limit=2&search=%F0%9F%98%80"]
    for url in urls:
        response = sms_client.get(url, headers=operator_headers)
        if response.status_code >= 500:
            server_errors.append((url, response.status_code))
    for odd in ODD_IDS:
        for template in ("warning", "connection"):
            response = sms_client.post(f"/api/sms/send/{template}/{odd}", headers=operator_headers)
            if response.status_code >= 500:
                server_errors.append((template, odd, response.status_code))
    assert server_errors == []


def test_nasty_uploads_never_give_a_5xx(client, operator_headers):
    import io
    server_errors = []
    for content, name in [(b"\x00" * 5000, "a.csv"), (b"name,account_number,phone,arrears\n\"unclosed", "b.csv"),
                          (b"name,account_number,phone,arrears\n" + b"x" * 200_000 + b"\n", "c.csv"),
                          (b"\xff\xfe\x00n\x00a", "d.csv"), (b"PK\x03\x04" + b"\x00" * 100, "e.xlsx"),
                          ("name,account_number,phone,arrears\n\u0000,\u0000,\u0000,\u0000\n".encode(), "f.csv")]:
        response = client.post("/api/upload/excel", headers=operator_headers,
                               data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")
        if response.status_code >= 500:
            server_errors.append((name, response.status_code))
    response = client.post("/api/upload/excel", headers=operator_headers, data={"file": "not a file"},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert server_errors == []


def test_a_date_without_a_utc_equivalent_is_a_422_naming_the_field(client, operator_headers):
    response = client.get("/api/customers/?date_from=0001-01-01T00:00:00%2B01:00", headers=operator_headers)
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["query", "date_from"]

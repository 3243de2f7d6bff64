"""The locally kept sales processes: listing with filters and pages, and a detail view with recordings."""

from datetime import UTC, datetime

import pytest

from modules.core.extensions import db
from modules.dtech.models import SalesProcess
from tests.support.dtech import ACCOUNT_ID, OTHER_ACCOUNT_ID

LIST = "/api/v1/sales/processes"


@pytest.fixture
def processes(app):
    """Five processes over three days, two agents, two accounts and every status."""
    rows = [
        ("sp-1", "in_progress", "agent-1", "Thandi Mokoena", "(083) 555-0101", ACCOUNT_ID, 20),
        ("sp-2", "complete", "agent-1", "Pieter van Wyk", "(083) 555-0102", ACCOUNT_ID, 20),
        ("sp-3", "stopped", "agent-2", "Lerato 100%_Sure", "(082) 555-0103", ACCOUNT_ID, 21),
        ("sp-4", "in_progress", "agent-2", "Ayanda Khumalo", "(082) 555-0104", OTHER_ACCOUNT_ID, 21),
        ("sp-5", "in_progress", "agent-1", "Naledi Dlamini", "(083) 555-0105", ACCOUNT_ID, 22),
    ]
    with app.app_context():
        for hour, (spid, status, agent, name, phone, account, day) in enumerate(rows):
            db.session.add(SalesProcess(sales_process_id=spid, status=status, agent_id=agent, lead_name=name,
                                        lead_phone=phone, account_id=account,
                                        created_at=datetime(2026, 11, day, 8 + hour, tzinfo=UTC)))
        db.session.commit()


def ids(response):
    assert response.status_code == 200, response.get_json()
    return [item["sales_process_id"] for item in response.get_json()["data"]]


FILTERS = [
    ("", ["sp-5", "sp-4", "sp-3", "sp-2", "sp-1"]),
    ("?status=in_progress", ["sp-5", "sp-4", "sp-1"]),
    ("?agent_id=agent-2", ["sp-4", "sp-3"]),
    (f"?account_id={OTHER_ACCOUNT_ID}", ["sp-4"]),
    ("?search=van", ["sp-2"]),
    ("?search=(082)", ["sp-4", "sp-3"]),
    ("?search=100%25_", ["sp-3"]),
    ("?search=5%25", []),
    ("?created_from=2026-11-21T00:00:00Z&created_to=2026-11-21T23:59:59Z", ["sp-4", "sp-3"]),
    ("?status=in_progress&agent_id=agent-1", ["sp-5", "sp-1"]),
    ("?status=IN_PROGRESS", ["sp-5", "sp-4", "sp-1"]),
    ("?status=Stopped", ["sp-3"]),
    ("?status=%20Complete%20", ["sp-2"]),
    ("?limit=%202%20&page=+2", ["sp-3", "sp-2"]),
    ("?limit=2.0&page=02", ["sp-3", "sp-2"]),
]


def test_filters(client, operator_headers, processes):
    for query, expected in FILTERS:
        assert ids(client.get(LIST + query, headers=operator_headers)) == expected, query


def test_pages(client, operator_headers, processes):
    response = client.get(f"{LIST}?limit=2&page=3", headers=operator_headers)
    body = response.get_json()
    assert (ids(response), body["total"], body["page"], body["limit"], body["pages"]) == (["sp-1"], 5, 3, 2, 3)
    first = body = client.get(f"{LIST}?limit=2", headers=operator_headers).get_json()
    assert first["data"][0] == {
        "sales_process_id": "sp-5", "status": "in_progress", "partner_status": None, "account_id": ACCOUNT_ID,
        "agent_id": "agent-1", "lead_name": "Naledi Dlamini", "lead_phone": "(083) 555-0105", "url_expiry": None,
        "stop_reason": None, "created_at": "2026-11-22T12:00:00+00:00", "updated_at": first["data"][0]["updated_at"]}


def test_bad_filters_are_400(client, operator_headers):
    for query, field in [("?limit=101", "limit"), ("?page=0", "page"), ("?status=sold", "status"),
                         ("?status=in-progress", "status"), ("?status=%C5%BFtopped", "status"),
                         ("?limit=1_0", "limit"), ("?limit=%D9%A5", "limit"), ("?page=1.5", "page"),
                         ("?account_id=x", "account_id"), ("?created_from=monday", "created_from")]:
        response = client.get(LIST + query, headers=operator_headers)
        assert (response.status_code, response.get_json()["code"]) == (400, "VALIDATION_ERROR"), query
        assert response.get_json()["detail"].startswith(f"Invalid request: {field}: "), query


def test_detail_and_unknown_process(client, operator_headers, processes):
    detail = client.get(f"{LIST}/sp-3", headers=operator_headers).get_json()
    assert (detail["sales_process_id"], detail["status"], detail["recordings"]) == ("sp-3", "stopped", [])
    missing = client.get(f"{LIST}/sp-404", headers=operator_headers)
    assert missing.status_code == 404
    assert missing.get_json() == {"code": "NOT_FOUND", "detail": "No sales process with that id is kept by the hub"}


def test_the_api_is_documented(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for path in ("/api/v1/sales/start", "/api/v1/sales/continue/{sales_process_id}",
                 "/api/v1/sales/status/{sales_process_id}/{account_id}", "/api/v1/sales/stop/{sales_process_id}",
                 "/api/v1/sales/recording-url/{sales_process_id}", "/api/v1/sales/recordings/{upload_id}/file",
                 "/api/v1/sales/upload-status/{upload_id}", "/api/v1/sales/processes"):
        assert path in paths
    start = paths["/api/v1/sales/start"]["post"]
    assert {"200", "400", "401", "502", "504"} <= set(start["responses"])

"""The console's DTech sales pages against the local DTech partner (tests/support/dtech_partner.py): start,
stop, status and a recording uploaded from the page and delivered by a worker; partner failures as flashes;
roles and CSRF; and the API's role guard (an `operator` token gets 403)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from modules.core import auth
from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.dtech.models import CallRecording, SalesProcess
from tests.console.conftest import create, csrf_token, sign_in
from tests.dtech import conftest as dtech
from tests.support.dtech import ACCOUNT_ID, AUDIO, AUDIO_MD5, LEAD, RECORDING_BODY, START_BODY, USER, dtech_settings
from tests.support.dtech_partner import RECORDING_ID, SALES_PROCESS_ID, UPLOAD_PATH

DETAIL = f"/console/sales/{SALES_PROCESS_ID}"

# The DTech partner and its storage, and a hub talking to them, as tests/dtech have them.
storage_ca, storage_ca_file, storage_server = dtech.storage_ca, dtech.storage_ca_file, dtech.storage_server
storage, partner, recordings_dir, app = dtech.storage, dtech.partner, dtech.recordings_dir, dtech.app


@pytest.fixture
def agent_client(app):
    create(app, "agent@example.com", "agent")
    client = app.test_client()
    assert sign_in(client, "agent@example.com").status_code == 303
    return client


def start_form(token: str, **changes: str) -> dict[str, str]:
    form = {"csrf_token": token, "account_id": ACCOUNT_ID, **{f"user.{k}": v for k, v in USER.items()},
            **{f"lead.{k}": v for k, v in LEAD.items()}}
    return {**form, **changes}


def started(client, partner) -> str:
    """Start the partner's sale from the start page; the process page's HTML."""
    partner.answer_start()
    token = csrf_token(client.get("/console/sales/start").get_data(as_text=True))
    answer = client.post("/console/sales/start", data=start_form(token))
    assert answer.status_code == 303 and answer.headers["Location"].endswith(DETAIL)
    return client.get(DETAIL).get_data(as_text=True)


def process_row(app) -> SalesProcess | None:
    with app.app_context():
        return db.session.scalar(select(SalesProcess))


def test_a_sale_started_from_the_page_reaches_the_partner_and_shows_its_link_once(app, agent_client, partner):
    html = started(agent_client, partner)
    [call] = partner.calls("/ext/start")
    assert call.signature_problem is None
    assert call.json() == START_BODY, "the form posts the API's fields, sent as the API sends them"
    assert "https://dtech.test/s/1001" in html and "Open the sale at DTech" in html
    assert "https://dtech.test/s/1001" not in agent_client.get(DETAIL).get_data(as_text=True), "shown once"
    process = process_row(app)
    assert (process.status, process.agent_id, process.lead_name) == ("in_progress", "agent-17", "Thandi Mokoena")
    with app.app_context():
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.event == "sales.started")).all()
        agent = auth.find_operator("agent@example.com")
        assert entry.actor == f"operator:{agent.id}"
    listed = agent_client.get("/console/sales?status=in_progress&agent_id=agent-17").get_data(as_text=True)
    assert SALES_PROCESS_ID in listed and "Thandi Mokoena" in listed
    assert SALES_PROCESS_ID not in agent_client.get("/console/sales?agent_id=agent-99").get_data(as_text=True)


def test_a_start_form_with_a_bad_phone_is_refused_naming_it_and_dtech_is_not_called(app, agent_client, partner):
    token = csrf_token(agent_client.get("/console/sales/start").get_data(as_text=True))
    answer = agent_client.post("/console/sales/start", data=start_form(token, **{"lead.phone_mobile": "0835550142"}))
    assert answer.status_code == 422
    assert "Phone numbers look like (083) 555-5555." in answer.get_data(as_text=True)
    assert partner.received == [] and process_row(app) is None


def test_stop_with_a_reason_reaches_the_partner_and_marks_the_sale_stopped(app, agent_client, partner):
    html = started(agent_client, partner)
    partner.answer("POST", f"/ext/stop/{SALES_PROCESS_ID}", {"status": "stopped"})
    answer = agent_client.post(f"{DETAIL}/stop", data={"csrf_token": csrf_token(html), "reason": "lead declined"})
    assert answer.status_code == 303
    [call] = partner.calls("/ext/stop")
    assert call.json() == {"account_id": ACCOUNT_ID, "reason": "lead declined"}
    process = process_row(app)
    assert (process.status, process.stop_reason) == ("stopped", "lead declined")
    assert "The sale is stopped at DTech." in agent_client.get(DETAIL).get_data(as_text=True)


def test_continue_shows_dtech_s_fresh_link(app, agent_client, partner):
    html = started(agent_client, partner)
    partner.answer("POST", f"/ext/continue/{SALES_PROCESS_ID}", {"url": "https://dtech.test/s/again"})
    form = {"csrf_token": csrf_token(html), "account_id": ACCOUNT_ID, **{f"user.{k}": v for k, v in USER.items()}}
    assert agent_client.post(f"{DETAIL}/continue", data=form).status_code == 303
    [call] = partner.calls("/ext/continue")
    assert call.json() == {"account_id": ACCOUNT_ID, "user": USER}
    assert 'href="https://dtech.test/s/again"' in agent_client.get(DETAIL).get_data(as_text=True)


@pytest.mark.parametrize("status, says", [(500, "DTech answered HTTP 500: partner broke"),
                                          (403, "DTech answered HTTP 403: partner broke")])
def test_a_partner_failure_is_a_flash_with_its_error_and_nothing_changes(app, agent_client, partner, status, says):
    html = started(agent_client, partner)
    partner.answer("POST", f"/ext/stop/{SALES_PROCESS_ID}", {"message": "partner broke"}, status=status)
    answer = agent_client.post(f"{DETAIL}/stop", data={"csrf_token": csrf_token(html), "reason": "lead declined"},
                               follow_redirects=True)
    assert answer.status_code == 200
    assert f"Not stopped: {says}" in answer.get_data(as_text=True)
    assert process_row(app).status == "in_progress"


def test_an_unreachable_partner_on_start_is_a_flash_not_a_500(app, agent_client, partner):
    partner.server.stop()
    try:
        token = csrf_token(agent_client.get("/console/sales/start").get_data(as_text=True))
        answer = agent_client.post("/console/sales/start", data=start_form(token))
    finally:
        partner.server.start()
    assert answer.status_code == 502
    assert "Not started: " in answer.get_data(as_text=True) and process_row(app) is None
    assert 'value="(083) 555-0142"' in answer.get_data(as_text=True), "the form keeps what the agent typed"


def upload_form(token: str, content: bytes = AUDIO, **changes) -> dict:
    return {"csrf_token": token, "date_start": "2026-11-22T08:00:00Z", "date_end": "2026-11-22T08:12:30Z",
            "content_type": "audio/wav", "external_ref": "crm-55",
            "file": (io.BytesIO(content), "call-1001.wav", "audio/wav"), **changes}


def test_a_recording_uploaded_from_the_page_is_announced_with_its_md5_and_a_worker_puts_it(
        app, agent_client, partner, worker, recordings_dir):
    html = started(agent_client, partner)
    partner.answer_recording_url()
    partner.accept_uploads()
    answer = agent_client.post(f"{DETAIL}/recordings", data=upload_form(csrf_token(html)),
                               content_type="multipart/form-data")
    assert answer.status_code == 303
    [announced] = partner.calls("/recording-url")
    assert announced.json()["recording_hash"] == AUDIO_MD5, "the hub computed the MD5 while receiving the file"
    assert announced.json()["filename"] == "call-1001.wav"
    assert list(recordings_dir.iterdir()) == [], "nothing is left in the spool"
    page_html = agent_client.get(DETAIL).get_data(as_text=True)
    assert "Recording received" in page_html and "uploaded, being sent" in page_html

    worker.drain()
    [put] = partner.calls(UPLOAD_PATH)
    assert put.body == AUDIO
    with app.app_context():
        recording = db.session.scalar(select(CallRecording))
        assert (recording.recording_id, recording.status, recording.md5) == (RECORDING_ID, "complete", AUDIO_MD5)
    assert "at DTech" in agent_client.get(DETAIL).get_data(as_text=True)


def test_a_recording_larger_than_max_content_length_is_accepted_up_to_the_recording_limit(
        make_app, partner, recordings_dir):
    app = make_app(**dtech_settings(partner, recordings_dir), MAX_CONTENT_LENGTH=1024)
    create(app, "agent@example.com", "agent")
    client = app.test_client()
    assert sign_in(client, "agent@example.com").status_code == 303
    html = started(client, partner)
    partner.answer_recording_url()
    answer = client.post(f"{DETAIL}/recordings", data=upload_form(csrf_token(html)), content_type="multipart/form-data")
    assert answer.status_code == 303 and len(AUDIO) > 1024
    with app.app_context():
        assert db.session.scalar(select(CallRecording.status)) == "uploading"


def test_a_recording_over_the_limit_is_refused_and_dtech_is_not_asked(app, agent_client, partner, make_app):
    html = started(agent_client, partner)
    app.config["DTECH_MAX_RECORDING_BYTES"] = 1000
    answer = agent_client.post(f"{DETAIL}/recordings", data=upload_form(csrf_token(html)),
                               content_type="multipart/form-data", follow_redirects=True)
    assert "Recording not kept: A recording may have at most 1000 bytes" in answer.get_data(as_text=True)
    assert partner.calls("/recording-url") == []


def test_the_file_of_a_recording_announced_through_the_api_is_checked_against_its_md5(
        app, agent_client, partner, operator_headers):
    html = started(agent_client, partner)
    partner.answer_recording_url()
    upload_id = agent_client.application.test_client().post(
        f"/api/v1/sales/recording-url/{SALES_PROCESS_ID}", json=RECORDING_BODY,
        headers=operator_headers).get_json()["upload_id"]
    wrong = {"csrf_token": csrf_token(html), "upload_id": upload_id,
             "file": (io.BytesIO(b"not the recording"), "call-1001.wav", "audio/wav")}
    answer = agent_client.post(f"{DETAIL}/recordings", data=wrong, content_type="multipart/form-data",
                               follow_redirects=True)
    assert "Recording not kept: The file&#39;s MD5 is" in answer.get_data(as_text=True)
    right = {**wrong, "file": (io.BytesIO(AUDIO), "call-1001.wav", "audio/wav")}
    assert agent_client.post(f"{DETAIL}/recordings", data=right, content_type="multipart/form-data").status_code == 303
    with app.app_context():
        assert db.session.get(CallRecording, upload_id).status == "uploading"


def test_an_operator_gets_403_on_every_sales_url_by_get_and_post(app, operator_client, partner, agent_client):
    started(agent_client, partner)
    for url in ("/console/sales", "/console/sales/start", DETAIL, "/console/sales/live/table",
                "/console/sales?format=csv"):
        assert operator_client.get(url).status_code == 403, url
    token = csrf_token(operator_client.get("/console/overview").get_data(as_text=True))
    for url in ("/console/sales/start", f"{DETAIL}/stop", f"{DETAIL}/continue", f"{DETAIL}/status",
                f"{DETAIL}/recordings"):
        assert operator_client.post(url, data={"csrf_token": token, "reason": "x"}).status_code == 403, url
    assert partner.calls("/ext/stop") == [] and len(partner.received) == 1


def test_a_post_without_the_csrf_token_is_400_and_dtech_is_not_called(app, agent_client, partner):
    started(agent_client, partner)
    for url in ("/console/sales/start", f"{DETAIL}/stop", f"{DETAIL}/recordings"):
        assert agent_client.post(url, data={"reason": "x"}).status_code == 400, url
    assert len(partner.received) == 1, "only the start of the fixture reached DTech"


def test_the_csv_has_every_matching_sale(app, agent_client, partner):
    started(agent_client, partner)
    answer = agent_client.get("/console/sales?format=csv&status=in_progress")
    lines = answer.get_data(as_text=True).splitlines()
    assert answer.mimetype == "text/csv" and lines[0].startswith("created_at,sales_process_id,status")
    assert [line.split(",")[1] for line in lines[1:]] == [SALES_PROCESS_ID]
    assert agent_client.get("/console/sales?format=csv&status=stopped").get_data(as_text=True).count("\n") == 1


def test_a_bad_filter_is_a_422_page_saying_why(agent_client):
    answer = agent_client.get("/console/sales?status=lost")
    assert answer.status_code == 422 and "status: " in answer.get_data(as_text=True)


def test_the_api_refuses_an_operator_role_token_with_403_and_admits_an_agent(app, client, partner):
    create(app, "field@example.com", "operator")
    create(app, "agent@example.com", "agent")
    tokens = {}
    with app.app_context():
        for email in ("field@example.com", "agent@example.com"):
            tokens[email] = auth.issue_access_token(auth.find_operator(email))["access_token"]
    partner.answer_start()
    refused = client.post("/api/v1/sales/start", json=START_BODY,
                          headers={"Authorization": f"Bearer {tokens['field@example.com']}"})
    assert refused.status_code == 403
    assert refused.get_json() == {"detail": "This needs the agent role", "code": "FORBIDDEN"}
    listed = client.get("/api/v1/sales/processes", headers={"Authorization": f"Bearer {tokens['field@example.com']}"})
    assert listed.status_code == 403 and partner.received == []
    admitted = client.post("/api/v1/sales/start", json=START_BODY,
                           headers={"Authorization": f"Bearer {tokens['agent@example.com']}"})
    assert admitted.status_code == 200 and admitted.get_json()["sales_process_id"] == SALES_PROCESS_ID


def test_stop_without_a_reason_or_upload_without_a_file_is_a_422_naming_it(app, agent_client, partner):
    html = started(agent_client, partner)
    answer = agent_client.post(f"{DETAIL}/stop", data={"csrf_token": csrf_token(html), "reason": "  "})
    assert answer.status_code == 422 and "Missing data for required field." in answer.get_data(as_text=True)
    answer = agent_client.post(f"{DETAIL}/recordings", data={"csrf_token": csrf_token(html), "date_end": "x"},
                               content_type="multipart/form-data")
    assert answer.status_code == 422 and "Choose the recording&#39;s file." in answer.get_data(as_text=True)
    assert 'value="x"' in answer.get_data(as_text=True), "the form keeps what was posted"
    assert len(partner.received) == 1 and process_row(app).status == "in_progress"

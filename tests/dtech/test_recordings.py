"""Recording uploads: announce to DTech, upload the file to the hub, and a worker PUTs it (with retries)."""

import hashlib
import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from modules.core import auth
from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.core.types import utcnow
from modules.dtech.jobs import remove_abandoned_parts
from modules.dtech.models import CallRecording, SalesProcess
from tests.support.dtech import ACCOUNT_ID, AUDIO, AUDIO_MD5, RECORDING_BODY, START_BODY, dtech_settings, multipart
from tests.support.dtech_partner import RECORDING_ID, SALES_PROCESS_ID
from tests.support.dtech_recordings import (
    CONTENT_MD5,
    announce,
    chunk_rows,
    outbox_count,
    puts,
    stored_bytes,
    sweep_at,
    upload,
    upload_status,
)


def test_recording_url_is_signed_with_content_md5_and_kept_pending(app, client, operator_headers, partner):
    partner.answer_recording_url()
    response = client.post(f"/api/v1/sales/recording-url/{SALES_PROCESS_ID}", json=RECORDING_BODY,
                           headers=operator_headers)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer == {"recording_id": RECORDING_ID, "upload_url": partner.upload_url(), "success": True,
                      "upload_id": answer["upload_id"]}
    [call] = partner.received
    assert call.signature_problem is None
    assert call.headers["Content-Md5"] == CONTENT_MD5
    assert call.json() == {"account_id": ACCOUNT_ID, "date_start": "2026-11-22T08:00:00+00:00",
                           "date_end": "2026-11-22T08:12:30+00:00", "recording_hash": AUDIO_MD5,
                           "filename": "call-1001.wav", "content_type": "audio/wav", "external_ref": "crm-55"}
    status = upload_status(client, operator_headers, answer["upload_id"])
    assert {key: status[key] for key in ("recording_id", "sales_process_id", "status", "file_name", "size")} == {
        "recording_id": RECORDING_ID, "sales_process_id": SALES_PROCESS_ID, "status": "pending",
        "file_name": "call-1001.wav", "size": None}


def test_an_uploaded_file_is_kept_and_put_to_the_upload_url(app, client, operator_headers, partner, worker,
                                                            recordings_dir):
    upload_id = announce(client, operator_headers, partner)
    partner.accept_uploads()
    response = upload(client, operator_headers, upload_id)
    assert response.status_code == 202
    assert (response.get_json()["status"], response.get_json()["size"]) == ("uploading", len(AUDIO))
    assert stored_bytes(app, upload_id) == AUDIO, "the file is kept in the database"
    assert list(recordings_dir.iterdir()) == [], "nothing is left on the web host's disk"

    worker.drain()
    [put] = puts(partner)
    assert (put.method, put.query) == ("PUT", "X-Amz-Signature=presigned-by-dtech")
    assert put.body == AUDIO
    assert (put.headers["Content-Type"], put.headers["Content-Md5"]) == ("audio/wav", CONTENT_MD5)
    assert put.headers["Content-Length"] == str(len(AUDIO)) and "Transfer-Encoding" not in put.headers
    assert "Authorization" not in put.headers, "the pre-signed URL carries its own authorisation"
    assert chunk_rows(app, upload_id) == 0, "its bytes are deleted once DTech accepted them"
    status = upload_status(client, operator_headers, upload_id)
    assert (status["status"], status["attempts"], status["last_error"]) == ("complete", 1, None)
    assert status["completed_at"] is not None

    detail = client.get(f"/api/v1/sales/processes/{SALES_PROCESS_ID}", headers=operator_headers).get_json()
    assert [(r["upload_id"], r["status"], r["md5"]) for r in detail["recordings"]] == [
        (upload_id, "complete", AUDIO_MD5)]


def test_a_file_whose_md5_differs_is_refused_and_nothing_is_sent(app, client, operator_headers, partner, worker,
                                                                 recordings_dir):
    upload_id = announce(client, operator_headers, partner)
    partner.accept_uploads()
    response = upload(client, operator_headers, upload_id, AUDIO + b"tampered")
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "MD5_MISMATCH"
    assert AUDIO_MD5 in body["detail"] and "nothing was sent" in body["detail"]
    assert list(recordings_dir.iterdir()) == []
    assert chunk_rows(app) == 0
    assert outbox_count(app) == 0
    worker.drain()
    assert puts(partner) == []
    assert upload_status(client, operator_headers, upload_id)["status"] == "pending"


def test_a_put_that_fails_twice_then_succeeds_ends_complete(app, client, operator_headers, partner, worker):
    upload_id = announce(client, operator_headers, partner)
    partner.accept_uploads(status=503, oneshot=True)
    partner.accept_uploads(status=500, oneshot=True)
    partner.accept_uploads()
    assert upload(client, operator_headers, upload_id).status_code == 202
    worker.drain()
    status = upload_status(client, operator_headers, upload_id)
    assert (status["status"], status["attempts"]) == ("uploading", 1)
    assert status["last_error"].startswith("HTTP 503")
    assert sweep_at(app, 45) == 1
    worker.drain()
    assert upload_status(client, operator_headers, upload_id)["status"] == "uploading"
    assert sweep_at(app, 200) == 1
    worker.drain()
    status = upload_status(client, operator_headers, upload_id)
    assert (status["status"], status["attempts"], status["last_error"]) == ("complete", 3, None)
    assert [put.body == AUDIO for put in puts(partner)] == [True, True, True]


def test_a_refused_put_fails_the_recording_and_it_can_be_uploaded_again(app, client, operator_headers, partner,
                                                                         worker):
    upload_id = announce(client, operator_headers, partner)
    partner.accept_uploads(status=403, oneshot=True)
    partner.accept_uploads()
    assert upload(client, operator_headers, upload_id).status_code == 202
    worker.drain()
    status = upload_status(client, operator_headers, upload_id)
    assert (status["status"], status["last_error"][:8]) == ("failed", "HTTP 403")
    assert upload(client, operator_headers, upload_id).status_code == 202
    worker.drain()
    assert upload_status(client, operator_headers, upload_id)["status"] == "complete"


def test_a_second_upload_of_a_recording_in_flight_is_a_409(app, client, operator_headers, partner):
    upload_id = announce(client, operator_headers, partner)
    assert upload(client, operator_headers, upload_id).status_code == 202
    response = upload(client, operator_headers, upload_id)
    assert response.status_code == 409
    assert response.get_json() == {"code": "CONFLICT",
                                   "detail": "This recording is already uploading; it cannot be uploaded again."}
    assert outbox_count(app) == 1


def test_a_file_over_the_limit_is_a_413_and_leaves_nothing(make_app, operator_headers, partner, recordings_dir):
    app = make_app(**dtech_settings(partner, recordings_dir, DTECH_MAX_RECORDING_BYTES=1000))
    client = app.test_client()
    upload_id = announce(client, operator_headers, partner)
    for content in (AUDIO, AUDIO * 10):  # over the file limit while streaming; over the body limit at once
        response = upload(client, operator_headers, upload_id, content)
        assert response.status_code == 413
        assert response.get_json() == {"code": "PAYLOAD_TOO_LARGE",
                                       "detail": "A recording may have at most 1000 bytes (DTECH_MAX_RECORDING_BYTES)."}
        assert list(recordings_dir.iterdir()) == []
    assert outbox_count(app) == 0
    assert upload_status(client, operator_headers, upload_id)["status"] == "pending"


def test_a_recording_larger_than_the_general_request_limit_is_accepted(make_app, operator_headers, partner,
                                                                        recordings_dir):
    big = AUDIO * 200  # ~2 MB, over a 1 MB MAX_CONTENT_LENGTH
    app = make_app(**dtech_settings(partner, recordings_dir, MAX_CONTENT_LENGTH=1024 * 1024))
    client = app.test_client()
    partner.answer_recording_url()
    body = {**RECORDING_BODY, "recording_hash": hashlib.md5(big).hexdigest()}
    upload_id = client.post(f"/api/v1/sales/recording-url/{SALES_PROCESS_ID}", json=body,
                            headers=operator_headers).get_json()["upload_id"]
    response = upload(client, operator_headers, upload_id, big)
    assert (response.status_code, response.get_json()["size"]) == (202, len(big))


def test_an_upload_without_a_file_part_names_the_field(app, client, operator_headers, partner, recordings_dir):
    upload_id = announce(client, operator_headers, partner)
    response = client.post(f"/api/v1/sales/recordings/{upload_id}/file", data=multipart(AUDIO, name="audio"),
                           headers=operator_headers, content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.get_json()["code"] == "VALIDATION_ERROR"
    assert response.get_json()["detail"].startswith("Invalid request: file: Missing data for required field")
    assert list(recordings_dir.iterdir()) == []
    raw = client.post(f"/api/v1/sales/recordings/{upload_id}/file", data=AUDIO, headers=operator_headers,
                      content_type="audio/wav")
    assert (raw.status_code, raw.get_json()["code"]) == (400, "VALIDATION_ERROR")


def raw_multipart(*parts: tuple[bytes, bytes], boundary: bytes = b"b0undary", closed: bool = True) -> bytes:
    body = b"".join(b"--%s\r\n%s\r\n\r\n%s\r\n" % (boundary, headers, content) for headers, content in parts)
    return body + (b"--" + boundary + b"--\r\n" if closed else b"")


FILE_PART = b'Content-Disposition: form-data; name="file"; filename="call.wav"'
MULTIPART = "multipart/form-data; boundary=b0undary"
BROKEN_MULTIPART = [
    ("multipart/form-data", b"no boundary was declared"),
    ("multipart/form-data; boundary=", b"--\r\n"),
    (MULTIPART, b"--b0undary"),
    (MULTIPART, raw_multipart((FILE_PART, AUDIO), closed=False)),
    (MULTIPART, raw_multipart((FILE_PART, AUDIO))[:-20]),
    (MULTIPART, raw_multipart((b'Content-Disposition: form-data; name="\xff\xfe"', AUDIO))),
    (MULTIPART, raw_multipart((b"X-Header: " + b"h" * 100_000, AUDIO))),
    (MULTIPART, raw_multipart((b'Content-Disposition: form-data; name="note"', b"\xff" * 600_000))),
    (MULTIPART, raw_multipart(*[(b'Content-Disposition: form-data; name="n"', b"1")] * 30)),
    ("multipart/mixed; boundary=b0undary", raw_multipart((FILE_PART, AUDIO))),
]


@pytest.mark.parametrize(("content_type", "body"), BROKEN_MULTIPART,
                         ids=["no-boundary", "empty-boundary", "only-a-boundary", "unclosed", "cut-short",
                              "undecodable-part-name", "huge-part-header", "huge-text-part", "too-many-parts",
                              "multipart-mixed"])
def test_a_broken_multipart_body_is_a_4xx_and_leaves_nothing(app, client, operator_headers, partner, recordings_dir,
                                                              content_type, body):
    upload_id = announce(client, operator_headers, partner)
    response = client.post(f"/api/v1/sales/recordings/{upload_id}/file", data=body,
                           headers={**operator_headers, "Content-Type": content_type})
    assert (response.status_code, response.get_json()["code"]) in {(400, "VALIDATION_ERROR"),
                                                                    (413, "PAYLOAD_TOO_LARGE")}
    assert list(recordings_dir.iterdir()) == []
    assert outbox_count(app) == 0
    assert upload_status(client, operator_headers, upload_id)["status"] == "pending"


def test_unknown_upload_ids_are_404(client, operator_headers):
    for response in (upload(client, operator_headers, "no-such-upload"),
                     client.get("/api/v1/sales/upload-status/no-such-upload", headers=operator_headers)):
        assert response.status_code == 404
        assert response.get_json() == {"code": "NOT_FOUND", "detail": "No recording upload with that id"}


def test_audit_rows_name_the_operator_in_the_hubs_actor_format(app, client, operator_headers, partner):
    partner.answer_start()
    assert client.post("/api/v1/sales/start", json=START_BODY, headers=operator_headers).status_code == 200
    upload_id = announce(client, operator_headers, partner)
    assert upload(client, operator_headers, upload_id).status_code == 202
    partner.answer("POST", f"/ext/stop/{SALES_PROCESS_ID}", {"success": True})
    assert client.post(f"/api/v1/sales/stop/{SALES_PROCESS_ID}?reason=duplicate",
                       headers=operator_headers).status_code == 200
    with app.app_context():
        operator = auth.find_operator("operator@example.com")
        rows = db.session.execute(select(AuditEntry.event, AuditEntry.actor).where(AuditEntry.domain == "dtech")).all()
        started_by = db.session.scalar(select(SalesProcess.started_by))
    assert sorted(rows) == sorted((event, f"operator:{operator.id}") for event in (
        "sales.started", "recording.announced", "recording.received", "sales.stopped"))
    assert started_by == operator.id


def test_a_recording_row_is_linked_to_its_process(app, client, operator_headers, partner):
    upload_id = announce(client, operator_headers, partner)
    with app.app_context():
        recording = db.session.get(CallRecording, upload_id)
        assert (recording.sales_process.sales_process_id, recording.recording_id, recording.status) == (
            SALES_PROCESS_ID, RECORDING_ID, "pending")
        assert recording.upload_url == partner.upload_url()


def test_parts_left_by_interrupted_uploads_are_deleted_after_six_hours(app, recordings_dir):
    recordings_dir.mkdir(parents=True)
    old, fresh, kept = (recordings_dir / name for name in (".incoming-old.part", ".incoming-new.part", "a.wav"))
    for path in (old, fresh, kept):
        path.write_bytes(b"partial")
    seven_hours_ago = (utcnow() - timedelta(hours=7)).timestamp()
    for path in (old, kept):
        os.utime(path, (seven_hours_ago, seven_hours_ago))
    with app.app_context():
        assert remove_abandoned_parts() == 1
    assert sorted(p.name for p in recordings_dir.iterdir()) == [".incoming-new.part", "a.wav"]

"""Recording uploads: announce to DTech, upload the file to the hub, and a worker PUTs it (with retries)."""

import base64
import hashlib
import os
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from modules.core import auth, outbox
from modules.core.extensions import db
from modules.core.models import AuditEntry, OutboxAttempt, OutboxMessage
from modules.core.types import utcnow
from modules.dtech.jobs import remove_abandoned_parts
from modules.dtech.models import CallRecording, SalesProcess
from tests.support.dtech import ACCOUNT_ID, AUDIO, AUDIO_MD5, RECORDING_BODY, START_BODY, dtech_settings, multipart
from tests.support.dtech_partner import RECORDING_ID, SALES_PROCESS_ID, UPLOAD_PATH
from tests.support.worker import Drainer

CONTENT_MD5 = base64.b64encode(hashlib.md5(AUDIO).digest()).decode()


def announce(client, headers, partner):
    partner.answer_recording_url()
    response = client.post(f"/api/v1/sales/recording-url/{SALES_PROCESS_ID}", json=RECORDING_BODY, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["upload_id"]


def upload(client, headers, upload_id, content=AUDIO):
    return client.post(f"/api/v1/sales/recordings/{upload_id}/file", data=multipart(content), headers=headers,
                       content_type="multipart/form-data")


def upload_status(client, headers, upload_id):
    response = client.get(f"/api/v1/sales/upload-status/{upload_id}", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def puts(partner):
    return partner.calls(UPLOAD_PATH)


def outbox_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def sweep_at(app, seconds_from_now):
    with app.app_context():
        return outbox.sweep(now=utcnow() + timedelta(seconds=seconds_from_now))


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
    assert (recordings_dir / f"{upload_id}.wav").read_bytes() == AUDIO
    assert [p.name for p in recordings_dir.iterdir()] == [f"{upload_id}.wav"], "no temporary file is left"

    worker.drain()
    [put] = puts(partner)
    assert (put.method, put.query) == ("PUT", "X-Amz-Signature=presigned-by-dtech")
    assert put.body == AUDIO
    assert (put.headers["Content-Type"], put.headers["Content-Md5"]) == ("audio/wav", CONTENT_MD5)
    assert "Authorization" not in put.headers, "the pre-signed URL carries its own authorisation"
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


def recording_rows(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CallRecording))


@pytest.mark.parametrize(("upload_url", "why"), [
    ("http://127.0.0.1:8080/storage/rec.wav", "is not https"),
    ("ftp://127.0.0.1/storage/rec.wav", "is not https"),
    ("https://169.254.169.254/latest/meta-data/", "points at '169.254.169.254', which is not in DTECH_UPLOAD_HOSTS"),
    ("https://10.0.0.5/internal", "points at '10.0.0.5', which is not in DTECH_UPLOAD_HOSTS"),
    ("https://localhost/storage/rec.wav", "points at 'localhost', which is not in DTECH_UPLOAD_HOSTS"),
    ("https://user:secret@127.0.0.1/storage/rec.wav", "carries a user name or password"),
    ("https://127.0.0.1:99999/storage/rec.wav", "is not a valid URL"),
    ("/storage/rec.wav", "is not a valid URL"),
    ("https://127.0.0.1/" + "a" * 9000, "is longer than 8192 characters"),
], ids=["http", "ftp", "link-local", "private", "unlisted-host", "credentials", "bad-port", "relative", "too-long"])
def test_an_upload_url_the_hub_would_not_put_to_is_a_502_and_nothing_is_kept(app, client, operator_headers, partner,
                                                                             upload_url, why):
    partner.answer_recording_url(upload_url)
    response = client.post(f"/api/v1/sales/recording-url/{SALES_PROCESS_ID}", json=RECORDING_BODY,
                           headers=operator_headers)
    assert response.status_code == 502
    assert response.get_json() == {"code": "PARTNER_ERROR", "detail": f"DTech's upload_url {why}"}
    assert "secret" not in response.get_json()["detail"]
    assert recording_rows(app) == 0
    assert client.get("/api/v1/sales/processes", headers=operator_headers).get_json()["total"] == 0


@pytest.mark.parametrize(("upload_url", "allowed"), [
    ("https://bucket.s3.eu-west-1.amazonaws.com/rec.wav?X-Amz-Signature=abc", True),
    ("https://STORAGE.example.net/rec.wav", True),
    ("https://amazonaws.com/rec.wav", False),
    ("https://evilamazonaws.com/rec.wav", False),
    ("https://bucket.s3.amazonaws.com.evil.test/rec.wav", False),
    ("https://evil.test\\.amazonaws.com/rec.wav", False),
    ("https://sub.storage.example.net/rec.wav", False),
], ids=["subdomain", "exact-any-case", "the-suffix-itself", "no-dot", "suffix-inside", "backslash", "under-exact"])
def test_upload_hosts_are_exact_names_or_dot_suffixes(make_app, operator_headers, partner, recordings_dir,
                                                      upload_url, allowed):
    app = make_app(**dtech_settings(partner, recordings_dir, DTECH_UPLOAD_HOSTS=".amazonaws.com, storage.example.net"))
    partner.answer_recording_url(upload_url)
    response = app.test_client().post(f"/api/v1/sales/recording-url/{SALES_PROCESS_ID}", json=RECORDING_BODY,
                                      headers=operator_headers)
    assert response.status_code == (200 if allowed else 502), response.get_json()
    assert recording_rows(app) == (1 if allowed else 0)


def test_an_upload_url_no_longer_allowed_is_not_put_to(make_app, client, operator_headers, partner, recordings_dir):
    """The URL is checked again before the PUT: an allow list narrowed since the announcement wins."""
    upload_id = announce(client, operator_headers, partner)
    partner.accept_uploads()
    assert upload(client, operator_headers, upload_id).status_code == 202
    narrowed = make_app(**dtech_settings(partner, recordings_dir, DTECH_UPLOAD_HOSTS=".amazonaws.com"))
    Drainer(narrowed).drain()
    assert puts(partner) == []
    status = upload_status(client, operator_headers, upload_id)
    assert (status["status"], status["attempts"]) == ("failed", 1)
    assert status["last_error"] == "DTech's upload_url points at '127.0.0.1', which is not in DTECH_UPLOAD_HOSTS"


def test_a_redirect_from_the_storage_is_not_followed(app, client, operator_headers, partner, worker):
    upload_id = announce(client, operator_headers, partner)
    partner.accept_uploads(status=307, headers={"Location": "https://elsewhere.test/rec.wav?X-Amz-Signature=other"})
    assert upload(client, operator_headers, upload_id).status_code == 202
    worker.drain()
    assert len(puts(partner)) == 1
    status = upload_status(client, operator_headers, upload_id)
    assert (status["status"], status["attempts"]) == ("failed", 1)
    assert status["last_error"].startswith("HTTP 307: redirect to https://elsewhere.test/rec.wav not followed")


def test_what_the_storage_answers_is_never_recorded(app, client, operator_headers, partner, worker):
    """The upload URL is the partner's: a host's answer is not shown to operators, whatever it holds."""
    upload_id = announce(client, operator_headers, partner)
    partner.accept_uploads(status=500, oneshot=True, body="root:x:0:0 internal-service-secret")
    partner.accept_uploads(status=403, body="<Error><Code>AccessDenied</Code>internal-service-secret</Error>")
    assert upload(client, operator_headers, upload_id).status_code == 202
    worker.drain()
    first = upload_status(client, operator_headers, upload_id)
    assert first["last_error"] == "HTTP 500 from the upload URL's host (its answer is not recorded)"
    assert sweep_at(app, 45) == 1
    worker.drain()
    response = client.get(f"/api/v1/sales/upload-status/{upload_id}", headers=operator_headers)
    assert response.get_json()["last_error"] == "HTTP 403 from the upload URL's host (its answer is not recorded)"
    assert response.get_json()["status"] == "failed"
    assert b"internal-service-secret" not in response.data
    with app.app_context():
        errors = db.session.scalars(select(OutboxAttempt.error)).all()
    assert len(errors) == 2 and not any("secret" in error for error in errors)


def test_the_storage_certificate_is_verified(make_app, operator_headers, partner, recordings_dir):
    """Without the test CA (the system's trust store only) the storage's certificate is refused."""
    app = make_app(**dtech_settings(partner, recordings_dir, DTECH_UPLOAD_CA_FILE=""))
    client = app.test_client()
    upload_id = announce(client, operator_headers, partner)
    partner.accept_uploads()
    assert upload(client, operator_headers, upload_id).status_code == 202
    Drainer(app).drain()
    assert puts(partner) == []
    status = upload_status(client, operator_headers, upload_id)
    assert (status["status"], status["last_error"]) == ("uploading", "connection failed: SSLError")


@pytest.mark.parametrize("sent, canonical, extension", [("AUDIO/WAV", "audio/wav", ".wav"),
                                                         ("Audio/Mpeg", "audio/mpeg", ".mp3"),
                                                         (" audio/WAV ", "audio/wav", ".wav")])
def test_a_content_type_in_any_case_is_kept_sent_and_put_in_its_canonical_form(app, client, operator_headers, partner,
                                                                             worker, recordings_dir, sent, canonical,
                                                                             extension):
    partner.answer_recording_url()
    response = client.post(f"/api/v1/sales/recording-url/{SALES_PROCESS_ID}",
                           json={**RECORDING_BODY, "content_type": sent}, headers=operator_headers)
    assert response.status_code == 200, response.get_json()
    upload_id = response.get_json()["upload_id"]
    [announced] = partner.received
    assert announced.json()["content_type"] == canonical
    assert upload_status(client, operator_headers, upload_id)["content_type"] == canonical
    partner.accept_uploads()
    assert upload(client, operator_headers, upload_id).status_code == 202
    assert [path.name for path in recordings_dir.iterdir()] == [f"{upload_id}{extension}"]
    worker.drain()
    [put] = puts(partner)
    assert put.headers["Content-Type"] == canonical
    assert upload_status(client, operator_headers, upload_id)["status"] == "complete"


@pytest.mark.parametrize(("upload_url", "allowed"), [
    ("https://dtech-recordings.s3.eu-west-1.amazonaws.com/rec.wav?X-Amz-Signature=abc", True),
    ("https://dtech-recordings.s3.amazonaws.com/rec.wav", True),
    ("https://s3.eu-west-1.amazonaws.com/dtech-recordings/rec.wav", True),
    ("https://abc123.execute-api.eu-west-1.amazonaws.com/prod/collect", False),
    ("https://ec2-10-0-0-5.eu-west-1.compute.amazonaws.com/collect", False),
    ("https://someone.s3-website-eu-west-1.amazonaws.com/rec.wav", False),
], ids=["s3-regional", "s3-global", "s3-path-style", "api-gateway", "ec2", "s3-website"])
def test_the_default_upload_hosts_are_s3_not_all_of_aws(make_app, operator_headers, partner, recordings_dir,
                                                        upload_url, allowed):
    settings = dtech_settings(partner, recordings_dir)
    settings.pop("DTECH_UPLOAD_HOSTS")
    app = make_app(**settings)
    partner.answer_recording_url(upload_url)
    response = app.test_client().post(f"/api/v1/sales/recording-url/{SALES_PROCESS_ID}", json=RECORDING_BODY,
                                      headers=operator_headers)
    assert response.status_code == (200 if allowed else 502), response.get_json()

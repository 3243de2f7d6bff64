"""Where a recording goes: the upload URL DTech gives must be https to an allowed host, the storage's
certificate is verified, its redirects are not followed, its answers are never recorded, and the content
type is sent in its canonical form."""

import pytest
from sqlalchemy import select

from modules.core.extensions import db
from modules.core.models import OutboxAttempt
from tests.support.dtech import RECORDING_BODY, dtech_settings
from tests.support.dtech_partner import SALES_PROCESS_ID
from tests.support.dtech_recordings import (
    announce,
    puts,
    recording_rows,
    sweep_at,
    upload,
    upload_status,
)
from tests.support.worker import Drainer


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


@pytest.mark.parametrize("sent, canonical", [("AUDIO/WAV", "audio/wav"), ("Audio/Mpeg", "audio/mpeg"),
                                             (" audio/WAV ", "audio/wav")])
def test_a_content_type_in_any_case_is_kept_sent_and_put_in_its_canonical_form(app, client, operator_headers, partner,
                                                                             worker, sent, canonical):
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

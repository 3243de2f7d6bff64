"""Outbox handler: PUT a received recording to the upload URL DTech gave for it, retried with backoff.

The upload URL is pre-signed by DTech (its signature is in the URL), so this request carries no SigV4
header of ours: a second authorisation would make the storage refuse it. The file is streamed from
disk. When the last retry fails, or the storage refuses the file, the recording ends `failed`; the
agent may then upload it again.

The URL came from the partner, so it is checked again against DTECH_UPLOAD_HOSTS before each PUT
(the setting may have changed since it was announced), redirects are not followed (the core's
session), and a refusal is recorded by its status only: what the host answered is never repeated to
operators, so a URL aimed at an internal service cannot read that service back to them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests
from flask import current_app

from modules.core import http, outbox
from modules.core.extensions import db
from modules.core.queue import app_job
from modules.core.scheduler import periodic
from modules.core.types import utcnow
from modules.dtech.clients import check_upload_url, content_md5
from modules.dtech.errors import UnusableUploadUrl
from modules.dtech.models import CallRecording
from modules.dtech.recordings import INCOMING_PATTERN, recordings_dir, stored_path

RECORDING_PUT = "dtech.recording_put"  # outbox kind: PUT a received file to its upload URL
ABANDONED_AFTER = timedelta(hours=6)


def mark_failed(message: outbox.Message) -> None:
    recording = db.session.get(CallRecording, message.payload.get("upload_id"))
    if recording is not None:
        recording.status = "failed"


@outbox.handler(RECORDING_PUT, on_dead=mark_failed, destination="dtech.uploads")
def put_recording(message: outbox.Message) -> int:
    recording = db.session.get(CallRecording, message.payload.get("upload_id"))
    if recording is None:
        raise outbox.Permanent("the recording no longer exists")
    path = stored_path(recording)
    if not path.is_file():
        raise outbox.Permanent("the received file is missing from the recordings directory")
    try:
        url = check_upload_url(recording.upload_url, current_app.config["DTECH_UPLOAD_HOSTS"])
    except UnusableUploadUrl as refused:
        raise outbox.Permanent(str(refused)) from None
    ca_file = current_app.config["DTECH_UPLOAD_CA_FILE"]
    trust = {"verify": ca_file} if ca_file else {}  # else requests' own (REQUESTS_CA_BUNDLE, or certifi's)
    with path.open("rb") as body:
        response = http.send(http.session(), "PUT", url, data=body, **trust,
                             headers={"Content-Type": recording.content_type,
                                      "Content-MD5": content_md5(recording.md5)})
    status = judge_put(response)
    recording.status = "complete"
    recording.completed_at = utcnow()
    return status


def judge_put(response: requests.Response) -> int:
    """The storage's answer: 2xx passes; a 3xx is the core's permanent failure naming where it pointed;
    408/425/429/5xx are retried, any other status is final. Recorded by status only, never the body."""
    status = response.status_code
    if status < 400:
        return http.check_delivery(response)
    reason = f"HTTP {status} from the upload URL's host (its answer is not recorded)"
    if status >= 500 or status in http.RETRYABLE_STATUS:
        raise http.retryable(reason, response)
    raise outbox.Permanent(reason, status)


@periodic("dtech.remove_abandoned_parts", every_seconds=3600, name="Delete files left by interrupted recording uploads")
@app_job
def remove_abandoned_parts(now: datetime | None = None) -> int:
    """A web process killed mid-upload leaves its partial file behind; returns how many were deleted."""
    cutoff = (now or utcnow()) - ABANDONED_AFTER
    removed = 0
    for part in recordings_dir().glob(INCOMING_PATTERN):
        if datetime.fromtimestamp(part.stat().st_mtime, UTC) < cutoff:
            part.unlink(missing_ok=True)
            removed += 1
    return removed

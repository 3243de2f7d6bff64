"""Outbox handler: PUT a received recording to the upload URL DTech gave for it, retried with backoff.

The upload URL is pre-signed by DTech (its signature is in the URL), so this request carries no SigV4
header of ours: a second authorisation would make the storage refuse it. The file is streamed from
disk. When the last retry fails, or the storage refuses the file, the recording ends `failed`; the
agent may then upload it again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from modules.core import http, outbox
from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.outbox import Permanent
from modules.core.queue import app_job
from modules.core.scheduler import periodic
from modules.core.types import utcnow
from modules.dtech.clients import content_md5
from modules.dtech.models import RECORDING_PUT, CallRecording
from modules.dtech.recordings import INCOMING_PATTERN, recordings_dir, stored_path

PUT_BACKOFF = (10, 60, 300, 1800, 7200, 21600)
ABANDONED_AFTER = timedelta(hours=6)


def mark_failed(message: OutboxMessage) -> None:
    recording = db.session.get(CallRecording, message.payload.get("upload_id"))
    if recording is not None:
        recording.status = "failed"


@outbox.handler(RECORDING_PUT, backoff=PUT_BACKOFF, on_dead=mark_failed)
def put_recording(message: OutboxMessage) -> int:
    recording = db.session.get(CallRecording, message.payload.get("upload_id"))
    if recording is None:
        raise Permanent("the recording no longer exists")
    path = stored_path(recording)
    if not path.is_file():
        raise Permanent("the received file is missing from the recordings directory")
    with path.open("rb") as body:
        response = http.send(http.session(), "PUT", recording.upload_url, data=body,
                             headers={"Content-Type": recording.content_type,
                                      "Content-MD5": content_md5(recording.md5)})
    status = http.check_delivery(response)
    recording.status = "complete"
    recording.completed_at = utcnow()
    return status


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

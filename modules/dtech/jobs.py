"""Outbox handler: PUT a received recording to the upload URL DTech gave for it, retried with backoff;
and the periodic jobs that delete what recordings leave behind.

The upload URL is pre-signed by DTech (its signature is in the URL), so this request carries no SigV4
header of ours: a second authorisation would make the storage refuse it. The bytes are streamed from
the database (chunks.py), one chunk at a time, with a Content-Length: any worker can send any
recording, whichever web process received it. Once the storage accepted them they are deleted in the
transaction that marks the recording `complete`. When the last retry fails, or the storage refuses the
file, the recording ends `failed` (the agent may then upload it again) and its bytes are kept
RECORDINGS_RETENTION_DAYS for an operator's replay; `purge_failed_recordings` then deletes them.

The URL came from the partner, so it is checked again against DTECH_UPLOAD_HOSTS before each PUT
(the setting may have changed since it was announced), redirects are not followed (the core's
session), and a refusal is recorded by its status only: what the host answered is never repeated to
operators, so a URL aimed at an internal service cannot read that service back to them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import requests
from flask import current_app
from sqlalchemy import exists, select, update

from modules.core import http, outbox
from modules.core.extensions import db
from modules.core.queue import app_job
from modules.core.scheduler import periodic
from modules.core.types import utcnow
from modules.dtech import chunks
from modules.dtech.clients import check_upload_url, content_md5
from modules.dtech.errors import UnusableUploadUrl
from modules.dtech.models import CallRecording, RecordingChunk
from modules.dtech.recordings import INCOMING_PATTERN, recordings_dir

RECORDING_PUT = "dtech.recording_put"  # outbox kind: PUT a received file to its upload URL
ABANDONED_AFTER = timedelta(hours=6)
PURGE_BATCH_CHUNKS = 64  # chunk rows deleted per transaction (64 MiB at most)
PURGE_SECONDS = 60  # then the job stops; its next run goes on


def mark_failed(message: outbox.Message) -> None:
    recording = db.session.get(CallRecording, message.payload.get("upload_id"))
    if recording is not None and recording.status != "complete":  # a replay of a delivered PUT changes nothing
        recording.status = "failed"
        recording.failed_at = utcnow()


@outbox.handler(RECORDING_PUT, on_dead=mark_failed, destination="dtech.uploads")
def put_recording(message: outbox.Message) -> int:
    recording = db.session.get(CallRecording, message.payload.get("upload_id"))
    if recording is None:
        raise outbox.Permanent("the recording no longer exists")
    body = stored_bytes(recording)
    try:
        url = check_upload_url(recording.upload_url, current_app.config["DTECH_UPLOAD_HOSTS"])
    except UnusableUploadUrl as refused:
        raise outbox.Permanent(str(refused)) from None
    ca_file = current_app.config["DTECH_UPLOAD_CA_FILE"]
    trust = {"verify": ca_file} if ca_file else {}  # else requests' own (REQUESTS_CA_BUNDLE, or certifi's)
    try:
        response = http.send(http.session(), "PUT", url, data=body, **trust,
                             headers={"Content-Type": recording.content_type,
                                      "Content-MD5": content_md5(recording.md5)})
    except chunks.MissingChunk as gone:
        raise outbox.Permanent(f"the recording's bytes were deleted while it was sent ({gone})") from None
    status = judge_put(response)
    recording.status = "complete"
    recording.completed_at = utcnow()
    chunks.discard(recording.id)
    return status


def stored_bytes(recording: CallRecording) -> chunks.ChunkBody:
    """The recording's bytes as the PUT's body; `Permanent`, saying why, when they are not all there."""
    if recording.purged_at is not None:
        raise outbox.Permanent(f"the recording's bytes were deleted on {recording.purged_at:%Y-%m-%d}, "
                               "RECORDINGS_RETENTION_DAYS after it failed; the agent must upload it again")
    body = chunks.ChunkBody(recording.id)
    if body.count == 0 and recording.status == "complete":
        raise outbox.Permanent("the recording was already delivered; its bytes are no longer kept")
    if body.count == 0 and recording.size:  # an empty recording has no chunk
        raise outbox.Permanent("the recording's bytes are not in the database (received before they were kept "
                               "there? run `flask dtech recordings import-files` where its file is, then replay)")
    if len(body) != recording.size:
        raise outbox.Permanent(f"{len(body)} of the recording's {recording.size} bytes are stored")
    return body


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


@periodic("dtech.purge_failed_recordings", every_seconds=3600,
          name="Delete the bytes of recordings failed longer than RECORDINGS_RETENTION_DAYS")
@app_job
def purge_failed_recordings(now: datetime | None = None, batch_chunks: int = PURGE_BATCH_CHUNKS) -> int:
    """Delete, `batch_chunks` rows per transaction, the chunks of recordings that failed more than
    RECORDINGS_RETENTION_DAYS before `now`; their rows stay, `failed` with `purged_at`. Returns how many
    chunk rows were deleted (it stops after PURGE_SECONDS; the next run goes on)."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["RECORDINGS_RETENTION_DAYS"])
    deadline = time.monotonic() + PURGE_SECONDS
    deleted = 0
    while time.monotonic() < deadline and (batch := purge_batch(cutoff, batch_chunks)):
        deleted += batch
    return deleted


def purge_batch(cutoff: datetime, limit: int) -> int:
    """One transaction: at most `limit` chunk rows of recordings failed before `cutoff` are deleted, and
    those recordings marked purged. A recording being uploaded again, or whose PUT is pending (a replay),
    is left alone; its row is locked meanwhile, so a new upload waits for this commit. Returns the rows
    deleted (0: nothing left)."""
    has_chunks = exists().where(RecordingChunk.upload_id == CallRecording.id)
    upload_ids = db.session.scalars(
        select(CallRecording.id)
        .where(CallRecording.status == "failed", CallRecording.failed_at < cutoff, has_chunks,
               ~outbox.pending_for(RECORDING_PUT, CallRecording.id))
        .order_by(CallRecording.failed_at, CallRecording.id).limit(limit).with_for_update()).all()
    keys = db.session.execute(
        select(RecordingChunk.upload_id, RecordingChunk.seq).where(RecordingChunk.upload_id.in_(upload_ids))
        .order_by(RecordingChunk.upload_id, RecordingChunk.seq).limit(limit)).all() if upload_ids else []
    if keys:
        db.session.execute(update(CallRecording)
                           .where(CallRecording.id.in_({key.upload_id for key in keys}),
                                  CallRecording.purged_at.is_(None))
                           .values(purged_at=utcnow()).execution_options(synchronize_session=False))
        db.session.execute(chunks.delete_keys(keys))
    db.session.commit()
    return len(keys)

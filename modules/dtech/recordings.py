"""Call recordings: receive the agent's file, check its MD5, keep it, and queue the PUT to DTech.

The multipart body is parsed by Werkzeug with a stream factory that writes each file part straight
to disk and hashes it on the way, so a recording is never held whole in memory. A file whose MD5
differs from the announced `recording_hash` is deleted and nothing is queued.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO

from flask import current_app
from sqlalchemy import update
from werkzeug.formparser import FormDataParser

from modules.core import audit, outbox
from modules.core.access import actor
from modules.core.exceptions import Conflict, Invalid, NotFound
from modules.core.extensions import db
from modules.core.types import utcnow
from modules.dtech.errors import RecordingTooLarge, invalid_field
from modules.dtech.models import RECORDING_PUT, CallRecording

EXTENSIONS = {"audio/wav": ".wav", "audio/mpeg": ".mp3"}
UPLOADABLE = ("pending", "failed")
MULTIPART_ALLOWANCE = 64 * 1024  # part headers and boundaries on top of the file itself
PARSER_BUFFER_BYTES = 500_000  # Flask's default MAX_FORM_MEMORY_SIZE: the parser's buffer holds 64 KiB reads
FILE_FIELD = "file"
INCOMING_PREFIX, INCOMING_SUFFIX = ".incoming-", ".part"
INCOMING_PATTERN = f"{INCOMING_PREFIX}*{INCOMING_SUFFIX}"


def recordings_dir() -> Path:
    configured = current_app.config.get("DTECH_RECORDINGS_DIR")
    directory = Path(configured) if configured else Path(current_app.instance_path) / "recordings"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def stored_path(recording: CallRecording) -> Path:
    """Named after the upload id, never after the client's file name."""
    return recordings_dir() / f"{recording.id}{EXTENSIONS.get(recording.content_type, '')}"


def max_body_bytes(declared_length: int | None) -> int:
    """The request body limit; a body declared larger is refused before any of it is read."""
    limit = int(current_app.config["DTECH_MAX_RECORDING_BYTES"])
    if declared_length is not None and declared_length > limit + MULTIPART_ALLOWANCE:
        raise RecordingTooLarge(limit)
    return limit + MULTIPART_ALLOWANCE


class HashingFile:
    """A file part being received: written to a temporary file, hashed and counted as it arrives."""

    def __init__(self, directory: Path, limit: int):
        handle, name = tempfile.mkstemp(dir=directory, prefix=INCOMING_PREFIX, suffix=INCOMING_SUFFIX)
        self.path = Path(name)
        self.file = os.fdopen(handle, "wb")
        self.digest = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.limit = limit

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        if self.size > self.limit:
            raise RecordingTooLarge(self.limit)
        self.digest.update(chunk)
        return self.file.write(chunk)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def close(self) -> None:
        self.file.close()

    def discard(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)

    @property
    def md5(self) -> str:
        return self.digest.hexdigest()


def receive_file(stream: IO[bytes], mimetype: str, content_length: int | None,
                 options: dict[str, str]) -> HashingFile:
    """The `file` part of a multipart body, on disk; other parts are discarded. 400 when it is missing."""
    directory, limit = recordings_dir(), int(current_app.config["DTECH_MAX_RECORDING_BYTES"])
    parts: list[HashingFile] = []

    def to_disk(**_part_info: object) -> HashingFile:
        parts.append(HashingFile(directory, limit))
        return parts[-1]

    parser = FormDataParser(stream_factory=to_disk, max_form_memory_size=PARSER_BUFFER_BYTES, max_form_parts=20,
                            silent=False)
    try:
        _, _, files = parser.parse(stream, mimetype, content_length, options)
    except ValueError as exc:
        for part in parts:
            part.discard()
        raise invalid_field(FILE_FIELD, "The body is not valid multipart/form-data.") from exc
    except BaseException:
        for part in parts:
            part.discard()
        raise
    chosen = files.get(FILE_FIELD)
    for part in parts:
        part.close()
        if chosen is None or part is not chosen.stream:
            part.discard()
    if chosen is None:
        raise invalid_field(FILE_FIELD, "Missing data for required field: send the recording as "
                                        "multipart/form-data in a part named 'file'.")
    return chosen.stream


def uploadable_recording(upload_id: str) -> CallRecording:
    """Checked before the body is read, so a wrong id or a finished upload costs no transfer.

    The read transaction then ends, so no database connection is held while the file streams in.
    """
    recording = get_recording(upload_id)
    if recording.status not in UPLOADABLE:
        raise Conflict(f"This recording is already {recording.status}; it cannot be uploaded again.")
    db.session.rollback()
    return recording


def get_recording(upload_id: str) -> CallRecording:
    recording = db.session.get(CallRecording, upload_id)
    if recording is None:
        raise NotFound("No recording upload with that id")
    return recording


def accept_upload(recording: CallRecording, received: HashingFile) -> CallRecording:
    """Keep a file whose MD5 matches and queue its PUT, in one transaction; refuse it otherwise."""
    if received.md5 != recording.md5:
        received.discard()
        raise Invalid(f"The file's MD5 is {received.md5} but recording_hash was {recording.md5}; "
                      "the file was not kept and nothing was sent to DTech.", code="MD5_MISMATCH")
    claimed = db.session.execute(
        update(CallRecording)
        .where(CallRecording.id == recording.id, CallRecording.status.in_(UPLOADABLE))
        .values(status="uploading", size=received.size, received_at=utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        received.discard()
        db.session.rollback()
        raise Conflict("This recording was uploaded by another request meanwhile.")
    os.replace(received.path, stored_path(recording))
    outbox.add(RECORDING_PUT, {"upload_id": recording.id}, subject_id=recording.id)
    audit.record("dtech", "recording.received", actor=actor(), subject_id=recording.id, status_code=202,
                 details={"recording_id": recording.recording_id, "size": received.size})
    db.session.commit()
    return get_recording(recording.id)

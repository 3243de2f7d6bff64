"""Recording files: received from the agent, spooled to a temporary file and hashed on the way.

The multipart body is parsed by Werkzeug with a stream factory that writes each file part straight
to a temporary file in the spool directory (DTECH_RECORDINGS_DIR) and hashes it on the way, so a
recording is never held whole in memory and no database transaction is open while a slow client
uploads. What is done with a received file (the MD5 check, the copy into the database, the queued PUT)
is the services' part; the temporary file is then deleted.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO

from flask import current_app
from werkzeug.formparser import FormDataParser

from modules.dtech.errors import RecordingTooLarge, invalid_field

MULTIPART_ALLOWANCE = 64 * 1024  # part headers and boundaries on top of the file itself
PARSER_BUFFER_BYTES = 500_000  # Flask's default MAX_FORM_MEMORY_SIZE: the parser's buffer holds 64 KiB reads
FILE_FIELD = "file"
READ_BYTES = 64 * 1024
INCOMING_PREFIX, INCOMING_SUFFIX = ".incoming-", ".part"
INCOMING_PATTERN = f"{INCOMING_PREFIX}*{INCOMING_SUFFIX}"


def recordings_dir() -> Path:
    """The spool directory of uploads in progress (and where versions before the database chunks kept
    received files, named `<upload_id><extension>`: see `flask dtech recordings import-files`)."""
    configured = current_app.config.get("DTECH_RECORDINGS_DIR")
    directory = Path(configured) if configured else Path(current_app.instance_path) / "recordings"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


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


def spool(source: IO[bytes]) -> HashingFile:
    """A file part another parser already received (the console's form, which its CSRF check parses with
    Werkzeug's own temporary files), copied to the spool directory in READ_BYTES reads: hashed and held to
    DTECH_MAX_RECORDING_BYTES (RecordingTooLarge) like a part `receive_file` parses."""
    received = HashingFile(recordings_dir(), int(current_app.config["DTECH_MAX_RECORDING_BYTES"]))
    try:
        for block in iter(lambda: source.read(READ_BYTES), b""):
            received.write(block)
    except BaseException:
        received.discard()
        raise
    received.close()
    return received

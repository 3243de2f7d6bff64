"""Recording bytes in the database: chunks of CHUNK_BYTES, written and read one row at a time.

A received recording lives in `dtech_recording_chunk` rows (upload_id, seq, data) until DTech has
accepted it, so any worker on any host can send it: no disk is shared between web and worker. A file
is copied in with one INSERT per chunk and sent with one SELECT per chunk, so neither side ever holds
a whole recording in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy import Delete, delete, func, insert, select, tuple_

from modules.core.extensions import db
from modules.dtech.models import RecordingChunk

CHUNK_BYTES = 1024 * 1024  # one row: large enough for few round trips, small enough for any driver's buffer


def store(upload_id: str, path: Path) -> int:
    """Copy the file at `path` into the chunks of `upload_id` in the current transaction, replacing any it
    had (a recording uploaded again after it failed). Returns the bytes stored."""
    discard(upload_id)
    size = 0
    with path.open("rb") as source:
        for seq, data in enumerate(iter(lambda: source.read(CHUNK_BYTES), b"")):
            db.session.execute(insert(RecordingChunk).values(upload_id=upload_id, seq=seq, data=data))
            size += len(data)
    return size


def discard(upload_id: str) -> int:
    """Delete the chunks of `upload_id` in the current transaction; returns how many there were."""
    return db.session.execute(delete(RecordingChunk).where(RecordingChunk.upload_id == upload_id)).rowcount


def delete_keys(keys: Sequence[tuple[str, int]]) -> Delete:
    """The DELETE of the chunks named by (upload_id, seq) pairs."""
    return delete(RecordingChunk).where(tuple_(RecordingChunk.upload_id, RecordingChunk.seq).in_(list(keys)))


class MissingChunk(Exception):
    """A chunk was deleted while its recording was being sent."""


class ChunkBody:
    """A recording's stored bytes as a request body. `len()` is their total, known before the first is
    read, so requests sends Content-Length (a pre-signed PUT refuses chunked transfer encoding); iterating
    reads the chunks in order, one SELECT each, as the body goes out."""

    def __init__(self, upload_id: str):
        self.upload_id = upload_id
        self.count, self.size = db.session.execute(
            select(func.count(), func.coalesce(func.sum(func.length(RecordingChunk.data)), 0))
            .where(RecordingChunk.upload_id == upload_id)).one()

    def __len__(self) -> int:
        return int(self.size)

    def __iter__(self) -> Iterator[bytes]:
        for seq in range(self.count):
            data = db.session.scalar(select(RecordingChunk.data).where(RecordingChunk.upload_id == self.upload_id,
                                                                       RecordingChunk.seq == seq))
            if data is None:
                raise MissingChunk(f"chunk {seq} of the recording is gone")
            yield bytes(data)

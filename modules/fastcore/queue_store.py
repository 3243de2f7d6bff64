"""Where a lead waits while the database is unreachable: Redis first, else a local append-only file.

An entry is a JSON object: the lead's record, who posted it (the request's audit actor), when it was
queued, how many flush attempts failed (with when and why), and when the next attempt is due. Both
stores refuse a second entry with the same `request_id`, so a site retrying during an outage still
gets its duplicate answer.

The file is written the way a journal is: one line per entry, appended and fsync'd under an exclusive
lock before the site is answered. Updates (retry counts, removals) rewrite it to a temporary file that
replaces the original atomically. The lock lives in a separate file so that a writer waiting for it
never appends to a file that has just been replaced. The file is local to the machine that wrote it:
the flush that drains it runs on that machine (scheduled worker, `POST /admin/queue/flush`, or
`flask fastcore queue flush`).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import redis
from flask import current_app

from modules.core.redis_client import REDIS_ERRORS, get_redis
from modules.core.types import isoformat

log = logging.getLogger(__name__)

DEFAULT_FILE_NAME = "fastcore_fallback_queue.jsonl"

Entry = dict[str, Any]


SITE_ACTOR = "key:FASTCORE_SITE_INGEST_TOKEN"


def new_entry(record: dict[str, Any], actor: str, now: datetime) -> Entry:
    return {"lead": record, "actor": actor, "queued_at": isoformat(now), "retry_count": 0,
            "next_attempt_at": isoformat(now), "failures": []}


def posted_by(entry: Entry) -> str | None:
    """The audit actor of the request that posted the lead. An entry queued before the actor was kept was
    posted with the site token, the only credential POST /inbound/leads takes."""
    return entry.get("actor") or SITE_ACTOR


def lead_id(entry: Entry) -> str:
    return entry["lead"]["id"]


class Store(Protocol):
    name: str

    def add(self, entry: Entry) -> str | None: ...

    def entries(self) -> list[Entry]: ...

    def apply(self, updated: list[Entry], removed: list[Entry]) -> None: ...


class RedisStore:
    """Entries in a hash keyed by lead id, plus a hash request_id -> lead id for duplicate checks."""

    name = "redis"
    LEADS_KEY = "fastcore:fallback:leads"
    REQUESTS_KEY = "fastcore:fallback:request_ids"
    # One atomic step: refuse a known request_id, else record both hashes.
    _ADD_SCRIPT = """
    local existing = redis.call('HGET', KEYS[2], ARGV[1])
    if existing then return existing end
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
    redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
    return false
    """

    def __init__(self, connection: redis.Redis):
        self.redis = connection

    def add(self, entry: Entry) -> str | None:
        existing = self.redis.eval(self._ADD_SCRIPT, 2, self.LEADS_KEY, self.REQUESTS_KEY,
                                   entry["lead"]["request_id"], lead_id(entry), json.dumps(entry))
        return existing.decode() if existing else None

    def entries(self) -> list[Entry]:
        return [json.loads(value) for value in self.redis.hvals(self.LEADS_KEY)]

    def apply(self, updated: list[Entry], removed: list[Entry]) -> None:
        pipe = self.redis.pipeline(transaction=True)
        for entry in updated:
            pipe.hset(self.LEADS_KEY, lead_id(entry), json.dumps(entry))
        for entry in removed:
            pipe.hdel(self.LEADS_KEY, lead_id(entry))
            pipe.hdel(self.REQUESTS_KEY, entry["lead"]["request_id"])
        pipe.execute()


class FileStore:
    """JSON lines in an append-only file, guarded by an flock on `<file>.lock`."""

    name = "file"

    def __init__(self, path: Path):
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    def _read(self) -> tuple[list[Entry], list[str], str]:
        """Entries, lines that do not parse (kept, never dropped), and the raw text."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return [], [], ""
        entries, unreadable = [], []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                log.warning("unreadable line in the fallback queue file", extra={"line": number})
                unreadable.append(line)
        return entries, unreadable, text

    def add(self, entry: Entry) -> str | None:
        request_id = entry["lead"]["request_id"]
        with self._locked():
            entries, _, text = self._read()
            for queued in entries:
                if queued["lead"]["request_id"] == request_id:
                    return lead_id(queued)
            separator = "\n" if text and not text.endswith("\n") else ""
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(descriptor, (separator + json.dumps(entry) + "\n").encode())
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            if not text:
                _fsync_directory(self.path.parent)
        return None

    def entries(self) -> list[Entry]:
        if not self.path.exists():
            return []
        with self._locked():
            return self._read()[0]

    def queued_lead_id(self, request_id: str) -> str | None:
        return next((lead_id(entry) for entry in self.entries() if entry["lead"]["request_id"] == request_id), None)

    def apply(self, updated: list[Entry], removed: list[Entry]) -> None:
        if not (updated or removed):
            return
        replacements = {lead_id(entry): entry for entry in updated}
        gone = {lead_id(entry) for entry in removed}
        with self._locked():
            entries, unreadable, _ = self._read()
            lines = [json.dumps(replacements.get(lead_id(entry), entry)) for entry in entries
                     if lead_id(entry) not in gone]
            self._replace([*lines, *unreadable])

    def _replace(self, lines: list[str]) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(descriptor, "".join(line + "\n" for line in lines).encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, self.path)
        _fsync_directory(self.path.parent)


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def file_store() -> FileStore:
    configured = current_app.config.get("FASTCORE_FALLBACK_FILE")
    return FileStore(Path(configured) if configured else Path(current_app.instance_path) / DEFAULT_FILE_NAME)


def redis_store() -> RedisStore | None:
    """The Redis store, or None when Redis does not answer."""
    try:
        connection = get_redis()
        connection.ping()
    except REDIS_ERRORS:
        return None
    return RedisStore(connection)


def reachable_stores() -> list[Store]:
    found: list[Store] = [file_store()]
    store = redis_store()
    return [store, *found] if store else found


def enqueue(entry: Entry) -> tuple[str, str | None]:
    """Keep `entry` safe: Redis, else the file. Returns the store's name and, for a request_id already
    queued, the lead id it was queued under. Raises OSError when neither can take it."""
    store = file_store()
    try:
        queued_in_file = store.queued_lead_id(entry["lead"]["request_id"])  # from an earlier Redis outage
    except OSError:
        queued_in_file = None  # an unreadable file must not stop Redis from taking the lead
    if queued_in_file:
        return store.name, queued_in_file
    try:
        redis_target = RedisStore(get_redis())
        return redis_target.name, redis_target.add(entry)
    except REDIS_ERRORS as exc:
        log.warning("redis unavailable, lead queued in the local file",
                    extra={"lead_id": lead_id(entry), "error": type(exc).__name__})
    return store.name, store.add(entry)

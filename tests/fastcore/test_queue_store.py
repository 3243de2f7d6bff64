"""The local fallback file: appends from many writers survive rewrites; a torn line never costs another."""

from __future__ import annotations

import threading
import uuid

import pytest

from modules.core.types import utcnow
from modules.fastcore.queue_store import FileStore, new_entry

pytestmark = pytest.mark.sqlite_only  # files only, no database


def entry(name="Lead"):
    record = {"id": str(uuid.uuid4()), "request_id": str(uuid.uuid4()), "name": name}
    return new_entry(record, "key:FASTCORE_SITE_INGEST_TOKEN", utcnow())


def test_concurrent_appends_and_rewrites_lose_nothing(tmp_path):
    store = FileStore(tmp_path / "queue.jsonl")
    first = entry()
    store.add(first)
    added = []

    def writer():
        for _ in range(15):
            item = entry()
            assert store.add(item) is None
            added.append(item["lead"]["id"])

    def rewriter():
        for number in range(15):
            first["retry_count"] = number
            store.apply([first], [])

    threads = [threading.Thread(target=writer) for _ in range(4)] + [threading.Thread(target=rewriter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    kept = {item["lead"]["id"]: item for item in store.entries()}
    assert set(kept) == {first["lead"]["id"], *added}
    assert kept[first["lead"]["id"]]["retry_count"] == 14


def test_a_torn_last_line_is_kept_and_does_not_swallow_the_next_entry(tmp_path):
    path = tmp_path / "queue.jsonl"
    path.write_text('{"lead": {"id": "torn"')
    store = FileStore(path)
    item = entry()
    store.add(item)
    assert [queued["lead"]["id"] for queued in store.entries()] == [item["lead"]["id"]]
    store.apply([], [item])
    assert store.entries() == []
    assert path.read_text() == '{"lead": {"id": "torn"\n', "an unreadable line is left for a human, not dropped"


def test_a_request_id_is_queued_once(tmp_path):
    store = FileStore(tmp_path / "queue.jsonl")
    item = entry()
    assert store.add(item) is None
    again = entry()
    again["lead"]["request_id"] = item["lead"]["request_id"]
    assert store.add(again) == item["lead"]["id"]
    assert len(store.entries()) == 1

"""Concurrent trackers registering the same new tracking ids or retrying the same events: every batch stored,
each id and each event once, no deadlock."""

import random
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support.link_tracking import BATCH_PATH, TRACKING_KEY


def test_concurrent_batches_with_the_same_new_ids_all_succeed(live_server, stored_clicks, stored_links):
    sent = []

    def post(client_number):
        session = requests.Session()
        statuses = []
        for batch in range(5):
            ids = [f"shared-{n}" for n in range(20)]
            random.shuffle(ids)
            events = [{"tracking_id": ids[n % 20], "event_id": f"c{client_number}-b{batch}-{n}"} for n in range(100)]
            sent.extend((event["event_id"], event["tracking_id"]) for event in events)
            response = session.post(live_server + BATCH_PATH, json={"events": events},
                                    headers={"X-API-Key": TRACKING_KEY}, timeout=30)
            statuses.append(response.status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = [status for result in pool.map(post, range(4)) for status in result]
    assert statuses == [200] * 20
    assert sorted((click.event_id, click.tracking_id) for click in stored_clicks()) == sorted(sent)
    links = stored_links()
    assert sorted(links) == sorted(f"shared-{n}" for n in range(20))
    assert all(link.auto_registered for link in links.values())


def test_concurrent_retries_of_the_same_events_store_each_once_and_keep_the_rollup(live_server, stored_clicks,
                                                                                   rollup_and_raw):
    """Four trackers send the same event ids (shuffled, on the same links and days): none waits forever or
    deadlocks (that would be a 503), each event is stored once and the rollup counts it once."""
    events = [{"tracking_id": f"hot-{n % 5}", "event_id": f"same-{n}", "click_source": ("a", "b", "c")[n % 3],
               "clicked_at": f"2026-11-{1 + n % 20:02d}T10:00:00Z"} for n in range(300)]

    def post(_client_number):
        session = requests.Session()
        statuses = []
        for _ in range(4):
            batch = random.sample(events, 200)
            statuses.append(session.post(live_server + BATCH_PATH, json={"events": batch},
                                         headers={"X-API-Key": TRACKING_KEY}, timeout=60).status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = [status for result in pool.map(post, range(4)) for status in result]
    assert statuses == [200] * 16
    stored = sorted(click.event_id for click in stored_clicks())
    assert len(stored) == len(set(stored))
    rollup, raw = rollup_and_raw()
    assert rollup == raw

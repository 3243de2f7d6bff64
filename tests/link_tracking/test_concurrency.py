"""Concurrent trackers registering the same new tracking ids: every batch stored, each id once."""

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

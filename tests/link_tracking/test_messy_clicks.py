"""Click batches with messy real data: offsets at month and year boundaries, leap days, the first and last
years a datetime holds, duplicates within and across batches, an event id reused for another link; after all
of it the rollup still equals the raw clicks, and the analytics answer."""

import pytest

EDGES = [
    ("plus14", "2026-03-01T13:59:59+14:00"),  # Feb 28 23:59:59Z
    ("minus12", "2026-02-28T12:00:00-12:00"),  # Mar 1 00:00Z
    ("leap", "2028-02-29T23:59:59.999999+00:00"),
    ("leap-local", "2028-03-01T05:30:00+05:30"),  # Feb 29 Z
    ("year-1", "0001-01-01T00:00:00+00:00"),
    ("year-1-minus", "0001-01-01T00:00:00-12:00"),
    ("year-9999", "9999-12-31T23:59:59Z"),
    ("nye-plus14", "2027-01-01T13:00:00+14:00"),  # 2026-12-31 23:00Z
]


def test_messy_batches_keep_the_rollup_equal_to_the_raw_clicks(post_batch, rollup_and_raw, client, operator_headers):
    events = [{"tracking_id": "messy", "event_id": name, "clicked_at": when} for name, when in EDGES]
    first = post_batch(events + events[:3])
    assert first.status_code == 200, first.get_json()
    again = post_batch(events[2:] + [{"tracking_id": "other", "event_id": "plus14", "clicked_at": EDGES[0][1]}])
    assert again.status_code == 200, again.get_json()
    rollup, raw = rollup_and_raw()
    assert rollup == raw
    assert sum(count for count, _, _ in raw.values()) == len(EDGES)  # year 9999 is "ahead": stored at the time received
    for days in (1, 365):
        response = client.get(f"/api/link-tracking/analytics?days={days}", headers=operator_headers)
        assert response.status_code == 200, response.get_json()
        assert client.get(f"/api/link-tracking/links/messy/analytics?days={days}",
                          headers=operator_headers).status_code == 200


@pytest.mark.parametrize("when", ["10000-01-01T00:00:00Z", "9999-12-31T23:00:00-12:00", "0000-12-31T23:00:00Z",
                                  "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-02-28T24:00:00Z"])
def test_an_impossible_clicked_at_is_a_400_and_nothing_is_stored(post_batch, rollup_and_raw, when):
    response = post_batch([{"tracking_id": "messy", "event_id": "bad", "clicked_at": when}])
    assert response.status_code == 400
    assert response.get_json()["validation_errors"] == ["Event 1: Invalid clicked_at format (must be ISO 8601 "
                                                        "datetime)"]
    assert rollup_and_raw() == ({}, {})

"""The rows' JSON parameter of the PostgreSQL store (orjson, the standard library for what orjson refuses) and the
click ids: what PostgreSQL receives means what it meant with `json.dumps(rows, default=isoformat)`; ids are
uuid4 text."""

import json
import struct
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from modules.link_tracking import storage


def numeric(text):
    """A JSON number as PostgreSQL's numeric (jsonb) keeps it: its value and its scale."""
    value = Decimal(text)
    return value, max(0, -value.as_tuple().exponent)


def standard(rows):
    return json.dumps(rows, default=lambda value: value.isoformat())


ODD_FLOATS = [1e16, 1.5e16, 1e15, 1e-5, 1.5e-5, 1e-4, 1.2345678901234568e20, 1e22, 5e-324, 1.7976931348623157e308,
              -0.0, 0.0, 1.0, 0.1, 9007199254740993.0,
              *(m * 10.0 ** e for e in range(-25, 25) for m in (1.0, 1.5, 9.99))]


@pytest.mark.sqlite_only
def test_every_float_keeps_its_value_and_numeric_scale():
    randoms = [struct.unpack("<d", bytes.fromhex(f"{n * 2654435761 % 2 ** 64:016x}"))[0] for n in range(1, 20000)]
    for number in ODD_FLOATS + [x for x in randoms if x == x and abs(x) != float("inf")]:
        assert numeric(storage.rows_json([number])[1:-1]) == numeric(standard(number)), number


@pytest.mark.sqlite_only
def test_the_rows_mean_what_the_standard_library_wrote():
    rows = [{"click_id": "e1c4884d-cbb2-4262-9a46-ab78402f397b", "tracking_id": "caf\u00e9 \u2028 \U0001f600",
             "clicked_at": datetime(2026, 11, 20, 14, 30, tzinfo=UTC),
             "received_at": datetime(2026, 11, 20, 14, 30, 0, 4, tzinfo=UTC), "ip_address": None,
             "user_agent": 'quote " back \\ tab \t nl \n \x1f \x7f', "referrer_url": None, "click_source": "email",
             "session_id": None, "metadata": {"n": [1, -2, 2 ** 63 - 1, -(2 ** 63), 0.5, True, None, {}]},
             "event_id": None}]
    written = storage.rows_json(rows)
    assert '"clicked_at":"2026-11-20T14:30:00+00:00"' in written
    assert '"received_at":"2026-11-20T14:30:00.000004+00:00"' in written
    assert json.loads(written) == json.loads(standard(rows))


@pytest.mark.sqlite_only
@pytest.mark.parametrize("value", [2 ** 64, -(2 ** 63) - 1, 10 ** 40, "\ud800"])
def test_what_orjson_refuses_is_written_by_the_standard_library(value):
    rows = [{"metadata": {"v": value}, "clicked_at": datetime(2026, 1, 1, tzinfo=UTC)}]
    assert storage.rows_json(rows) == standard(rows)


def test_huge_integers_floats_and_unicode_in_metadata_are_stored_as_sent(post_batch, stored_clicks):
    metadata = {"big": 10 ** 30, "neg": -(2 ** 64), "i64": 2 ** 63 - 1, "f": 0.1, "e": 1e-7, "u": "\u00e9\U0001f600",
                "nested": [{"x": [1.5, "\u2028"]}]}
    events = [{"tracking_id": "json-a", "event_id": "j1", "metadata": metadata},
              {"tracking_id": "json-b", "event_id": "j2", "metadata": {"plain": 1}}]
    response = post_batch(events)
    assert response.status_code == 200 and response.get_json()["results"]["successful"] == 2
    assert {click.event_id: click.event_metadata for click in stored_clicks()} == {
        "j1": metadata, "j2": {"plain": 1}}


@pytest.mark.sqlite_only
def test_click_ids_are_distinct_uuid4_text():
    ids = storage.new_click_ids(5000)
    assert len(set(ids)) == 5000 and storage.new_click_ids(0) == []
    for click_id in ids:
        parsed = uuid.UUID(click_id)
        assert (str(parsed), parsed.version, parsed.variant) == (click_id, 4, uuid.RFC_4122)
    assert {click_id[19] for click_id in ids} == set("89ab")

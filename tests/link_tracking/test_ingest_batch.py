"""POST /api/tracking-ingest/batch: the contract's messages, all-or-nothing validation, bulk storage."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text

from modules.core.extensions import db
from tests.support.link_tracking import BATCH_PATH


def bad_request(message):
    return {"success": False, "error": "Bad Request", "message": message}


@pytest.mark.parametrize("body, message", [
    ("{not json", "Request body must be JSON"),
    ("", "Request body must be JSON"),
    ('{"events": [{"tracking_id": "a", "metadata": {"x": NaN}}]}', "Request body must be JSON"),
    ('{"events": [{"tracking_id": "a", "metadata": {"x": 1e400}}]}', "Request body must be JSON"),
    ('{"events": [{"tracking_id": "a", "metadata": {"x": ' + "9" * 5000 + "}}]}", "Request body must be JSON"),
    ("[" * 100_000 + "]" * 100_000, "Request body must be JSON"),
    (b'{"events": "\xff"}', "Request body must be JSON"),
    ("{}", "Missing required field: events (array)"),
    ('[{"tracking_id": "a"}]', "Missing required field: events (array)"),
    ('"events"', "Missing required field: events (array)"),
    ("null", "Missing required field: events (array)"),
    ('{"event": []}', "Missing required field: events (array)"),
    ('{"events": {"tracking_id": "a"}}', 'Field "events" must be an array'),
    ('{"events": "a,b"}', 'Field "events" must be an array'),
    ('{"events": null}', 'Field "events" must be an array'),
    ('{"events": []}', "Events array cannot be empty"),
])
def test_structural_errors_are_400_with_the_contract_message(post_batch, stored_clicks, body, message):
    response = post_batch(body=body)
    assert response.status_code == 400
    assert response.get_json() == bad_request(message)
    assert stored_clicks() == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_declared_json_is_refused(client, key_headers, content_type, stored_clicks):
    response = client.post(BATCH_PATH, data='{"events": [{"tracking_id": "a"}]}', content_type=content_type,
                           headers=key_headers)
    assert response.status_code == 400
    assert response.get_json() == bad_request("Request body must be JSON")
    assert stored_clicks() == []


def count_statements(app):
    """Writing statements (INSERT, or WITH ... INSERT) and commits the database receives."""
    seen = {"inserts": 0, "commits": 0}
    with app.app_context():
        engine = db.engine

    def on_execute(_conn, _cursor, statement, *_args):
        seen["inserts"] += statement.lstrip().upper().startswith(("INSERT", "WITH", "EXECUTE"))

    def on_commit(_conn):
        seen["commits"] += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    return seen


def test_1000_events_are_stored_in_one_transaction(app, post_batch, stored_clicks, stored_links):
    seen = count_statements(app)
    events = [{"tracking_id": f"link-{n % 7}", "event_id": f"evt-{n:04d}", "clicked_at": "2026-11-20T10:00:00Z"}
              for n in range(1000)]
    response = post_batch(events)
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True and body["message"] == "Processed 1000 events"
    assert body["results"] == {"total_events": 1000, "successful": 1000, "failed": 0, "errors": []}
    assert sorted((click.event_id, click.tracking_id) for click in stored_clicks()) == sorted(
        (event["event_id"], event["tracking_id"]) for event in events)
    assert sorted(stored_links()) == [f"link-{n}" for n in range(7)]
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            writers = db.session.scalar(text("SELECT count(DISTINCT xmin::text) FROM link_clicks"))
            assert writers == 1, "every row was written by the same transaction"
            same = db.session.scalar(text("SELECT count(*) FROM link_tracking l JOIN link_click_events e "
                                          "ON l.xmin::text = e.xmin::text"))
            assert same == 7 * 1000, "the links were registered by the transaction that stored the event ids"
            assert (seen["inserts"], seen["commits"]) == (1, 0), "one statement in autocommit: one round trip"
        else:
            assert seen["commits"] == 1
            assert seen["inserts"] == 4, "one INSERT each for tracking ids, event ids, clicks and the rollup"


def test_1001_events_are_refused_and_nothing_is_stored(post_batch, stored_clicks):
    response = post_batch([{"tracking_id": "a"}] * 1001)
    assert response.status_code == 400
    assert response.get_json() == bad_request("Batch size too large (max 1000 events per request)")
    assert stored_clicks() == []


def test_a_successful_batch_answers_exactly_the_contract_shape(post_batch):
    body = post_batch([{"tracking_id": "a"}, {"tracking_id": "b"}]).get_json()
    assert set(body) == {"success", "message", "results", "timestamp"}
    assert (body["success"], body["message"]) == (True, "Processed 2 events")
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None


def test_fields_are_stored_with_defaults_and_utc_times(post_batch, stored_clicks):
    before = datetime.now(UTC)
    response = post_batch([
        {"tracking_id": "with-z", "clicked_at": "2026-11-20T14:30:00Z", "ip_address": "2001:db8::1",
         "user_agent": "Mozilla/5.0", "referrer_url": "https://example.com/jobs", "click_source": "linkedin",
         "session_id": "s-1", "metadata": {"campaign": "fall", "nested": {"n": [1, 2.5, None]}}, "event_id": "e-1"},
        {"tracking_id": "no-z", "clicked_at": "2026-11-20T14:30:00", "event_id": "e-2"},
        {"tracking_id": "offset", "clicked_at": "2026-11-20T16:30:00+02:00", "event_id": "e-3"},
        {"tracking_id": "defaults", "event_id": "e-4", "ip_address": None, "click_source": "", "metadata": None},
    ])
    assert response.status_code == 200
    clicks = {click.tracking_id: click for click in stored_clicks()}
    full = clicks["with-z"]
    assert full.clicked_at == datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
    assert (full.ip_address, full.user_agent, full.referrer_url, full.click_source, full.session_id) == (
        "2001:db8::1", "Mozilla/5.0", "https://example.com/jobs", "linkedin", "s-1")
    assert full.event_metadata == {"campaign": "fall", "nested": {"n": [1, 2.5, None]}}
    assert clicks["no-z"].clicked_at == clicks["offset"].clicked_at == full.clicked_at
    default = clicks["defaults"]
    assert before <= default.clicked_at <= datetime.now(UTC)
    assert (default.click_source, default.ip_address, default.event_metadata) == ("external_domain", None, None)


def test_a_client_clock_more_than_a_day_ahead_gives_the_receive_time(post_batch, stored_clicks):
    """Totals must equal their per-day series: a click cannot happen tomorrow. The client's value is kept."""
    now = datetime.now(UTC)
    sent = {"day-ahead": (now + timedelta(hours=25)).isoformat(), "year-9999": "9999-12-31T23:59:59.999999Z",
            "offset": (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S+05:00"),
            "within-a-day": (now + timedelta(hours=23)).isoformat()}
    events = [{"tracking_id": name, "clicked_at": clicked_at, "event_id": name} for name, clicked_at in sent.items()]
    events[0]["metadata"] = {"campaign": "fall"}
    events[3]["metadata"] = {"campaign": "spring"}
    assert post_batch(events).status_code == 200
    after = datetime.now(UTC)
    clicks = {click.tracking_id: click for click in stored_clicks()}
    for name in ("day-ahead", "year-9999", "offset"):
        assert now <= clicks[name].clicked_at <= after, name
        assert clicks[name].clicked_at == clicks[name].received_at
    assert clicks["day-ahead"].event_metadata == {"campaign": "fall", "hub_client_clicked_at": sent["day-ahead"]}
    assert clicks["year-9999"].event_metadata == {"hub_client_clicked_at": "9999-12-31T23:59:59.999999Z"}
    assert clicks["offset"].event_metadata == {"hub_client_clicked_at": sent["offset"]}
    assert clicks["within-a-day"].clicked_at == datetime.fromisoformat(sent["within-a-day"])
    assert clicks["within-a-day"].event_metadata == {"campaign": "spring"}


def test_clicks_far_in_the_past_are_kept_as_sent(post_batch, stored_clicks):
    """Imports of click history rely on old dates; nothing overflows at the edge of the calendar."""
    events = [{"tracking_id": "a", "clicked_at": clicked_at, "event_id": clicked_at} for clicked_at in (
        "1900-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00-01:00", "1969-12-31T23:59:59.999999Z")]
    assert post_batch(events).status_code == 200
    assert sorted((c.event_id, c.clicked_at, c.event_metadata) for c in stored_clicks()) == [
        ("0001-01-01T00:00:00-01:00", datetime(1, 1, 1, 1, tzinfo=UTC), None),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC), None),
        ("1900-01-01T00:00:00Z", datetime(1900, 1, 1, tzinfo=UTC), None),
        ("1969-12-31T23:59:59.999999Z", datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), None)]


def test_null_in_every_optional_field_means_not_given(post_batch, stored_clicks):
    optional = ("clicked_at", "ip_address", "user_agent", "referrer_url", "click_source", "session_id", "metadata",
                "event_id")
    before = datetime.now(UTC)
    assert post_batch([{"tracking_id": "a", **dict.fromkeys(optional)}]).status_code == 200
    [click] = stored_clicks()
    assert before <= click.clicked_at <= datetime.now(UTC)
    assert (click.ip_address, click.user_agent, click.referrer_url, click.click_source, click.session_id,
            click.event_metadata, click.event_id) == (None, None, None, "external_domain", None, None, None)


def test_unknown_tracking_ids_are_registered_once(post_batch, stored_links, stored_clicks):
    assert post_batch([{"tracking_id": "new-link"}, {"tracking_id": "new-link"}]).status_code == 200
    assert post_batch([{"tracking_id": "new-link"}]).status_code == 200
    links = stored_links()
    assert list(links) == ["new-link"]
    assert (links["new-link"].auto_registered, links["new-link"].is_active, links["new-link"].original_url) == (
        True, True, None)
    assert len(stored_clicks()) == 3


def test_a_retried_batch_stores_no_duplicates_and_counts_them(post_batch, stored_clicks):
    events = [{"tracking_id": "a", "event_id": f"retry-{n}"} for n in range(5)]
    assert post_batch(events).status_code == 200
    retried = post_batch(events + [{"tracking_id": "a", "event_id": "retry-5"}, {"tracking_id": "a"}])
    assert retried.status_code == 200
    assert retried.get_json()["results"] == {"total_events": 7, "successful": 7, "failed": 0, "errors": []}
    assert sorted(c.event_id or "-" for c in stored_clicks()) == ["-"] + [f"retry-{n}" for n in range(6)]


def test_duplicate_event_ids_within_one_batch_are_stored_once(post_batch, stored_clicks):
    response = post_batch([{"tracking_id": "a", "event_id": "same"}, {"tracking_id": "b", "event_id": "same"}])
    assert response.get_json()["results"]["successful"] == 2
    assert [c.tracking_id for c in stored_clicks()] == ["a"]


TOO_LONG = {"tracking_id": 101, "ip_address": 46, "user_agent": 501, "referrer_url": 1001, "click_source": 51,
            "session_id": 101, "event_id": 101}


@pytest.mark.parametrize("event, reason", [
    ("not an object", "Event must be a JSON object"),
    (["tracking_id", "a"], "Event must be a JSON object"),
    (None, "Event must be a JSON object"),
    ({}, "Missing required field: tracking_id"),
    ({"tracking_id": ""}, "Missing required field: tracking_id"),
    ({"tracking_id": None}, "Missing required field: tracking_id"),
    ({"tracking_id": "   "}, "Missing required field: tracking_id"),
    ({"tracking_id": 42}, "Invalid tracking_id format (must be string, max 100 chars)"),
    ({"tracking_id": ["a"]}, "Invalid tracking_id format (must be string, max 100 chars)"),
    ({"tracking_id": "t" * 101}, "Invalid tracking_id format (must be string, max 100 chars)"),
    ({"tracking_id": "a", "clicked_at": "yesterday"}, "Invalid clicked_at format (must be ISO 8601 datetime)"),
    ({"tracking_id": "a", "clicked_at": 1732000000}, "Invalid clicked_at format (must be ISO 8601 datetime)"),
    ({"tracking_id": "a", "clicked_at": "2026-13-40T00:00:00Z"},
     "Invalid clicked_at format (must be ISO 8601 datetime)"),
    ({"tracking_id": "a", "clicked_at": "0001-01-01T00:00:00+01:00"},
     "Invalid clicked_at format (must be ISO 8601 datetime)"),
    ({"tracking_id": "a", "ip_address": "9" * 46}, "Invalid ip_address (must be string, max 45 chars)"),
    ({"tracking_id": "a", "ip_address": 10}, "Invalid ip_address (must be string, max 45 chars)"),
    ({"tracking_id": "a", "user_agent": "u" * 501}, "Invalid user_agent (must be string, max 500 chars)"),
    ({"tracking_id": "a", "referrer_url": "r" * 1001}, "Invalid referrer_url (must be string, max 1000 chars)"),
    ({"tracking_id": "a", "click_source": "c" * 51}, "Invalid click_source (must be string, max 50 chars)"),
    ({"tracking_id": "a", "session_id": {"id": 1}}, "Invalid session_id (must be string, max 100 chars)"),
    ({"tracking_id": "a", "metadata": "campaign=fall"}, "Invalid metadata (must be JSON object)"),
    ({"tracking_id": "a", "metadata": [1, 2]}, "Invalid metadata (must be JSON object)"),
    ({"tracking_id": "a", "metadata": {"hub_client_clicked_at": "2026-01-01"}},
     'Invalid metadata (the key "hub_client_clicked_at" is reserved for the hub)'),
    ({"tracking_id": "a", "event_id": "e" * 101}, "Invalid event_id (must be string, max 100 chars)"),
    # The first rule broken, in the contract's order.
    ({"tracking_id": 1, "clicked_at": "x"}, "Invalid tracking_id format (must be string, max 100 chars)"),
    ({"tracking_id": "a", "user_agent": 1, "ip_address": 1}, "Invalid ip_address (must be string, max 45 chars)"),
    ({"tracking_id": "a", "metadata": 1, "session_id": 1}, "Invalid session_id (must be string, max 100 chars)"),
])
def test_one_bad_event_refuses_the_whole_batch(post_batch, stored_clicks, stored_links, event, reason):
    response = post_batch([{"tracking_id": "good"}, event, {"tracking_id": "also-good"}])
    assert response.status_code == 400
    body = response.get_json()
    assert body == {"success": False, "error": "Validation Failed", "message": "One or more events failed validation",
                    "validation_errors": [f"Event 2: {reason}"], "timestamp": body["timestamp"]}
    assert stored_clicks() == [] and stored_links() == {}


TOO_LARGE = "Invalid metadata (max 8192 bytes as compact JSON)"


@pytest.mark.parametrize("metadata, refused", [
    ({"k": "x" * 8184}, False),  # {"k":"...."} is exactly 8,192 bytes
    ({"k": "x" * 8185}, True),
    ({"k": "\u00e9" * 4093}, True),  # 4,101 characters, 8,194 UTF-8 bytes
    ({"k": "\u00e9" * 4092}, False),
    ({"k": "\U0001f680" * 2047}, True),  # 2,055 characters, 8,196 bytes
    ({"a": [1e15] * 500}, True),  # stored as 1000000000000000.0: 9,507 bytes, though sent as 3,000
    ({f"key-{n}": n for n in range(1000)}, True),  # 13,781 bytes
    ({"nested": {"deeper": ["y" * 4000, "z" * 4000]}}, False),
    ({"nested": {"deeper": ["y" * 4100, "z" * 4100]}}, True),
])
def test_metadata_over_8_kb_as_compact_json_is_refused(post_batch, stored_clicks, metadata, refused):
    response = post_batch([{"tracking_id": "a"}, {"tracking_id": "b", "metadata": metadata}])
    if refused:
        assert response.status_code == 400
        assert response.get_json()["validation_errors"] == [f"Event 2: {TOO_LARGE}"]
        assert stored_clicks() == []
    else:
        assert response.status_code == 200
        assert [click.event_metadata for click in stored_clicks() if click.tracking_id == "b"] == [metadata]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("character", ['"', "\\", "\x00", "\x1f", "\x7f", "'", "\u00e9", "\u2028", "\ud800",
                                       "\U0001f680", "\U000e0001", "7"])
def test_the_cheap_size_bound_holds_for_every_kind_of_character(character):
    """The check skips encoding when the repr is at most 2,048 characters: compact UTF-8 JSON must never
    take more than 4 bytes per repr character, whatever the text."""
    for metadata in ({"k": character * 500}, {character * 50: [character * 10, 1e15, None, True]}):
        compact = json.dumps(metadata, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
        assert len(compact) <= 4 * len(repr(metadata))


def test_metadata_is_measured_without_the_senders_whitespace_and_escapes(post_batch, stored_clicks):
    spaced = '{"k": ' + " " * 20_000 + '"' + "\\u0041" * 2000 + '"}'  # 12 KB sent, {"k":"AAA..."} is 2,008 bytes
    response = post_batch(body='{"events": [{"tracking_id": "a", "metadata": ' + spaced + "}]}")
    assert response.status_code == 200
    assert stored_clicks()[0].event_metadata == {"k": "A" * 2000}


def test_metadata_size_comes_last_before_event_id(post_batch):
    big = {"k": "x" * 9000}
    events = [{"tracking_id": "a", "session_id": 1, "metadata": big}, {"tracking_id": "a", "metadata": big,
                                                                       "event_id": "e" * 101}]
    assert post_batch(events).get_json()["validation_errors"] == [
        "Event 1: Invalid session_id (must be string, max 100 chars)", f"Event 2: {TOO_LARGE}"]


def test_every_failing_event_is_listed_with_its_number(post_batch):
    events = [{"tracking_id": "ok"}, "x", {"tracking_id": "ok"}, {}, {"tracking_id": "a", "clicked_at": "soon"}]
    assert post_batch(events).get_json()["validation_errors"] == [
        "Event 2: Event must be a JSON object", "Event 4: Missing required field: tracking_id",
        "Event 5: Invalid clicked_at format (must be ISO 8601 datetime)"]


def test_values_at_the_limits_are_accepted(post_batch, stored_clicks):
    event = {name: "x" * size for name, size in TOO_LONG.items()}
    event.update({name: "x" * (size - 1) for name, size in TOO_LONG.items()})
    assert post_batch([event]).status_code == 200
    assert len(stored_clicks()) == 1


def test_unicode_is_stored_as_sent(post_batch, stored_clicks):
    text = "Zoë 🚀 \u00e9t\u00e9 日本"
    assert post_batch([{"tracking_id": "ünï-🚀", "user_agent": text, "metadata": {"ключ": text}}]).status_code == 200
    [click] = stored_clicks()
    assert (click.tracking_id, click.user_agent, click.event_metadata) == ("ünï-🚀", text, {"ключ": text})


def test_events_the_database_cannot_hold_are_reported_with_207(post_batch, stored_clicks):
    body = ('{"events": [{"tracking_id": "ok-1"}, {"tracking_id": "nul\\u0000"}, '
            '{"tracking_id": "ok-2", "metadata": {"k": "\\ud800"}}, '
            '{"tracking_id": "ok-3", "user_agent": "\\ud83d\\ude80"}]}')
    response = post_batch(body=body)
    assert response.status_code == 207
    body = response.get_json()
    reason = "Could not be stored: text contains a NUL character or an unpaired surrogate"
    assert body == {"success": False, "message": "Processed 4 events", "warning": "2 events failed to process",
                    "results": {"total_events": 4, "successful": 2, "failed": 2,
                                "errors": [f"Event 2: {reason}", f"Event 3: {reason}"]},
                    "timestamp": body["timestamp"]}
    assert sorted(c.tracking_id for c in stored_clicks()) == ["ok-1", "ok-3"]


def test_very_deep_metadata_is_reported_not_crashing(post_batch, stored_clicks):
    deep = '{"a": ' * 200 + "1" + "}" * 200
    response = post_batch(body='{"events": [{"tracking_id": "deep", "metadata": ' + deep + "}]}")
    assert response.status_code == 207
    assert response.get_json()["results"]["errors"] == [
        "Event 1: Could not be stored: metadata is nested deeper than 32 levels"]
    assert stored_clicks() == []


def test_metadata_nested_up_to_the_interpreters_limit_is_never_a_5xx(post_batch, stored_clicks):
    """Around the depth where Python's recursion limit is reached (parsing, measuring, checking): 207 or 400."""
    for depth in range(850, 1001, 10):
        deep = '{"a": ' * depth + "1" + "}" * depth
        response = post_batch(body='{"events": [{"tracking_id": "deep", "metadata": ' + deep + "}]}")
        assert response.status_code in (207, 400), depth
    assert stored_clicks() == []

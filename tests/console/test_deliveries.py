"""The console's Deliveries pages (admins only): filters, keyset pages, CSV, a message's attempts, retry,
replay by filter, pause and resume; and the API's list with the same filters and cursor."""

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from modules.core import outbox
from modules.core.extensions import db
from modules.core.models import AuditEntry, OutboxMessage
from modules.core.types import isoformat, new_id, utcnow
from tests.console.conftest import csrf_token
from tests.core.test_outbox_replay import put, statuses
from tests.support.handlers import KIND

OTHER_KIND = "test.elsewhere"  # no handler: its own destination name is unknown to the engine
MAIL_KIND = "fastcore.welcome_email"  # a kind of the `smtp` destination


def ids_on(html):
    """The message ids the page's table links to, in order."""
    return re.findall(r'href="/console/deliveries/([0-9a-f-]{36})"', html)


def older_link(html):
    found = re.search(r'href="([^"]+)" rel="next"', html)
    return found and found.group(1).replace("&amp;", "&")


def page_ids(client, url):
    """Every id on every page from `url`, following the Older links."""
    seen, pages = [], 0
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += ids_on(html)
        url, pages = older_link(html), pages + 1
    return seen, pages


def spread(app, count, **kwargs):
    """`count` messages, one a second apart going back from now (newest first in the returned list)."""
    now = utcnow()
    return [put(app, 1, created_at=now - timedelta(seconds=n), **kwargs)[0] for n in range(count)]


def test_each_filter_narrows_the_list(app, admin_client):
    now = utcnow()
    dead = put(app, 1, subject_id="form-1", created_at=now - timedelta(hours=3))
    pending = put(app, 1, status="pending", subject_id="form-2", created_at=now - timedelta(hours=2))
    delivered = put(app, 1, status="delivered", subject_id="form-3", created_at=now - timedelta(hours=1))
    other = put(app, 1, kind=OTHER_KIND, subject_id="form-1", created_at=now)
    mail = put(app, 1, kind=MAIL_KIND, subject_id="lead-1", created_at=now - timedelta(minutes=30))

    def listed(**args):
        answer = admin_client.get("/console/deliveries", query_string=args)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return set(ids_on(answer.get_data(as_text=True)))

    assert listed() == set(dead + pending + delivered + other + mail)
    assert listed(status="pending") == set(pending)
    assert listed(kind=KIND) == set(dead + pending + delivered)
    assert listed(destination="smtp") == set(mail)
    assert listed(destination="smtp", kind=KIND) == set()
    assert listed(subject_id="form-1") == set(dead + other)
    assert listed(since=isoformat(now - timedelta(hours=2)), until=isoformat(now - timedelta(minutes=30))) == set(
        pending + delivered), "since inclusive, until exclusive"
    assert listed(since=(now - timedelta(hours=2, minutes=30)).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                  until=(now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")) == set(pending), \
        "a time without a zone is UTC"
    # idempotency keys, as each handler builds them
    assert listed(idempotency_key="form-3:7") == set(delivered), "the dashboard's <record id>:<revision>"
    assert listed(idempotency_key=f"<{mail[0]}.fastcore@example.com>") == set(mail), "an e-mail's Message-ID"
    assert listed(idempotency_key=pending[0]) == set(pending), "a message id"
    assert listed(idempotency_key="lead-1") == set(mail), "a record id"


@pytest.mark.parametrize("args, says", [
    ({"since": "yesterday"}, "since is not a time"),
    ({"until": "2026-13-45"}, "until is not a time"),
    ({"status": "lost"}, "status must be one of"),
    ({"destination": "nowhere"}, "no destination is named nowhere"),
    ({"since": "2026-12-02", "until": "2026-12-01"}, "since must be before until"),
    ({"since": "0001-01-01T00:00+05:00"}, "since is out of range"),
    ({"after": "not-a-cursor"}, "page cursor"),
])
def test_a_bad_filter_value_is_a_422_page_saying_why(admin_client, args, says):
    answer = admin_client.get("/console/deliveries", query_string=args)
    assert answer.status_code == 422
    assert says in answer.get_data(as_text=True)
    if "after" not in args:  # the CSV has every matching row: it takes no page cursor
        assert admin_client.get("/console/deliveries", query_string={**args, "format": "csv"}).status_code == 422


def test_keyset_pages_cover_every_message_once_newest_first(app, admin_client):
    ids = spread(app, 120)
    now = utcnow()
    same_time = put(app, 7, created_at=now - timedelta(seconds=60.5))  # ties broken by id
    seen, pages = page_ids(admin_client, "/console/deliveries")
    assert pages == 3
    assert len(seen) == len(set(seen)) == 127, "no duplicate, no gap"
    assert [message_id for message_id in seen if message_id in ids] == ids, "newest first"
    assert set(seen) == set(ids + same_time)
    filtered, _ = page_ids(admin_client, f"/console/deliveries?kind={KIND}&status=dead")
    assert filtered == seen


def test_a_destination_of_several_kinds_pages_through_them_merged(app, admin_client):
    welcome = spread(app, 30, kind=MAIL_KIND)
    alerts = spread(app, 30, kind="fastcore.admin_alert")
    put(app, 5)
    seen, pages = page_ids(admin_client, "/console/deliveries?destination=smtp")
    assert pages == 2 and len(seen) == len(set(seen)) == 60 and set(seen) == set(welcome + alerts)
    with app.app_context():
        created = dict(db.session.execute(select(OutboxMessage.id, OutboxMessage.created_at)).all())
    assert [created[message_id] for message_id in seen] == sorted((created[i] for i in seen), reverse=True)


def test_csv_has_every_matching_row_with_formula_cells_neutralised(app, admin_client):
    ids = spread(app, 120)
    put(app, 3, status="delivered")
    with app.app_context():
        db.session.get(OutboxMessage, ids[0]).last_error = "=HYPERLINK(\"http://evil\")"
        db.session.commit()
    answer = admin_client.get("/console/deliveries?status=dead&format=csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0] == ["created_at", "id", "kind", "destination", "subject_id", "status", "attempts",
                       "last_status_code", "last_error", "next_attempt_at", "delivered_at"]
    assert [row[1] for row in rows[1:]] == ids, "every matching row, not one page"
    assert rows[1][8] == "'=HYPERLINK(\"http://evil\")"
    assert {row[5] for row in rows[1:]} == {"dead"}


def test_the_message_page_shows_every_attempt_and_its_record(app, admin_client, worker, httpserver):
    httpserver.expect_request("/hook").respond_with_data("upstream is sad", status=503)
    with app.app_context():
        message_id = outbox.add(KIND, {"url": httpserver.url_for("/hook"), "body": {}}, subject_id="form-9")
        db.session.commit()
    worker.drain()
    html = admin_client.get(f"/console/deliveries/{message_id}").get_data(as_text=True)
    assert "503" in html and "upstream is sad" in html and "retry" in html
    assert re.search(r"\d+ ms", html), "the attempt's duration"
    assert "/console/deliveries?subject_id=form-9" in html, "a link to every message about the record"
    assert "its next attempt is due" in html and "Retry: deliver it again" not in html, "pending: no retry button"
    assert admin_client.get(f"/console/deliveries/{new_id()}").status_code == 404


def test_retry_delivers_a_dead_message_again(app, admin_client, worker, httpserver):
    httpserver.expect_request("/hook").respond_with_json({})
    [dead] = put(app, 1, url=httpserver.url_for("/hook"))
    page_html = admin_client.get(f"/console/deliveries/{dead}").get_data(as_text=True)
    assert "Retry: deliver it again" in page_html and "HTTP 400: bad" in page_html
    answer = admin_client.post(f"/console/deliveries/{dead}/retry", data={"csrf_token": csrf_token(page_html)})
    assert answer.status_code == 303
    assert statuses(app, [dead]) == ["pending"]
    worker.drain()
    assert statuses(app, [dead]) == ["delivered"] and len(httpserver.log) == 1
    with app.app_context():
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.event == "outbox.replayed")).all()
        assert entry.actor.startswith("operator:") and entry.details["filter"]["ids"] == [dead]
    assert "Queued for delivery again" in admin_client.get(answer.location).get_data(as_text=True)


def test_retry_of_a_pending_message_is_refused_with_a_message(app, admin_client):
    [pending] = put(app, 1, status="pending")
    token = csrf_token(admin_client.get("/console/deliveries").get_data(as_text=True))
    answer = admin_client.post(f"/console/deliveries/{pending}/retry", data={"csrf_token": token})
    assert answer.status_code == 303
    assert "Not retried" in admin_client.get(answer.location).get_data(as_text=True)
    assert statuses(app, [pending]) == ["pending"]
    assert admin_client.post(f"/console/deliveries/{new_id()}/retry", data={"csrf_token": token}).status_code == 404


def test_replay_by_filter_previews_then_replays_what_it_counted(app, admin_client, worker, httpserver):
    httpserver.expect_request("/hook").respond_with_json({})
    chosen = put(app, 4, subject_id="form-1", url=httpserver.url_for("/hook"))
    others = put(app, 2, subject_id="form-2") + put(app, 1, status="pending", subject_id="form-1")
    preview = admin_client.get("/console/deliveries/replay?subject_id=form-1")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "<strong>4</strong> dead message(s)" in html and f"{KIND}</td>" in html
    assert 'data-confirm="Replay 4 message(s)?"' in html
    assert statuses(app, chosen) == ["dead"] * 4, "a preview changes nothing"
    unconfirmed = admin_client.post("/console/deliveries/replay?subject_id=form-1",
                                    data={"csrf_token": csrf_token(html)})
    assert unconfirmed.status_code == 200 and statuses(app, chosen) == ["dead"] * 4, "no confirm, no replay"
    answer = admin_client.post("/console/deliveries/replay?subject_id=form-1",
                               data={"csrf_token": csrf_token(html), "confirm": "1"})
    assert answer.status_code == 303 and "subject_id=form-1" in answer.location
    assert "Replayed 4 message(s)" in admin_client.get(answer.location).get_data(as_text=True)
    worker.drain()
    assert statuses(app, chosen) == ["delivered"] * 4
    assert statuses(app, others) == ["dead", "dead", "pending"]


def test_replay_of_pending_messages_is_explained_not_done(app, admin_client):
    [pending] = put(app, 1, status="pending")
    answer = admin_client.get("/console/deliveries/replay?status=pending")
    assert answer.status_code == 422 and "already on their way" in answer.get_data(as_text=True)
    token = csrf_token(admin_client.get("/console/deliveries").get_data(as_text=True))
    assert admin_client.post("/console/deliveries/replay?status=pending",
                             data={"csrf_token": token, "confirm": "1"}).status_code == 422
    assert statuses(app, [pending]) == ["pending"]


def test_pause_and_resume_change_the_state_and_are_audited(app, admin_client, admin):
    html = admin_client.get("/console/deliveries").get_data(as_text=True)
    assert f'action="/console/deliveries/destinations/{KIND}/pause"' in html
    answer = admin_client.post(f"/console/deliveries/destinations/{KIND}/pause",
                               data={"csrf_token": csrf_token(html), "reason": "peer maintenance"})
    assert answer.status_code == 303
    with app.app_context():
        state = outbox.control.state(KIND)
    assert (state["state"], state["reason"], state["paused_by"]) == ("paused", "peer maintenance", f"operator:{admin}")
    panel = admin_client.get("/console/deliveries/live/destinations").get_data(as_text=True)
    assert "peer maintenance" in panel and "<html" not in panel, "the live fragment, without the layout"
    answer = admin_client.post(f"/console/deliveries/destinations/{KIND}/resume", data={"csrf_token": csrf_token(html)})
    assert answer.status_code == 303
    with app.app_context():
        assert outbox.control.state(KIND)["state"] == "active"
        audited = db.session.execute(select(AuditEntry.event, AuditEntry.actor, AuditEntry.subject_id)
                                     .order_by(AuditEntry.id)).all()
    assert [row for row in audited if row[0].startswith("outbox.")] == [
        ("outbox.destination_paused", f"operator:{admin}", KIND),
        ("outbox.destination_resumed", f"operator:{admin}", KIND)]
    assert admin_client.post("/console/deliveries/destinations/nowhere/pause",
                             data={"csrf_token": csrf_token(html)}).status_code == 404


def test_the_list_and_its_live_fragments(app, admin_client):
    [message] = put(app, 1)
    html = admin_client.get("/console/deliveries?kind=" + KIND).get_data(as_text=True)
    assert f'data-live-src="/console/deliveries/live/table?kind={KIND}"' in html
    assert 'data-live-topics="deliveries"' in html and "destinations" in html
    table = admin_client.get(f"/console/deliveries/live/table?kind={KIND}").get_data(as_text=True)
    assert message in table and "<html" not in table
    assert admin_client.get("/console/deliveries/live/other").status_code == 404


def urls(message_id):
    return {
        "GET": ["/console/deliveries", "/console/deliveries?format=csv", f"/console/deliveries/{message_id}",
                "/console/deliveries/replay", "/console/deliveries/live/table",
                "/console/deliveries/live/destinations"],
        "POST": [f"/console/deliveries/{message_id}/retry", "/console/deliveries/replay",
                 f"/console/deliveries/destinations/{KIND}/pause", f"/console/deliveries/destinations/{KIND}/resume",
                 f"/console/deliveries/destinations/{KIND}/close-breaker"],
    }


def test_an_operator_gets_403_on_every_deliveries_url(app, operator_client):
    [dead] = put(app, 1)
    for url in urls(dead)["GET"]:
        assert operator_client.get(url).status_code == 403, url
    token = csrf_token(operator_client.get("/console/overview").get_data(as_text=True))
    for url in urls(dead)["POST"]:
        assert operator_client.post(url, data={"csrf_token": token, "confirm": "1", "reason": "x"}).status_code == 403
    assert statuses(app, [dead]) == ["dead"]
    with app.app_context():
        assert outbox.control.state(KIND)["state"] == "active"
    assert "/console/deliveries" not in operator_client.get("/console/overview").get_data(as_text=True)


def test_a_post_without_the_csrf_token_is_400_and_changes_nothing(app, admin_client):
    [dead] = put(app, 1)
    for url in urls(dead)["POST"]:
        assert admin_client.post(url, data={"confirm": "1", "reason": "x"}).status_code == 400, url
    assert statuses(app, [dead]) == ["dead"]
    with app.app_context():
        assert outbox.control.state(KIND)["state"] == "active"
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.event.startswith("outbox."))) is None


# The API's list: the same filters, and a cursor.

def test_the_api_list_takes_the_new_filters_and_pages_by_cursor(app, client, operator_headers):
    ids = spread(app, 7, subject_id="form-1")
    put(app, 2, kind=MAIL_KIND, subject_id="lead-1")
    first = client.get("/api/admin/outbox", query_string={"subject_id": "form-1", "limit": 3},
                       headers=operator_headers).get_json()
    assert (first["total"], first["offset"]) == (7, 0) and [m["id"] for m in first["messages"]] == ids[:3]
    seen, following = [m["id"] for m in first["messages"]], first["next"]
    while following:
        answer = client.get("/api/admin/outbox", query_string={"subject_id": "form-1", "limit": 3, "after": following},
                            headers=operator_headers).get_json()
        assert "total" not in answer and "offset" not in answer
        seen += [m["id"] for m in answer["messages"]]
        following = answer["next"]
    assert seen == ids
    smtp = client.get("/api/admin/outbox?destination=smtp&idempotency_key=lead-1", headers=operator_headers).get_json()
    assert smtp["total"] == 2 and smtp["next"] is None
    since = client.get("/api/admin/outbox", query_string={"since": isoformat(utcnow() - timedelta(seconds=2.5)),
                                                          "kind": KIND}, headers=operator_headers).get_json()
    assert [m["id"] for m in since["messages"]] == ids[:3]


@pytest.mark.parametrize("query", [{"destination": "nowhere"}, {"since": "2026-12-01T00:00:00"},
                                   {"after": "garbage"}, {"after": "x", "offset": 5}, {"status": "lost"}])
def test_the_api_list_refuses_bad_filters_with_a_422(client, operator_headers, query):
    answer = client.get("/api/admin/outbox", query_string=query, headers=operator_headers)
    assert answer.status_code == 422 and "detail" in answer.get_json()


def test_the_api_list_answers_older_queries_as_before(app, client, operator_headers):
    put(app, 3)
    answer = client.get("/api/admin/outbox?status=dead&limit=2&offset=1", headers=operator_headers).get_json()
    assert (answer["total"], answer["limit"], answer["offset"], len(answer["messages"])) == (3, 2, 1, 2)
    assert answer["next"] is None
    assert set(answer["messages"][0]) == {"id", "kind", "subject_id", "status", "attempts", "next_attempt_at",
                                          "last_error", "last_status_code", "created_at", "delivered_at"}


def test_a_page_reads_without_offset_or_count(app):
    """The statements behind a page: keyset, no COUNT, no OFFSET (SQLite's dialect writes `OFFSET 0` after
    every LIMIT: allowed only with a 0)."""
    seen = []

    def record(_conn, _cursor, statement, parameters, _context, _executemany):
        seen.append((" ".join(statement.split()).upper(), list(parameters)))

    put(app, 3)
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            outbox.listing.newest(outbox.listing.Filter(status="dead"), 2)
            outbox.listing.newest(outbox.listing.Filter(destination="smtp"), 2)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    assert len(seen) == 2 and not [sql for sql, _ in seen if "COUNT(" in sql]
    assert all(sql.count("OFFSET") <= parameters.count(0) for sql, parameters in seen)

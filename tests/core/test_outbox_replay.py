"""Replay and purge by a filter: a dry run says what the real one then does, one statement for many rows,
only what the filter names; the older bodies and commands still work."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, insert, select

from modules.core.extensions import db
from modules.core.models import AuditEntry, OutboxAttempt, OutboxMessage
from modules.core.queue import get_queue
from modules.core.types import isoformat, new_id, utcnow
from tests.support.handlers import KIND

OTHER_KIND = "test.elsewhere"  # no handler: a kind whose messages only sit in the table


def put(app, count, status="dead", kind=KIND, subject_id="subject-1", created_at=None, url="http://127.0.0.1:1/"):
    """`count` messages in `status`, as delivery would have left them (a dead one with its failed attempt);
    created at `created_at` (default now). Returns their ids."""
    created = created_at or utcnow()
    rows = [{"id": new_id(), "kind": kind, "subject_id": subject_id, "payload": {"url": url, "body": {"n": n}},
             "status": status, "attempts": 0 if status == "pending" else 1, "next_attempt_at": created,
             "created_at": created, "updated_at": created,
             "delivered_at": created if status == "delivered" else None,
             "last_status_code": 400 if status == "dead" else None} for n in range(count)]
    with app.app_context():
        db.session.execute(insert(OutboxMessage), rows)
        if status != "pending":
            db.session.execute(insert(OutboxAttempt), [
                {"outbox_id": row["id"], "number": 1, "started_at": created, "finished_at": created,
                 **({"outcome": "dead", "status_code": 400, "error": "HTTP 400: bad"} if status == "dead"
                    else {"outcome": "delivered", "status_code": 200, "error": None})}
                for row in rows])
        db.session.commit()
    return [row["id"] for row in rows]


def statuses(app, ids):
    with app.app_context():
        found = dict(db.session.execute(select(OutboxMessage.id, OutboxMessage.status)
                                        .where(OutboxMessage.id.in_(ids))).all())
    return [found.get(message_id) for message_id in ids]


@contextmanager
def statements(app):
    """The SQL statements the app's engine runs inside the block."""
    seen = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_dry_run_counts_what_the_replay_then_queues_and_a_drain_delivers(app, client, worker, httpserver,
                                                                          operator_headers):
    httpserver.expect_request("/hook").respond_with_json({})
    dead = put(app, 4, url=httpserver.url_for("/hook"))
    others = put(app, 2, kind=OTHER_KIND) + put(app, 1, status="pending") + put(app, 1, status="delivered")
    preview = client.post("/api/admin/outbox/replay", json={"kind": KIND, "dry_run": True}, headers=operator_headers)
    assert preview.status_code == 200
    assert preview.get_json() == {"dry_run": True, "matched": 4, "replayed": 0, "by_kind": {KIND: 4}}
    assert statuses(app, dead) == ["dead"] * 4, "a dry run changes nothing"

    answer = client.post("/api/admin/outbox/replay", json={"kind": KIND}, headers=operator_headers).get_json()
    assert answer == {"dry_run": False, "matched": 4, "replayed": 4, "by_kind": {KIND: 4}}
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(dead))).all()
        assert {(row.status, row.attempts, row.claimed_until, row.enqueued_at) for row in rows} == {("pending", 0, None,
                                                                                                      None)}
        assert [job.func_name for job in get_queue().jobs] == ["modules.core.outbox.delivery.drain"]
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.event == "outbox.replayed")).all()
        assert entry.actor.startswith("operator:")
        assert entry.details == {"filter": {"kind": KIND, "status": "dead"}, "matched": 4, "replayed": 4,
                                 "by_kind": {KIND: 4}}
    worker.drain()
    assert statuses(app, dead) == ["delivered"] * 4
    assert sorted(request.get_json()["n"] for request, _ in httpserver.log) == [0, 1, 2, 3]
    assert statuses(app, others) == ["dead", "dead", "pending", "delivered"]


def test_a_range_replay_replays_only_messages_created_in_that_range(app, runner):
    now = utcnow()
    days_ago = {days: put(app, 2, created_at=now - timedelta(days=days)) for days in (4, 3, 2, 1)}
    since, until = isoformat(now - timedelta(days=3)), isoformat(now - timedelta(days=2))
    preview = runner.invoke(args=["outbox", "replay", "--since", since, "--until", until, "--dry-run"])
    assert preview.exit_code == 0 and "would replay 2 message(s)" in preview.output
    result = runner.invoke(args=["outbox", "replay", "--since", since, "--until", until])
    assert "replayed 2 message(s)" in result.output, "since is inclusive, until exclusive"
    assert {days: statuses(app, ids) for days, ids in days_ago.items()} == {
        4: ["dead", "dead"], 3: ["pending", "pending"], 2: ["dead", "dead"], 1: ["dead", "dead"]}
    with app.app_context():
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.event == "outbox.replayed")).all()
        assert entry.actor == "cli" and entry.details["filter"] == {"since": since, "until": until, "status": "dead"}


def test_a_replay_by_subject_and_by_destination(app, client, operator_headers):
    first, second = put(app, 2, subject_id="form-1"), put(app, 3, subject_id="form-2")
    elsewhere = put(app, 2, kind=OTHER_KIND, subject_id="form-1")
    answer = client.post("/api/admin/outbox/replay", json={"subject_id": "form-1", "kind": KIND},
                         headers=operator_headers).get_json()
    assert (answer["replayed"], statuses(app, first + second + elsewhere)) == (
        2, ["pending"] * 2 + ["dead"] * 3 + ["dead"] * 2)
    answer = client.post("/api/admin/outbox/replay", json={"destination": KIND}, headers=operator_headers).get_json()
    assert answer["by_kind"] == {KIND: 3} and statuses(app, second + elsewhere) == ["pending"] * 3 + ["dead"] * 2
    mails = put(app, 1, kind="fastcore.welcome_email") + put(app, 2, kind="fastcore.admin_alert")
    preview = client.post("/api/admin/outbox/replay", json={"destination": "smtp", "dry_run": True},
                          headers=operator_headers).get_json()
    assert preview["by_kind"] == {"fastcore.admin_alert": 2, "fastcore.welcome_email": 1}, "a destination's kinds"
    assert statuses(app, mails) == ["dead"] * 3
    unknown = client.post("/api/admin/outbox/replay", json={"destination": "nowhere"}, headers=operator_headers)
    assert unknown.status_code == 422 and unknown.get_json() == {"detail": "no destination is named nowhere"}


def test_delivered_messages_are_delivered_again_when_asked(app, client, worker, httpserver, operator_headers):
    httpserver.expect_request("/hook").respond_with_json({})
    delivered = put(app, 2, status="delivered", url=httpserver.url_for("/hook"))
    dead = put(app, 1, url=httpserver.url_for("/hook"))
    body = {"ids": [*delivered, *dead], "status": "delivered"}
    assert client.post("/api/admin/outbox/replay", json=body, headers=operator_headers).get_json()["replayed"] == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(OutboxMessage.id.in_(delivered),
                                                            OutboxMessage.delivered_at.is_(None))) == 2
    assert statuses(app, delivered + dead) == ["pending", "pending", "dead"]
    worker.drain()
    assert statuses(app, delivered) == ["delivered", "delivered"] and len(httpserver.log) == 2
    with app.app_context():
        numbers = db.session.scalars(select(OutboxAttempt.number).where(OutboxAttempt.outbox_id == delivered[0])
                                     .order_by(OutboxAttempt.number)).all()
    assert numbers == [1, 2], "the attempt log goes on"


@pytest.mark.parametrize("body", [lambda ids: {"ids": ids}, lambda ids: {"kind": KIND}, lambda ids: {"all_dead": True},
                                  lambda ids: {"all": True}])
def test_the_older_bodies_still_replay(app, client, operator_headers, body):
    ids = put(app, 2)
    response = client.post("/api/admin/outbox/replay", json=body(ids), headers=operator_headers)
    assert response.status_code == 200 and response.get_json()["replayed"] == 2
    assert statuses(app, ids) == ["pending", "pending"]


@pytest.mark.parametrize("args", [["--kind", KIND], ["--all-dead"], ["--all"], ["--subject", "subject-1"]])
def test_the_replay_command_takes_its_older_and_newer_options(app, runner, args):
    ids = put(app, 2)
    assert "replayed 2 message(s)" in runner.invoke(args=["outbox", "replay", *args]).output
    assert statuses(app, ids) == ["pending", "pending"]


def test_a_replay_of_many_is_one_update_and_one_drain(app, client, operator_headers):
    ids = put(app, 500)
    with statements(app) as seen:
        preview = client.post("/api/admin/outbox/replay", json={"all": True, "dry_run": True}, headers=operator_headers)
    assert preview.get_json()["matched"] == 500
    assert not [s for s in seen if s.startswith(("UPDATE", "INSERT", "DELETE"))], "a dry run writes nothing"
    [count] = [s for s in seen if "FROM outbox" in s]
    assert "count(*)" in count and "GROUP BY outbox.kind" in count
    with statements(app) as seen:
        client.post("/api/admin/outbox/replay", json={"all": True}, headers=operator_headers)
    assert len([s for s in seen if s.startswith("UPDATE")]) == 1
    assert statuses(app, ids) == ["pending"] * 500
    with app.app_context():
        assert [job.func_name for job in get_queue().jobs] == ["modules.core.outbox.delivery.drain"]


@pytest.mark.parametrize(("body", "says"), [
    ({}, "or say all"),
    ({"status": "delivered"}, "or say all"),
    ({"all": True, "status": "pending"}, "status"),
    ({"all": True, "since": "2026-12-01T00:00:00"}, "since"),
    ({"all": True, "since": "yesterday"}, "since"),
    ({"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "since must be before until"),
    ({"since": "0001-01-01T00:00:00+05:00"}, "since is out of range"),
    ({"all": True, "subject": "subject-1"}, "subject"),
    ({"ids": ["x"] * 1001}, "ids"),
    ({"all_dead": True, "status": "delivered"}, "all_dead"),
])
def test_a_replay_that_could_be_read_two_ways_is_refused(app, client, operator_headers, body, says):
    ids = put(app, 1) + put(app, 1, status="delivered")
    response = client.post("/api/admin/outbox/replay", json=body, headers=operator_headers)
    assert response.status_code == 422 and says in str(response.get_json()["detail"])
    assert statuses(app, ids) == ["dead", "delivered"]


@pytest.mark.parametrize(("args", "says"), [
    ([], "--all-dead"),
    (["--since", "2026-12-01T00:00:00"], "time zone"),
    (["--until", "soon"], "ISO 8601"),
    (["--since", "2026-12-02T00:00Z", "--until", "2026-12-01T00:00Z"], "since must be before until"),
    (["--until", "9999-12-31T23:59:59-05:00"], "until is out of range"),
    (["--status", "pending", "--all"], "pending"),
])
def test_the_replay_command_refuses_what_could_be_read_two_ways(app, runner, args, says):
    ids = put(app, 1)
    result = runner.invoke(args=["outbox", "replay", *args])
    assert result.exit_code != 0 and says in result.output
    assert statuses(app, ids) == ["dead"]


def test_dead_messages_are_purged_with_their_attempts_and_nothing_else(app, client, runner, operator_headers):
    dead, other_dead = put(app, 3), put(app, 2, kind=OTHER_KIND)
    kept = put(app, 1, status="pending") + put(app, 1, status="delivered")
    preview = client.post("/api/admin/outbox/purge", json={"kind": KIND, "dry_run": True}, headers=operator_headers)
    assert preview.get_json() == {"dry_run": True, "matched": 3, "purged": 0, "by_kind": {KIND: 3}}
    with statements(app) as seen:
        answer = client.post("/api/admin/outbox/purge", json={"kind": KIND}, headers=operator_headers).get_json()
    assert answer == {"dry_run": False, "matched": 3, "purged": 3, "by_kind": {KIND: 3}}
    assert [s.split(" WHERE")[0] for s in seen if s.startswith("DELETE")] == ["DELETE FROM outbox_attempt",
                                                                               "DELETE FROM outbox"]
    assert statuses(app, dead + other_dead + kept) == [None] * 3 + ["dead", "dead", "pending", "delivered"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(OutboxAttempt.outbox_id.in_(dead))) == 0
        assert db.session.scalar(select(func.count()).select_from(OutboxAttempt)) == 3
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.event == "outbox.purged")).all()
        assert entry.details["purged"] == 3 and entry.actor.startswith("operator:")
    refused = client.post("/api/admin/outbox/purge", json={"all": True, "status": "delivered"},
                          headers=operator_headers)
    assert refused.status_code == 422 and statuses(app, kept) == ["pending", "delivered"]
    assert "would purge 2 message(s)" in runner.invoke(args=["outbox", "purge", "--all", "--dry-run"]).output
    assert "purged 2 message(s)" in runner.invoke(args=["outbox", "purge", "--all"]).output
    assert statuses(app, other_dead + kept) == [None, None, "pending", "delivered"]

"""Drains claim and record messages a chunk at a time: disjoint chunks per worker, a dead worker's chunk
delivered again, each message's attempt numbered and recorded, a failing handler's writes undone alone."""

import sys
import threading
import time

from sqlalchemy import func, select
from werkzeug import Response

from modules.core import audit, outbox
from modules.core.domains import register_jobs
from modules.core.extensions import db
from modules.core.models import AuditEntry, OutboxAttempt, OutboxMessage
from modules.core.outbox import claiming, delivery
from modules.core.types import utcnow
from tests.support.handlers import KIND

RECORDING_KIND = "test.recording"


@outbox.handler(RECORDING_KIND, backoff=(10,))
def write_then_answer(message):
    """Writes an audit row in the outbox's transaction, then fails if the payload says so."""
    audit.record("test", "handler.wrote", subject_id=message.id)
    if message.payload.get("refuse"):
        raise outbox.Permanent("refused after writing", 400)
    return 200


def add(app, url, count, kind=KIND, **payload):
    with app.app_context():
        ids = [outbox.add(kind, {"url": url, "body": {"n": n}, **payload}) for n in range(count)]
        db.session.commit()
        return ids


def attempts_of(app, message_id):
    with app.app_context():
        return db.session.execute(select(OutboxAttempt.number, OutboxAttempt.outcome, OutboxAttempt.status_code)
                                  .where(OutboxAttempt.outbox_id == message_id)
                                  .order_by(OutboxAttempt.number)).all()


def message_row(app, message_id):
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        db.session.expunge(message)
        return message


def claim(app, limit):
    with app.app_context():
        messages, _ = claiming.claim_chunk(utcnow(), limit)
        return [message.id for message in messages]


def test_a_chunk_claimed_by_one_worker_is_not_claimed_by_another(app):
    ids = add(app, "http://127.0.0.1:9/hook", 10)
    first, second, third = claim(app, 4), claim(app, 4), claim(app, 4)
    assert (first, second, third) == (ids[:4], ids[4:8], ids[8:]), "oldest first, each chunk disjoint"
    assert claim(app, 4) == []


def test_workers_claiming_at_the_same_moment_take_disjoint_chunks(app):
    ids = add(app, "http://127.0.0.1:9/hook", 40)
    start = threading.Barrier(4)
    chunks = []

    def worker():
        start.wait()
        chunks.append(claim(app, 10))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    claimed = [message_id for chunk in chunks for message_id in chunk]
    assert len(claimed) == len(set(claimed)), "no message in two chunks"
    assert set(claimed) <= set(ids) and claimed


def test_a_dead_workers_chunk_is_delivered_once_its_lease_ends(make_app, httpserver):
    app = make_app(OUTBOX_CLAIM_SECONDS=1)
    httpserver.expect_request("/hook").respond_with_json({}, status=201)
    ids = add(app, httpserver.url_for("/hook"), 3)
    assert claim(app, 50) == ids  # a worker claims them and dies before recording anything
    with app.app_context():
        assert outbox.drain() == 0, "the chunk is held while its lease runs"
    time.sleep(1.1)
    with app.app_context():
        assert outbox.drain() == 3
    assert [message_row(app, message_id).status for message_id in ids] == ["delivered"] * 3
    assert [attempts_of(app, message_id) for message_id in ids] == [[(1, "delivered", 201)]] * 3


def test_each_message_of_a_chunk_gets_its_own_attempt_number_and_outcome(app, httpserver):
    httpserver.expect_oneshot_request("/hook").respond_with_data("down", status=500)
    httpserver.expect_request("/hook").respond_with_json({}, status=201)
    retried = add(app, httpserver.url_for("/hook"), 1)[0]
    with app.app_context():
        assert outbox.drain() == 1
    fresh = add(app, httpserver.url_for("/hook"), 2)
    with app.app_context():
        db.session.execute(OutboxMessage.__table__.update().where(OutboxMessage.id == retried)
                           .values(next_attempt_at=utcnow()))  # its retry is due now
        db.session.commit()
        assert outbox.drain() == 3, "one chunk: the retry and the two fresh messages"
    assert attempts_of(app, retried) == [(1, "retry", 500), (2, "delivered", 201)]
    assert [attempts_of(app, message_id) for message_id in fresh] == [[(1, "delivered", 201)]] * 2
    message = message_row(app, retried)
    assert (message.status, message.attempts, message.last_status_code, message.last_error,
            message.claimed_until, message.delivered_at is not None) == ("delivered", 2, 201, None, None, True)


def test_a_failure_ends_the_chunk_after_recording_the_deliveries_before_it(app, httpserver):
    answers = iter([201, 201, 503, 201, 201])
    httpserver.expect_request("/hook").respond_with_handler(
        lambda request: Response("{}", status=next(answers)))
    ids = add(app, httpserver.url_for("/hook"), 4)
    with app.app_context():
        claimed_at = utcnow()
        messages, _ = claiming.claim_chunk(claimed_at, 50)
        assert delivery._deliver_chunk(messages, claimed_at, False, time.monotonic() + 30) == 3
        failures = db.session.scalar(select(func.max(OutboxMessage.attempts)))
    assert [message_row(app, message_id).status for message_id in ids] == ["delivered", "delivered", "pending",
                                                                          "pending"]
    assert attempts_of(app, ids[2]) == [(1, "retry", 503)]
    assert attempts_of(app, ids[3]) == [], "not attempted in that chunk: given back, no attempt used"
    assert message_row(app, ids[3]).claimed_until is None
    assert failures == 1
    with app.app_context():
        assert outbox.drain() == 1, "the message given back goes with the next claim"
    assert attempts_of(app, ids[3]) == [(1, "delivered", 201)]


def test_a_failing_handlers_writes_are_undone_and_the_others_kept(app):
    register_jobs(app, sys.modules[__name__])
    kept = add(app, "", 1, kind=RECORDING_KIND)[0]
    refused = add(app, "", 1, kind=RECORDING_KIND, refuse=True)[0]
    also_kept = add(app, "", 1, kind=RECORDING_KIND)[0]
    with app.app_context():
        assert outbox.drain() == 3
        wrote = set(db.session.scalars(select(AuditEntry.subject_id).where(AuditEntry.event == "handler.wrote")))
    assert wrote == {kept, also_kept}
    assert [message_row(app, message_id).status for message_id in (kept, refused, also_kept)] == [
        "delivered", "dead", "delivered"]

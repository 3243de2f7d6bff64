"""Security headers on every answer; per-caller rate limits that fail open when Redis is down."""

import functools
import socket
import time

from modules.core import auth, queue
from modules.core.errors import ApiError
from modules.core.security import ingest_limit


def _keyed(view):
    """A guard as the domains have: X-INGEST-KEY must be one of INGEST_KEY, checked before the limit."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        if not auth.header_key_valid("X-INGEST-KEY", "INGEST_KEY"):
            raise ApiError(401, body={"detail": "Invalid or missing X-INGEST-KEY"})
        return view(*args, **kwargs)

    return guarded


def _limited_app(make_app, limit="2/minute", **settings):
    app = make_app(INGEST_RATE_LIMIT=limit, **{"INGEST_KEY": "key-one,key-two", **settings})

    @app.route("/limited-ingest", methods=["POST"])
    @_keyed
    @ingest_limit()
    def limited_ingest():
        return {"stored": True}

    return app


def test_security_headers_on_api_answers_and_errors(client):
    for response in (client.get("/health"), client.get("/no/such/path")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "cdn.jsdelivr.net" in client.get("/docs").headers["Content-Security-Policy"]


def test_a_caller_over_its_limit_gets_429_with_retry_after(make_app):
    client = _limited_app(make_app).test_client()
    headers = {"X-INGEST-KEY": "key-one"}
    assert [client.post("/limited-ingest", headers=headers).status_code for _ in range(2)] == [200, 200]
    refused = client.post("/limited-ingest", headers=headers)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "detail" in refused.get_json()
    assert client.post("/limited-ingest", headers={"X-INGEST-KEY": "key-two"}).status_code == 200


def test_every_limit_of_a_list_counts(make_app):
    client = _limited_app(make_app, limit="100/minute;1/hour").test_client()
    codes = [client.post("/limited-ingest", headers={"X-INGEST-KEY": "key-one"}).status_code for _ in range(2)]
    assert codes == [200, 429]


def test_limits_let_requests_through_when_redis_is_down(make_app, redis_server):
    client = _limited_app(make_app).test_client()
    redis_server.stop()
    try:
        codes = [client.post("/limited-ingest", headers={"X-INGEST-KEY": "key-one"}).status_code for _ in range(4)]
    finally:
        redis_server.start()
    assert codes == [200, 200, 200, 200]


def test_a_redis_that_does_not_answer_costs_one_timeout_not_one_per_request(make_app):
    """Over TCP a Redis can hang instead of refusing: after one timed-out count, requests skip the limits
    for REDIS_RETRY_PAUSE_SECONDS instead of each waiting for its own timeout (2 s)."""
    with socket.socket() as silent:  # the kernel accepts connections into its backlog; nobody answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        app = _limited_app(make_app, REDIS_URL=f"redis://127.0.0.1:{silent.getsockname()[1]}",
                           REDIS_RETRY_PAUSE_SECONDS=60)
        client = app.test_client()
        started = time.monotonic()
        codes = [client.post("/limited-ingest", headers={"X-INGEST-KEY": "key-one"}).status_code for _ in range(5)]
        elapsed = time.monotonic() - started
        with app.app_context():
            enqueueing_paused = queue.redis_paused()
    assert codes == [200] * 5
    assert elapsed < 4, f"five requests took {elapsed:.1f} s: each waited for Redis"
    assert not enqueueing_paused, "the limiter's failure pauses the limiter only; enqueueing tries on its own"


def test_limits_can_be_switched_off(make_app):
    client = _limited_app(make_app, RATE_LIMITS_ENABLED=False).test_client()
    assert {client.post("/limited-ingest", headers={"X-INGEST-KEY": "key-one"}).status_code
            for _ in range(4)} == {200}

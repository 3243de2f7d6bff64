"""Security headers on every answer; per-caller rate limits that fail open when Redis is down."""

import socket
import time

import pytest
from werkzeug.exceptions import TooManyRequests

from modules.core import redis_client
from modules.core.access import Guard
from modules.core.errors import ApiError
from modules.core.security import ingest_limit


def _refuse(_reason):
    return ApiError(401, body={"detail": "Invalid or missing credentials"})


GUARD = Guard(_refuse)  # the core's guards, as the domains use them
_keyed = GUARD.header_key("X-INGEST-KEY", "INGEST_KEY", scheme="ingestKey")


def _limited_app(make_app, limit="2/minute", **settings):
    app = make_app(INGEST_RATE_LIMIT=limit, **{"INGEST_KEY": "key-one,key-two", **settings})

    @app.route("/limited-ingest", methods=["POST"])
    @_keyed
    @ingest_limit()
    def limited_ingest():
        return {"stored": True}

    return app


API_SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                        "Referrer-Policy": "no-referrer", "Cross-Origin-Opener-Policy": "same-origin",
                        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"}


def _security_headers(response) -> dict:
    return {name: response.headers.getlist(name) for name in [*API_SECURITY_HEADERS, "Strict-Transport-Security"]}


def test_security_headers_once_on_every_answer_and_error(make_app):
    app = _limited_app(make_app, limit="1/minute")

    @app.route("/framed")
    def framed():
        return {"framed": True}, 200, {"X-Frame-Options": "SAMEORIGIN"}

    client = app.test_client()
    key = {"X-INGEST-KEY": "key-one"}
    answers = [client.get("/health"), client.get("/no/such/path"), client.post("/limited-ingest", headers=key),
               client.post("/limited-ingest", headers=key), client.post("/limited-ingest"),
               client.post("/health"), client.post("/limited-ingest", headers=key, data="x" * 100,
                                                   content_type="application/json")]
    assert [answer.status_code for answer in answers] == [200, 404, 200, 429, 401, 405, 429]
    expected = {**{name: [value] for name, value in API_SECURITY_HEADERS.items()}, "Strict-Transport-Security": []}
    for answer in answers:
        assert _security_headers(answer) == expected
        assert answer.headers["X-Request-ID"] and "Set-Cookie" not in answer.headers
    docs = client.get("/docs")  # the docs' own policy (tests/core/test_docs_pages.py), once
    assert docs.headers.getlist("Content-Security-Policy")[0].startswith("default-src 'none'; script-src 'self';")
    assert len(docs.headers.getlist("Content-Security-Policy")) == 1
    # A header the view set itself is kept; HTTPS adds HSTS.
    assert client.get("/framed").headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    secure = client.get("/health", base_url="https://hub.example")
    assert secure.headers.getlist("Strict-Transport-Security") == ["max-age=31536000; includeSubDomains"]


def test_the_api_opens_no_cookie_session(app, client):
    """Keys and tokens authenticate; Flask's signed-cookie session is never opened (nor its cost paid)."""
    from flask import session

    with app.test_request_context("/health"):
        app.preprocess_request()
        assert session.get("anything") is None and not session
        with pytest.raises(RuntimeError):
            session["written"] = True
    assert "Set-Cookie" not in client.get("/health").headers


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
            enqueueing_paused = redis_client.redis_paused()
    assert codes == [200] * 5
    assert elapsed < 4, f"five requests took {elapsed:.1f} s: each waited for Redis"
    assert not enqueueing_paused, "the limiter's failure pauses the limiter only; enqueueing tries on its own"


def test_limits_can_be_switched_off(make_app):
    client = _limited_app(make_app, RATE_LIMITS_ENABLED=False).test_client()
    assert {client.post("/limited-ingest", headers={"X-INGEST-KEY": "key-one"}).status_code
            for _ in range(4)} == {200}


def test_cors_answers_only_an_allowed_origin(client):
    assert "Access-Control-Allow-Origin" not in client.get("/health").headers, "no Origin, no CORS headers"
    allowed = client.get("/health", headers={"Origin": "http://localhost:3000"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    other = client.get("/health", headers={"Origin": "https://attacker.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_loopback_origins_apply_only_outside_production(make_app):
    client = make_app(APP_ENV="production",
                      ALLOWED_ORIGINS="http://localhost:3000,http://127.0.0.1:5173,https://ops.example.com").test_client()
    for origin in ("http://localhost:3000", "http://127.0.0.1:5173"):
        assert "Access-Control-Allow-Origin" not in client.get("/health", headers={"Origin": origin}).headers
    ops = client.get("/health", headers={"Origin": "https://ops.example.com"})
    assert ops.headers["Access-Control-Allow-Origin"] == "https://ops.example.com"


@pytest.mark.parametrize("path", ["/api/customers", "/api/customers/", "/api/ingest/demo_requests",
                                  "/api/ingest/demo_requests/", "/inbound/leads", "/api/tracking-ingest/batch/",
                                  "/api/v1/sales/start", "/api/auth/login/", "/no/such/path"])
def test_a_preflight_on_any_path_is_a_2xx_never_a_redirect(client, path):
    preflight = client.options(path, headers={"Origin": "http://localhost:5173",
                                              "Access-Control-Request-Method": "POST",
                                              "Access-Control-Request-Headers": "Authorization, Content-Type"})
    assert 200 <= preflight.status_code < 300, preflight.status_code
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    refused = client.options(path, headers={"Origin": "https://attacker.example",
                                            "Access-Control-Request-Method": "POST"})
    assert 200 <= refused.status_code < 300 and "Access-Control-Allow-Origin" not in refused.headers


def test_a_second_key_header_or_a_new_login_gives_no_fresh_bucket(make_app, operator_headers):
    """Limits count the credential that authenticated: an extra header, `bearer` in lower case or a second
    token of the same operator all land in the same bucket."""
    client = _limited_app(make_app).test_client()
    sent = [{"X-INGEST-KEY": "key-one"}, {"X-INGEST-KEY": "key-one", "X-API-Key": "random-1"},
            {"X-INGEST-KEY": "key-one", "Authorization": "Bearer random-2"}]
    assert [client.post("/limited-ingest", headers=headers).status_code for headers in sent] == [200, 200, 429]

    app = make_app(INGEST_RATE_LIMIT="2/minute")
    app.add_url_rule("/operator-ingest", "operator_ingest", GUARD.operator()(
        ingest_limit()(lambda: {"stored": True})), methods=["POST"])
    client = app.test_client()
    token = operator_headers["Authorization"].removeprefix("Bearer ")
    second = client.post("/api/auth/login", json={"email": "operator@example.com",
                                                  "password": "correct-horse-battery"}).get_json()["access_token"]
    codes = [client.post("/operator-ingest", headers={"Authorization": header}).status_code
             for header in (f"Bearer {token}", f"bearer {second}", f"BEARER {token}")]
    assert codes == [200, 200, 429]


def test_wrong_keys_are_limited_per_address(make_app):
    client = _limited_app(make_app, AUTH_FAILURE_RATE_LIMIT="3/minute").test_client()
    codes = [client.post("/limited-ingest", headers={"X-INGEST-KEY": f"guess-{n}"}).status_code for n in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    refused = client.post("/limited-ingest", headers={"X-INGEST-KEY": "guess-9"})
    assert int(refused.headers["Retry-After"]) > 0 and "detail" in refused.get_json()
    assert client.post("/limited-ingest", headers={"X-INGEST-KEY": "key-one"}).status_code == 200, \
        "a right key from the same address still works"


def test_a_refused_charge_costs_nothing(make_app):
    """Charging 8 against 10/hour, then 5 (refused), leaves 2: the refused 5 did not use up the hour, in
    any limit of the setting."""
    from modules.core.security import charge

    app = make_app(TEST_CHARGE_LIMIT="10/hour;100/day")
    outcomes = []
    with app.test_request_context("/"):
        for cost in (8, 5, 2, 1):
            try:
                charge("TEST_CHARGE_LIMIT", cost=cost, scope="test", identity="operator:1")
                outcomes.append("ok")
            except TooManyRequests:
                outcomes.append(429)
    assert outcomes == ["ok", 429, "ok", 429]

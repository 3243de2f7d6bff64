"""Machine keys and operator accounts: rotation, constant-time checks, signed expiring tokens."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from werkzeug.serving import make_server

from modules.core import auth
from modules.core.extensions import db


@pytest.mark.parametrize("candidate, accepted, expected", [
    ("new-key", ["new-key", "old-key"], True),
    ("old-key", ["new-key", "old-key"], True),
    ("other", ["new-key", "old-key"], False),
    ("", ["new-key"], False),
    (None, ["new-key"], False),
    ("new-key", [], False),
])
def test_key_matches_any_key_of_a_rotation_list(candidate, accepted, expected):
    assert auth.key_matches(candidate, accepted) is expected


def test_operator_created_by_cli_can_sign_in(app, runner, client):
    result = runner.invoke(args=["operators", "create", "Ops@Example.com", "--name", "Ops", "--role", "admin",
                                 "--password", "long-enough-password"])
    assert result.exit_code == 0, result.output
    response = client.post("/api/auth/login", json={"email": "ops@example.com", "password": "long-enough-password"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 8 * 3600
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/api/admin/outbox", headers=headers).status_code == 200


def test_the_operator_role_is_refused_the_admin_api_and_keeps_domain_work(app, runner, client):
    """`--role operator` (the default) does domain work; the outbox's admin API needs an admin."""
    result = runner.invoke(args=["operators", "create", "field@example.com", "--password", "long-enough-password"])
    assert result.exit_code == 0 and "role operator" in result.output
    token = client.post("/api/auth/login", json={"email": "field@example.com",
                                                 "password": "long-enough-password"}).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    refused = client.post("/api/admin/outbox/replay", headers=headers, json={"all": True})
    assert refused.status_code == 403 and refused.get_json() == {"detail": "This needs the admin role"}
    assert client.get("/api/admin/outbox/destinations", headers=headers).status_code == 403
    assert client.get("/api/customers/", headers=headers).status_code == 200


def test_set_role_promotes_an_operator_from_their_next_call(app, runner, client):
    runner.invoke(args=["operators", "create", "field@example.com", "--password", "long-enough-password"])
    token = client.post("/api/auth/login", json={"email": "field@example.com",
                                                 "password": "long-enough-password"}).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/admin/outbox", headers=headers).status_code == 403
    result = runner.invoke(args=["operators", "set-role", "field@example.com", "admin"])
    assert result.exit_code == 0, result.output
    assert client.get("/api/admin/outbox", headers=headers).status_code == 200
    listed = runner.invoke(args=["operators", "list"]).output
    assert "field@example.com\tadmin\tactive" in listed


def test_short_passwords_are_refused_by_the_cli(runner):
    result = runner.invoke(args=["operators", "create", "ops@example.com", "--password", "short"])
    assert result.exit_code != 0 and "8 characters" in result.output


@pytest.mark.parametrize("credentials", [
    {"email": "operator@example.com", "password": "wrong-password"},
    {"email": "nobody@example.com", "password": "correct-horse-battery"},
])
def test_wrong_credentials_get_401(client, operator_headers, credentials):
    response = client.post("/api/auth/login", json=credentials)
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Incorrect email or password"}


def test_login_validates_its_body(client):
    response = client.post("/api/auth/login", json={"email": "x@example.com"})
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["body", "password"]


def test_expired_forged_and_malformed_tokens_are_refused(make_app, operator_headers):
    token = operator_headers["Authorization"].removeprefix("Bearer ")
    expired = make_app(ACCESS_TOKEN_TTL_SECONDS=-1).test_client()
    assert expired.get("/api/admin/outbox", headers=operator_headers).status_code == 401
    other_key = make_app(SECRET_KEY="a-different-secret").test_client()
    assert other_key.get("/api/admin/outbox", headers=operator_headers).status_code == 401
    client = make_app().test_client()
    for header in (f"Bearer {token}x", "Bearer", f"Basic {token}", token):
        assert client.get("/api/admin/outbox", headers={"Authorization": header}).status_code == 401


def test_tokens_survive_a_secret_key_rotation(make_app, operator_headers):
    rotated = make_app(SECRET_KEY="newer-secret,test-secret-key-for-signing").test_client()
    assert rotated.get("/api/admin/outbox", headers=operator_headers).status_code == 200


def test_a_deactivated_operator_is_refused(app, client, operator_headers):
    with app.app_context():
        from modules.core.models import Operator
        db.session.query(Operator).update({"is_active": False})
        db.session.commit()
    assert client.get("/api/admin/outbox", headers=operator_headers).status_code == 401
    response = client.post("/api/auth/login", json={"email": "operator@example.com",
                                                     "password": "correct-horse-battery"})
    assert response.status_code == 401


def _login(client, email="operator@example.com", password="correct-horse-battery", address="198.51.100.7"):
    return client.post("/api/auth/login", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_wrong_passwords_from_one_address_lock_that_address_out_not_the_operator(make_app, operator_headers):
    """60 wrong passwords in a row used to be 60 401s and then a 200: now the guessing address is throttled
    for that account (LOGIN_ACCOUNT_RATE_LIMIT), the right password included, while the operator signing
    in from anywhere else is not."""
    client = make_app(LOGIN_ACCOUNT_RATE_LIMIT="5/5minutes").test_client()
    codes = [_login(client, password=f"guess-{n}", address="203.0.113.9").status_code for n in range(7)]
    assert codes == [401] * 5 + [429] * 2
    right = _login(client, address="203.0.113.9")
    assert right.status_code == 429, "the right password does not get through from the guessing address"
    assert 0 < int(right.headers["Retry-After"]) <= 300
    assert "Too many failed sign-ins" in right.get_json()["detail"]
    assert _login(client, address="198.51.100.77").status_code == 200, "a new address is not locked out"
    assert _login(client, email="someone-else@example.com", password="x",
                  address="198.51.100.78").status_code == 401, "other accounts are free"


def test_guessing_spread_over_addresses_never_locks_an_operator_out_of_their_usual_address(make_app,
                                                                                          operator_headers):
    """Guesses from many addresses are held by LOGIN_ACCOUNT_SPREAD_RATE_LIMIT; an address where the operator
    signed in before is exempt from it, so the attacker only delays first sign-ins from new places."""
    client = make_app(LOGIN_ACCOUNT_SPREAD_RATE_LIMIT="3/5minutes").test_client()
    assert _login(client, address="192.0.2.50").status_code == 200
    codes = [_login(client, password="guess", address=f"203.0.113.{n}").status_code for n in range(4)]
    assert codes == [401, 401, 401, 429]
    assert _login(client, address="192.0.2.50").status_code == 200, "the operator's own address still works"
    assert _login(client, address="198.51.100.77").status_code == 429, "a new address waits for the window"


def test_a_burst_of_concurrent_guesses_gets_only_the_limits_worth_of_password_checks(make_app, operator_headers):
    """Charged before the password is checked: 40 guesses sent at once used to be 40 password checks."""
    app = make_app(LOGIN_ACCOUNT_RATE_LIMIT="10/5minutes")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/api/auth/login"
    start = threading.Barrier(40)

    def guess(number):
        start.wait()
        return requests.post(url, json={"email": "operator@example.com", "password": f"guess-{number}"},
                             timeout=60).status_code

    try:
        with ThreadPoolExecutor(40) as pool:
            codes = list(pool.map(guess, range(40)))
    finally:
        server.shutdown()
    assert (codes.count(401), codes.count(429)) == (10, 30)


def test_guesses_from_one_address_are_throttled_across_accounts(make_app, operator_headers):
    client = make_app(LOGIN_ADDRESS_RATE_LIMIT="4/5minutes").test_client()
    codes = [_login(client, email=f"user{n}@example.com", password="x").status_code for n in range(6)]
    assert codes == [401] * 4 + [429] * 2
    assert _login(client, address="192.0.2.1").status_code == 200, "the operator signs in from their own address"


def test_a_successful_login_does_not_count_toward_the_throttle(make_app, operator_headers):
    client = make_app(LOGIN_ACCOUNT_RATE_LIMIT="2/5minutes").test_client()
    assert {_login(client).status_code for _ in range(5)} == {200}


def test_login_takes_as_long_for_an_unknown_email_as_for_a_wrong_password(client, operator_headers):
    # CPU time of this thread (the test client serves the request in it), not wall time: the password hash is
    # the work that must happen either way, and other processes on the machine cannot skew what it costs.
    def median_seconds(email):
        times = []
        for _ in range(5):
            started = time.thread_time()
            _login(client, email=email, password="wrong", address=f"192.0.2.{len(times) + 10}")
            times.append(time.thread_time() - started)
        return sorted(times)[2]

    known, unknown = median_seconds("operator@example.com"), median_seconds("nobody@example.com")
    assert 0.5 < known / unknown < 2, (known, unknown)


def test_deactivation_revokes_tokens_and_reactivation_does_not_revive_them(app, runner, client, operator_headers):
    assert client.get("/api/admin/outbox", headers=operator_headers).status_code == 200
    assert runner.invoke(args=["operators", "deactivate", "operator@example.com"]).exit_code == 0
    assert client.get("/api/admin/outbox", headers=operator_headers).status_code == 401
    assert _login(client).status_code == 401
    result = runner.invoke(args=["operators", "activate", "operator@example.com"])
    assert result.exit_code == 0, result.output
    assert client.get("/api/admin/outbox", headers=operator_headers).status_code == 401, "the old token stays dead"
    fresh = _login(client).get_json()["access_token"]
    assert client.get("/api/admin/outbox", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_revoke_tokens_ends_every_token_of_one_operator(app, runner, client, operator_headers):
    second = _login(client).get_json()["access_token"]
    result = runner.invoke(args=["operators", "revoke-tokens", "OPERATOR@example.com"])
    assert result.exit_code == 0, result.output
    for token in (operator_headers["Authorization"], f"Bearer {second}"):
        assert client.get("/api/admin/outbox", headers={"Authorization": token}).status_code == 401
    fresh = _login(client).get_json()["access_token"]
    assert client.get("/api/admin/outbox", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_operator_commands_are_audited(app, runner, operator_headers):
    from modules.core.models import AuditEntry

    for command in ("revoke-tokens", "deactivate", "activate"):
        assert runner.invoke(args=["operators", command, "operator@example.com"]).exit_code == 0
    with app.app_context():
        entries = db.session.query(AuditEntry.event, AuditEntry.actor).order_by(AuditEntry.id).all()
    assert entries == [("operator.tokens_revoked", "cli"), ("operator.deactivated", "cli"),
                       ("operator.activated", "cli")]


def test_operator_commands_name_an_unknown_email(runner):
    for command in ("deactivate", "activate", "revoke-tokens"):
        result = runner.invoke(args=["operators", command, "nobody@example.com"])
        assert result.exit_code != 0 and "no operator with the e-mail nobody@example.com" in result.output

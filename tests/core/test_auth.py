"""Machine keys and operator accounts: rotation, constant-time checks, signed expiring tokens."""

import pytest

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
    result = runner.invoke(args=["operators", "create", "Ops@Example.com", "--name", "Ops",
                                 "--password", "long-enough-password"])
    assert result.exit_code == 0, result.output
    response = client.post("/api/auth/login", json={"email": "ops@example.com", "password": "long-enough-password"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 8 * 3600
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/api/admin/outbox", headers=headers).status_code == 200


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

"""Review of issue 15 (outbox delivery control): findings that fail today."""

from __future__ import annotations

import pytest

from modules.core.config import ConfigurationError


def test_a_pause_reason_is_text_the_database_can_store(client, operator_headers):
    """PauseSchema.reason is a plain fields.String: a NUL is stored on SQLite (and shown by `flask outbox
    destinations`), while every other text field of the hub refuses it with a 422 (core.fields.StorableString),
    as PostgreSQL cannot store it. A blank reason ("   ") is kept too, and shown instead of the default."""
    response = client.post("/api/admin/outbox/destinations/smtp/pause", headers=operator_headers,
                           json={"reason": "relay\x00moving"})
    assert response.status_code == 422, response.get_json()
    state = client.get("/api/admin/outbox/destinations/smtp", headers=operator_headers).get_json()
    assert state["state"] == "active", "a refused pause stores nothing"


def test_a_blank_backoff_setting_is_unset(make_app, monkeypatch):
    """config._backoff_settings: "an empty one is unset". `OUTBOX_BACKOFF_INSIGHT_SMS= ` (a space, as a .env or a
    deploy UI leaves it) stops the hub at start-up instead: the emptiness check compares with "" before strip."""
    monkeypatch.setenv("OUTBOX_BACKOFF_INSIGHT_SMS", "  ")
    try:
        app = make_app()
    except ConfigurationError as exc:
        pytest.fail(f"a blank setting stopped start-up: {exc}")
    with app.app_context():
        from modules.core.outbox import policy
        assert policy.kinds()  # the code's backoff applies

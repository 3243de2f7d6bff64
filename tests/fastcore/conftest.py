"""FASTCore fixtures: a real SMTP server on loopback (tests/support/smtp.py) and apps wired to it."""

from __future__ import annotations

import pytest

from tests.support.fastcore import ADMIN_INBOX, UNREACHABLE_DATABASE, UNREACHABLE_REDIS


@pytest.fixture
def fallback_file(tmp_path):
    return tmp_path / "fastcore_fallback.jsonl"


@pytest.fixture
def fastcore_settings(smtp_server, fallback_file) -> dict:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port, "SMTP_TLS": False,
            "FROM_EMAIL": "leads@example.com", "ADMIN_EMAIL": ADMIN_INBOX, "FASTCORE_FALLBACK_FILE": str(fallback_file)}


@pytest.fixture
def app(make_app, fastcore_settings):
    return make_app(**fastcore_settings)


@pytest.fixture
def database_down_app(make_app, fastcore_settings):
    """The hub while the database is unreachable (Redis still answers)."""
    return make_app(**fastcore_settings, DATABASE_URL=UNREACHABLE_DATABASE)


@pytest.fixture
def all_down_app(make_app, fastcore_settings):
    """The hub while both the database and Redis are unreachable: only the local file is left."""
    return make_app(**fastcore_settings, DATABASE_URL=UNREACHABLE_DATABASE, REDIS_URL=UNREACHABLE_REDIS)

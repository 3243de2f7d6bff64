"""Fixtures shared by every domain's tests: real SQLite or PostgreSQL, real Redis, a real RQ worker.

`pytest --db=sqlite` (default) or `pytest --db=postgres`; `make test` runs both. With --db=postgres a
server is started for the session unless TEST_DATABASE_URL names one. Each test gets clean tables
and an empty Redis. Outbound peers are real local servers: `httpserver` (pytest-httpserver) plays
partner HTTP APIs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

os.environ["HUB_ENV_FILE"] = ""  # never read a developer's .env in tests

import pytest  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import text  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app_modular import create_app  # noqa: E402
from modules.core.domains import register_jobs  # noqa: E402
from modules.core.extensions import db  # noqa: E402
from modules.core.redis_client import get_redis  # noqa: E402
from tests.support import handlers  # noqa: E402
from tests.support.keys import TEST_KEYS  # noqa: E402
from tests.support.servers import HubServer, PostgresServer, RedisServer  # noqa: E402
from tests.support.smtp import SmtpServer  # noqa: E402
from tests.support.worker import Drainer  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--db", choices=["sqlite", "postgres"], default="sqlite",
                     help="database the suite runs against (make test runs both)")


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: runs in the SQLite pass only (it does not use the database)")
    config.addinivalue_line("markers", "postgres_only: runs in the PostgreSQL pass only (it tests the server)")


def pytest_collection_modifyitems(config, items):
    other_pass = "postgres_only" if config.getoption("--db") == "sqlite" else "sqlite_only"
    kept = [item for item in items if other_pass not in item.keywords]
    config.hook.pytest_deselected(items=[item for item in items if other_pass in item.keywords])
    items[:] = kept


@pytest.fixture(scope="session")
def postgres_server():
    # Not under pytest's temporary root: that is private to root, and the server runs as `postgres`.
    base_dir = Path(tempfile.mkdtemp(prefix="hub-test-pg-"))
    server = PostgresServer(base_dir).init()
    server.start()
    yield server
    server.stop("immediate")
    shutil.rmtree(base_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory):
    if request.config.getoption("--db") == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'hub.db'}"
    if os.environ.get("TEST_DATABASE_URL"):
        return os.environ["TEST_DATABASE_URL"]
    return request.getfixturevalue("postgres_server").create_database("hub_test")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_config(database_url, redis_server) -> dict:
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_server.url, "TESTING": True,
            "REDIS_RETRY_PAUSE_SECONDS": 0, "OUTBOX_DRAIN_SIGNAL_MS": 0, **TEST_KEYS}


@pytest.fixture(scope="session")
def served_hub(base_config, migrated, tmp_path_factory):
    """The hub under gunicorn (gunicorn.conf.py, as the Procfile serves it) on the test database and Redis:
    for what only a real server shows (slow clients, bodies refused before they are read). Its output goes
    to `served_hub.log_path`."""
    settings = {key: value for key, value in base_config.items() if key != "TESTING"}
    log_path = tmp_path_factory.mktemp("served-hub") / "gunicorn.log"
    server = HubServer(settings, log_path=log_path).wait_until_up()
    server.log_path = log_path
    yield server
    server.stop()


@pytest.fixture(scope="session")
def migrated(base_config):
    app = create_app(base_config)
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _clean(app) -> None:
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        if db.engine.dialect.name == "postgresql":
            _empty_postgres_tables(tables)
        else:
            for table in tables:
                db.session.execute(text(f"DELETE FROM {table}"))
        db.session.commit()
        get_redis(app).flushdb()


# The sequences owned by a table's column (identity and serial), with whether they ever gave out a value.
_OWNED_SEQUENCES = text("""
    SELECT quote_ident(n.nspname) || '.' || quote_ident(s.relname), seq.last_value IS NOT NULL
    FROM pg_class s
    JOIN pg_namespace n ON n.oid = s.relnamespace
    JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    JOIN pg_sequences seq ON seq.schemaname = n.nspname AND seq.sequencename = s.relname
    WHERE s.relkind = 'S' AND n.nspname = current_schema()
""")


def _empty_postgres_tables(tables: list[str]) -> None:
    """The end state of `TRUNCATE <every table> RESTART IDENTITY CASCADE` (no rows, every identity back at
    its start) for less: a TRUNCATE costs a few milliseconds a table even when it is empty, and a test
    writes to a few tables only. So truncate the tables that have a row and restart the sequences that
    gave out a value (pg_sequences.last_value is NULL until then and again after a restart)."""
    probe = " UNION ALL ".join(f"SELECT '{table}' WHERE EXISTS (SELECT 1 FROM {table})" for table in tables)
    filled = db.session.scalars(text(probe)).all()
    if filled:
        db.session.execute(text(f"TRUNCATE {', '.join(filled)} CASCADE"))
    for sequence, used in db.session.execute(_OWNED_SEQUENCES).all():
        if used:
            db.session.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))


@pytest.fixture(scope="session")
def cleaner_app(base_config, migrated):
    return create_app(base_config)


@pytest.fixture
def make_app(base_config, cleaner_app):
    """Build an app with extra settings: `make_app(DASHBOARD_BASE_URL=...)`. It also delivers the core
    tests' outbox kind (tests/support/handlers.py)."""
    made = []

    def build(**overrides):
        app = create_app({**base_config, **overrides})
        register_jobs(app, handlers)
        made.append(app)
        return app

    yield build
    for app in made:
        with app.app_context():
            db.engine.dispose()
    _clean(cleaner_app)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def operator_headers(app):
    """Authorization headers of a signed-in admin (Insight, DTech, admin APIs; an admin may use them all)."""
    from modules.core import auth

    with app.app_context():
        operator = auth.create_operator("operator@example.com", "correct-horse-battery", "Test Operator",
                                        role="admin")
        db.session.commit()
        token = auth.issue_access_token(operator)["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on a free loopback port (for curl examples and clients)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free loopback port, for FASTCore's e-mails and the outbox alerts."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def worker(app):
    return Drainer(app)

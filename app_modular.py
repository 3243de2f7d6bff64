"""The hub's application factory. `python app_modular.py` serves it on http://127.0.0.1:5001."""

from __future__ import annotations

import importlib
import logging
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flask import Flask

from modules import DOMAINS, __version__, console
from modules.core import api_docs, bodies, cli, errors, live, metrics_scrape, request_log, security
from modules.core import retention as core_retention
from modules.core.config import ConfigurationError, check_production, domain_package, is_production, load_config
from modules.core.domains import register_jobs
from modules.core.extensions import api, db, migrate
from modules.core.outbox import alerts, policy, retention, sweeping
from modules.core.outbox.routes import blp as outbox_blp
from modules.core.routes import blp as core_blp

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def create_app(config: dict[str, Any] | None = None, domains: Sequence[str] = DOMAINS) -> Flask:
    """The hub with `domains` (package names under `modules/`, or dotted module paths)."""
    app = Flask(__name__)
    configure(app, config, domains)
    request_log.configure_logging(app)
    request_log.init_app(app)
    live.init_app(app)
    init_extensions(app)
    bodies.init_app(app)
    register_blueprints(app, domains)
    errors.init_app(app)
    cli.init_app(app)
    return app


def configure(app: Flask, overrides: dict[str, Any] | None, domains: Sequence[str] = DOMAINS) -> None:
    settings = load_config(overrides, domains=domains)
    check_production(settings)
    app.config.update(settings)
    app.instance_path = instance_path(settings["INSTANCE_PATH"]) or app.instance_path
    keep_instance_private(Path(app.instance_path))
    keys = settings["SECRET_KEY"] or _temporary_secret()
    app.config.update(
        SECRET_KEY=keys[0],
        SECRET_KEY_LIST=keys,
        IS_PRODUCTION=is_production(settings),
        SQLALCHEMY_DATABASE_URI=settings["DATABASE_URL"] or f"sqlite:///{Path(app.instance_path) / 'hub.db'}",
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings),
        API_TITLE="Integration hub",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        PROPAGATE_EXCEPTIONS=False,
        JSON_SORT_KEYS=False,
    )


def instance_path(configured: str) -> str:
    """INSTANCE_PATH ("" when unset), absolute: a relative one would name another folder in each directory a
    process starts in (web and worker would not share, or would wrongly share, SQLite and the fallback file)."""
    if configured and not Path(configured).is_absolute():
        raise ConfigurationError(f"INSTANCE_PATH: {configured!r} is not an absolute path")
    return configured


def keep_instance_private(path: Path) -> None:
    """`instance/` holds the SQLite database (personal data, password hashes), the embedded Redis's file
    (cached partner tokens) and recordings: readable by its owner only, whatever the umask made of it."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        path.chmod(0o700)
    except PermissionError:
        logging.getLogger(__name__).warning("instance folder belongs to another user; its mode is left as it is")


def _temporary_secret() -> list[str]:
    """Development without .env: tokens then verify only in this process, so say so."""
    logging.getLogger(__name__).warning("SECRET_KEY is unset; using a temporary one (run `make run`)")
    return [secrets.token_urlsafe(32)]


def _engine_options(settings: dict[str, Any]) -> dict[str, Any]:
    """`hide_parameters`: a logged database error shows the SQL, never the values (names, e-mails...).
    `pool_timeout`: a request that finds every connection busy for 5 s answers 503 (errors.py) rather than
    waiting 30 s. The pool's size is a setting: every process holds up to DATABASE_POOL_SIZE +
    DATABASE_MAX_OVERFLOW connections, and their sum over all processes must fit PostgreSQL's
    `max_connections` (docs/operations.md, "Scaling out").
    With psycopg2 no `pool_pre_ping`: connections the server closed are replaced without a round trip
    (extensions.py); another PostgreSQL driver keeps the ping."""
    url = settings["DATABASE_URL"]
    common = {"hide_parameters": True}
    if url.startswith("postgresql"):
        return {**common, "pool_pre_ping": not url.startswith("postgresql+psycopg2://"),
                "pool_size": settings["DATABASE_POOL_SIZE"], "max_overflow": settings["DATABASE_MAX_OVERFLOW"],
                "pool_timeout": 5, "connect_args": {"connect_timeout": 3}}
    return {**common, "connect_args": {"timeout": 10}}


def init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    security.init_cors(app)
    security.init_app(app)
    api.init_app(app)
    api.spec.components.security_scheme("operatorBearer", {"type": "http", "scheme": "bearer"})


def register_blueprints(app: Flask, domains: Sequence[str]) -> None:
    """The core's blueprints (health and login, the outbox's admin API, /metrics, /docs and /redoc, the console),
    sweeper, retention (outbox, audit log) and alerts jobs, then each domain's `init_app(app)` (which registers
    its `blp`)."""
    api.register_blueprint(core_blp)
    api.register_blueprint(outbox_blp)
    metrics_scrape.init_app(app)
    api_docs.init_app(app)
    console.init_app(app)
    register_jobs(app, sweeping)
    register_jobs(app, retention)
    register_jobs(app, core_retention)
    register_jobs(app, alerts)
    for name in domains:
        importlib.import_module(domain_package(name)).init_app(app)
    with app.app_context():
        for setting in policy.unknown_backoff_settings():
            logging.getLogger(__name__).warning("a backoff setting names no outbox kind; `flask outbox kinds` "
                                                "lists them", extra={"setting": setting})


if __name__ == "__main__":
    application = create_app()
    application.run(host="127.0.0.1", port=application.config["PORT"])

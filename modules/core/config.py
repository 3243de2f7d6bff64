"""Configuration: every setting declared once, read from the environment when the app is built.

Precedence, lowest first: the declared default, `.env` (development), the process environment
(deploys and tests), then the `config` mapping passed to `create_app`. Each domain declares its own
settings in `modules/<domain>/settings.py` as a list named `SETTINGS`; `.env.example` is generated
from all of them (`flask config example`), so the list here is the single source of truth.
"""

from __future__ import annotations

import importlib
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from modules import DOMAINS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_NAMES = {"production", "prod"}
MAX_RETENTION_DAYS = 36_525  # 100 years: the longest retention window (0: kept forever)


def as_bool(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def as_list(value: Any) -> list[str]:
    """Comma-separated values (keys for rotation, origins, addresses); blanks dropped."""
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def as_int(value: Any) -> int:
    return int(str(value).strip())


def at_least(minimum: int, maximum: int | None = None) -> Callable[[Any], int]:
    """A whole number not below `minimum` (nor above `maximum`), else a ValueError that says so (a pool of 0
    would mean "no limit"; a retention window longer than a date can hold would stop its job at every run)."""
    def cast(value: Any) -> int:
        number = as_int(value)
        if number < minimum:
            raise ValueError(f"{number} is below the least allowed value, {minimum}")
        if maximum is not None and number > maximum:
            raise ValueError(f"{number} is above the largest allowed value, {maximum}")
        return number
    return cast


def as_backoff(value: Any) -> tuple[int, ...]:
    """A retry schedule: comma-separated whole seconds, one per retry, each from 1 to 30 days
    ("10,60,300"). Anything else is a ValueError naming the part."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    parts = [str(part).strip() for part in items]
    if not any(parts):
        raise ValueError("give at least one delay in seconds, e.g. 10,60,300")
    delays = []
    for part in parts:
        if not part.isdigit() or not 1 <= int(part) <= 30 * 86400:
            raise ValueError(f"{part!r} is not a whole number of seconds from 1 to 2592000 (30 days)")
        delays.append(int(part))
    return tuple(delays)


def database_url(value: Any) -> str:
    """Heroku still hands out `postgres://`, which SQLAlchemy 2 refuses; SQLAlchemy 2.1 reads a bare
    `postgresql://` as psycopg 3, while the hub ships psycopg2. Both become `postgresql+psycopg2://`."""
    url = str(value or "").strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any = ""
    doc: str = ""
    cast: Callable[[Any], Any] = str
    secret: bool = False  # never logged, never echoed, left blank in .env.example
    generate: bool = False  # a key the hub owns: `make run` writes a fresh random value into .env
    required_in_production: bool = False


CORE_SETTINGS = [
    Setting("APP_ENV", "development", "development or production (FLASK_ENV=production is honoured)"),
    Setting("SECRET_KEY", "", "Signs operator access tokens; comma-separated, newest first, for rotation",
            as_list, secret=True, generate=True, required_in_production=True),
    Setting("DATABASE_URL", "", "SQLAlchemy URL; empty means SQLite in instance/hub.db (postgres:// is accepted)",
            database_url, required_in_production=True),
    Setting("REDIS_URL", "", "Redis URL; empty means the embedded Redis under instance/redis",
            required_in_production=True),
    Setting("DATABASE_POOL_SIZE", 5, "PostgreSQL connections each process keeps open (web process, worker, "
            "scheduler); see docs/operations.md for the connection budget", at_least(1)),
    Setting("DATABASE_MAX_OVERFLOW", 10, "Connections a process may open above DATABASE_POOL_SIZE during a burst; "
            "a request finding all of them busy for 5 s answers 503", at_least(0)),
    Setting("INSTANCE_PATH", "", "Absolute path of this process's instance folder (local files: SQLite, embedded "
            "Redis, fallback files); empty means instance/ in the project"),
    Setting("PORT", 5001, "Port of the web server", as_int),
    Setting("PUBLIC_URL", "", "The hub's public address, e.g. https://hub.example.com: partners call back under it "
            "(SMS delivery receipts); empty: no callbacks are asked for"),
    Setting("LOG_LEVEL", "INFO", "Logging level"),
    Setting("MAX_CONTENT_LENGTH", 5 * 1024 * 1024, "Largest request body in bytes (413 above it)", as_int),
    Setting("BODY_DRAIN_MAX_BYTES", 64 * 1024 * 1024, "A refused request body up to this size is read to its end "
            "before the answer, so its sender can read the 413 (or 401) instead of a reset connection", as_int),
    Setting("BODY_DRAIN_SECONDS", 30, "At most this long is spent reading a refused body to its end", as_int),
    Setting("ACCESS_TOKEN_TTL_SECONDS", 8 * 3600, "Lifetime of an operator access token", as_int),
    Setting("ALLOWED_ORIGINS", "http://localhost:3000,http://localhost:5173",
            "Browser origins allowed by CORS (comma-separated)", as_list),
    Setting("INGEST_RATE_LIMIT", "6000/minute", "Requests per caller on ingest endpoints: per key or operator that "
            "authenticated (SentraTech's public key: per key and visitor address), else per address"),
    Setting("AUTH_FAILURE_RATE_LIMIT", "60/minute", "Refused credentials (401s) per client address; more get 429"),
    Setting("LOGIN_ACCOUNT_RATE_LIMIT", "10/5minutes", "Sign-in attempts at one operator e-mail from one address "
            "(a right password is not counted); then 429 for that address until the window ends"),
    Setting("LOGIN_ACCOUNT_SPREAD_RATE_LIMIT", "100/5minutes", "Sign-in attempts at one operator e-mail from all the "
            "addresses it never signed in from (guessing spread over many addresses); addresses where the operator "
            "signed in within 30 days are exempt"),
    Setting("LOGIN_ADDRESS_RATE_LIMIT", "30/5minutes", "Sign-in attempts per client address, whatever the e-mail "
            "(a right password is not counted)"),
    Setting("RATE_LIMITS_ENABLED", True, "Enforce rate limits (counted in Redis; let through if Redis is down)",
            as_bool),
    Setting("TRUST_PROXY_HEADERS", False, "Behind a proxy (Heroku): trust X-Forwarded-For/-Proto for one hop",
            as_bool),
    Setting("HTTP_TIMEOUT_SECONDS", 10, "Timeout of every outbound HTTP request", as_int),
    Setting("OUTBOX_CLAIM_SECONDS", 300, "How long a worker holds a delivery before another may retry it", as_int),
    Setting("OUTBOX_SWEEP_GRACE_SECONDS", 30, "The sweeper leaves messages younger than this to their own enqueue",
            as_int),
    Setting("OUTBOX_REQUEUE_SECONDS", 300, "The sweeper does not enqueue one message again sooner than this", as_int),
    Setting("OUTBOX_DRAIN_SIGNAL_MS", 100, "A web process asks Redis for a drain at most once per this many ms; "
            "a drain looks for work again twice as long after it runs out (give web and worker the same value); "
            "0: ask after every commit", as_int),
    Setting("OUTBOX_BREAKER_THRESHOLD", 10, "A destination's circuit breaker opens after this many consecutive "
            "retryable failures: its messages then wait without using up attempts", as_int),
    Setting("OUTBOX_BREAKER_COOLDOWN_SECONDS", 60, "An open breaker lets one probe message through after this "
            "long; its success closes the breaker, its failure waits as long again", as_int),
    Setting("OUTBOX_RETRY_AFTER_MAX_SECONDS", 3600, "A peer's Retry-After (on 429/503) is honoured up to this many "
            "seconds. Each kind's backoff is overridable: OUTBOX_BACKOFF_<KIND>=10,60,300 (`flask outbox kinds`)",
            as_int),
    Setting("OUTBOX_RETENTION_DAYS", 30, "Delivered outbox messages and their attempts are deleted this many days "
            "after delivery (0: kept forever); pending and dead ones are never deleted by it",
            at_least(0, MAX_RETENTION_DAYS)),
    Setting("OUTBOX_RETENTION_BATCH", 1000, "The retention job deletes delivered messages this many at a time, each "
            "batch its own transaction (at least 1)", at_least(1)),
    Setting("AUDIT_RETENTION_DAYS", 365, "Audit entries are deleted this many days after they were written, by an "
            "hourly job that records one `audit.purged` entry per run (0: kept forever; raise it where law asks "
            "longer)", at_least(0, MAX_RETENTION_DAYS)),
    Setting("RETENTION_BATCH", 1000, "Retention jobs (audit log, Insight SMS and usage) delete this many rows at a "
            "time, each batch its own transaction (at least 1; the outbox has OUTBOX_RETENTION_BATCH)", at_least(1)),
    Setting("OUTBOX_ALERT_INTERVAL_SECONDS", 1800, "At most one alert e-mail per destination per this many seconds "
            "(a breaker opened, messages went dead, an old backlog; docs/operations.md, Alerts)", as_int),
    Setting("OUTBOX_BACKLOG_ALERT_SECONDS", 3600, "Alert when a destination's oldest pending message is older than "
            "this; 0: never", as_int),
    Setting("SMTP_HOST", "", "SMTP server for the hub's e-mails (lead e-mails, outbox alerts); empty keeps e-mails "
            "pending"),
    Setting("SMTP_PORT", 587, "SMTP port (465 means implicit TLS)", as_int),
    Setting("SMTP_USER", "", "SMTP user name (empty: no login)"),
    Setting("SMTP_PASSWORD", "", "SMTP password", secret=True),
    Setting("SMTP_TLS", True, "Use STARTTLS on ports other than 465", as_bool),
    Setting("SMTP_TIMEOUT_SECONDS", 15, "Timeout of one SMTP conversation", as_int),
    Setting("FROM_EMAIL", "", "Sender address of the hub's e-mails (lead e-mails, outbox alerts)"),
    Setting("ADMIN_EMAIL", "", "Address(es) that receive the new-lead alert and the outbox alerts (comma-separated)",
            as_list),
    Setting("WORKER_NICENESS", 19, "`flask worker` runs this much below normal CPU priority (19: the lowest), so "
            "that on a shared machine a burst of ingest is answered first and deliveries catch up after; 0 to turn "
            "off", as_int),
    Setting("METRICS_KEY", "", "Bearer key(s) of the Prometheus scraper for GET /metrics (comma-separated for "
            "rotation); operators' tokens are accepted too", as_list, secret=True, generate=True),
    Setting("REDIS_RETRY_PAUSE_SECONDS", 5, "After a Redis failure, skip enqueueing this long (the sweeper catches "
            "up); after a failure of the rate limits' counters, let requests through uncounted this long", as_int),
]


def domain_package(name: str) -> str:
    """A domain's package: a name under `modules/` ("sentratech") or a dotted path."""
    return name if "." in name else f"modules.{name}"


def domain_settings(domains: Sequence[str] = DOMAINS) -> list[Setting]:
    """The `SETTINGS` of each domain's `settings.py` (a domain without one has none)."""
    found: list[Setting] = []
    for domain in domains:
        try:
            module = importlib.import_module(f"{domain_package(domain)}.settings")
        except ModuleNotFoundError:
            continue
        found.extend(getattr(module, "SETTINGS", []))
    return found


def all_settings(domains: Sequence[str] = DOMAINS) -> list[Setting]:
    """The core's settings, the console's (modules/console/settings.py), then each domain's."""
    return CORE_SETTINGS + domain_settings(("console",)) + domain_settings(domains)


def env_file_path() -> Path | None:
    """`.env` at the project root; HUB_ENV_FILE overrides the path, and an empty value disables it."""
    chosen = os.environ.get("HUB_ENV_FILE")
    if chosen is None:
        return PROJECT_ROOT / ".env"
    return Path(chosen) if chosen else None


def load_config(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None,
                domains: Sequence[str] = DOMAINS) -> dict[str, Any]:
    environ = dict(os.environ if environ is None else environ)
    path = env_file_path()
    from_file = {k: v for k, v in dotenv_values(path).items() if v is not None} if path and path.exists() else {}
    overrides = overrides or {}
    config: dict[str, Any] = {}
    for setting in all_settings(domains):
        raw = overrides.get(setting.name, environ.get(setting.name, from_file.get(setting.name, setting.default)))
        try:
            config[setting.name] = _named(setting.name, setting.cast, raw) if raw is not None else raw
        except ValueError as exc:  # a malformed value stops start-up naming its setting
            raise ConfigurationError(str(exc)) from None
    config.update(_backoff_settings(from_file, environ, overrides))
    if environ.get("FLASK_ENV", from_file.get("FLASK_ENV", "")).lower() in PRODUCTION_NAMES:
        config["APP_ENV"] = "production"
    config.update({k: v for k, v in overrides.items() if k not in config})
    return config


BACKOFF_PREFIX = "OUTBOX_BACKOFF_"  # OUTBOX_BACKOFF_<KIND>: one setting per outbox kind (outbox/policy.py)


def _backoff_settings(*sources: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The OUTBOX_BACKOFF_<KIND> settings of `sources` (lowest precedence first); an empty one is unset.
    A malformed one stops start-up with a ConfigurationError naming it."""
    found: dict[str, Any] = {}
    for source in sources:
        found.update({name: value for name, value in source.items()
                      if name.startswith(BACKOFF_PREFIX) and str(value if value is not None else "").strip()})
    try:
        return {name: _named(name, as_backoff, value) for name, value in found.items()}
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def _named(name: str, cast: Callable[[Any], Any], value: Any) -> Any:
    try:
        return cast(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def is_production(config: dict[str, Any]) -> bool:
    return str(config.get("APP_ENV", "")).lower() in PRODUCTION_NAMES


def missing_production_settings(config: dict[str, Any]) -> list[str]:
    return [s.name for s in all_settings() if s.required_in_production and not config.get(s.name)]


class ConfigurationError(RuntimeError):
    """Raised at start-up when production settings are missing."""


def check_production(config: dict[str, Any]) -> None:
    missing = missing_production_settings(config)
    if is_production(config) and missing:
        raise ConfigurationError(
            "APP_ENV=production but these settings are missing: " + ", ".join(missing)
            + ". Set them in the environment (see .env.example)."
        )


def env_example() -> str:
    """The text of `.env.example`: every setting, one comment line each."""
    lines = ["# Every setting of the hub. Copy to .env for development; deploys set real environment variables.",
             "# `make run` writes .env with fresh random values for the secrets when it is missing.", ""]
    for setting in all_settings():
        default = "" if setting.secret else _as_text(setting.default)
        lines.append(f"# {setting.doc}")
        lines.append(f"{setting.name}={default}")
    return "\n".join(lines) + "\n"


def fresh_env_file() -> str:
    """A development `.env`: a new random value for every key the hub owns; other settings are listed
    commented out with their defaults (an active `PORT=` line would override honcho's port)."""
    lines = ["# Written by `make run` with fresh random keys. Not committed; delete it to get new keys."]
    for setting in all_settings():
        if setting.generate:
            lines.append(f"{setting.name}={secrets.token_urlsafe(32)}")
        else:
            lines.append(f"# {setting.name}={_as_text(setting.default)}")
    return "\n".join(lines) + "\n"


def _as_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)

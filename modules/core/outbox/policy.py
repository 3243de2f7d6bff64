"""Retry policy as data: each kind's backoff (overridable by a setting), jitter, and the peer's Retry-After.

A kind's backoff is its handler's unless `OUTBOX_BACKOFF_<KIND>` is set: the kind in capitals with every
other character an underscore (`sentratech.dashboard_sync` -> `OUTBOX_BACKOFF_SENTRATECH_DASHBOARD_SYNC`),
a comma-separated list of seconds, one per retry (`config.as_backoff` reads it). A message gets one attempt
more than its backoff has entries.

Every wait is the scheduled delay times a random factor in [0.8, 1.2] (jitter, so that the messages that
failed together when a peer went down do not all come back at the same second), or the peer's Retry-After
if that is longer (capped by OUTBOX_RETRY_AFTER_MAX_SECONDS, so a peer cannot park a message for a year).
"""

from __future__ import annotations

import random
import re
from typing import Any

from flask import current_app

from modules.core.outbox.handlers import handler_for
from modules.core.registry import registry

BACKOFF_SETTING_PREFIX = "OUTBOX_BACKOFF_"
JITTER = 0.2  # each delay is within +-20% of its schedule


def setting_name(kind: str) -> str:
    """The setting that overrides `kind`'s backoff."""
    return BACKOFF_SETTING_PREFIX + re.sub(r"[^A-Z0-9]", "_", kind.upper())


def backoff_for(kind: str) -> tuple[int, ...]:
    """Seconds before each retry of `kind`: its setting's, else its handler's (none for an unknown kind)."""
    configured = current_app.config.get(setting_name(kind))
    if configured:
        return tuple(configured)
    registered = handler_for(kind)
    return registered.backoff if registered else ()


def retry_delay(scheduled: float, retry_after: float | None = None) -> float:
    """Seconds to wait before a retry scheduled `scheduled` seconds after the failure: jittered by +-20%,
    and no shorter than the peer's `retry_after` (itself at most OUTBOX_RETRY_AFTER_MAX_SECONDS)."""
    jittered = scheduled * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 (spreading load, not a secret)
    if retry_after is None or retry_after <= 0:
        return jittered
    return max(jittered, min(float(retry_after), float(current_app.config["OUTBOX_RETRY_AFTER_MAX_SECONDS"])))


def breaker_settings() -> dict[str, int]:
    """The circuit breaker's settings, the same for every destination."""
    config = current_app.config
    return {"breaker_threshold": config["OUTBOX_BREAKER_THRESHOLD"],
            "breaker_cooldown_seconds": config["OUTBOX_BREAKER_COOLDOWN_SECONDS"]}


def kinds() -> list[dict[str, Any]]:
    """Every registered kind with its destination and policy, sorted by kind: {"kind", "destination",
    "backoff" (seconds per retry), "attempts", "backoff_setting", "backoff_from" ("setting" or "code"),
    "breaker_threshold", "breaker_cooldown_seconds"}."""
    described = []
    for kind, registered in sorted(registry().handlers.items()):
        backoff = backoff_for(kind)
        described.append({"kind": kind, "destination": registered.destination, "backoff": list(backoff),
                          "attempts": len(backoff) + 1, "backoff_setting": setting_name(kind),
                          "backoff_from": "setting" if current_app.config.get(setting_name(kind)) else "code",
                          **breaker_settings()})
    return described


def unknown_backoff_settings() -> list[str]:
    """OUTBOX_BACKOFF_* settings that name no registered kind (a typo would otherwise go unnoticed)."""
    known = {setting_name(kind) for kind in registry().handlers}
    return sorted(name for name in current_app.config
                  if name.startswith(BACKOFF_SETTING_PREFIX) and name not in known)

"""Destinations: where the messages of one or more kinds go (the dashboard, SMTP, Arkesel, DTech uploads),
each with a pause switch and a circuit breaker, kept in the `outbox_destination` table so that they hold
across restarts and on every worker.

- **Pause.** While a destination is paused, no drain, delivery or sweep claims its messages: they wait,
  using up no attempt, and nothing is dropped. Resume queues a drain, which takes the backlog oldest first.
  A delivery already under way when the pause lands finishes.
- **Circuit breaker** (closed -> open -> half open -> closed). OUTBOX_BREAKER_THRESHOLD consecutive
  retryable failures open it: its messages then wait, using up no attempt, until `retry_at`
  (OUTBOX_BREAKER_COOLDOWN_SECONDS later), when exactly one message goes as a probe (half open). A probe
  that succeeds, or any answer that is not a retryable failure, closes it and a drain delivers the
  backlog; a probe that fails opens it for another cool-down, and its message keeps its attempts.

The delivery engine asks `gates(now)` which kinds are held, `take_probe` for the one probe, and reports each
outcome (`delivered`, `failed`). Operators act through `control.py`. Once a breaker's opening or closing
commits, open consoles hear of it (`announce`, a `destinations` event of live.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from sqlalchemy import select, update

from modules.core import live
from modules.core.extensions import db
from modules.core.models import OutboxDestination
from modules.core.outbox.handlers import handler_for
from modules.core.registry import registry
from modules.core.sql import dialect_insert


class Breaker(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class Gates:
    """What the engine may claim now: `held` kinds are not claimed at all; `probe_ready` destinations
    (their breaker's cool-down is over) may send one probe."""

    held: list[str] = field(default_factory=list)
    probe_ready: list[str] = field(default_factory=list)


def destination_of(kind: str) -> str:
    registered = handler_for(kind)
    return registered.destination if registered else kind


def kinds_of(name: str) -> list[str]:
    return sorted(kind for kind, registered in registry().handlers.items() if registered.destination == name)


def names() -> list[str]:
    """Every destination a registered kind delivers to, sorted."""
    return sorted({registered.destination for registered in registry().handlers.values()})


def gates(now: datetime) -> Gates:
    """One read of the (small) destination table: which kinds wait, which destinations may probe."""
    found = Gates()
    for row in db.session.scalars(select(OutboxDestination).where(
            (OutboxDestination.paused.is_(True)) | (OutboxDestination.breaker != Breaker.CLOSED))):
        if not row.paused and row.retry_at is not None and row.retry_at <= now:
            found.probe_ready.append(row.name)
        else:
            found.held.extend(kinds_of(row.name))
    return found


def take_probe(name: str, now: datetime) -> bool:
    """Claim the one probe of `name` (half open until the probe's lease ends); False when another worker
    has it, the cool-down is not over or the destination is paused. In the caller's transaction."""
    lease_end = now + timedelta(seconds=current_app.config.get("OUTBOX_CLAIM_SECONDS", 300))
    taken = db.session.execute(
        update(OutboxDestination)
        .where(OutboxDestination.name == name, OutboxDestination.paused.is_(False),
               OutboxDestination.breaker != Breaker.CLOSED, OutboxDestination.retry_at <= now)
        .values(breaker=Breaker.HALF_OPEN, retry_at=lease_end, updated_at=now))
    return taken.rowcount == 1


def release_probe(name: str, now: datetime) -> None:
    """Give back a probe that found nothing to send: the next claim may probe at once."""
    db.session.execute(update(OutboxDestination)
                       .where(OutboxDestination.name == name, OutboxDestination.breaker == Breaker.HALF_OPEN)
                       .values(breaker=Breaker.OPEN, retry_at=now, updated_at=now))


def delivered(name: str, now: datetime) -> bool:
    """The peer answered (a delivery, or a refusal that is not retryable): the failure count restarts and
    an open breaker closes. True when something changed (the caller queues a drain for the backlog).
    One UPDATE that matches no row in the usual case; in the caller's transaction."""
    changed = db.session.execute(
        update(OutboxDestination)
        .where(OutboxDestination.name == name,
               (OutboxDestination.failures > 0) | (OutboxDestination.breaker != Breaker.CLOSED))
        .values(failures=0, breaker=Breaker.CLOSED, retry_at=None, breaker_since=now, updated_at=now))
    if changed.rowcount != 1:
        return False
    announce(name, Breaker.CLOSED)
    return True


def failed(name: str, error: str, now: datetime, probe: bool) -> bool:
    """A retryable failure at `name`. Returns True when it opened the breaker (the caller may alert).
    A failed probe opens the breaker again for another cool-down. In the caller's transaction."""
    ensure(name, now)
    cooldown_end = now + timedelta(seconds=current_app.config["OUTBOX_BREAKER_COOLDOWN_SECONDS"])
    counted = {"failures": OutboxDestination.failures + 1, "last_error": error[:500], "last_failure_at": now,
               "updated_at": now}
    row = OutboxDestination.name == name
    if probe:
        db.session.execute(update(OutboxDestination).where(row).values(
            **counted, breaker=Breaker.OPEN, retry_at=cooldown_end))
        announce(name, Breaker.OPEN)
        return False
    db.session.execute(update(OutboxDestination).where(row).values(**counted))
    opened = db.session.execute(
        update(OutboxDestination)
        .where(row, OutboxDestination.breaker == Breaker.CLOSED,
               OutboxDestination.failures >= current_app.config["OUTBOX_BREAKER_THRESHOLD"])
        .values(breaker=Breaker.OPEN, breaker_since=now, retry_at=cooldown_end))
    if opened.rowcount != 1:
        return False
    announce(name, Breaker.OPEN)
    return True


def announce(name: str, state: str) -> None:
    """A `destinations` event for open consoles once the change commits (state: paused, resumed, open,
    closed)."""
    live.publish_after_commit("destinations", {"name": name, "state": str(state)})


def ensure(name: str, now: datetime) -> None:
    """The destination's row, created active and closed if missing (concurrent creators are harmless)."""
    db.session.execute(dialect_insert(OutboxDestination.__table__).values(
        name=name, paused=False, breaker=Breaker.CLOSED, failures=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["name"]))

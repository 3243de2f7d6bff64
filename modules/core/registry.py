"""What the domains registered into one app: error envelopes, outbox handlers, periodic jobs, and what the
console's overview asks of each domain (records received since a time, things that need attention).

Everything lives on the app (`app.extensions["hub"]`), filled by each domain's `init_app(app)`
(`modules.core.domains.register_domain`), never at import time: building two apps in one process
registers nothing twice, and a test app holds only what it was given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, current_app

Envelope = Callable[[int, str, Any], tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class Handler:
    """Delivers outbox messages of `kind` to `destination`: `deliver(message) -> status code`, retried after
    `backoff` seconds (one entry per retry; a setting may override it, see outbox/policy.py),
    `on_dead(message)` when the last attempt failed."""

    kind: str
    deliver: Callable[[Any], int | None]
    backoff: tuple[int, ...]
    on_dead: Callable[[Any], None] | None
    destination: str


@dataclass(frozen=True)
class PeriodicJob:
    """A module-level job function that the scheduler enqueues every `every_seconds`."""

    id: str
    name: str
    func: Callable[[], Any]
    every_seconds: int


@dataclass(frozen=True)
class RecordCounter:
    """How many records `domain` received since a time: `count(since) -> int`, an index-backed count on the
    records' creation time (never a scan of the table). `title` names the domain to people."""

    domain: str
    title: str
    count: Callable[[datetime], int]


@dataclass(frozen=True)
class Concern:
    """Something a domain asks an operator to look at (the console's "needs attention"): `what` in words,
    `count` of the things concerned, `path` of the page that fixes it (None: no page yet)."""

    what: str
    count: int
    path: str | None = None


ConcernCheck = Callable[[datetime], list[Concern]]  # now -> what needs attention now ([] when nothing)


@dataclass
class Registry:
    envelopes: dict[str, Envelope] = field(default_factory=dict)  # by blueprint name
    prefixed_envelopes: list[tuple[str, Envelope]] = field(default_factory=list)  # longest prefix first
    handlers: dict[str, Handler] = field(default_factory=dict)  # by outbox kind
    periodic_jobs: dict[str, PeriodicJob] = field(default_factory=dict)  # by job id
    record_counters: dict[str, RecordCounter] = field(default_factory=dict)  # by domain, in registration order
    concern_checks: dict[str, ConcernCheck] = field(default_factory=dict)  # by domain
    domains: set[str] = field(default_factory=set)  # the domains' blueprint names (`register_domain`)

    def add_envelope(self, blueprint: str, envelope: Envelope, prefixes: tuple[str, ...] = ()) -> None:
        self.envelopes[blueprint] = envelope
        self.prefixed_envelopes.extend((prefix, envelope) for prefix in prefixes)
        self.prefixed_envelopes.sort(key=lambda item: len(item[0]), reverse=True)

    def add_handler(self, handler: Handler) -> None:
        _refuse_twice(self.handlers, handler.kind, "outbox kind")
        self.handlers[handler.kind] = handler

    def add_periodic_job(self, job: PeriodicJob) -> None:
        _refuse_twice(self.periodic_jobs, job.id, "periodic job")
        self.periodic_jobs[job.id] = job


    def add_record_counter(self, counter: RecordCounter) -> None:
        _refuse_twice(self.record_counters, counter.domain, "record counter of domain")
        self.record_counters[counter.domain] = counter

    def add_concern_check(self, domain: str, check: ConcernCheck) -> None:
        _refuse_twice(self.concern_checks, domain, "concern check of domain")
        self.concern_checks[domain] = check


def _refuse_twice(registered: dict[str, Any], key: str, what: str) -> None:
    if key in registered:
        raise RuntimeError(f"{what} {key!r} is registered twice in one app")


def registry(app: Flask | None = None) -> Registry:
    """The app's registry (the current app's by default)."""
    app = app or current_app
    return app.extensions.setdefault("hub", Registry())

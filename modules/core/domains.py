"""How a domain joins an app: one call from its `init_app(app)`.

`register_domain` registers the domain's blueprint, the error envelope of its paths, its OpenAPI security
schemes, its CLI group, the outbox handlers and periodic jobs declared in its `jobs` module, and what the
console's overview asks of it (its records received since a time, what needs attention). All of it lands on
the app being built (see `registry.py`), so building two apps registers nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import ModuleType
from typing import Any

import click
from flask import Flask
from flask_smorest import Blueprint

from modules.core.errors import register_envelope
from modules.core.extensions import api
from modules.core.registry import ConcernCheck, Envelope, RecordCounter, registry


def register_domain(app: Flask, blp: Blueprint, *, envelope: Envelope, prefixes: tuple[str, ...] = (),
                    security_schemes: dict[str, dict[str, Any]] | None = None, cli: click.Group | None = None,
                    jobs: ModuleType | None = None, title: str | None = None,
                    received: Callable[[datetime], int] | None = None, concerns: ConcernCheck | None = None) -> None:
    """Register a domain into `app`.

    `envelope` shapes every error of the blueprint's views and of any path under `prefixes` (a 404 or a
    405 on the domain's paths too); `security_schemes` maps OpenAPI scheme names to their definitions;
    `jobs` is the module whose `@outbox.handler` and `@periodic` functions are registered; `received(since)`
    counts the domain's records created since `since` (index-backed), shown under `title` (default: the
    blueprint's name); `concerns(now)` lists what needs an operator's attention now."""
    api.register_blueprint(blp)
    registry(app).domains.add(blp.name)
    register_envelope(app, blp.name, envelope, prefixes)
    for name, scheme in (security_schemes or {}).items():
        api.spec.components.security_scheme(name, scheme)
    if cli is not None:
        app.cli.add_command(cli)
    if jobs is not None:
        register_jobs(app, jobs)
    if received is not None:
        registry(app).add_record_counter(RecordCounter(blp.name, title or blp.name, received))
    if concerns is not None:
        registry(app).add_concern_check(blp.name, concerns)


def register_jobs(app: Flask, module: ModuleType) -> None:
    """Register the outbox handlers (`@outbox.handler`) and periodic jobs (`@periodic`) defined in `module`
    (not those it imports)."""
    registered = registry(app)
    for value in vars(module).values():
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if getattr(value, "outbox_handler", None) is not None:
            registered.add_handler(value.outbox_handler)
        if getattr(value, "periodic_job", None) is not None:
            registered.add_periodic_job(value.periodic_job)

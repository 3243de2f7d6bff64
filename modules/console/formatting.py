"""Template filters and helpers of the console: times in UTC, ages, the current page's arguments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import request

from modules.console.blueprint import blp
from modules.core.types import utcnow


@blp.app_template_filter("when")
def when(value: datetime | None) -> str:
    """`2026-11-30 17:45:02 UTC`, or an em dash for no time."""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


@blp.app_template_filter("ago")
def ago(value: datetime | None) -> str:
    """How long before now, in the largest whole unit: `45 s`, `12 min`, `3 h`, `2 d`."""
    if value is None:
        return "—"
    seconds = max(0, int((utcnow() - value).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def page_args(**changes: Any) -> dict[str, Any]:
    """This page's query arguments with `changes` (a None value removes the argument)."""
    args = {key: value for key, value in request.args.items() if key != "format"}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return args

"""The overview's "needs attention" list: what is wrong now, each with a link to the page that fixes it.

From what the overview already read (service_status(), control.states()) and the concerns the domains
registered (e.g. Insight's failing SMS): services down, no live worker, a stopped scheduler, alerts that could
not be mailed, dead messages, open breakers and paused destinations. The deliveries pages need the admin
role, so an operator sees the same items without their links.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import current_app, url_for

from modules.core.registry import Concern

DELIVERIES = "console.deliveries"


@dataclass(frozen=True)
class Item:
    """One thing to look at: `what` in words, `link` to the page that fixes it (None: no page, or not for
    this operator's role), `severity` "bad" (something is failing) or "warn" (held on purpose, or late)."""

    what: str
    link: str | None = None
    severity: str = "bad"


def items(health: dict[str, Any], destinations: list[dict[str, Any]], concerns: list[Concern],
          is_admin: bool) -> list[Item]:
    """Every item, services first, then destinations (by name), then the domains' concerns."""
    found = _services(health)
    found += _destinations(destinations, is_admin)
    found += [Item(alert["alert"] or f"an alert about {alert['destination']} could not be mailed",
                   _deliveries(is_admin, destination=alert["destination"]))
              for alert in health.get("alerts", [])]
    found += [Item(concern.what, concern.path) for concern in concerns]
    return found


def _services(health: dict[str, Any]) -> list[Item]:
    found = []
    if health.get("database") != "ok":
        found.append(Item(f"Database {health.get('database')}"))
    if health.get("redis") != "ok":
        found.append(Item(f"Redis {health.get('redis')}: nothing is queued for the workers"))
        return found
    if not health.get("workers"):
        found.append(Item("No worker is running: nothing is delivered (start one: flask worker)"))
    if not health.get("scheduler_running"):
        last = health.get("last_tick")
        since = f"last ran {last.strftime('%Y-%m-%d %H:%M:%S UTC')}" if last else "never ran here"
        found.append(Item(f"The scheduler is not running ({since}): no sweep, no periodic job "
                          "(start one: flask scheduler)"))
    return found


def _destinations(destinations: list[dict[str, Any]], is_admin: bool) -> list[Item]:
    found = []
    for described in destinations:
        name, state = described["name"], described["state"]
        if state in ("open", "half_open"):
            found.append(Item(f"{name}: circuit breaker {state.replace('_', ' ')} after {described['failures']} "
                              f"consecutive failures; {described['pending']} pending",
                              _deliveries(is_admin, destination=name)))
        elif state == "paused":
            found.append(Item(f"{name} is paused ({described['reason']}); {described['pending']} pending",
                              _deliveries(is_admin, destination=name), "warn"))
        if described["dead"]:
            count = described["dead"]
            found.append(Item(f"{name}: {count} dead message{'s' if count != 1 else ''}",
                              _deliveries(is_admin, status="dead", destination=name)))
    return found


def _deliveries(is_admin: bool, **args: str) -> str | None:
    """The deliveries page filtered by `args`, for an admin (None for an operator, who may not open it)."""
    if not is_admin:
        return None
    if DELIVERIES in current_app.view_functions:
        return url_for(DELIVERIES, **args)
    return "/console/deliveries?" + urlencode(args)

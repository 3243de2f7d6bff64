"""What the link pages share: the analytics window, a form's fields loaded by the API's own schemas, the
copy-ready tracking URL."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, request, url_for
from marshmallow import Schema, ValidationError

WINDOWS = (7, 30, 90)
DEFAULT_WINDOW = 30
LABELS = {"original_url": "Destination", "tracking_id": "Tracking id", "link_function": "Function",
          "link_type": "Type", "description": "Description"}


def chosen_window() -> int:
    """The `days` of the page's window: one of WINDOWS (30 when not given); another value is a 422 page."""
    given = (request.args.get("days") or "").strip()
    if not given:
        return DEFAULT_WINDOW
    if given not in {str(days) for days in WINDOWS}:
        abort(422, f"The window is {', '.join(map(str, WINDOWS))} days, not {given!r}.")
    return int(given)


def load_form(schema: Schema, names: tuple[str, ...], blank_is_absent: bool) -> dict[str, Any]:
    """The form's `names` loaded by `schema` (the API's request schema: the same rules and refusals). With
    `blank_is_absent`, an empty field is "not given" (create); otherwise "" empties the field, as in the API.
    Raises marshmallow's ValidationError."""
    given = {name: request.form.get(name, "") for name in names if name in request.form}
    if blank_is_absent:
        given = {name: value for name, value in given.items() if value.strip()}
    return schema.load(given)


def problems(error: ValidationError) -> list[str]:
    """A schema's refusal as sentences naming each field, for the page."""
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    found = []
    for name, reasons in messages.items():
        for reason in reasons if isinstance(reasons, list) else [reasons]:
            found.append(f"{LABELS.get(name, name)}: {reason}" if name != "_schema" else str(reason))
    return found


def tracking_url(tracking_id: str) -> str:
    """The URL to share: `/track/<id>` under PUBLIC_URL when it is set, else under this request's host."""
    public = str(current_app.config.get("PUBLIC_URL") or "").strip().rstrip("/")
    if public:
        return public + url_for("link_tracking.follow_link", tracking_id=tracking_id)
    return url_for("link_tracking.follow_link", tracking_id=tracking_id, _external=True)

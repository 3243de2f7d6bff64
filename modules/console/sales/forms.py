"""The DTech sales forms of the console: their fields, read into the bodies the API's schemas load.

A form posts flat names (`user.first_name`, `lead.phone_mobile`); `body_from` nests them as the API's
JSON body would be, and the API's own schema (modules/dtech/schemas.py) loads it, so a form is refused
exactly as the same request to the API would be. An empty field is "not given" (an optional field is
left out, a required one is named as missing).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from marshmallow import Schema, ValidationError

USER_FIELDS = (("user.external_id", "Agent id"), ("user.first_name", "Agent's first name"),
               ("user.last_name", "Agent's last name"), ("user.provider_id", "Provider id"))
LEAD_FIELDS = (("lead.first_name", "Lead's first name"), ("lead.last_name", "Lead's last name"),
               ("lead.phone_mobile", "Mobile phone, (083) 555-5555"), ("lead.campaign_code", "Campaign code"),
               ("lead.lead_origin", "Lead origin"), ("lead.external_reference", "External reference (optional)"),
               ("lead.phone_work", "Work phone (optional)"), ("lead.email", "E-mail (optional)"),
               ("lead.id_number", "ID number (optional)"))
ACCOUNT_FIELD = ("account_id", "DTech account (empty: the hub's default account)")
START_FIELDS = (ACCOUNT_FIELD, *USER_FIELDS, *LEAD_FIELDS)
CONTINUE_FIELDS = (ACCOUNT_FIELD, *USER_FIELDS)
RECORDING_FIELDS = (("date_start", "Call started (ISO 8601, UTC unless a zone is given)"),
                    ("date_end", "Call ended"), ("external_ref", "External reference (optional)"))


def body_from(form: Mapping[str, str], names: Iterable[str]) -> dict[str, Any]:
    """The non-empty fields `names` of `form`, nested at their dots: {"user": {"first_name": ...}, ...}."""
    body: dict[str, Any] = {}
    for name in names:
        value = (form.get(name) or "").strip()
        if not value:
            continue
        *parents, key = name.split(".")
        target = body
        for parent in parents:
            target = target.setdefault(parent, {})
        target[key] = value
    return body


def load(schema: Schema, body: dict[str, Any]) -> dict[str, Any]:
    """`body` loaded by the API's `schema`; raises FormProblems naming each bad field as the form names it."""
    try:
        return schema.load(body)
    except ValidationError as refused:
        raise FormProblems(dict(_flat(refused.normalized_messages()))) from None


class FormProblems(Exception):
    """What is wrong with a form: {field name as the form posts it: why}."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{name}: {why}" for name, why in problems.items()))
        self.problems = problems


def _flat(messages: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in messages.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", " ".join(str(item) for item in value) if isinstance(value, list) else str(value)

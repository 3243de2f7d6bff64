"""SMS templates: the default wording and the `{name}` / `{amount}` placeholders operators may use."""

from __future__ import annotations

import string
from decimal import Decimal

from marshmallow import ValidationError

from modules.insight.normalise import format_amount

PLACEHOLDERS = ("name", "amount")

DEFAULT_TEMPLATES = {
    "warning": "Dear {name}, your account is in arrears of {amount}. Please pay now to avoid disconnection.",
    "disconnection": "Dear {name}, your supply has been disconnected for arrears of {amount}. "
                     "Please pay to be reconnected.",
    "connection": "Dear {name}, your supply has been reconnected. Thank you for your payment.",
}


def check_placeholders(message: str) -> None:
    """Marshmallow validator: only plain `{name}` and `{amount}`, braces paired (`{{` for a brace)."""
    try:
        parsed = list(string.Formatter().parse(message))
    except ValueError as exc:
        raise ValidationError("Unbalanced braces: write {{ and }} for a literal brace.") from exc
    unknown = sorted({"{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
                      for _, field, spec, conversion in parsed
                      if field is not None and (field not in PLACEHOLDERS or spec or conversion)})
    if unknown:
        raise ValidationError(f"Unknown placeholder(s): {', '.join(unknown)}. Use {{name}} and {{amount}}.")


def render(template: str, name: str, arrears: Decimal) -> str:
    return template.format(name=name, amount=f"GHS {format_amount(arrears)}")

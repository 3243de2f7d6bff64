"""Marshmallow fields shared by the domains' schemas."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from marshmallow import fields


class StorableString(fields.String):
    """Text the database can store: no NUL character (PostgreSQL refuses it) and no unpaired surrogate
    (JSON allows "\\ud800", UTF-8 does not). Refused here, the 422 names the field; the core's error
    handler would otherwise only catch it when the database refuses the whole statement."""

    default_error_messages = {
        "nul": "Must not contain NUL (0x00) characters.",
        "surrogate": "Must be valid Unicode text (no unpaired surrogates).",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise self.make_error("nul")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise self.make_error("surrogate") from error
        return text


class DateTimeUTC(fields.DateTime):
    """ISO 8601, read as UTC when it has no offset, returned in UTC. A date that has no UTC equivalent
    (year 1 with a positive offset, year 9999 with a negative one) is refused here, before any work."""

    default_error_messages = {"range": "Date out of range."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        try:
            return moment.astimezone(UTC)
        except OverflowError as error:
            raise self.make_error("range") from error


class EmailAddress(StorableString):
    """An e-mail address, trimmed, checked by email-validator (syntax only, no DNS) and returned
    normalised. A domain may word the error as its clients know it: error_messages={"invalid_email": ...}."""

    default_error_messages = {"invalid_email": "Not a valid email address: {reason}"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            return validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError as error:
            raise self.make_error("invalid_email", reason=str(error)) from error


class LaxInteger(fields.Integer):
    """An integer read as pydantic's lax mode reads one (the FastAPI backends the hub replaced did): a JSON
    integer, a JSON number with no fraction (`4.0`), or text: optional surrounding whitespace, an optional
    sign, ASCII digits and an optional `.` followed by zeros only (`"50000"`, `" 42 "`, `"+5"`, `"4.0"`).
    Refused: booleans, fractions, exponents, thousands separators (`"50,000"` could be read two ways),
    underscores, hexadecimal, non-ASCII digits, empty text. Bounds are the schema's (a Range validator);
    text of more than MAX_DIGITS significant digits is refused without being converted."""

    MAX_DIGITS = 4300  # Python's own limit for int(str); far beyond any column

    def _validated(self, value: Any) -> int:
        if isinstance(value, str):
            return self._from_text(value)
        if isinstance(value, float):
            if not value.is_integer():  # also NaN and infinities
                raise self.make_error("invalid", input=value)
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid", input=value)
        return value

    def _from_text(self, text: str) -> int:
        match = _INTEGER_TEXT.fullmatch(text.strip())
        if match is None:
            raise self.make_error("invalid", input=text)
        sign, digits = match.group("sign"), match.group("digits").lstrip("0") or "0"
        if len(digits) > self.MAX_DIGITS:
            raise self.make_error("too_large", input=text)
        return -int(digits) if sign == "-" else int(digits)


class LaxNumber(fields.Float):
    """A finite number read as pydantic's lax mode reads one: a JSON number, or text holding a decimal
    number (optional surrounding whitespace, sign, fraction and exponent: `"12000.50"`, `"1e3"`, `".5"`),
    returned as a float. Refused: booleans, NaN and infinities (as JSON tokens or as text such as `"NaN"`,
    `"inf"`), numbers too large for a float (`1e400`), thousands separators, underscores, hexadecimal,
    non-ASCII digits, empty text."""

    MAX_TEXT = 4300

    def _validated(self, value: Any) -> float:
        if isinstance(value, str):
            text = value.strip()
            if len(text) > self.MAX_TEXT or _NUMBER_TEXT.fullmatch(text) is None:
                raise self.make_error("invalid", input=value)
            value = text
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid", input=value)
        elif isinstance(value, float) and not math.isfinite(value):
            raise self.make_error("special")
        try:
            number = float(value)
        except OverflowError as error:  # an integer beyond a float's range
            raise self.make_error("too_large", input=value) from error
        if not math.isfinite(number):  # text such as "1e400"
            raise self.make_error("too_large", input=value)
        return number


_INTEGER_TEXT = re.compile(r"(?P<sign>[+-]?)(?P<digits>[0-9]+)(?:\.0*)?")
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class CanonicalChoice(StorableString):
    """One of `choices`, matched regardless of ASCII letter case and surrounding whitespace, and returned
    in its canonical spelling (`"email"` -> `"Email"`, `"In_Progress"` -> `"in_progress"`). Only ASCII text
    can match: no Unicode case folding turns another letter into one of the choices' (`"ſubscribed"`)."""

    default_error_messages = {"invalid_choice": "Must be one of: {choices}."}

    def __init__(self, choices: Iterable[str], **kwargs: Any):
        self.choices = tuple(choices)
        metadata = {"enum": list(self.choices), **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self._canonical = {choice.lower(): choice for choice in self.choices}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        canonical = self._canonical.get(text.lower()) if text.isascii() else None
        if canonical is None:
            raise self.make_error("invalid_choice", choices=", ".join(self.choices))
        return canonical

"""Marshmallow fields shared by the domains' schemas."""

from __future__ import annotations

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

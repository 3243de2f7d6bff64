"""Marshmallow fields that clean customer data on load (see normalise.py) and shape it on dump."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from modules.core.paging import MAX_OFFSET
from modules.core.types import isoformat
from modules.insight import normalise
from modules.insight.cells import text_of


class _Normalised(fields.String):
    def clean(self, text: str) -> Any:
        raise NotImplementedError

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        try:
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                # Spreadsheets turn account and phone numbers into numbers (241234567.0), or into a rounded
                # number in scientific notation once exported (1.23457E+15): see cells.text_of.
                value = text_of(value)
            return self.clean(super()._deserialize(value, attr, data, **kwargs))
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class PersonName(_Normalised):
    def clean(self, text: str) -> str:
        return normalise.normalise_name(text)


class AccountNumber(_Normalised):
    def clean(self, text: str) -> str:
        return normalise.normalise_account_number(text)


class Phone(_Normalised):
    """Loads to the stored national form for DEFAULT_PHONE_REGION."""

    def clean(self, text: str) -> str:
        return normalise.normalise_phone(text, current_app.config["DEFAULT_PHONE_REGION"])


class Amount(fields.Field):
    """Loads a number or a numeric text as a 2-decimal Decimal; dumps the text `"120.50"`."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        if not isinstance(value, (str, int, float)):
            raise ValidationError("Not a valid amount.")
        try:
            return normalise.parse_amount(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else normalise.format_amount(value)


class Timestamp(fields.Field):
    """ISO 8601 in UTC with a `Z`."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return isoformat(value)


def page_number() -> fields.Integer:
    """A list's `page`, from 1 (see PagedQuery)."""
    return fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))


def page_limit() -> fields.Integer:
    return fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class PagedQuery:
    """Part of a list's query schema, whose `page` and `limit` fields are page_number() and page_limit(): a page
    may start at most the core's MAX_OFFSET rows in, the bound of offset paging everywhere in the hub."""

    @validates_schema
    def refuse_deep_pages(self, data: Mapping[str, Any], **_kwargs: Any) -> None:
        if (data["page"] - 1) * data["limit"] > MAX_OFFSET:
            raise ValidationError(f"A page may start at most {MAX_OFFSET} rows in: narrow the list instead.", "page")


class PageSchema(Schema):
    """The list envelope the front end reads: {"data", "total", "page", "limit", "pages"}."""

    total = fields.Integer()
    page = fields.Integer()
    limit = fields.Integer()
    pages = fields.Integer()

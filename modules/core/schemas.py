"""Schemas of the core endpoints (they are also the OpenAPI documentation), and the base of every
domain's request schemas."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from modules.core.fields import LaxInteger


class RequestSchema(Schema):
    """Base of every request body and query schema: unknown keys are ignored (as the FastAPI backends the
    hub replaced did), and `null` in an optional field means "not given", in every domain. Real clients
    send it: pydantic's `.dict()` writes `"email": null`, front ends send `"name": null` for an untouched
    field. The key is dropped before loading, so the field's default applies (or, in an update, the stored
    value stays). A required field given null is still refused, and a field declared `allow_none` (or with
    `load_default=None`) keeps its null."""

    class Meta:
        unknown = EXCLUDE

    @pre_load(pass_collection=True)
    def null_means_not_given(self, data: Any, many: bool, **_kwargs: Any) -> Any:
        """Per item for a list schema; whatever is not an object (or a list of them) is left to the
        schema's own type check, which answers it with a 422."""
        if many:
            return [self._without_nulls(item) for item in data] if isinstance(data, list) else data
        return self._without_nulls(data)

    def _without_nulls(self, data: Any) -> Any:
        if not isinstance(data, dict) or None not in data.values():
            return data
        dropped = self._null_dropped_keys()
        return {key: value for key, value in data.items() if value is not None or key not in dropped}

    def _null_dropped_keys(self) -> frozenset[str]:
        """Input keys of the optional fields whose null means "not given"; worked out once per schema
        instance (an ingest view reuses one)."""
        if "_dropped" not in self.__dict__:
            self._dropped = frozenset(field.data_key or name for name, field in self.load_fields.items()
                                      if not field.required and not field.allow_none)
        return self._dropped


class HealthSchema(Schema):
    status = fields.String(metadata={"description": "ok, or unavailable when the database is down"})
    version = fields.String()
    timestamp = fields.String()
    database = fields.String()
    redis = fields.String()
    workers = fields.Integer(metadata={"description": "RQ workers with a live heartbeat"})
    scheduler_running = fields.Boolean()
    outbox = fields.Dict(keys=fields.String(), values=fields.Integer())
    alerts = fields.List(fields.Dict(keys=fields.String(), values=fields.String()), metadata={
        "description": "outbox alerts that could not be mailed: [{destination, alert, at}] (docs/operations.md)"})


class LoginSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class DetailSchema(Schema):
    detail = fields.Raw()


MAX_OFFSET = 10_000_000  # past this an OFFSET scan costs the database more than any operator's page is worth


def limit_field(default: int = 50, maximum: int = 200) -> LaxInteger:
    return LaxInteger(load_default=default, validate=validate.Range(min=1, max=maximum))


def offset_field() -> LaxInteger:
    return LaxInteger(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


class PageQuerySchema(RequestSchema):
    """`?limit=&offset=` of a list (see modules/core/paging.py)."""

    limit = limit_field()
    offset = offset_field()


class PageSchema(Schema):
    """The head of a page of a list: {"total", "limit", "offset"}; subclasses add the list itself."""

    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()

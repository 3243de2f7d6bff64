"""The base of request schemas: null in an optional field means "not given", whatever the body's shape."""

import pytest
from marshmallow import ValidationError, fields

from modules.core.schemas import RequestSchema


class Contact(RequestSchema):
    name = fields.String(required=True)
    email = fields.String()
    source = fields.String(load_default="website")
    note = fields.String(load_default=None)


def test_null_in_an_optional_field_means_not_given():
    assert Contact().load({"name": "Ada", "email": None, "source": None, "note": None, "extra": None}) == {
        "name": "Ada", "source": "website", "note": None}


def test_null_in_a_required_field_is_refused():
    with pytest.raises(ValidationError) as refused:
        Contact().load({"name": None})
    assert refused.value.messages == {"name": ["Field may not be null."]}


def test_a_list_schema_drops_nulls_per_item():
    assert Contact(many=True).load([{"name": "Ada", "source": None}, {"name": "Ben"}]) == [
        {"name": "Ada", "source": "website", "note": None}, {"name": "Ben", "source": "website", "note": None}]


@pytest.mark.parametrize("body", [None, {"name": "Ada"}, "text", 5, [None], [[]]])
def test_a_list_schema_given_something_else_is_a_validation_error_not_a_crash(body):
    with pytest.raises(ValidationError):
        Contact(many=True).load(body)

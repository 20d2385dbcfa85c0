"""The OpenAPI document's request schema and the reader name the same members, and each member
the document declares is read with the type it declares."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from marshmallow import Schema, fields

from pdp.engine.request import Unreadable
from pdp.vocabulary import XACML_REQUEST_MEMBERS
from pdp.xacml import parse
from pdp.xacml.schema import (
    AttributeSchema,
    CategorySchema,
    MultiRequestsSchema,
    RequestReferenceSchema,
    RequestSchema,
    XacmlRequestSchema,
)

#: Where the reader's messages place each level of the schema in `SKELETON`.
LEVELS: dict[type[Schema], str] = {
    XacmlRequestSchema: "",
    RequestSchema: "Request",
    CategorySchema: "Request.AccessSubject[0]",
    AttributeSchema: "Request.AccessSubject[0].Attribute[0]",
    MultiRequestsSchema: "Request.MultiRequests",
    RequestReferenceSchema: "Request.MultiRequests.RequestReference[0]",
}
SKELETON = {
    "Request": {
        "AccessSubject": [{"Attribute": [{"AttributeId": "a", "Value": "v"}]}],
        "MultiRequests": {"RequestReference": [{"ReferenceId": ["x"]}]},
    }
}
#: Members of the profile the reader walks but does not read.
UNREAD = {"XPathVersion", "Content"}


def declared() -> list[tuple[type[Schema], str, fields.Field]]:
    return [
        (level, name, field) for level in LEVELS for name, field in level._declared_fields.items()
    ]


def test_the_document_declares_every_member_the_reader_reads():
    assert {name for _, name, _ in declared()} == set(XACML_REQUEST_MEMBERS) - UNREAD


def wrong(field: fields.Field) -> tuple[Any, str]:
    """A value of the wrong type for `field`, and where and how the reader says so."""
    if isinstance(field, fields.String | fields.Boolean):
        kind = "string" if isinstance(field, fields.String) else "boolean"
        return {"not": kind}, f": Not a valid {kind}"
    if isinstance(field, fields.List):
        return "text", ": Not a valid list"
    if isinstance(field, fields.Nested):
        return "text", ": Invalid input type"
    return "text", "[0]: Invalid input type"  # one object or a list of them


@pytest.mark.parametrize(
    ("level", "name", "field"),
    [entry for entry in declared() if not isinstance(entry[2], fields.Raw)],
    ids=lambda value: getattr(value, "__name__", value if isinstance(value, str) else ""),
)
def test_each_declared_member_is_read_with_its_type(level, name, field):
    body = copy.deepcopy(SKELETON)
    container: Any = body
    for step in filter(None, LEVELS[level].replace("[0]", ".0").split(".")):
        container = container[int(step) if step.isdigit() else step]
    value, message = wrong(field)
    container[name] = value
    (item,) = parse(body).items
    assert isinstance(item.request, Unreadable)
    place = f"{LEVELS[level]}.{name}".lstrip(".")
    assert f"{place}{message}" in item.request.message


@pytest.mark.parametrize(
    ("level", "name"),
    [(level, name) for level, name, field in declared() if field.required],
)
def test_each_required_member_is_required_by_the_reader(level, name):
    body = copy.deepcopy(SKELETON)
    container: Any = body
    for step in filter(None, LEVELS[level].replace("[0]", ".0").split(".")):
        container = container[int(step) if step.isdigit() else step]
    del container[name]
    (item,) = parse(body).items
    place = f"{LEVELS[level]}.{name}".lstrip(".")
    assert f"{place}: Missing data for required field" in item.request.message

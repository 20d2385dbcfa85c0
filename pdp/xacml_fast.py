"""The common, well-formed XACML JSON request read by hand, a dozen times faster than marshmallow.

`pdp.xacml` reads a request in two steps: its keys are made canonical (case-insensitively, a
clash refused), then `XacmlRequestSchema` validates and loads it. Both cost far more than the
decision itself once decisions are cached. `load` does the same for the requests PEPs actually
send, and declines (returns None) for anything else, which then takes the schema's path, so
every malformed request gets exactly the message it always got.

It accepts only:
- members that are fields of the schema at their level, in any casing, each at most once
  (no unknown members: those the schema ignores may hide a key clash the slow path reports);
- booleans that are JSON booleans, strings that are strings, categories and attributes that
  are objects (one, or a list), attribute values that are scalars or lists of scalars.

What it returns is what `XacmlRequestSchema().load(canonical)["Request"]` returns for the same
body; tests/test_xacml_fast.py compares the two on thousands of random bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SCALARS = (str, bool, int, float, type(None))


class _Declined(Exception):
    """The body is not the common well-formed case; the schema reads it."""


class _Fields:
    """The fields of one schema level: their canonical names, and those by case-folded name."""

    def __init__(self, *names: str):
        self.canonical = frozenset(names)
        self.folded = {name.casefold(): name for name in names}


_BODY = _Fields("Request")
_REQUEST = _Fields(
    "ReturnPolicyIdList",
    "CombinedDecision",
    "AccessSubject",
    "Action",
    "Resource",
    "Environment",
    "Category",
    "MultiRequests",
)
_CATEGORY_MEMBERS = ("AccessSubject", "Action", "Resource", "Environment", "Category")
_CATEGORY = _Fields("CategoryId", "Id", "Attribute")
_ATTRIBUTE = _Fields("AttributeId", "Value", "DataType", "IncludeInResult", "Issuer")
_MULTI = _Fields("RequestReference")
_REFERENCE = _Fields("ReferenceId")


def load(body: Any) -> dict[str, Any] | None:
    """The loaded `Request` member of `body`, or None when the body needs the schema."""
    try:
        request = _members(body, _BODY).get("Request")
        if request is None:
            return None
        return _request(request)
    except _Declined:
        return None


def _members(value: Any, fields: _Fields) -> Mapping[str, Any]:
    """`value`'s members by canonical name; declined unless every key is one of `fields`, once."""
    if type(value) is not dict:
        raise _Declined
    if fields.canonical.issuperset(value):  # the usual spelling: nothing to rename
        return value
    members: dict[str, Any] = {}
    for key, item in value.items():
        name = fields.folded.get(key.casefold()) if type(key) is str else None
        if name is None or name in members:
            raise _Declined
        members[name] = item
    return members


def _request(value: Any) -> dict[str, Any]:
    members = _members(value, _REQUEST)
    request: dict[str, Any] = {
        "ReturnPolicyIdList": _boolean(members.get("ReturnPolicyIdList", False)),
        "CombinedDecision": _boolean(members.get("CombinedDecision", False)),
    }
    for member in _CATEGORY_MEMBERS:
        if member in members:
            request[member] = [_category(entry) for entry in _one_or_many(members[member])]
    if "MultiRequests" in members:
        request["MultiRequests"] = _multi_requests(members["MultiRequests"])
    return request


def _category(value: Any) -> dict[str, Any]:
    members = _members(value, _CATEGORY)
    category: dict[str, Any] = {}
    if "CategoryId" in members:
        category["CategoryId"] = _string(members["CategoryId"])
    if "Id" in members:
        identifier = members["Id"]
        category["Id"] = None if identifier is None else _string(identifier)
    category["Attribute"] = [
        _attribute(attribute) for attribute in _one_or_many(members.get("Attribute", []))
    ]
    return category


def _attribute(value: Any) -> dict[str, Any]:
    members = _members(value, _ATTRIBUTE)
    attribute_id = members.get("AttributeId")
    if type(attribute_id) is not str or not attribute_id or "Value" not in members:
        raise _Declined
    attribute = {"AttributeId": attribute_id, "Value": _value(members["Value"])}
    if len(members) == 2:  # the usual attribute: nothing else to read
        attribute["IncludeInResult"] = False
        return attribute
    if "DataType" in members:
        attribute["DataType"] = _optional_string(members["DataType"])
    attribute["IncludeInResult"] = _boolean(members.get("IncludeInResult", False))
    if "Issuer" in members:
        attribute["Issuer"] = _optional_string(members["Issuer"])
    return attribute


def _multi_requests(value: Any) -> dict[str, Any]:
    references = _members(value, _MULTI).get("RequestReference")
    if type(references) is not list or not references:
        raise _Declined
    return {"RequestReference": [_reference(reference) for reference in references]}


def _reference(value: Any) -> dict[str, Any]:
    ids = _members(value, _REFERENCE).get("ReferenceId")
    if type(ids) is not list or not ids or any(type(i) is not str for i in ids):
        raise _Declined
    return {"ReferenceId": list(ids)}


def _one_or_many(value: Any) -> list[Any]:
    return value if type(value) is list else [value]


def _boolean(value: Any) -> bool:
    if type(value) is not bool:
        raise _Declined
    return value


def _string(value: Any) -> str:
    if type(value) is not str:
        raise _Declined
    return value


def _optional_string(value: Any) -> str | None:
    return None if value is None else _string(value)


def _value(value: Any) -> Any:
    """An attribute value as the schema keeps it: a scalar, or a copy of a list of scalars."""
    if type(value) is list:
        if not all(type(item) in _SCALARS for item in value):
            raise _Declined
        return list(value)
    if type(value) not in _SCALARS:
        raise _Declined
    return value

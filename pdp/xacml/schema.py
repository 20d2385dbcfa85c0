"""The XACML JSON request body as a marshmallow schema, for the OpenAPI document only.

Requests are read by `pdp.xacml.reader`, by hand; this schema describes the same members to
clients (tests/xacml/test_schema.py keeps the two in step). Keys are matched case-insensitively
by the reader; the document spells them canonically.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate


class _OneOrMany(fields.Field):
    """A JSON profile member that may be one object of `inner` or a list of them."""

    def __init__(self, inner: fields.Nested, **kwargs: Any):
        name = inner.nested.__name__.removesuffix("Schema")  # type: ignore[union-attr]
        super().__init__(
            metadata={"description": f"One {name} object, or a list of them"}, **kwargs
        )
        self.inner = inner


class AttributeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    AttributeId = fields.String(required=True, validate=validate.Length(min=1))
    Value = fields.Raw(required=True, allow_none=True)
    DataType = fields.String(allow_none=True)
    IncludeInResult = fields.Boolean(load_default=False)
    Issuer = fields.String(allow_none=True)


class CategorySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    CategoryId = fields.String()
    Id = fields.String(allow_none=True)
    Attribute = _OneOrMany(fields.Nested(AttributeSchema), load_default=list)


class RequestReferenceSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    ReferenceId = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class MultiRequestsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    RequestReference = fields.List(
        fields.Nested(RequestReferenceSchema), required=True, validate=validate.Length(min=1)
    )


class RequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    ReturnPolicyIdList = fields.Boolean(load_default=False)
    CombinedDecision = fields.Boolean(load_default=False)
    AccessSubject = _OneOrMany(fields.Nested(CategorySchema))
    Action = _OneOrMany(fields.Nested(CategorySchema))
    Resource = _OneOrMany(fields.Nested(CategorySchema))
    Environment = _OneOrMany(fields.Nested(CategorySchema))
    Category = _OneOrMany(fields.Nested(CategorySchema))
    MultiRequests = fields.Nested(MultiRequestsSchema)


class XacmlRequestSchema(Schema):
    """`{"Request": {...}}`, the body of `POST /authorization/api/v1/authorize`."""

    class Meta:
        unknown = EXCLUDE

    Request = fields.Nested(RequestSchema, required=True)

"""`POST /api/v1/decision`: decisions in py-abac's own request shape, for Python callers.

    {"subject":  {"id": "urn:altinn:person:identifier-no:02056260016", "attributes": {}},
     "resource": {"id": "urn:altinn:accesspackage:maskinlesbarehendelser",
                  "attributes": {"party": "910459880"}},
     "action":   {"id": "access", "attributes": {}},
     "context":  {}}

`subject.attributes.roles` (ER role codes) may state the subject's roles for the party; without
it they come from the register. Every field is checked; a malformed one is a 400 naming it.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.error_handler import ErrorSchema
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from pdp.api.auth import SCOPE_AUTHORIZE
from pdp.api.common import (
    ORGANIZATION_NUMBER_PATTERN,
    decide_and_log,
    load_json,
    takes_json_body,
)
from pdp.api.security import requires
from pdp.engine import DecisionRequest, RoleClaim
from pdp.errors import RequestSyntaxError
from pdp.identifiers import InvalidIdentifier, validate_organization_number
from pdp.subjects import identifier_field, parse_subject_urn
from pdp.vocabulary import ACTIONS, ROLECODE_ID, STATUS_SYNTAX_ERROR

blp = Blueprint(
    "decision",
    __name__,
    url_prefix="/api/v1",
    description="Decisions in py-abac's request shape, for Python callers",
)


class _SubjectAttributesSchema(Schema):
    class Meta:
        unknown = RAISE

    roles = fields.List(
        fields.String(validate=validate.Length(min=1)),
        metadata={"description": "ER role codes the subject holds for the party (e.g. DAGL)"},
    )


class _SubjectSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(
        required=True,
        metadata={
            "description": "urn:altinn:person:identifier-no:<id> or "
            "urn:altinn:organization:identifier-no:<id>",
            "pattern": "^urn:altinn:(person:identifier-no:[0-9]{11}"
            "|organization:identifier-no:[0-9]{9})$",
        },
    )
    attributes = fields.Nested(_SubjectAttributesSchema, load_default=dict)

    @validates("id")
    def _valid_subject(self, value: str, **_: Any) -> None:
        try:
            parse_subject_urn(value)
        except InvalidIdentifier as error:
            raise ValidationError(str(error)) from None


class _ResourceAttributesSchema(Schema):
    class Meta:
        unknown = RAISE

    party = identifier_field(
        validate_organization_number,
        required=True,
        metadata={
            "description": "organisation number of the party acted for",
            "pattern": ORGANIZATION_NUMBER_PATTERN,
        },
    )


class _ResourceSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=300),
        metadata={"description": "access package URN or code"},
    )
    attributes = fields.Nested(_ResourceAttributesSchema, required=True)


class _ActionSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    attributes = fields.Dict(
        load_default=dict,
        validate=validate.Length(max=0),
        metadata={"maxProperties": 0, "description": "none are known: empty"},
    )


class DecisionRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    subject = fields.Nested(_SubjectSchema, required=True)
    resource = fields.Nested(_ResourceSchema, required=True)
    action = fields.Nested(_ActionSchema, required=True)
    context = fields.Dict(load_default=dict)


class _PolicySchema(Schema):
    uid = fields.String()
    description = fields.String()


class DecisionResponseSchema(Schema):
    decision = fields.String(
        metadata={"description": "Permit, Deny, NotApplicable or Indeterminate"}
    )
    status = fields.String(metadata={"description": "XACML status code"})
    message = fields.String()
    policies = fields.List(fields.Nested(_PolicySchema))
    version = fields.Integer(allow_none=True, metadata={"description": "policy-set version"})
    package = fields.String(
        metadata={"description": "the package's current URN (the request may name a former one)"}
    )


#: The README's example: may Paula use Maskinlesbare hendelser for 910459880?
DECISION_EXAMPLE = {
    "subject": {"id": "urn:altinn:person:identifier-no:02056260016", "attributes": {}},
    "resource": {"id": "maskinlesbarehendelser", "attributes": {"party": "910459880"}},
    "action": {"id": "access", "attributes": {}},
    "context": {},
}


@blp.route("/decision", methods=["POST"])
@requires(SCOPE_AUTHORIZE)
@blp.doc(
    requestBody={
        "required": True,
        "content": {
            "application/json": {"schema": DecisionRequestSchema, "example": DECISION_EXAMPLE}
        },
    }
)
@takes_json_body
@blp.response(200, DecisionResponseSchema)
@blp.alt_response(
    400, schema=ErrorSchema, description="A field is malformed (the body names it), or not JSON"
)
def decide():
    """Decide one request in py-abac's shape; the answer names the deciding policies."""
    body = load_json(DecisionRequestSchema())
    roles = body["subject"]["attributes"].get("roles")
    request = DecisionRequest(
        subject=parse_subject_urn(body["subject"]["id"]),
        party=body["resource"]["attributes"]["party"],
        package=body["resource"]["id"],
        action=body["action"]["id"],
        role_claims=None
        if roles is None
        else tuple(RoleClaim(ROLECODE_ID, code) for code in roles),
    )
    (result,) = decide_and_log([request])
    if result.status == STATUS_SYNTAX_ERROR:
        raise RequestSyntaxError(result.message)
    answer = {
        "decision": result.decision,
        "status": result.status,
        "policies": [
            {"uid": policy.uid, "description": policy.description} for policy in result.policies
        ],
        "version": result.version,
    }
    if result.package:
        answer["package"] = result.package
    if result.message:
        answer["message"] = result.message
    return answer

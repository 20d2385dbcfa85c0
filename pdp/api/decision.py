"""`POST /api/v1/decision`: decisions in py-abac's own request shape, for Python callers.

For an access package:

    {"subject":  {"id": "urn:altinn:person:identifier-no:02056260016", "attributes": {}},
     "resource": {"id": "urn:altinn:accesspackage:maskinlesbarehendelser",
                  "attributes": {"party": "910459880"}},
     "action":   {"id": "access", "attributes": {}},
     "context":  {}}

`subject.attributes.roles` (ER role codes) may state the subject's roles for the party; without
it they come from the register. They are honoured only for a caller whose token has the scope
`pdp:stated-roles` (and not at all with `PDP_STATED_ROLES=false`); for any other caller the
answer is Indeterminate, processing-error, `minor_status` urn:pdp:status:stated-roles-refused,
with a message saying why.

For a service resource, decided under the resource's own XACML policy as
`/authorization/api/v1/authorize` decides it:

    {"subject":  {"id": "urn:altinn:systemuser:uuid:47caea5b-a80b-4343-b1d3-31eb523a4e28"},
     "resource": {"id": "urn:altinn:resource:ttd-example-api",
                  "attributes": {"party": "910459880"}},
     "action":   {"id": "read"}}

The subject may be named by any identifier the XACML reader accepts for a service resource
(national identity or organisation number, user id, person or party UUID, party id, system
user UUID), the party by its organisation number or as a URN (`urn:altinn:partyid:50005545`);
both are checked by the reader's own rules (`pdp.xacml.items`). A bare resource id names a
package for the package actions (`access`, `delegate`) and a service resource for any other;
the `urn:altinn:resource:` and `urn:altinn:accesspackage:` prefixes are never ambiguous. The
answer for a resource carries the policy's obligations and advice (an answer for a package has
neither, as before). Every field is checked; a malformed one is a 400 naming it.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.error_handler import ErrorSchema
from marshmallow import RAISE, Schema, fields, validate

from pdp.api.auth import SCOPE_AUTHORIZE
from pdp.api.common import current_pdp, decide_and_log, load_json, takes_json_body
from pdp.api.security import requires
from pdp.engine import DecisionRequest, RoleClaim
from pdp.engine.request import ResourceRequest
from pdp.errors import InvalidFields, RequestSyntaxError
from pdp.identifiers import (
    UUID_PATTERN,
    IdentifierRules,
    InvalidIdentifier,
    validate_organization_number,
)
from pdp.resource_policies import RESOURCE_ID_PATTERN, Expression
from pdp.subjects import parse_subject_urn
from pdp.vocabulary import (
    ACTIONS,
    LEGACY_ORGANIZATION_NUMBER_ID,
    ORGANIZATION_ID,
    PACKAGE_URN_PREFIX,
    PARTY_UUID_ID,
    PARTYID_ID,
    PERSON_ID,
    PERSON_UUID_ID,
    RESOURCE_URN_PREFIX,
    ROLECODE_ID,
    STATUS_SYNTAX_ERROR,
    SYSTEM_USER_UUID_ID,
    USERID_ID,
    typed_values,
)
from pdp.xacml.items import identifier_named, resource_request

blp = Blueprint(
    "decision",
    __name__,
    url_prefix="/api/v1",
    description="Decisions in py-abac's request shape, for Python callers",
)

#: The form of each identifier's value (its check digits are checked as well).
_VALUE_FORMS = {
    PERSON_ID: "[0-9]{11}",
    ORGANIZATION_ID: "[0-9]{9}",
    LEGACY_ORGANIZATION_NUMBER_ID: "[0-9]{9}",
    USERID_ID: "[0-9]{1,18}",
    PARTYID_ID: "[0-9]{1,18}",
    PERSON_UUID_ID: UUID_PATTERN.strip("^$"),
    PARTY_UUID_ID: UUID_PATTERN.strip("^$"),
    SYSTEM_USER_UUID_ID: UUID_PATTERN.strip("^$"),
}


def _one_of(*forms: str) -> str:
    return f"^({'|'.join(forms)})$"


def _urn(attribute_id: str) -> str:
    return f"{attribute_id}:{_VALUE_FORMS[attribute_id]}"


#: A subject id: an identifier's attribute id with its value appended.
SUBJECT_ID_PATTERN = _one_of(*map(_urn, _VALUE_FORMS))
#: A party: a bare organisation number, or an identifier of a party as a URN.
PARTY_PATTERN = _one_of(
    _VALUE_FORMS[ORGANIZATION_ID],
    *map(
        _urn,
        (ORGANIZATION_ID, LEGACY_ORGANIZATION_NUMBER_ID, PERSON_ID, PARTYID_ID, PARTY_UUID_ID),
    ),
)


class _SubjectAttributesSchema(Schema):
    class Meta:
        unknown = RAISE

    roles = fields.List(
        fields.String(validate=validate.Length(min=1)),
        metadata={
            "description": "ER role codes the subject holds for the party (e.g. DAGL); for an "
            "access package only (for a service resource the PDP works them out itself); "
            "honoured only for a token with the scope pdp:stated-roles, else Indeterminate"
        },
    )


class _SubjectSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(
        required=True,
        validate=validate.Regexp(SUBJECT_ID_PATTERN),
        metadata={
            "description": "the subject as <attribute id>:<value>: for an access package "
            f"{PERSON_ID}, {ORGANIZATION_ID} or {SYSTEM_USER_UUID_ID}; for a service resource "
            "also "
            f"{LEGACY_ORGANIZATION_NUMBER_ID}, {USERID_ID}, {PERSON_UUID_ID}, {PARTY_UUID_ID} "
            f"or {PARTYID_ID}"
        },
    )
    attributes = fields.Nested(_SubjectAttributesSchema, load_default=dict)


class _ResourceAttributesSchema(Schema):
    class Meta:
        unknown = RAISE

    party = fields.String(
        required=True,
        validate=validate.Regexp(PARTY_PATTERN),
        metadata={
            "description": "the party acted for: its organisation number; for a service "
            f"resource also as {ORGANIZATION_ID}:<number>, {PERSON_ID}:<number>, "
            f"{PARTYID_ID}:<id> or {PARTY_UUID_ID}:<uuid>"
        },
    )


class _ResourceSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=300),
        metadata={
            "description": f"an access package ({PACKAGE_URN_PREFIX}<code>), or a service "
            f"resource ({RESOURCE_URN_PREFIX}<id>); a bare id is a package code for the "
            "actions access and delegate, a resource id for any other"
        },
    )
    attributes = fields.Nested(_ResourceAttributesSchema, required=True)


class _ActionSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=300),
        metadata={
            "description": "access or delegate for an access package; for a service resource "
            "an action its policy names (read, write, ...)"
        },
    )
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


class _AssignmentSchema(Schema):
    attribute_id = fields.String()
    value = fields.String(metadata={"description": "the value as the policy writes it"})
    data_type = fields.String()
    category = fields.String(allow_none=True)
    issuer = fields.String(allow_none=True)


class _ExpressionSchema(Schema):
    id = fields.String()
    assignments = fields.List(fields.Nested(_AssignmentSchema))


class DecisionResponseSchema(Schema):
    decision = fields.String(
        metadata={"description": "Permit, Deny, NotApplicable or Indeterminate"}
    )
    status = fields.String(metadata={"description": "XACML status code"})
    minor_status = fields.String(
        metadata={
            "description": "a more precise status under `status`, when there is one: "
            "urn:pdp:status:stated-roles-refused when the request states roles its caller may "
            "not state"
        }
    )
    message = fields.String()
    policies = fields.List(fields.Nested(_PolicySchema))
    version = fields.Integer(allow_none=True, metadata={"description": "policy-set version"})
    package = fields.String(
        metadata={"description": "the package's current URN (the request may name a former one)"}
    )
    obligations = fields.List(
        fields.Nested(_ExpressionSchema),
        metadata={
            "description": "for a service resource: what the PEP must do to act on the "
            "decision, from its policy (e.g. urn:altinn:minimum-authenticationlevel)"
        },
    )
    advice = fields.List(
        fields.Nested(_ExpressionSchema),
        metadata={"description": "for a service resource: its policy's advice"},
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
    """Decide one request in py-abac's shape, for an access package or a service resource;
    the answer names the deciding policies and carries the obligations."""
    body = load_json(DecisionRequestSchema())
    request = engine_request(body, current_pdp().identifier_rules)
    (result,) = decide_and_log([request])
    if result.status == STATUS_SYNTAX_ERROR:
        raise RequestSyntaxError(result.message)
    answer: dict[str, Any] = {
        "decision": result.decision,
        "status": result.status,
        "policies": [
            {"uid": policy.uid, "description": policy.description} for policy in result.policies
        ],
        "version": result.version,
    }
    if isinstance(request, ResourceRequest):
        answer["obligations"] = [_expression(obligation) for obligation in result.obligations]
        answer["advice"] = [_expression(advice) for advice in result.advice]
    if result.minor_status is not None:
        answer["minor_status"] = result.minor_status
    if result.package:
        answer["package"] = result.package
    if result.message:
        answer["message"] = result.message
    return answer


def engine_request(
    body: dict[str, Any], rules: IdentifierRules
) -> DecisionRequest | ResourceRequest:
    """The engine's request for a loaded body (also what `/api/v1/explain` explains);
    InvalidFields naming every field that cannot be right for the kind of request it is."""
    resource = _service_resource(body["resource"]["id"], body["action"]["id"])
    errors: dict[str, Any] = {}
    request: DecisionRequest | ResourceRequest | None
    if resource is None:
        request = _package_request(body, errors)
    else:
        request = _resource_request(body, resource, rules, errors)
    if request is None:
        raise InvalidFields("the request has malformed fields", errors)
    return request


def _service_resource(name: str, action: str) -> str | None:
    """The service resource `resource.id` names, None when it names an access package."""
    if name.startswith(RESOURCE_URN_PREFIX):
        return name.removeprefix(RESOURCE_URN_PREFIX)
    head = name[: len(PACKAGE_URN_PREFIX)]
    if (head.isascii() and head.lower() == PACKAGE_URN_PREFIX) or action in ACTIONS:
        return None
    return name


def _package_request(body: dict[str, Any], errors: dict[str, Any]) -> DecisionRequest | None:
    try:
        subject = parse_subject_urn(body["subject"]["id"])
    except InvalidIdentifier as error:
        _refuse(errors, ("subject", "id"), str(error))
    try:
        party = validate_organization_number(body["resource"]["attributes"]["party"])
    except InvalidIdentifier as error:
        _refuse(errors, ("resource", "attributes", "party"), f"for an access package: {error}")
    action = body["action"]["id"]
    if action not in ACTIONS:
        _refuse(errors, ("action", "id"), f"Must be one of: {', '.join(ACTIONS)}.")
    if errors:
        return None
    roles = body["subject"]["attributes"].get("roles")
    return DecisionRequest(
        subject=subject,
        party=party,
        package=body["resource"]["id"],
        action=action,
        role_claims=None
        if roles is None
        else tuple(RoleClaim(ROLECODE_ID, code) for code in roles),
    )


def _resource_request(
    body: dict[str, Any], resource: str, rules: IdentifierRules, errors: dict[str, Any]
) -> ResourceRequest | None:
    if not RESOURCE_ID_PATTERN.match(resource):
        _refuse(
            errors,
            ("resource", "id"),
            f"{resource!r} is not a resource id (lower-case letters, digits, - and _)",
        )
    if "roles" in body["subject"]["attributes"]:
        _refuse(
            errors,
            ("subject", "attributes", "roles"),
            "not for a service resource: the PDP works out the roles the subject holds for "
            "the party itself",
        )
    try:
        subject = identifier_named(body["subject"]["id"], rules=rules)
    except InvalidIdentifier as error:
        _refuse(errors, ("subject", "id"), str(error))
    party_named = body["resource"]["attributes"]["party"]
    if not party_named.startswith("urn:"):
        party_named = f"{ORGANIZATION_ID}:{party_named}"
    try:
        party = identifier_named(party_named, party=True, rules=rules)
    except InvalidIdentifier as error:
        _refuse(errors, ("resource", "attributes", "party"), str(error))
    environment = []
    for attribute_id, value in sorted(body["context"].items()):
        data_type, typed = typed_values(None, value if isinstance(value, list) else [value])
        if typed is None:
            _refuse(
                errors, ("context", attribute_id), "values must be strings, integers or booleans"
            )
        else:
            environment.append((attribute_id, data_type, tuple(typed)))
    if errors:
        return None
    return resource_request(subject, party, resource, body["action"]["id"], tuple(environment))


def _refuse(errors: dict[str, Any], path: tuple[str, ...], problem: str) -> None:
    """Record `problem` for the field at `path`, nested as marshmallow nests its messages."""
    *parents, name = path
    for step in parents:
        errors = errors.setdefault(step, {})
    errors.setdefault(name, []).append(problem)


def _expression(expression: Expression) -> dict[str, Any]:
    """An obligation or advice as this API writes it."""
    return {
        "id": expression.id,
        "assignments": [
            {
                "attribute_id": assignment.attribute_id,
                "value": assignment.value,
                "data_type": assignment.data_type,
                "category": assignment.category,
                "issuer": assignment.issuer,
            }
            for assignment in expression.assignments
        ],
    }

"""`/api/v1/delegations`: delegate an access package, list delegations, revoke one.

The PDP decides whether a delegator may delegate (action `delegate` through the compiled
policies); the answer codes are 201 made, 400 malformed (the body names the field), 403 not
permitted, 404 unknown id, 409 already held or already revoked, 503 undecidable.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.error_handler import ErrorSchema
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from pdp.api.auth import PERSON_CLAIM, SCOPE_DELEGATIONS, SCOPE_DELEGATIONS_ON_BEHALF
from pdp.api.common import (
    MAX_INTEGER,
    NATIONAL_IDENTITY_NUMBER_PATTERN,
    ORGANIZATION_NUMBER_PATTERN,
    audit_details,
    audited,
    current_pdp,
    load_json,
    takes_json_body,
)
from pdp.api.errors import ActingForAnother
from pdp.api.security import current_caller, requires
from pdp.delegations import Delegation
from pdp.errors import InvalidFields
from pdp.identifiers import (
    UUID_PATTERN,
    InvalidIdentifier,
    validate_national_identity_number,
    validate_organization_number,
    validate_uuid,
)
from pdp.subjects import (
    ORGANIZATION,
    PERSON,
    SYSTEM_USER,
    OneSubjectSchema,
    Subject,
    identifier_field,
    subject,
    subject_of,
)

blp = Blueprint(
    "delegations",
    __name__,
    url_prefix="/api/v1/delegations",
    description="Delegations of access packages: delegate, list, revoke",
)


class _RecipientSchema(OneSubjectSchema):
    """OneSubjectSchema with its identifiers' form documented, and a system user (by UUID) as
    a third kind of recipient."""

    person = identifier_field(
        validate_national_identity_number, metadata={"pattern": NATIONAL_IDENTITY_NUMBER_PATTERN}
    )
    organization = identifier_field(
        validate_organization_number, metadata={"pattern": ORGANIZATION_NUMBER_PATTERN}
    )
    system_user = identifier_field(
        validate_uuid,
        metadata={
            "description": "a system user owned by the party (its UUID)",
            "pattern": UUID_PATTERN,
        },
    )


class NewDelegationSchema(Schema):
    class Meta:
        unknown = RAISE

    party = identifier_field(
        validate_organization_number,
        required=True,
        metadata={
            "description": "organisation number of the party the package is held for",
            "pattern": ORGANIZATION_NUMBER_PATTERN,
        },
    )
    package = fields.String(
        required=True,
        validate=validate.Length(min=1, max=300),
        metadata={"description": "access package URN or code"},
    )
    delegator = identifier_field(
        validate_national_identity_number,
        metadata={
            "description": "national identity number of the person delegating; taken from the "
            "token's pid claim when it has one (and must then be that person, or be left out); "
            "a token without pid needs the scope pdp:delegations.on-behalf to name one",
            "pattern": NATIONAL_IDENTITY_NUMBER_PATTERN,
        },
    )
    recipient = fields.Nested(
        _RecipientSchema,
        required=True,
        metadata={
            "description": "exactly one of person, organization or system_user",
            "minProperties": 1,
            "maxProperties": 1,
        },
    )


class DelegationSchema(Schema):
    id = fields.String()
    party = fields.String()
    package = fields.String()
    delegator = fields.String()
    recipient = fields.Dict(keys=fields.String(), values=fields.String())
    created = fields.DateTime()
    revoked = fields.DateTime(allow_none=True)
    revoked_by = fields.String(allow_none=True)


class DelegationPageSchema(Schema):
    items = fields.List(fields.Nested(DelegationSchema))
    total = fields.Integer()


class DelegationQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    party = identifier_field(
        validate_organization_number, metadata={"pattern": ORGANIZATION_NUMBER_PATTERN}
    )
    recipient = fields.String(
        metadata={
            "description": "national identity number, organisation number or system user UUID",
            "pattern": f"^([0-9]{{9}}|[0-9]{{11}}|{UUID_PATTERN.strip('^$')})$",
        }
    )
    package = fields.String(validate=validate.Length(min=1, max=300))
    include_revoked = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_INTEGER))

    @validates("recipient")
    def _valid_recipient(self, value: str, **_: Any) -> None:
        _recipient(value)


class RevokeQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    revoked_by = identifier_field(
        validate_national_identity_number,
        metadata={
            "description": "national identity number of the person revoking; taken from the "
            "token's pid claim when it has one (and must then be that person, or be left out); "
            "a token without pid needs the scope pdp:delegations.on-behalf to name one",
            "pattern": NATIONAL_IDENTITY_NUMBER_PATTERN,
        },
    )


def acting_person(stated: str | None, field: str) -> Subject:
    """The person a delegation change is made by: the token's person when it names one (a
    token cannot act for someone else), else the person the request states (`field`), when
    the token may act in another's name (`pdp:delegations.on-behalf`). Also the console's
    rule."""
    caller = current_caller()
    person = caller.person
    if person is not None:
        if stated is not None and stated != person:
            raise ActingForAnother(f"{field} must be the token's person; a token acts for no other")
        return Subject(PERSON, person)
    if stated is None:
        raise InvalidFields(
            f"{field} is required when the token names no person",
            {field: ["Missing data for required field."]},
        )
    if SCOPE_DELEGATIONS_ON_BEHALF not in caller.scopes:
        raise ActingForAnother(
            f"the token names no person ({PERSON_CLAIM}), so it may act in the name of the "
            f"{field} only with the scope {SCOPE_DELEGATIONS_ON_BEHALF}"
        )
    return Subject(PERSON, stated)


def _recipient(value: str) -> Subject:
    """A recipient named by its bare identifier: 11 digits a person, 9 an organisation, a UUID
    a system user."""
    kind = {11: PERSON, 9: ORGANIZATION}.get(len(value), SYSTEM_USER)
    try:
        return subject(kind, value)
    except InvalidIdentifier as error:
        raise ValidationError(str(error)) from None


def _render(delegation: Delegation) -> dict[str, Any]:
    return {
        "id": delegation.id,
        "party": delegation.party,
        "package": delegation.package,
        "delegator": delegation.delegator,
        "recipient": {delegation.recipient.kind: delegation.recipient.identifier},
        "created": delegation.created_at,
        "revoked": delegation.revoked_at,
        "revoked_by": delegation.revoked_by,
    }


#: The README's example (examples/delegation.json): Paula gives Elena Maskinlesbare hendelser.
DELEGATION_EXAMPLE = {
    "party": "910459880",
    "package": "urn:altinn:accesspackage:maskinlesbarehendelser",
    "delegator": "02056260016",
    "recipient": {"person": "01025161013"},
}


@blp.route("", methods=["POST"])
@requires(SCOPE_DELEGATIONS)
@audited("delegation.create")
@blp.doc(
    requestBody={
        "required": True,
        "content": {
            "application/json": {"schema": NewDelegationSchema, "example": DELEGATION_EXAMPLE}
        },
    }
)
@takes_json_body
@blp.response(201, DelegationSchema)
@blp.alt_response(
    400,
    schema=ErrorSchema,
    description="A field is malformed or names an unknown package, or the recipient is a system "
    "user the party does not own",
)
@blp.alt_response(
    403,
    schema=ErrorSchema,
    description="The delegator may not delegate this package for the party, or the token may "
    "not act in the delegator's name",
)
@blp.alt_response(
    409, schema=ErrorSchema, description="The recipient already holds the package by delegation"
)
@blp.alt_response(503, schema=ErrorSchema, description="The PDP could not decide; nothing changed")
def create_delegation():
    """Delegate an access package, if the PDP permits the delegator action `delegate`."""
    body = load_json(NewDelegationSchema())
    delegator = acting_person(body.get("delegator"), "delegator")
    recipient = subject_of(body["recipient"])
    audit_details(
        party=body["party"],
        package=body["package"],
        delegator=delegator.identifier,
        recipient=recipient.urn,
    )
    delegation = current_pdp().delegate(
        party=body["party"],
        package=body["package"],
        delegator=delegator,
        recipient=recipient,
    )
    audit_details(delegation_id=delegation.id, package=delegation.package)
    return _render(delegation)


@blp.route("", methods=["GET"])
@requires(SCOPE_DELEGATIONS)
@blp.arguments(DelegationQuerySchema, location="query", error_status_code=400, unknown=RAISE)
@blp.response(200, DelegationPageSchema)
def list_delegations(query: dict[str, Any]):
    """List delegations, oldest first; revoked ones too with `include_revoked=true`."""
    page = current_pdp().find_delegations(
        party=query.get("party"),
        recipient=_recipient(query["recipient"]) if "recipient" in query else None,
        package=query.get("package"),
        include_revoked=query["include_revoked"],
        limit=query["limit"],
        offset=query["offset"],
    )
    return {"items": [_render(item) for item in page.items], "total": page.total}


@blp.route("/<delegation_id>", methods=["GET"])
@requires(SCOPE_DELEGATIONS)
@blp.response(200, DelegationSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No delegation has this id")
def get_delegation(delegation_id: str):
    """One delegation, revoked or not."""
    return _render(current_pdp().delegation(delegation_id))


@blp.route("/<delegation_id>", methods=["DELETE"])
@requires(SCOPE_DELEGATIONS)
@audited("delegation.revoke")
@blp.arguments(RevokeQuerySchema, location="query", error_status_code=400, unknown=RAISE)
@blp.response(200, DelegationSchema)
@blp.alt_response(
    403,
    schema=ErrorSchema,
    description="The person may not revoke this delegation, or the token may not act in their name",
)
@blp.alt_response(404, schema=ErrorSchema, description="No delegation has this id")
@blp.alt_response(409, schema=ErrorSchema, description="The delegation is already revoked")
@blp.alt_response(503, schema=ErrorSchema, description="The PDP could not decide; nothing changed")
def revoke_delegation(query: dict[str, Any], delegation_id: str):
    """Revoke a delegation (its delegator, or anyone permitted to delegate the package)."""
    revoker = acting_person(query.get("revoked_by"), "revoked_by")
    audit_details(revoked_by=revoker.identifier)
    return _render(current_pdp().revoke(delegation_id, revoker))

"""Who may act for whom: Altinn's authorized parties, and the holders of a package for a party.

`POST /accessmanagement/api/v1/resourceowner/authorizedparties` is Altinn's resource owners'
endpoint, with its body (`type`, `value`, `partyFilter`), query flags and answer
(`AuthorizedPartyExternal`); `GET /api/v1/parties/{organisation number}/holders` lists who
holds a package (or may perform an action on a resource) for a party, and how. Both are
computed by `pdp.reverse` through the `Pdp` facade; these views only read and render.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.error_handler import ErrorSchema
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from pdp.api.auth import SCOPE_ADMIN, SCOPE_AUTHORIZED_PARTIES
from pdp.api.common import current_pdp, load_json, takes_json_body
from pdp.api.security import requires
from pdp.errors import InvalidFields
from pdp.identifiers import IdentifierRules, InvalidIdentifier, validate_organization_number
from pdp.identities import Identifier
from pdp.resource_policies import RESOURCE_ID_PATTERN
from pdp.vocabulary import (
    ACTIONS,
    ORGANIZATION_ID,
    PARTY_UUID_ID,
    PARTYID_ID,
    PERSON_ID,
    PERSON_UUID_ID,
    SYSTEM_USER_UUID_ID,
    USERID_ID,
)
from pdp.xacml.items import identifier_named

altinn_blp = Blueprint(
    "authorizedparties",
    __name__,
    url_prefix="/accessmanagement/api/v1/resourceowner",
    description="For whom a subject may act, as Altinn's resource owners' API answers it",
)
blp = Blueprint(
    "parties",
    __name__,
    url_prefix="/api/v1/parties",
    description="Who holds a package, or may act on a resource, for a party, and how",
)

#: Who may be asked about, as Altinn names them.
SUBJECT_TYPES = (
    PERSON_ID,
    ORGANIZATION_ID,
    USERID_ID,
    PARTY_UUID_ID,
    PERSON_UUID_ID,
    SYSTEM_USER_UUID_ID,
)
#: What a party filter may name parties by; persons and organisations may not be mixed.
FILTER_TYPES = (ORGANIZATION_ID, PERSON_ID, PARTY_UUID_ID, PARTYID_ID)


class _PartyFilterSchema(Schema):
    class Meta:
        unknown = RAISE

    type = fields.String(required=True, validate=validate.OneOf(FILTER_TYPES))
    value = fields.String(required=True, validate=validate.Length(min=1, max=100))


class AuthorizedPartiesRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    type = fields.String(
        required=True,
        validate=validate.OneOf(SUBJECT_TYPES),
        metadata={"description": "what `value` is: one of Altinn's identifier URNs"},
    )
    value = fields.String(required=True, validate=validate.Length(min=1, max=100))
    partyFilter = fields.List(
        fields.Nested(_PartyFilterSchema),
        validate=validate.Length(max=1000),
        metadata={"description": "only these parties (organisations or persons, not both)"},
    )


class AuthorizedPartiesQuerySchema(Schema):
    """Altinn's query flags; `includeAltinn2`, `includeAltinn3` and `includeInstances` are
    accepted and change nothing (there are no Altinn 2 rights or instances here)."""

    class Meta:
        unknown = RAISE

    includeAccessPackages = fields.Boolean(load_default=False)
    includeRoles = fields.Boolean(load_default=True)
    includeResources = fields.Boolean(load_default=True)
    anyOfResourceIds = fields.List(
        fields.String(validate=validate.Regexp(RESOURCE_ID_PATTERN)),
        load_default=list,
        metadata={"description": "only parties where one of these resources is permitted"},
    )
    includeAltinn2 = fields.Boolean()
    includeAltinn3 = fields.Boolean()
    includeInstances = fields.Boolean()


class AuthorizedPartySchema(Schema):
    """Altinn's `AuthorizedPartyExternal`."""

    partyUuid = fields.String(allow_none=True)
    name = fields.String()
    organizationNumber = fields.String(allow_none=True)
    parentId = fields.String(allow_none=True)
    personId = fields.String(allow_none=True)
    dateOfBirth = fields.String(allow_none=True)
    partyId = fields.Integer(allow_none=True)
    type = fields.String(metadata={"description": "`Organization`"})
    unitType = fields.String(allow_none=True, metadata={"description": "organisation form"})
    isDeleted = fields.Boolean()
    onlyHierarchyElementWithNoAccess = fields.Boolean()
    authorizedAccessPackages = fields.List(fields.String(), metadata={"description": "codes"})
    authorizedResources = fields.List(fields.String())
    authorizedRoles = fields.List(fields.String(), metadata={"description": "ER role codes"})
    authorizedInstances = fields.List(fields.Dict())
    subunits = fields.List(fields.Dict())


#: The README's example: Paula, daglig leder of 910459880.
AUTHORIZED_PARTIES_EXAMPLE = {"type": PERSON_ID, "value": "02056260016"}


@altinn_blp.route("/authorizedparties", methods=["POST"])
@requires(SCOPE_AUTHORIZED_PARTIES, SCOPE_ADMIN)
@altinn_blp.arguments(
    AuthorizedPartiesQuerySchema, location="query", error_status_code=400, unknown=RAISE
)
@altinn_blp.doc(
    requestBody={
        "required": True,
        "content": {
            "application/json": {
                "schema": AuthorizedPartiesRequestSchema,
                "example": AUTHORIZED_PARTIES_EXAMPLE,
            }
        },
    }
)
@takes_json_body
@altinn_blp.response(200, AuthorizedPartySchema(many=True))
@altinn_blp.alt_response(
    400, schema=ErrorSchema, description="A field is malformed (the body names it), or not JSON"
)
def authorized_parties(query: dict[str, Any]):
    """The parties a person, organisation or system user may act for, with the roles,
    access packages and resources it holds at each (Altinn's `AuthorizedPartyExternal`)."""
    pdp = current_pdp()
    body = load_json(AuthorizedPartiesRequestSchema())
    rules = pdp.identifier_rules
    errors: dict[str, Any] = {}
    who = None
    try:
        who = identifier_named(f"{body['type']}:{body['value']}", rules=rules)
    except InvalidIdentifier as error:
        errors["value"] = [str(error)]
    party_filter = None
    if "partyFilter" in body:
        party_filter, problems = _party_filter(body["partyFilter"], rules)
        if problems:
            errors["partyFilter"] = problems
    if errors or who is None:
        raise InvalidFields("the request has malformed fields", errors)
    found = pdp.authorized_parties(
        who,
        resources=query["includeResources"],
        any_of_resources=query["anyOfResourceIds"],
        party_filter=party_filter,
    )
    return [
        access.altinn(
            roles=query["includeRoles"],
            packages=query["includeAccessPackages"],
            resources=query["includeResources"] or bool(query["anyOfResourceIds"]),
        )
        for access in found
    ]


def _party_filter(
    entries: list[dict[str, str]], rules: IdentifierRules
) -> tuple[list[Identifier], Any]:
    """The filter's identifiers, or the problems with it: each entry's value checked as its
    type says; organisations and persons not both."""
    identifiers, problems = [], {}
    for index, entry in enumerate(entries):
        try:
            identifiers.append(identifier_named(f"{entry['type']}:{entry['value']}", rules=rules))
        except InvalidIdentifier as error:
            problems[index] = {"value": [str(error)]}
    kinds = {entry["type"] for entry in entries} & {ORGANIZATION_ID, PERSON_ID}
    if len(kinds) > 1:
        return identifiers, [
            f"name organisations ({ORGANIZATION_ID}) or persons ({PERSON_ID}), not both"
        ]
    return identifiers, problems


class HoldersQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    package = fields.String(
        validate=validate.Length(min=1, max=300),
        metadata={"description": "access package URN or code"},
    )
    resource = fields.String(
        validate=validate.Regexp(RESOURCE_ID_PATTERN), metadata={"description": "resource id"}
    )
    action = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "for a package `access` (default) or `delegate`; for a "
            "resource one of its policy's actions (required)"
        },
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))

    @validates_schema
    def _one_target(self, data: dict[str, Any], **_: Any) -> None:
        if ("package" in data) == ("resource" in data):
            raise ValidationError("give exactly one of `package` or `resource`", "package")
        if "resource" in data and "action" not in data:
            raise ValidationError("a resource's holders are asked for one action", "action")
        if "package" in data and data.get("action", "access") not in ACTIONS:
            raise ValidationError(f"Must be one of: {', '.join(ACTIONS)}.", "action")


class WaySchema(Schema):
    how = fields.String(metadata={"description": "role, delegation or key_role"})
    role = fields.String()
    via = fields.String(metadata={"description": "the recipient organisation of a key role"})
    delegation = fields.Dict()


class HolderSchema(Schema):
    subject = fields.Dict(metadata={"description": "kind, identifier, urn"})
    ways = fields.List(fields.Nested(WaySchema))


class HolderPageSchema(Schema):
    party = fields.String()
    package = fields.String()
    resource = fields.String()
    action = fields.String()
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()
    holders = fields.List(fields.Nested(HolderSchema))


@blp.route("/<organization>/holders", methods=["GET"])
@requires(SCOPE_ADMIN)
@blp.arguments(HoldersQuerySchema, location="query", error_status_code=400, unknown=RAISE)
@blp.response(200, HolderPageSchema)
@blp.alt_response(
    400, schema=ErrorSchema, description="The organisation number or a parameter is malformed"
)
def list_holders(query: dict[str, Any], organization: str):
    """Everyone who holds the package (or may perform the action on the resource) for the
    organisation, each with how: an ER role, a delegation, a key role in a recipient
    organisation, a system user's delegation. Ordered by subject, one page at a time."""
    try:
        party = validate_organization_number(organization)
    except InvalidIdentifier as error:
        problems = {"organization": [str(error)]}
        raise InvalidFields("the request has malformed fields", problems) from None
    action = query.get("action", "access")
    page = current_pdp().holders(
        party,
        package=query.get("package"),
        resource=query.get("resource"),
        action=action,
        limit=query["limit"],
        offset=query["offset"],
    )
    return {
        "party": party,
        **({"package": query["package"]} if "package" in query else {}),
        **({"resource": query["resource"]} if "resource" in query else {}),
        "action": action,
        "total": page.total,
        "limit": query["limit"],
        "offset": query["offset"],
        "holders": [holder.data() for holder in page.items],
    }

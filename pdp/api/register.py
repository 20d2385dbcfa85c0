"""`/api/v1/register/imports`: import organisations and their ER roles, persons and system
users over HTTP (pdp:admin).

The same document and the same all-or-nothing import as `pdp register import`: organisations,
persons and system users in the document replace their earlier entries (an organisation's
roles and party ids with it); anything invalid refuses the whole document with every problem
named (422).
"""

from __future__ import annotations

from flask_smorest import Blueprint
from flask_smorest.error_handler import ErrorSchema
from marshmallow import Schema, fields

from pdp.api.auth import SCOPE_ADMIN
from pdp.api.common import (
    NATIONAL_IDENTITY_NUMBER_PATTERN,
    ORGANIZATION_NUMBER_PATTERN,
    audit_details,
    audited,
    current_pdp,
    json_body,
    takes_json_body,
)
from pdp.api.security import requires
from pdp.identifiers import UUID_PATTERN

blp = Blueprint(
    "register",
    __name__,
    url_prefix="/api/v1/register",
    description="The register of organisations and ER role holders (pdp:admin)",
)


class ImportedSchema(Schema):
    organizations = fields.Integer()
    role_assignments = fields.Integer()
    persons = fields.Integer()
    system_users = fields.Integer()


class _RegisterProblemSchema(Schema):
    path = fields.String(metadata={"description": "e.g. organizations[2].roles[0].person"})
    problem = fields.String()


class InvalidRegisterSchema(ErrorSchema):
    errors = fields.List(fields.Nested(_RegisterProblemSchema))


_ROLE_HOLDER = {
    "type": "object",
    "required": ["code"],
    "properties": {
        "code": {"type": "string", "minLength": 1, "description": "ER role code, e.g. DAGL"},
        "person": {"type": "string", "pattern": NATIONAL_IDENTITY_NUMBER_PATTERN},
        "organization": {"type": "string", "pattern": ORGANIZATION_NUMBER_PATTERN},
    },
    "oneOf": [{"required": ["person"]}, {"required": ["organization"]}],
    "additionalProperties": False,
}
_NAME = {"type": "string", "minLength": 1, "maxLength": 500}
_UUID = {"type": "string", "pattern": UUID_PATTERN, "description": "lower-case, 8-4-4-4-12"}
_ALTINN_ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
_ORGANIZATION_NUMBER = {"type": "string", "pattern": ORGANIZATION_NUMBER_PATTERN}
#: The register document (as for `pdp register import`); codes and forms must be known ones,
#: and each Altinn identifier (party id and UUID, user id, person UUID, system user UUID) may
#: name only one organisation, person or system user in the whole register.
REGISTER_DOCUMENT = {
    "type": "object",
    "required": ["organizations"],
    "properties": {
        "organizations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["organization_number", "name", "org_form"],
                "properties": {
                    "organization_number": _ORGANIZATION_NUMBER,
                    "name": _NAME,
                    "org_form": {"type": "string", "description": "e.g. AS, NUF"},
                    "party_id": {**_ALTINN_ID, "description": "Altinn's party id"},
                    "party_uuid": {**_UUID, "description": "Altinn's party UUID"},
                    "roles": {"type": "array", "items": _ROLE_HOLDER},
                },
                "additionalProperties": False,
            },
        },
        "persons": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["national_id"],
                "properties": {
                    "national_id": {"type": "string", "pattern": NATIONAL_IDENTITY_NUMBER_PATTERN},
                    "name": _NAME,
                    "user_id": {**_ALTINN_ID, "description": "Altinn's user id"},
                    "party_id": {**_ALTINN_ID, "description": "Altinn's party id"},
                    "party_uuid": {**_UUID, "description": "Altinn's party UUID"},
                    "person_uuid": {**_UUID, "description": "Altinn's person UUID"},
                },
                "additionalProperties": False,
            },
        },
        "system_users": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["uuid", "owner"],
                "properties": {
                    "uuid": _UUID,
                    "owner": {
                        **_ORGANIZATION_NUMBER,
                        "description": "the organisation that registered the system user; in "
                        "the register or in this document",
                    },
                    "name": _NAME,
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


@blp.route("/imports", methods=["POST"])
@requires(SCOPE_ADMIN)
@audited("register.import")
@blp.doc(
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": REGISTER_DOCUMENT}},
    }
)
@takes_json_body
@blp.response(200, ImportedSchema, description="Imported; the counts of what was stored")
@blp.alt_response(400, schema=ErrorSchema, description="The body is not JSON, or exceeds a limit")
@blp.alt_response(
    422,
    schema=InvalidRegisterSchema,
    description="The document is invalid; `errors` names each problem",
)
@blp.alt_response(
    503, schema=ErrorSchema, description="No active policy set to check role codes against"
)
def import_register():
    """Import organisations with their ER roles, persons and system users, all or nothing."""
    summary = current_pdp().import_register(json_body())
    counts = {
        "organizations": summary.organizations,
        "role_assignments": summary.role_assignments,
        "persons": summary.persons,
        "system_users": summary.system_users,
    }
    audit_details(**counts)
    return counts

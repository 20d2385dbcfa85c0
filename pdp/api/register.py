"""`/api/v1/register/imports`: import organisations and their ER roles over HTTP (pdp:admin).

The same document and the same all-or-nothing import as `pdp register import`: organisations in
the document replace their earlier entries, roles and all; anything invalid refuses the whole
document with every problem named (422).
"""

from __future__ import annotations

from flask_smorest import Blueprint, abort
from flask_smorest.error_handler import ErrorSchema
from marshmallow import Schema, fields

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
from pdp.auth import SCOPE_ADMIN
from pdp.errors import NoActivePolicySet, RegisterImportError

blp = Blueprint(
    "register",
    __name__,
    url_prefix="/api/v1/register",
    description="The register of organisations and ER role holders (pdp:admin)",
)


class ImportedSchema(Schema):
    organizations = fields.Integer()
    role_assignments = fields.Integer()


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
#: The register document (as for `pdp register import`); codes and forms must be known ones.
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
                    "organization_number": {
                        "type": "string",
                        "pattern": ORGANIZATION_NUMBER_PATTERN,
                    },
                    "name": {"type": "string", "minLength": 1, "maxLength": 500},
                    "org_form": {"type": "string", "description": "e.g. AS, NUF"},
                    "roles": {"type": "array", "items": _ROLE_HOLDER},
                },
                "additionalProperties": False,
            },
        }
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
    """Import organisations and their ER roles, all or nothing."""
    document = json_body()
    pdp = current_pdp()
    try:
        summary = pdp.register.import_document(document, pdp.policy_sets.current().catalog)
    except RegisterImportError as error:
        abort(
            422,
            message="the register document is invalid; nothing was imported",
            errors=[{"path": p.path, "problem": p.problem} for p in error.problems],
        )
    except NoActivePolicySet as error:
        abort(503, message=str(error))
    audit_details(organizations=summary.organizations, role_assignments=summary.role_assignments)
    return {"organizations": summary.organizations, "role_assignments": summary.role_assignments}

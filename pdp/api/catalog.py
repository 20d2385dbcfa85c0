"""`/api/v1/packages`, `/api/v1/roles`, `/api/v1/grants`: what the active version knows.

Read-only views of the active policy set's catalog, so a PEP or a person can see which packages
exist (with their former URNs), which roles, and which role holds which package where. The
grants table also comes as Markdown (`Accept: text/markdown`): the table the README shows.
"""

from __future__ import annotations

from flask import Response, request
from flask_smorest import Blueprint
from flask_smorest.error_handler import ErrorSchema
from marshmallow import Schema, fields

from pdp import grants_table
from pdp.api.auth import ENDPOINT_SCOPES
from pdp.api.common import current_pdp
from pdp.api.security import requires
from pdp.vocabulary import ACCESS, DELEGATE

blp = Blueprint(
    "catalog",
    __name__,
    url_prefix="/api/v1",
    description="The active version's packages, roles and role-to-package grants",
)

MARKDOWN = "text/markdown"
_UNAVAILABLE = "No active policy set, or the repository is unavailable"


class PackageSchema(Schema):
    urn = fields.String()
    code = fields.String()
    name = fields.String()
    description = fields.String()
    area = fields.String()
    aliases = fields.List(fields.String(), metadata={"description": "former URNs"})
    delegable = fields.Boolean()


class PackageListSchema(Schema):
    version = fields.Integer()
    packages = fields.List(fields.Nested(PackageSchema))


class RoleSchema(Schema):
    code = fields.String()
    name = fields.String()
    urn = fields.String()
    legacy_urn = fields.String()
    key_role = fields.Boolean()


class RoleListSchema(Schema):
    version = fields.Integer()
    roles = fields.List(fields.Nested(RoleSchema))


class GrantSchema(Schema):
    package = fields.String()
    role = fields.String()
    actions = fields.List(fields.String())
    org_forms = fields.List(
        fields.String(), metadata={"description": "only for these organisation forms; [] = any"}
    )


class GrantListSchema(Schema):
    version = fields.Integer()
    grants = fields.List(fields.Nested(GrantSchema))


@blp.route("/packages")
@requires(*ENDPOINT_SCOPES)
@blp.response(200, PackageListSchema)
@blp.alt_response(503, schema=ErrorSchema, description=_UNAVAILABLE)
def packages():
    """Every access package of the active version, in source order."""
    policy_set = current_pdp().active_policy_set()
    return {
        "version": policy_set.version,
        "packages": [
            {
                "urn": package.urn,
                "code": package.code,
                "name": package.name,
                "description": package.description,
                "area": package.area,
                "aliases": list(package.aliases),
                "delegable": package.delegable,
            }
            for package in policy_set.catalog.packages
        ],
    }


@blp.route("/roles")
@requires(*ENDPOINT_SCOPES)
@blp.response(200, RoleListSchema)
@blp.alt_response(503, schema=ErrorSchema, description=_UNAVAILABLE)
def roles():
    """Every ER role the active version knows, granting or not."""
    policy_set = current_pdp().active_policy_set()
    return {
        "version": policy_set.version,
        "roles": [
            {
                "code": role.code,
                "name": role.name,
                "urn": role.urn,
                "legacy_urn": role.legacy_urn,
                "key_role": role.key_role,
            }
            for role in policy_set.catalog.roles
        ],
    }


@blp.route("/grants")
@requires(*ENDPOINT_SCOPES)
@blp.response(200, GrantListSchema)
@blp.alt_response(
    200,
    schema={"type": "string"},
    content_type=MARKDOWN,
    description="The grants; with Accept: text/markdown, the README's table",
)
@blp.alt_response(503, schema=ErrorSchema, description=_UNAVAILABLE)
def grants():
    """The role x package matrix of the active version: one entry per role per package."""
    policy_set = current_pdp().active_policy_set()
    if request.accept_mimetypes.best_match(["application/json", MARKDOWN]) == MARKDOWN:
        return Response(grants_table.markdown(policy_set.catalog), mimetype=MARKDOWN)
    return {
        "version": policy_set.version,
        "grants": [
            {
                "package": grant.package,
                "role": grant.role,
                "actions": [ACCESS, DELEGATE] if grant.delegable else [ACCESS],
                "org_forms": list(grant.org_forms),
            }
            for grant in policy_set.catalog.grants
        ],
    }

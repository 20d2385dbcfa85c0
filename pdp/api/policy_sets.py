"""`/api/v1/policy-sets`: the policy administration point (PAP) over HTTP.

List versions, read one with its source, publish a new source (or preview it with
`?dry_run=true`), and make any version active again. Writes are optimistic: they name the
version they were based on (`If-Match: "3"` or `base_version`), and a writer whose base is no
longer active gets 409 with nothing written. The ETag of the list and of a version's source is
the active version at the time of reading, so read-edit-publish is:

    GET  /api/v1/policy-sets/active          -> ETag: "3", {"source": {...}}
    POST /api/v1/policy-sets  If-Match: "3"  {"source": {...edited...}, "message": "..."}
"""

from __future__ import annotations

import re
from typing import Any

from flask import jsonify, request
from flask_smorest import Blueprint
from flask_smorest.error_handler import ErrorSchema
from marshmallow import RAISE, Schema, fields, validate

from pdp import catalog as catalog_module
from pdp.api.auth import SCOPE_ADMIN
from pdp.api.common import (
    MAX_INTEGER,
    audit_details,
    audited,
    current_pdp,
    load_json,
    takes_json_body,
)
from pdp.api.errors import BaseVersionRequired, MalformedParameter
from pdp.api.security import current_caller, requires
from pdp.repository import VersionInfo
from pdp.safe_xml import MAX_XML_BYTES
from pdp.service import Preview, PublishedVersion

blp = Blueprint(
    "policy_sets",
    __name__,
    url_prefix="/api/v1/policy-sets",
    description="Policy-set versions: list, read, preview, publish, activate (roll back)",
)

#: How many individual access changes a preview lists unless `?limit=` says otherwise; the
#: counts always cover all of them.
DEFAULT_CHANGE_LIMIT = 1000
MAX_CHANGE_LIMIT = 100_000

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


class VersionSchema(Schema):
    number = fields.Integer()
    created_at = fields.DateTime()
    content_hash = fields.String()
    message = fields.String()
    author = fields.String()
    active = fields.Boolean()


class VersionListSchema(Schema):
    active = fields.Integer(allow_none=True)
    versions = fields.List(fields.Nested(VersionSchema))


class VersionSourceSchema(VersionSchema):
    source = fields.Dict(
        metadata={"description": "file name -> document, the structure of policies/"}
    )


class PublishSchema(Schema):
    class Meta:
        unknown = RAISE

    source = fields.Dict(
        keys=fields.String(),
        required=True,
        metadata={
            "description": "the whole policy source: file name -> document, as in policies/ "
            '(e.g. "roles.yaml", "org_forms.yaml", "packages/integrasjoner.yaml"; a resource '
            'policy "resources/<resource-id>/policy.xml" is its XML text)'
        },
    )
    message = fields.String(load_default="", validate=validate.Length(max=2000))
    author = fields.String(load_default="", validate=validate.Length(max=200))
    base_version = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=MAX_INTEGER),
        metadata={"description": "the active version this change is based on (0: none yet)"},
    )


class ActivateSchema(Schema):
    class Meta:
        unknown = RAISE

    base_version = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_INTEGER))


class PublishedSchema(Schema):
    version = fields.Integer()
    created = fields.Boolean(metadata={"description": "false: this content was already active"})
    policies = fields.Integer()


class ActivatedSchema(Schema):
    active = fields.Integer()


class _SourceProblemSchema(Schema):
    file = fields.String()
    path = fields.String()
    problem = fields.String()


class InvalidSourceSchema(ErrorSchema):
    errors = fields.List(
        fields.Nested(_SourceProblemSchema), metadata={"description": "each problem"}
    )


#: The `If-Match` header the writes read their base version from.
_IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "schema": {"type": "string", "pattern": r'^\s*(W/)?"?[0-9]{1,9}"?\s*$'},
    "description": 'the active version the change is based on, e.g. "3"',
}


@blp.route("", methods=["GET"])
@requires(SCOPE_ADMIN)
@blp.response(200, VersionListSchema)
def list_versions():
    """Every published version, oldest first, and which one is active (also the ETag)."""
    history = current_pdp().versions()
    versions = [_version(info, history.active) for info in history.versions]
    return {"active": history.active, "versions": versions}, 200, _etag(history.active)


@blp.route("/active", methods=["GET"])
@requires(SCOPE_ADMIN)
@blp.response(200, VersionSourceSchema)
@blp.alt_response(404, schema=ErrorSchema, description="Nothing has been published yet")
def get_active():
    """The active version with its policy source, ready to edit and publish back."""
    return _with_source(current_pdp().version())


@blp.route(f"/<int(max={MAX_INTEGER}):number>", methods=["GET"])
@requires(SCOPE_ADMIN)
@blp.response(200, VersionSourceSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such version")
def get_version(number: int):
    """One version with the policy source it was published from."""
    return _with_source(current_pdp().version(number))


@blp.route("", methods=["POST"])
@requires(SCOPE_ADMIN)
@audited("policy_set.publish")
@blp.doc(
    requestBody={"required": True, "content": {"application/json": {"schema": PublishSchema}}},
    parameters=[
        {
            "in": "query",
            "name": "dry_run",
            "schema": {"type": "boolean"},
            "description": "validate and show the diff and register impact; publish nothing",
        },
        {
            "in": "query",
            "name": "limit",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_CHANGE_LIMIT},
            "description": "dry run: how many individual access changes to list",
        },
        _IF_MATCH,
    ],
)
@takes_json_body
@blp.response(201, PublishedSchema, description="Published and active")
@blp.alt_response(200, description="Dry run: the preview; or the content was already active")
@blp.alt_response(
    400, schema=ErrorSchema, description="Malformed body or query; the message names the field"
)
@blp.alt_response(
    409, schema=ErrorSchema, description="Another version became active since base_version"
)
@blp.alt_response(
    422,
    schema=InvalidSourceSchema,
    description="The policy source is invalid; `errors` names each problem",
)
@blp.alt_response(
    428, schema=ErrorSchema, description="No base version given (If-Match or base_version)"
)
def publish():
    """Validate a whole policy source and publish it as the new active version, or preview."""
    dry_run, limit = _flag("dry_run"), _limit()
    body = load_json(PublishSchema(), max_string_length=MAX_XML_BYTES)
    proposed = catalog_module.parse(body["source"])
    pdp = current_pdp()
    if dry_run:
        return jsonify(preview_document(pdp.preview(proposed), limit))
    base = _base_version(body)
    result = pdp.publish(
        proposed,
        message=body["message"],
        author=body["author"] or _token_name(),
        expected_active=base,
    )
    audit_details(version=result.version, created=result.created, base_version=base)
    headers = {**_etag(result.version), "Location": f"{blp.url_prefix}/{result.version}"}
    answer = {"version": result.version, "created": result.created, "policies": result.policies}
    return answer, 201 if result.created else 200, headers


@blp.route(f"/<int(max={MAX_INTEGER}):number>/activate", methods=["POST"])
@requires(SCOPE_ADMIN)
@audited("policy_set.activate")
@blp.doc(
    requestBody={"required": False, "content": {"application/json": {"schema": ActivateSchema}}},
    parameters=[_IF_MATCH],
)
@takes_json_body
@blp.response(200, ActivatedSchema)
@blp.alt_response(
    400, schema=ErrorSchema, description="Malformed If-Match or body, or the two disagree"
)
@blp.alt_response(404, schema=ErrorSchema, description="No such version")
@blp.alt_response(
    409, schema=ErrorSchema, description="Another version became active since base_version"
)
@blp.alt_response(
    428, schema=ErrorSchema, description="No base version given (If-Match or base_version)"
)
def activate(number: int):
    """Make a published version active again (roll back, or forward), exactly as published."""
    body = load_json(ActivateSchema()) if request.content_length else {}
    base = _base_version(body)
    active = current_pdp().activate(number, expected_active=base)
    audit_details(base_version=base)
    return {"active": active}, 200, _etag(active)


def preview_document(preview: Preview, limit: int) -> dict[str, Any]:
    """The JSON form of a preview: the rule diff, and the register impact with counts."""
    source, impact = preview.source, preview.impact

    def rules(items: Any) -> list[dict[str, Any]]:
        return [
            {
                "role": r.role,
                "package": r.package,
                "action": r.action,
                "org_forms": list(r.org_forms),
            }
            for r in items
        ]

    def resource_rules(items: Any) -> list[dict[str, Any]]:
        return [
            {
                "resource": r.resource,
                "action": r.action,
                "effect": r.effect,
                "matches": list(r.matches),
            }
            for r in items
        ]

    return {
        "dry_run": True,
        "base_version": preview.base_version,
        "unchanged": preview.unchanged,
        "packages": {
            "added": list(source.packages_added),
            "removed": list(source.packages_removed),
            "renamed": [{"from": r.former, "to": r.current} for r in source.packages_renamed],
        },
        "grants": {"added": rules(source.grants_added), "removed": rules(source.grants_removed)},
        "resources": {
            "added": list(source.resources_added),
            "removed": list(source.resources_removed),
            "changed": list(source.resources_changed),
            "rules_added": resource_rules(source.resource_rules_added),
            "rules_removed": resource_rules(source.resource_rules_removed),
        },
        "impact": {
            "gained": impact.gained,
            "lost": impact.lost,
            "subjects": impact.subjects,
            "parties": impact.parties,
            "by_package": impact.by_package(),
            "changes": [
                {
                    "subject": c.subject_urn,
                    "party": c.party,
                    "package": c.package,
                    "action": c.action,
                    "change": c.change,
                }
                for c in impact.changes[:limit]
            ],
            "truncated": len(impact.changes) > limit,
        },
    }


def _token_name() -> str:
    """Who publishes, when the body does not say: the token's client, else its subject."""
    caller = current_caller()
    return caller.client_id or caller.subject or ""


def _version(info: VersionInfo, active: int | None) -> dict[str, Any]:
    return {
        "number": info.number,
        "created_at": info.created_at,
        "content_hash": info.content_hash,
        "message": info.message,
        "author": info.author,
        "active": info.number == active,
    }


def _with_source(version: PublishedVersion) -> tuple[dict[str, Any], int, dict[str, str]]:
    answer = {**_version(version.info, version.active), "source": version.source}
    return answer, 200, _etag(version.active)


def _etag(active: int | None) -> dict[str, str]:
    return {"ETag": f'"{active or 0}"'}


def _base_version(body: dict[str, Any]) -> int:
    """The version a write is based on, from If-Match or the body; 428 if neither says."""
    header = request.headers.get("If-Match")
    from_header = None
    if header is not None:
        match = _ETAG.match(header)
        if match is None:
            raise MalformedParameter(f'If-Match must name one version, like "3"; got {header!r}')
        from_header = int(match.group(1))
    from_body = body.get("base_version")
    if from_header is not None and from_body is not None and from_header != from_body:
        raise MalformedParameter("If-Match and base_version name different versions")
    base = from_header if from_header is not None else from_body
    if base is None:
        raise BaseVersionRequired(
            'name the active version this change is based on: If-Match: "<version>" '
            "or base_version (0 when nothing is published yet); GET /api/v1/policy-sets gives it"
        )
    return base


def _flag(name: str) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return False
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise MalformedParameter(f"query parameter {name} must be true or false, got {raw!r}")


def _limit() -> int:
    raw = request.args.get("limit")
    if raw is None:
        return DEFAULT_CHANGE_LIMIT
    # Its length first: int() refuses text of more than 4300 digits with an error of its own.
    digits = raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_CHANGE_LIMIT))
    if not digits or int(raw) > MAX_CHANGE_LIMIT:
        raise MalformedParameter(
            f"query parameter limit must be 0..{MAX_CHANGE_LIMIT}, got {raw!r}"
        )
    return int(raw)

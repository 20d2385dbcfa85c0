"""`GET /health`: is this process able to decide, and under which policy-set version."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from pdp.api.common import current_pdp
from pdp.api.security import public

#: What `/health` says when anyone may call (PDP_AUTH_DISABLED=true).
DISABLED = "disabled-for-development"

blp = Blueprint(
    "health", __name__, description="Liveness, readiness and the active policy-set version"
)


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok, or unavailable"})
    policy_set_version = fields.Integer(allow_none=True)
    authentication = fields.String(
        metadata={"description": "enabled, or disabled-for-development (PDP_AUTH_DISABLED)"}
    )
    message = fields.String()


@blp.route("/health")
@public
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="No active policy set or no database")
def health():
    """Report the active policy-set version (503 when the PDP cannot decide), and whether
    callers must authenticate."""
    enabled = current_app.extensions["pdp.auth"] is not None
    authentication = {"authentication": "enabled" if enabled else DISABLED}
    readiness = current_pdp().readiness()
    if readiness.version is None:
        return {
            "status": "unavailable",
            "policy_set_version": None,
            "message": readiness.problem,
            **authentication,
        }, 503
    return {"status": "ok", "policy_set_version": readiness.version, **authentication}


class LiveSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok"})


class ReadySchema(Schema):
    status = fields.String(required=True, metadata={"description": "ready, or not-ready"})
    checks = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={
            "description": "policy_set, database, change_feed: each ok, or what is wrong with it"
        },
    )


@blp.route("/health/live")
@public
@blp.response(200, LiveSchema)
def live():
    """The process answers (for a liveness probe: restart it when this does not answer)."""
    return {"status": "ok"}


@blp.route("/health/ready")
@public
@blp.response(200, ReadySchema)
@blp.alt_response(503, schema=ReadySchema, description="Something deciding needs is missing")
def ready():
    """Whether this process can decide now: the active policy set is loaded, the database
    answers and the change feed is alive; 503 naming what is not (for a readiness probe: send
    no traffic here until it answers 200)."""
    checks = current_pdp().readiness_checks()
    named = {name: problem or "ok" for name, problem in checks.items()}
    if any(checks.values()):
        return {"status": "not-ready", "checks": named}, 503
    return {"status": "ready", "checks": named}

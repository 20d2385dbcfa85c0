"""`GET /health`: is this process able to decide, and under which policy-set version."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from pdp.api.common import current_pdp
from pdp.errors import PdpError

blp = Blueprint("health", __name__, description="Liveness and the active policy-set version")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok, or unavailable"})
    policy_set_version = fields.Integer(allow_none=True)
    message = fields.String()


@blp.route("/health")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="No active policy set or no database")
def health():
    """Report the active policy-set version (503 when the PDP cannot decide)."""
    try:
        version = current_pdp().policy_sets.current().version
    except PdpError as error:
        return {"status": "unavailable", "policy_set_version": None, "message": str(error)}, 503
    except Exception:
        return {
            "status": "unavailable",
            "policy_set_version": None,
            "message": "the policy repository is unavailable",
        }, 503
    return {"status": "ok", "policy_set_version": version}

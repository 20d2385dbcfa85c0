"""The PEP-facing HTTP API: a Flask app factory and its blueprints.

`create_app(settings)` builds one `Pdp` for the process, the token verifier, the limits and the
logs, and registers the blueprints; the OpenAPI document is served at `/openapi.json`, the
console's pages under `/console/` (`pdp.console`). Run it with `pdp serve` (development) or
`gunicorn 'pdp.api:create_app()'` (production).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g
from flask_smorest import Api

from pdp import console
from pdp.api import (
    authorize,
    catalog,
    decision,
    delegations,
    errors,
    explain,
    health,
    metrics,
    parties,
    policy_sets,
    register,
)
from pdp.api.auth import token_verifier
from pdp.api.logs import AuditLog, DecisionLog, sink_for
from pdp.api.request_ids import RequestIds
from pdp.api.security import BEARER_SCHEME, SECURITY_SCHEME, check_every_view_is_guarded
from pdp.config import Settings
from pdp.limits import Limits
from pdp.service import Pdp

API_VERSION = "1"
LOG = logging.getLogger(__name__)

AUTH_DISABLED_WARNING = (
    "AUTHENTICATION IS DISABLED (PDP_AUTH_DISABLED=true): anyone who can reach this server may "
    "decide, delegate and publish policies. Use this for development only; configure "
    "PDP_JWKS_FILE or PDP_JWKS_URL in production."
)


def create_app(settings: Settings | None = None) -> Flask:
    """The PDP's Flask app; ConfigurationError if `settings` would leave it unsafe."""
    settings = settings or Settings.from_env()
    verifier = token_verifier(settings)
    app = Flask(__name__, static_folder=None)  # no files to serve: every route is guarded
    app.config.update(
        API_TITLE="pdp: Altinn access package PDP",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
    )
    app.extensions["pdp"] = pdp = Pdp.from_settings(settings)
    pdp.listen_for_changes()
    app.extensions["pdp.auth"] = verifier
    app.extensions["pdp.stated_roles"] = settings.stated_roles
    app.extensions["pdp.limits"] = Limits.from_settings(settings)
    app.extensions["pdp.decision_log"] = DecisionLog(sink_for(settings.decision_log))
    app.extensions["pdp.audit_log"] = AuditLog(sink_for(settings.audit_log))
    api = Api(app)
    api.spec.components.security_scheme(SECURITY_SCHEME, BEARER_SCHEME)
    for blueprint in (
        authorize.blp,
        decision.blp,
        delegations.blp,
        policy_sets.blp,
        register.blp,
        parties.altinn_blp,
        parties.blp,
        explain.blp,
        catalog.blp,
        health.blp,
        metrics.blp,
    ):
        api.register_blueprint(blueprint)
    app.register_blueprint(console.blueprint)
    errors.register(app)
    metrics.install(pdp)
    check_every_view_is_guarded(app)

    request_ids = RequestIds()

    @app.before_request
    def _identify_request() -> None:
        g.request_id = request_ids.next()

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        if "request_id" in g:
            response.headers["X-Request-Id"] = g.request_id
        return response

    if verifier is None:
        LOG.warning(AUTH_DISABLED_WARNING)
    return app

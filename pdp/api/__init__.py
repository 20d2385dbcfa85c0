"""The PEP-facing HTTP API: a Flask app factory and its blueprints.

`create_app(settings)` builds one `Pdp` for the process and registers the blueprints; the
OpenAPI document is served at `/openapi.json`. Run it with `pdp serve` (development) or
`gunicorn 'pdp.api:create_app()'` (production).
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from pdp.api import authorize, catalog, decision, delegations, errors, health, policy_sets
from pdp.config import Settings
from pdp.service import Pdp

API_VERSION = "1"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        API_TITLE="pdp: Altinn access package PDP",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
    )
    app.extensions["pdp"] = Pdp.from_settings(settings)
    api = Api(app)
    for blueprint in (
        authorize.blp,
        decision.blp,
        delegations.blp,
        policy_sets.blp,
        catalog.blp,
        health.blp,
    ):
        api.register_blueprint(blueprint)
    errors.register(app)
    return app

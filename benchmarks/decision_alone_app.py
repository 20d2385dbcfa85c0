"""A bound for single decisions over HTTP: the floor's Flask app doing only what every decision
must, with the PDP's own parts.

Each POST checks the bearer token (`TokenVerifier.verify`, its cache hit as in the PDP), reads
the body with `orjson` and `pdp.xacml.reader.read`, decides (`Pdp.decide`) and renders the
XACML answer (`pdp.xacml.render.render_json`); 401 without a valid token. Nothing else: no
scope check, no stated-roles handling, no decision log, no metrics, no request id, no
duplicate-member check, no content-type or size check, no flask-smorest. Served under the
same gunicorn setup as the floor and the PDP, it shows how much of the floor's throughput is
left once a decision is made at all, and so how much the production shape's other parts may
cost within the target's share of the floor.

The PDP's app is built from the environment (`pdp.api.create_app`), as the PDP server builds
it, and lent its verifier and service; its own views are not used.
"""

from __future__ import annotations

import orjson
from flask import Flask, Response, request

from pdp.api import create_app as create_pdp_app
from pdp.api.auth import AuthenticationFailed
from pdp.limits import DEFAULT_LIMITS
from pdp.xacml.reader import read
from pdp.xacml.render import render_json

#: This app as gunicorn is told to serve it.
APP = "benchmarks.decision_alone_app:create_app()"
_JSON = "application/json"


def create_app() -> Flask:
    pdp_app = create_pdp_app()
    pdp = pdp_app.extensions["pdp"]
    verifier = pdp_app.extensions["pdp.auth"]
    app = Flask(__name__)

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def decide(path: str) -> Response:
        if request.method == "GET":  # the launcher's health check
            return Response(b"{}", mimetype=_JSON)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            verifier.verify(token if scheme == "Bearer" else "")
        except AuthenticationFailed:
            return Response(status=401)
        parsed, _ = read(orjson.loads(request.get_data()), DEFAULT_LIMITS, pdp.identifier_rules)
        results = pdp.decide([item.request for item in parsed.items])
        return Response(render_json(parsed, results), mimetype=_JSON)

    return app

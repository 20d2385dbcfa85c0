"""The HTTP floor: a Flask app that reads the body and returns a constant JSON answer.

Run under the same gunicorn setup as the PDP (the shipped `gunicorn.conf.py`), it measures what
Flask, gunicorn, loopback TCP and the load generator cost by themselves; the PDP's throughput
is reported as a share of it.
"""

from __future__ import annotations

from flask import Flask, Response, request

#: This app as gunicorn is told to serve it.
APP = "benchmarks.floor_app:create_app()"
_BODY = (
    b'{"Response":[{"Decision":"NotApplicable","Status":{"StatusCode":'
    b'{"Value":"urn:oasis:names:tc:xacml:1.0:status:ok"}}}]}'
)


def create_app() -> Flask:
    app = Flask(__name__)

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def constant(path: str) -> Response:
        request.get_data()
        return Response(_BODY, mimetype="application/json")

    return app

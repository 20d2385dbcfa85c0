"""JSON errors for everything the blueprints do not answer themselves.

flask-smorest renders HTTP errors (400, 404, 405, 413, 415, ...) as JSON already; this adds the
same shape for refused tokens (401/403 with `WWW-Authenticate`) and for unexpected failures,
which answer 500 with the request's id and never a stack trace or SQL.
"""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from pdp.api.auth import AuthenticationFailed, InsufficientScope
from pdp.api.security import challenge

LOG = logging.getLogger(__name__)


def register(app: Flask) -> None:
    @app.errorhandler(AuthenticationFailed)
    def unauthenticated(error: AuthenticationFailed):
        return _refused(401, "Unauthorized", error)

    @app.errorhandler(InsufficientScope)
    def forbidden(error: InsufficientScope):
        return _refused(403, "Forbidden", error)

    @app.errorhandler(MethodNotAllowed)
    def method_not_allowed(error: MethodNotAllowed):
        # flask-smorest's JSON rendering drops the exception's headers; a 405 must say which
        # methods the resource has (RFC 9110, section 15.5.6).
        body = {"code": 405, "status": "Method Not Allowed"}
        return jsonify(body), 405, {"Allow": ", ".join(sorted(error.valid_methods or ()))}

    @app.errorhandler(Exception)
    def internal_error(error: Exception):
        if isinstance(error, HTTPException):
            return error
        request_id = g.get("request_id", "")
        LOG.exception("unhandled error in request %s", request_id)
        body = {
            "code": 500,
            "status": "Internal Server Error",
            "message": "the PDP failed to handle this request",
            "request_id": request_id,
        }
        return jsonify(body), 500


def _refused(code: int, status: str, error: AuthenticationFailed | InsufficientScope):
    body = {"code": code, "status": status, "message": str(error)}
    return jsonify(body), code, {"WWW-Authenticate": challenge(error)}

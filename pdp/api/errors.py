"""JSON errors for everything the blueprints do not answer themselves.

flask-smorest renders HTTP errors (400, 404, 405, 413, 415, ...) as JSON already; this adds the
same shape for unexpected failures, without a stack trace or SQL in the body.
"""

from __future__ import annotations

import logging
import uuid

from flask import Flask, jsonify

LOG = logging.getLogger(__name__)


def register(app: Flask) -> None:
    @app.errorhandler(Exception)
    def internal_error(error: Exception):
        from werkzeug.exceptions import HTTPException

        if isinstance(error, HTTPException):
            return error
        error_id = str(uuid.uuid4())
        LOG.exception("unhandled error %s", error_id)
        body = {
            "code": 500,
            "status": "Internal Server Error",
            "message": "the PDP failed to handle this request",
            "error_id": error_id,
        }
        return jsonify(body), 500

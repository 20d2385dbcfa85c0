"""Helpers every blueprint uses: the process's Pdp, and reading a JSON body strictly."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, request
from flask_smorest import abort
from marshmallow import Schema, ValidationError

from pdp.service import Pdp


def current_pdp() -> Pdp:
    return current_app.extensions["pdp"]


def json_body() -> Any:
    """The request body as JSON: 415 for another content type, 400 when it is not JSON.

    Reading the body enforces MAX_CONTENT_LENGTH (413).
    """
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        abort(415, message=f"Content-Type must be application/json, got {mimetype or 'none'!r}")
    raw = request.get_data(cache=True)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        abort(400, message=f"request body is not valid JSON: {error}")


def load_json(schema: Schema) -> Any:
    """The JSON body loaded with `schema`; a 400 naming every malformed field otherwise."""
    try:
        return schema.load(json_body())
    except ValidationError as error:
        abort(400, message="the request has malformed fields", errors=error.messages)

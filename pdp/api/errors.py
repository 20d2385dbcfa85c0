"""One table from errors to HTTP answers, and the app's error handlers.

Views do not catch the package's errors: a use case raises, the error propagates, and the one
handler for every `PdpError` answers it as `ERROR_TABLE` says (the audit log records the same
status). The body has flask-smorest's shape, `{"code", "status", "message"}`, plus `errors`
where one error carries several problems. flask-smorest answers its own HTTP errors (a body
that is not JSON, 413, 415, ...) in that shape too. A `PdpError` the table does not know, and
any other failure, is a 500 with the request's id and never a stack trace or SQL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, g, jsonify
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.http import HTTP_STATUS_CODES

from pdp.api.auth import AuthenticationFailed, InsufficientScope
from pdp.api.security import challenge
from pdp.delegation_rights import DelegationRefused, DelegationUndecided
from pdp.delegations import DelegationAlreadyRevoked, DelegationExists, DelegationNotFound
from pdp.errors import (
    InvalidFields,
    NoActivePolicySet,
    PdpError,
    RegisterImportError,
    RequestSyntaxError,
    SourceError,
)
from pdp.repository import UnknownVersion, VersionConflict

LOG = logging.getLogger(__name__)


class MalformedParameter(PdpError):
    """A query parameter or header that a view reads itself is malformed; the message names it."""


class BaseVersionRequired(PdpError):
    """A write named no base version (`If-Match` or `base_version`) to check it against."""


class ActingForAnother(PdpError):
    """The request names a person other than the token's own (a token acts for no one else),
    or names one for a token that names none and may not act on another's behalf."""


def _message(error: PdpError) -> dict[str, Any]:
    return {"message": str(error)}


def _fields(error: InvalidFields) -> dict[str, Any]:
    return {"message": str(error), "errors": error.fields}


def _source_problems(error: SourceError) -> dict[str, Any]:
    return {
        "message": "the policy source is invalid; nothing was published",
        "errors": [{"file": p.file, "path": p.path, "problem": p.problem} for p in error.problems],
    }


def _register_problems(error: RegisterImportError) -> dict[str, Any]:
    return {
        "message": "the register document is invalid; nothing was imported",
        "errors": [{"path": p.path, "problem": p.problem} for p in error.problems],
    }


def _challenge(error: AuthenticationFailed | InsufficientScope) -> dict[str, str]:
    return {"WWW-Authenticate": challenge(error)}


@dataclass(frozen=True)
class ErrorAnswer:
    """How the API answers one kind of error."""

    error: type[PdpError]
    status: int
    #: The body's `message`, and `errors` for an error that carries several problems.
    details: Callable[[Any], dict[str, Any]] = _message
    #: Headers the answer must carry (a refused token's challenge, RFC 6750).
    headers: Callable[[Any], dict[str, str]] | None = None

    def body(self, error: PdpError) -> dict[str, Any]:
        name = HTTP_STATUS_CODES[self.status]
        return {"code": self.status, "status": name, **self.details(error)}


#: Every error a request can end in, looked up by class in this order: a subclass comes before
#: any class it derives from, so the most specific entry answers.
ERROR_TABLE: tuple[ErrorAnswer, ...] = (
    ErrorAnswer(InvalidFields, 400, _fields),  # InvalidDelegation too: the field is named
    ErrorAnswer(RequestSyntaxError, 400),
    ErrorAnswer(MalformedParameter, 400),
    ErrorAnswer(AuthenticationFailed, 401, headers=_challenge),
    ErrorAnswer(InsufficientScope, 403, headers=_challenge),
    ErrorAnswer(ActingForAnother, 403),
    ErrorAnswer(DelegationRefused, 403),
    ErrorAnswer(UnknownVersion, 404),
    ErrorAnswer(DelegationNotFound, 404),
    ErrorAnswer(VersionConflict, 409),
    ErrorAnswer(DelegationExists, 409),
    ErrorAnswer(DelegationAlreadyRevoked, 409),
    ErrorAnswer(SourceError, 422, _source_problems),
    ErrorAnswer(RegisterImportError, 422, _register_problems),
    ErrorAnswer(BaseVersionRequired, 428),
    ErrorAnswer(NoActivePolicySet, 503),
    ErrorAnswer(DelegationUndecided, 503),
)


def answer_for(error: PdpError) -> ErrorAnswer | None:
    """The table's entry for `error`; None for an error no request should end in."""
    return next((entry for entry in ERROR_TABLE if isinstance(error, entry.error)), None)


def register(app: Flask) -> None:
    @app.errorhandler(PdpError)
    def answer(error: PdpError):
        entry = answer_for(error)
        if entry is None:
            return _unexpected(error)
        headers = entry.headers(error) if entry.headers else {}
        return jsonify(entry.body(error)), entry.status, headers

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
        return _unexpected(error)


def _unexpected(error: Exception):
    request_id = g.get("request_id", "")
    LOG.error("unhandled error in request %s", request_id, exc_info=error)
    body = {
        "code": 500,
        "status": "Internal Server Error",
        "message": "the PDP failed to handle this request",
        "request_id": request_id,
    }
    return jsonify(body), 500

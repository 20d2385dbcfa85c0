"""Helpers every blueprint uses: the process's Pdp, its logs, and reading a JSON body strictly."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import wraps
from typing import Any, TypeVar

import orjson
from flask import Response, current_app, g, request
from flask_smorest import Blueprint, abort
from flask_smorest.error_handler import ErrorSchema
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import ClientDisconnected, HTTPException, RequestEntityTooLarge
from werkzeug.sansio.utils import get_content_length

from pdp.api import metrics
from pdp.api.errors import answer_for
from pdp.api.logs import AuditLog, DecisionBatch, DecisionLog
from pdp.api.security import current_caller, stated_roles_refused
from pdp.duplicate_members import DuplicateMember, refuse_duplicates
from pdp.engine import Result
from pdp.engine.request import Request, states_roles, stating_roles
from pdp.errors import InvalidFields, PdpError
from pdp.limits import LimitExceeded, Limits
from pdp.service import Pdp

View = TypeVar("View", bound=Callable[..., Any])
Read = TypeVar("Read")
LOG = logging.getLogger(__name__)


def current_pdp() -> Pdp:
    return current_app.extensions["pdp"]


def request_id() -> str:
    """This request's id: in the `X-Request-Id` answer header, log lines and error bodies."""
    return g.request_id


def audited(action: str) -> Callable[[View], View]:
    """Write an audit line for every call of a view that changes state, with its outcome.

    Goes below `@requires`, so the caller is known. The view adds what it changed with
    `audit_details(...)`; the URL's own arguments (a version, a delegation id) are included.
    A refusal is recorded with the status and message it is answered with (`pdp.api.errors`).
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def logged(*args: Any, **kwargs: Any) -> Any:
            g.audit_details = dict(kwargs)
            try:
                response = view(*args, **kwargs)
            except PdpError as error:
                entry = answer_for(error)
                if entry is None:
                    record_audit(action, 500, "unexpected failure")
                else:
                    record_audit(action, entry.status, entry.body(error)["message"])
                raise
            except HTTPException as error:
                message = (getattr(error, "data", None) or {}).get("message", error.description)
                record_audit(action, error.code or 500, message)
                raise
            except Exception:
                record_audit(action, 500, "unexpected failure")
                raise
            record_audit(action, _status(response), None)
            return response

        return logged  # type: ignore[return-value]

    return decorator


def audit_details(**details: Any) -> None:
    """Add what the current request changed to its audit line."""
    g.audit_details.update(details)


def record_audit(action: str, outcome: int, problem: Any) -> None:
    """Write the current request's audit line: `action` with HTTP status `outcome`, what
    `audit_details` added, and `problem` (the refusal's message) for a refused change. The
    console's forms, which answer refusals with pages, call this themselves."""
    details = dict(g.get("audit_details", {}))
    if outcome >= 400 and isinstance(problem, str):
        details["problem"] = problem
    log: AuditLog = current_app.extensions["pdp.audit_log"]
    try:
        log.record(action, current_caller(), outcome, request_id=request_id(), **details)
    except OSError:  # the change is committed; failing the answer now would hide that
        LOG.exception("could not write the audit line for %s (request %s)", action, request_id())


def _status(response: Any) -> int:
    if isinstance(response, Response):
        return response.status_code
    if isinstance(response, tuple) and len(response) > 1 and isinstance(response[1], int):
        return response[1]
    return 200


def decide_and_log(requests: Sequence[Request]) -> list[Result]:
    """Decide `requests` as the current caller may make them (stated roles are honoured only
    for a caller allowed to state them: `stated_roles_refused`) and hand them, with their
    results, to the decision log."""
    if any(states_roles(request) for request in requests):
        refused = stated_roles_refused()
        requests = [stating_roles(request, refused) for request in requests]
    started, clock = time.time(), time.perf_counter()
    results = current_pdp().decide(requests)
    elapsed = time.perf_counter() - clock
    metrics.record_decisions(request.blueprint or "", results, elapsed)
    log: DecisionLog = current_app.extensions["pdp.decision_log"]
    log.record(DecisionBatch(request_id(), started, requests, results, elapsed, current_caller()))
    return results


#: Reads a parsed JSON body within the limits (raising LimitExceeded): what it reads as, and
#: how many object members its walk saw (for `refuse_duplicates`).
BodyReader = Callable[[Any, Limits], tuple[Read, int]]


def within_limits(document: Any, limits: Limits) -> tuple[Any, int]:
    """The body as it is, checked against the limits."""
    return document, limits.check(document)


def json_body(read: BodyReader[Read] = within_limits) -> Read:  # type: ignore[assignment]
    """The request body, parsed as JSON and read by `read` (by default: the document itself,
    within the limits). 413 when the body is larger than MAX_CONTENT_LENGTH, 415 for another
    content type, 400 when it is not JSON, exceeds a limit (`pdp.limits`) or names a member of
    an object twice (`pdp.duplicate_members`)."""
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        abort(415, message=f"Content-Type must be application/json, got {mimetype or 'none'!r}")
    raw = body_bytes()
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        abort(400, message=f"request body is not valid JSON: {error}")
    limits: Limits = current_app.extensions["pdp.limits"]
    try:
        result, members = read(document, limits)
        refuse_duplicates(raw, members)
    except (LimitExceeded, DuplicateMember) as error:
        abort(400, message=str(error))
    return result


def body_bytes() -> bytes:
    """The whole request body: 413 when it is larger than MAX_CONTENT_LENGTH, whether its
    length was announced (`Content-Length`, werkzeug refuses it unread) or not (a chunked body,
    read here up to one byte past the limit). werkzeug would cut a chunked body at the limit
    and hand on its start; a body not read whole is never decided or stored."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    environ = request.environ
    # werkzeug's own reading of the two headers, without building its header view first.
    length = get_content_length(
        environ.get("CONTENT_LENGTH"), environ.get("HTTP_TRANSFER_ENCODING")
    )
    if length is not None:
        # Read straight from the server's stream: werkzeug's checked stream costs more than
        # reading the body itself, for the same two checks.
        if limit is not None and length > limit:
            raise RequestEntityTooLarge()
        data = environ["wsgi.input"].read(length) if length else b""
        if len(data) != length:
            raise ClientDisconnected()
        return data
    if not environ.get("wsgi.input_terminated") or limit is None:
        return request.get_data(cache=True)
    stream, chunks, size = environ["wsgi.input"], [], 0
    while size <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestEntityTooLarge()
    return b"".join(chunks)


#: How much of a body of unannounced length is read at a time.
_CHUNK = 64 * 1024


#: The largest integer any parameter (an offset, a version number) may be: far above any real
#: one, and within every database's INTEGER, so that no number a caller sends can overflow a
#: query (SQLite refuses integers past 2**63 - 1 with an error, not an empty answer).
MAX_INTEGER = 2**31 - 1

#: The identifiers' form, for the OpenAPI document (their check digits are checked as well).
ORGANIZATION_NUMBER_PATTERN = "^[0-9]{9}$"
NATIONAL_IDENTITY_NUMBER_PATTERN = "^[0-9]{11}$"


def error_response(description: str) -> dict[str, Any]:
    """An error answer for `@blp.doc(responses=...)`, with flask-smorest's JSON error body."""
    return {"description": description, "content": {"application/json": {"schema": ErrorSchema}}}


def takes_json_body(view: View) -> View:
    """Document what `json_body` answers before the view sees the body: 413 and 415. (Each view
    documents its own 400, which also covers a body that is not JSON or exceeds a limit.)"""
    documented = Blueprint.doc(
        responses={
            "413": error_response("The body is larger than PDP_MAX_BODY_BYTES"),
            "415": error_response("The Content-Type is not application/json (or +json)"),
        }
    )
    return documented(view)


def load_json(schema: Schema, *, max_string_length: int | None = None) -> Any:
    """The JSON body loaded with `schema`; InvalidFields (400) naming every malformed field
    otherwise. `max_string_length` overrides the configured limit on strings for a body whose
    strings are documents of their own (a policy source's XML files)."""

    def read(document: Any, limits: Limits) -> tuple[Any, int]:
        if max_string_length is not None:
            limits = replace(limits, max_string_length=max_string_length)
        return within_limits(document, limits)

    try:
        return schema.load(json_body(read))
    except ValidationError as error:
        raise InvalidFields("the request has malformed fields", error.messages) from None

"""Which caller may use which endpoint: every view states the scopes it needs, or is public.

`@requires(scope, ...)` checks the bearer token before the view reads anything else, so a
caller without the right token learns nothing but 401 or 403 (with `WWW-Authenticate`, RFC
6750), and documents the requirement in the OpenAPI document. `check_every_view_is_guarded`
runs when the app is built: a view that says neither `requires` nor `public` stops the start,
so a new endpoint cannot be exposed by forgetting.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from flask_smorest import Blueprint
from flask_smorest.error_handler import ErrorSchema

from pdp.api.auth import (
    SCOPE_STATED_ROLES,
    UNAUTHENTICATED,
    AuthenticationFailed,
    Caller,
    InsufficientScope,
    TokenVerifier,
)

View = TypeVar("View", bound=Callable[..., Any])

SECURITY_SCHEME = "bearerAuth"
#: The OpenAPI security scheme `requires` refers to.
BEARER_SCHEME = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
REALM = "pdp"
#: flask-smorest's own views: the OpenAPI document.
_DOCUMENTATION_BLUEPRINT = "api-docs"
_CHALLENGE = {
    "description": 'Bearer realm="pdp", with the error (RFC 6750, section 3)',
    "schema": {"type": "string"},
}
_AUTH_RESPONSES = {
    "401": {
        "description": "No valid bearer token; see the WWW-Authenticate header",
        "content": {"application/json": {"schema": ErrorSchema}},
        "headers": {"WWW-Authenticate": {**_CHALLENGE, "required": True}},
    },
    "403": {
        # Operations that also refuse some callers themselves (delegations) answer 403 too,
        # without a challenge: the header is there only when the token lacks the scope.
        "description": "The token lacks the scope this operation needs (WWW-Authenticate names "
        "it), or the operation refuses this caller",
        "content": {"application/json": {"schema": ErrorSchema}},
        "headers": {"WWW-Authenticate": _CHALLENGE},
    },
}


def requires(*scopes: str) -> Callable[[View], View]:
    """Let a view run only for a caller whose token holds at least one of `scopes`."""

    def decorator(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            caller = authenticate()
            caller.require(scopes)
            g.caller = caller
            return view(*args, **kwargs)

        guarded._required_scopes = scopes  # type: ignore[attr-defined]
        documented = Blueprint.doc(
            security=[{SECURITY_SCHEME: list(scopes)}], responses=_AUTH_RESPONSES
        )
        return documented(guarded)  # type: ignore[return-value]

    return decorator


def public(view: View) -> View:
    """Mark a view that anyone may call (liveness), deliberately."""
    view._public = True  # type: ignore[attr-defined]
    return view


def current_caller() -> Caller:
    """The caller of the request being served (set by `requires`)."""
    return g.caller


def stated_roles_refused() -> str | None:
    """Why the current caller may not state a subject's roles in a decision request; None when
    it may: when the PDP accepts stated roles (`PDP_STATED_ROLES`) and the caller's token has
    the scope `pdp:stated-roles` (with authentication off, every caller has every scope)."""
    if not current_app.extensions["pdp.stated_roles"]:
        return "this PDP accepts no stated roles (PDP_STATED_ROLES=false)"
    if SCOPE_STATED_ROLES not in current_caller().scopes:
        return f"the caller's token lacks the scope {SCOPE_STATED_ROLES}"
    return None


def authenticate() -> Caller:
    """The caller the request's bearer token stands for; AuthenticationFailed otherwise."""
    verifier: TokenVerifier | None = current_app.extensions["pdp.auth"]
    if verifier is None:
        return UNAUTHENTICATED
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise AuthenticationFailed("the request has no bearer token", error=None)
    token = token.strip()
    if not token:
        raise AuthenticationFailed("the Authorization header has no token after Bearer")
    return verifier.verify(token)


def challenge(error: AuthenticationFailed | InsufficientScope) -> str:
    """The `WWW-Authenticate` header value for a refused request (RFC 6750, section 3)."""
    parts = [f'realm="{REALM}"']
    if isinstance(error, InsufficientScope):
        parts += ['error="insufficient_scope"', f'scope="{" ".join(error.required)}"']
    elif error.error is not None:
        parts += [f'error="{error.error}"', f'error_description="{_quotable(str(error))}"']
    return "Bearer " + ", ".join(parts)


def _quotable(text: str) -> str:
    """`text` with only the characters RFC 6750 allows inside error_description."""
    return "".join(c for c in text if 0x20 <= ord(c) <= 0x7E and c not in '"\\')


def check_every_view_is_guarded(app: Flask) -> None:
    """Refuse to build an app with a view that neither requires scopes nor is public."""
    unguarded = sorted(
        endpoint
        for endpoint, view in app.view_functions.items()
        if not hasattr(view, "_required_scopes")
        and not getattr(view, "_public", False)
        and endpoint.partition(".")[0] != _DOCUMENTATION_BLUEPRINT
    )
    if unguarded:
        raise RuntimeError(f"views without @requires or @public: {', '.join(unguarded)}")

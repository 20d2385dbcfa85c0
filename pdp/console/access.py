"""Who is using the console, and what protects its pages: the API's tokens in a cookie, CSRF
tokens on every form, and security headers on every answer.

A browser cannot attach a bearer token to a link, so a person signs in by pasting the token
they would give the API. It is checked by the API's own verifier (`pdp.api.auth`) and kept in
an HttpOnly, SameSite=Strict cookie scoped to `/console`; every request checks it again (the
verifier remembers verified tokens), so an expired or revoked key is noticed at once and the
console never holds more than the token itself: no server-side sessions, nothing to share
between gunicorn workers. Pages state the scopes they need exactly as API views do
(`console_requires`, the same `_required_scopes` the start-up check looks for); with
`PDP_AUTH_DISABLED=true` every page opens directly.

Every POST must carry the value of the `pdp_console_csrf` cookie (HttpOnly, SameSite=Strict,
random per browser) in its `csrf_token` field, and must not come from another origin
(`Origin`, `Sec-Fetch-Site`): a page elsewhere can neither read the cookie nor make the browser
send it.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Response, current_app, g, redirect, render_template, request, url_for

from pdp.api.auth import (
    UNAUTHENTICATED,
    AuthenticationFailed,
    Caller,
    InsufficientScope,
    TokenVerifier,
)

View = TypeVar("View", bound=Callable[..., Any])

TOKEN_COOKIE = "pdp_console_token"
CSRF_COOKIE = "pdp_console_csrf"
CSRF_FIELD = "csrf_token"
COOKIE_PATH = "/console"
#: Longest token accepted from the sign-in form; a browser keeps at most 4 KB per cookie.
MAX_TOKEN_LENGTH = 3800

#: No inline script or style anywhere: every asset is a file the PDP serves itself.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class NotSignedIn(Exception):
    """The page needs a token and the browser has none that is valid (`reason` says why)."""

    def __init__(self, reason: str | None):
        self.reason = reason
        super().__init__(reason or "not signed in")


def authentication_enabled() -> bool:
    return current_app.extensions["pdp.auth"] is not None


def browser_caller() -> Caller | None:
    """The caller the browser's token cookie stands for; None without one. AuthenticationFailed
    for a token that no longer verifies (expired, another issuer...)."""
    verifier: TokenVerifier | None = current_app.extensions["pdp.auth"]
    if verifier is None:
        return UNAUTHENTICATED
    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        return None
    return verifier.verify(token)


def verify_token(token: str) -> Caller:
    """The caller a pasted token stands for (AuthenticationFailed saying why not)."""
    verifier: TokenVerifier | None = current_app.extensions["pdp.auth"]
    if verifier is None:
        return UNAUTHENTICATED
    token = _bare(token)
    if not token:
        raise AuthenticationFailed("paste a token")
    if len(token) > MAX_TOKEN_LENGTH:
        raise AuthenticationFailed(f"the token is longer than {MAX_TOKEN_LENGTH} characters")
    return verifier.verify(token)


def keep_token(response: Response, token: str) -> None:
    """Remember a verified token in the browser: HttpOnly, SameSite=Strict, for /console only,
    until the browser closes (the token's own expiry still applies on every request)."""
    response.set_cookie(
        TOKEN_COOKIE,
        _bare(token),
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
    )


def _bare(token: str) -> str:
    """A pasted token without surrounding space or a leading `Bearer `."""
    token = token.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    return token


def forget_token(response: Response) -> None:
    response.delete_cookie(
        TOKEN_COOKIE, path=COOKIE_PATH, httponly=True, samesite="Strict", secure=request.is_secure
    )


def console_requires(*scopes: str) -> Callable[[View], View]:
    """Let a page open only for a signed-in caller holding at least one of `scopes` (any caller
    when authentication is off). Without a valid token the browser is sent to sign in; with a
    token lacking the scope, the page is refused with a page that names it (403)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                caller = browser_caller()
            except AuthenticationFailed as error:
                raise NotSignedIn(str(error)) from None
            if caller is None:
                raise NotSignedIn(None)
            g.caller = caller
            caller.require(scopes)
            return view(*args, **kwargs)

        guarded._required_scopes = scopes  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorator


def may(scope: str) -> bool:
    """Whether the current page's caller holds `scope` (to show or hide what needs it)."""
    caller: Caller | None = g.get("caller")
    return caller is not None and scope in caller.scopes


def sign_in_redirect(error: NotSignedIn) -> Response:
    """Send the browser to the sign-in page, back to where it was going afterwards."""
    target = request.full_path if request.method == "GET" else request.path
    arguments: dict[str, str] = {"next": target.rstrip("?")}
    if error.reason:
        arguments["reason"] = error.reason
    return redirect(url_for("console.sign_in", **arguments), 303)


def refused_page(error: InsufficientScope) -> tuple[str, int]:
    caller: Caller | None = g.get("caller")
    held = sorted(caller.scopes) if caller else []
    return render_template("refused.html", required=error.required, held=held), 403


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path inside the console, never another site."""
    default = url_for("console.overview")
    if not target or not target.startswith(f"{COOKIE_PATH}/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return default
    return target


# --- CSRF ----------------------------------------------------------------------------------


def csrf_token() -> str:
    """The browser's CSRF value, for a form's hidden field (made, and set as a cookie, on first
    use)."""
    if "csrf_token" not in g:
        existing = request.cookies.get(CSRF_COOKIE, "")
        g.csrf_token = existing if _well_formed(existing) else secrets.token_urlsafe(32)
    return g.csrf_token


def _well_formed(value: str) -> bool:
    return 40 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum()


class CsrfRefused(Exception):
    """A form that was not sent by a console page of this origin."""


def check_csrf() -> None:
    """CsrfRefused unless this POST comes from a console page of this origin."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        raise CsrfRefused("the form was sent from another site")
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise CsrfRefused("the form was sent from another origin")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.form.get(CSRF_FIELD, "")
    if not (_well_formed(cookie) and hmac.compare_digest(cookie, sent)):
        raise CsrfRefused("the form's security token is missing or out of date")


def secure(response: Response) -> Response:
    """Every console answer: the security headers, no caching of pages, and the CSRF cookie
    when a page handed out a new value."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    token = g.get("csrf_token")
    if token is not None and request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            path=COOKIE_PATH,
            httponly=True,
            samesite="Strict",
            secure=request.is_secure,
        )
    return response

"""The console's blueprint: its pages' shared frame, error pages, assets and sign-in.

Pages are server-rendered Jinja2 templates (autoescaped: nothing a user typed or the register
holds is ever marked safe); assets are this package's own files, served here. The page modules
(`overview`, `grants`, ...) add their routes to `blueprint`. Errors raised by a page are
answered as pages: the API's one error table (`pdp.api.errors.ERROR_TABLE`) gives the status
and message, so a refusal reads the same in both.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.http import HTTP_STATUS_CODES

from pdp.api.auth import (
    ENDPOINT_SCOPES,
    SCOPE_ADMIN,
    SCOPE_AUTHORIZE,
    SCOPE_AUTHORIZED_PARTIES,
    SCOPE_DELEGATIONS,
    AuthenticationFailed,
    InsufficientScope,
)
from pdp.api.common import record_audit
from pdp.api.errors import answer_for
from pdp.api.security import public
from pdp.console import access
from pdp.errors import PdpError

LOG = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"

blueprint = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")


#: The navigation: endpoint, label, and the scopes the page needs (any one of them).
NAVIGATION: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("console.overview", "Overview", ENDPOINT_SCOPES),
    ("console.grants", "Grants", ENDPOINT_SCOPES),
    ("console.resources", "Resources", ENDPOINT_SCOPES),
    ("console.ask", "Ask", (SCOPE_AUTHORIZE,)),
    ("console.parties", "Parties", (SCOPE_AUTHORIZED_PARTIES, SCOPE_ADMIN)),
    ("console.delegations", "Delegations", (SCOPE_DELEGATIONS,)),
    ("console.versions", "Versions", (SCOPE_ADMIN,)),
)


@blueprint.context_processor
def _frame() -> dict[str, Any]:
    caller = g.get("caller")
    return {
        "navigation": NAVIGATION,
        "caller": caller,
        "authentication_enabled": access.authentication_enabled(),
        "csrf_token": access.csrf_token,
        "csrf_field": access.CSRF_FIELD,
        "may": access.may,
        "SCOPE_ADMIN": SCOPE_ADMIN,
        "SCOPE_AUTHORIZE": SCOPE_AUTHORIZE,
        "SCOPE_DELEGATIONS": SCOPE_DELEGATIONS,
    }


@blueprint.app_template_filter("capitalize_first")
def _capitalize_first(text: str) -> str:
    """`text` with its first letter upper-case and the rest as it is (role codes stay)."""
    return text[:1].upper() + text[1:]


@blueprint.before_request
def _refuse_forged_forms() -> None:
    if request.method == "POST":
        access.check_csrf()


@blueprint.after_request
def _secure(response: Response) -> Response:
    return access.secure(response)


# --- error pages ---------------------------------------------------------------------------


@blueprint.errorhandler(access.NotSignedIn)
def _not_signed_in(error: access.NotSignedIn):
    return access.sign_in_redirect(error)


@blueprint.errorhandler(InsufficientScope)
def _refused(error: InsufficientScope):
    return access.refused_page(error)


@blueprint.errorhandler(access.CsrfRefused)
def _forged(error: access.CsrfRefused):
    return error_page(
        403, f"{error}. Go back, reload the page and send the form again.", "Form refused"
    )


@blueprint.errorhandler(PdpError)
def _pdp_error(error: PdpError):
    entry = answer_for(error)
    if entry is None:
        return _unexpected(error)
    return error_page(entry.status, entry.body(error)["message"])


@blueprint.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return error_page(error.code or 500, error.description or "")


@blueprint.errorhandler(Exception)
def _unexpected(error: Exception):
    LOG.error("unhandled error in console request %s", g.get("request_id", ""), exc_info=error)
    return error_page(
        500,
        f"The PDP failed to show this page. The request id is {g.get('request_id', '')}; "
        "the server's log has the details.",
    )


def error_page(status: int, message: str, title: str | None = None) -> tuple[str, int]:
    title = title or HTTP_STATUS_CODES.get(status, "Error")
    return render_template("error.html", status=status, title=title, message=message), status


# --- assets and signing in -----------------------------------------------------------------


@blueprint.route("/static/<path:name>")
@public
def static(name: str):
    """The console's own stylesheet and script; nothing from elsewhere."""
    if name not in {path.name for path in STATIC_DIR.iterdir()}:
        raise NotFound()
    response = send_from_directory(STATIC_DIR, name, max_age=300)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blueprint.route("/<path:anything>")
@public
def not_found(anything: str):
    """A console address no page has: a page saying so, not the API's JSON."""
    raise NotFound(f"The console has no page /console/{anything}.")


@blueprint.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in():
    """Paste a bearer token (the one the API takes); it is checked, then kept in a cookie."""
    target = access.safe_next(request.values.get("next"))
    if not access.authentication_enabled():
        return redirect(target, 303)
    error = None
    if request.method == "POST":
        token = request.form.get("token", "")
        try:
            g.caller = access.verify_token(token)
        except AuthenticationFailed as refused:
            error = str(refused)
        else:
            response = redirect(target, 303)
            access.keep_token(response, token)
            return response
    reason = request.args.get("reason")
    status = 401 if error else 200
    return render_template("sign_in.html", error=error, reason=reason, target=target), status


@blueprint.route("/sign-out", methods=["POST"])
@public
def sign_out():
    response = redirect(url_for("console.sign_in"), 303)
    access.forget_token(response)
    return response


def audit(
    action: str, error: PdpError | None = None, *, success: int = 200, **details: Any
) -> None:
    """The audit line of a change made through a form, as the API writes it for the same
    change: `success` (the API's status for it) or, for a refusal, the status and message the
    one error table gives."""
    g.audit_details = details
    if error is None:
        record_audit(action, success, None)
        return
    entry = answer_for(error)
    if entry is None:
        record_audit(action, 500, "unexpected failure")
    else:
        record_audit(action, entry.status, entry.body(error)["message"])

"""Signing in to the console with the API's tokens, scopes per page, and forms that only the
console's own pages can send."""

from __future__ import annotations

import re

import pytest

from pdp.api.auth import (
    ENDPOINT_SCOPES,
    SCOPE_ADMIN,
    SCOPE_AUTHORIZE,
    SCOPE_AUTHORIZED_PARTIES,
    SCOPE_DELEGATIONS,
)
from pdp.console.access import CONTENT_SECURITY_POLICY, CSRF_COOKIE, TOKEN_COOKIE
from tests.console.conftest import csrf, text_of

#: Every guarded console page: (method, URL rule, the scopes it accepts, a path to open). A
#: POST that got through would change something (activate version 1, revoke, delegate).
PAGES: list[tuple[str, str, tuple[str, ...], str]] = [
    ("GET", "/console/", ENDPOINT_SCOPES, "/console/"),
    ("GET", "/console/grants", ENDPOINT_SCOPES, "/console/grants"),
    ("GET", "/console/resources", ENDPOINT_SCOPES, "/console/resources"),
    (
        "GET",
        "/console/resources/<resource_id>/policy.xml",
        ENDPOINT_SCOPES,
        "/console/resources/ttd-example-api/policy.xml",
    ),
    ("GET", "/console/ask", (SCOPE_AUTHORIZE,), "/console/ask"),
    ("POST", "/console/ask", (SCOPE_AUTHORIZE,), "/console/ask"),
    ("GET", "/console/parties", (SCOPE_AUTHORIZED_PARTIES, SCOPE_ADMIN), "/console/parties"),
    ("POST", "/console/parties", (SCOPE_AUTHORIZED_PARTIES, SCOPE_ADMIN), "/console/parties"),
    (
        "GET",
        "/console/parties/holders",
        (SCOPE_ADMIN,),
        "/console/parties/holders?party=910459880&package=maskinlesbarehendelser",
    ),
    ("GET", "/console/delegations", (SCOPE_DELEGATIONS,), "/console/delegations"),
    ("POST", "/console/delegations/new", (SCOPE_DELEGATIONS,), "/console/delegations/new"),
    (
        "GET",
        "/console/delegations/<delegation_id>/revoke",
        (SCOPE_DELEGATIONS,),
        "/console/delegations/00000000-0000-0000-0000-000000000000/revoke",
    ),
    (
        "POST",
        "/console/delegations/<delegation_id>/revoke",
        (SCOPE_DELEGATIONS,),
        "/console/delegations/00000000-0000-0000-0000-000000000000/revoke",
    ),
    ("GET", "/console/versions", (SCOPE_ADMIN,), "/console/versions"),
    ("GET", "/console/versions/<int:number>", (SCOPE_ADMIN,), "/console/versions/1"),
    ("POST", "/console/versions/preview", (SCOPE_ADMIN,), "/console/versions/preview"),
    (
        "POST",
        "/console/versions/<int:number>/activate",
        (SCOPE_ADMIN,),
        "/console/versions/1/activate",
    ),
]
PAGE_IDS = [f"{method} {rule}" for method, rule, *_ in PAGES]


def test_the_table_names_every_guarded_page(secured_app):
    guarded = {
        (method, rule.rule, secured_app.view_functions[rule.endpoint]._required_scopes)
        for rule in secured_app.url_map.iter_rules()
        if rule.rule.startswith("/console/")
        and hasattr(secured_app.view_functions[rule.endpoint], "_required_scopes")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert guarded == {(method, rule, scopes) for method, rule, scopes, _ in PAGES}


def _open(client, method: str, path: str):
    if method == "GET":
        return client.get(path)
    form = {"csrf_token": csrf(client, "/console/sign-in"), "confirm": "yes", "base_version": "1"}
    return client.post(path, data=form)


@pytest.mark.parametrize(("method", "rule", "scopes", "path"), PAGES, ids=PAGE_IDS)
def test_every_page_sends_a_browser_without_a_token_to_sign_in(
    secured_client, method, rule, scopes, path
):
    response = _open(secured_client, method, path)
    assert response.status_code == 303 and response.location.startswith("/console/sign-in")


#: The pages not every scope may open.
SCOPED = [page for page in PAGES if set(page[2]) != set(ENDPOINT_SCOPES)]


@pytest.mark.parametrize(
    ("method", "rule", "scopes", "path"), SCOPED, ids=[f"{m} {r}" for m, r, *_ in SCOPED]
)
def test_every_page_refuses_a_token_without_its_scope(
    secured_client, issuer, pdp, method, rule, scopes, path
):
    others = [scope for scope in ENDPOINT_SCOPES if scope not in scopes]
    _sign_in(secured_client, issuer.token(" ".join(others)))
    response = _open(secured_client, method, path)
    assert response.status_code == 403 and "This page is not for your token" in response.text
    assert pdp.versions().active == 1


def _sign_in(client, token: str, next_page: str = "/console/"):
    return client.post(
        "/console/sign-in",
        data={"token": token, "next": next_page, "csrf_token": csrf(client, "/console/sign-in")},
    )


def _cookie(response, name: str) -> str:
    return next(v for v in response.headers.getlist("Set-Cookie") if v.startswith(f"{name}="))


def test_without_a_token_a_page_sends_the_browser_to_sign_in_and_back(secured_client):
    response = secured_client.get("/console/grants?area=integrasjoner")
    assert response.status_code == 303
    assert response.location.startswith("/console/sign-in?next=")
    assert "grants" in response.location


def test_a_verified_token_is_kept_in_an_httponly_samesite_strict_cookie(secured_client, issuer):
    response = _sign_in(secured_client, issuer.token(), "/console/grants")
    assert response.status_code == 303 and response.location == "/console/grants"
    cookie = _cookie(response, TOKEN_COOKIE)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert secured_client.get("/console/grants").status_code == 200


def test_a_refused_token_is_named_next_to_the_field_and_nothing_is_kept(secured_client, issuer):
    response = _sign_in(secured_client, issuer.token(audience="https://elsewhere.example/"))
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert text_of(page, "token-error") == "the token is not meant for this PDP (aud)"
    assert not any(v.startswith(TOKEN_COOKIE) for v in response.headers.getlist("Set-Cookie"))


def test_an_expired_token_sends_the_browser_to_sign_in_again_saying_why(secured_client, issuer):
    secured_client.set_cookie(TOKEN_COOKIE, issuer.token(lifetime=-120), path="/console")
    response = secured_client.get("/console/")
    assert response.status_code == 303 and "reason=the+token+has+expired" in response.location


def test_a_page_needing_a_scope_the_token_lacks_is_refused_with_a_page_naming_it(
    secured_client, issuer
):
    _sign_in(secured_client, issuer.token(SCOPE_AUTHORIZE))
    response = secured_client.get("/console/versions")
    assert response.status_code == 403 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert f"<code>{SCOPE_ADMIN}</code>" in page and "Traceback" not in page
    assert secured_client.get("/console/ask").status_code == 200


def test_signing_in_never_leads_to_another_site(secured_client, issuer):
    for target in ("//evil.example/console/", "https://evil.example/", "/api/v1/grants"):
        response = _sign_in(secured_client, issuer.token(), target)
        assert response.location == "/console/"


def test_signing_out_forgets_the_token(secured_client, issuer):
    _sign_in(secured_client, issuer.token())
    token = csrf(secured_client, "/console/")  # the sign-out form
    response = secured_client.post("/console/sign-out", data={"csrf_token": token})
    assert "Max-Age=0" in _cookie(response, TOKEN_COOKIE)
    assert secured_client.get("/console/").status_code == 303


def test_a_form_without_the_csrf_value_is_refused(secured_client, issuer):
    csrf(secured_client, "/console/sign-in")  # the browser has the cookie, the form lacks it
    response = secured_client.post("/console/sign-in", data={"token": issuer.token()})
    assert response.status_code == 403
    assert "security token is missing" in response.get_data(as_text=True)


def test_a_form_sent_from_another_site_is_refused_even_with_the_right_value(secured_client, issuer):
    token = csrf(secured_client, "/console/sign-in")
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = secured_client.post(
            "/console/sign-in", data={"token": issuer.token(), "csrf_token": token}, headers=headers
        )
        assert response.status_code == 403


def test_the_csrf_cookie_is_httponly_and_samesite_strict(secured_client):
    response = secured_client.get("/console/sign-in")
    cookie = _cookie(response, CSRF_COOKIE)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_with_authentication_off_every_page_opens_directly(client):
    for path in ("/console/", "/console/grants", "/console/resources", "/console/ask"):
        assert client.get(path).status_code == 200, path
    for path in ("/console/delegations", "/console/versions"):
        assert client.get(path).status_code == 200, path
    assert client.get("/console/sign-in").status_code == 303


def test_every_console_page_states_its_scopes_or_is_public(secured_app):
    endpoints = {
        endpoint: view
        for endpoint, view in secured_app.view_functions.items()
        if endpoint.startswith("console.")
    }
    assert endpoints
    public = {e for e, view in endpoints.items() if getattr(view, "_public", False)}
    assert public == {"console.static", "console.sign_in", "console.sign_out", "console.not_found"}
    assert all(hasattr(endpoints[e], "_required_scopes") for e in endpoints.keys() - public)


def test_pages_send_a_content_security_policy_without_inline_code(client):
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    for path in ("/console/", "/console/versions/999", "/console/static/console.css"):
        response = client.get(path)
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_load_nothing_from_elsewhere_and_hold_no_inline_script_or_style(client):
    for path in ("/console/", "/console/grants", "/console/resources", "/console/ask"):
        page = client.get(path).get_data(as_text=True)
        for link in re.findall(r'(?:src|href)="([^"]*)"', page):
            assert link.startswith(("/console/", "#")), (path, link)
        assert "<style" not in page and " style=" not in page and " on" + "click=" not in page
        assert re.findall(r"<script[^>]*>", page) == [
            '<script src="/console/static/console.js" defer>'
        ]


def test_an_address_no_page_has_is_a_404_page(secured_client):
    response = secured_client.get("/console/no/such/page")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "no page /console/no/such/page" in response.text
    assert secured_client.get("/console/static/nothing.css").status_code == 404

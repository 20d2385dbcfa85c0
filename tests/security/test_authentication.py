"""Who may call what: every guarded endpoint refuses every kind of bad token with 401 or 403 and
a `WWW-Authenticate` challenge, before it reads the request; the right token gets through.

The endpoint table below must name every guarded route of the app (a test checks it against the
app's URL map), so a new endpoint cannot go untested here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from pdp.api.auth import (
    SCOPE_ADMIN,
    SCOPE_AUTHORIZE,
    SCOPE_AUTHORIZED_PARTIES,
    SCOPE_DELEGATIONS,
    SCOPE_DELEGATIONS_ON_BEHALF,
)
from pdp.api.common import MAX_INTEGER
from pdp.api.metrics import SCOPE_METRICS
from tests.conftest import REGISTER
from tests.helpers import package_request
from tests.security.tokens import AUDIENCE, ISSUER, Issuer, bearer

PACKAGE = "urn:altinn:accesspackage:maskinlesbarehendelser"
DAGL = REGISTER.as_holders["DAGL"]


def _delegation_body() -> dict[str, Any]:
    return {
        "party": REGISTER.as_org,
        "package": PACKAGE,
        "delegator": DAGL,
        "recipient": {"person": REGISTER.stranger},
    }


#: (method, URL rule, the scope it needs, a path to call, a JSON body). A request that would
#: do something if let through, so a refusal is visible as the absence of that effect.
ENDPOINTS: list[tuple[str, str, str, str, Any]] = [
    (
        "POST",
        "/authorization/api/v1/authorize",
        SCOPE_AUTHORIZE,
        "/authorization/api/v1/authorize",
        package_request(DAGL, REGISTER.as_org, PACKAGE),
    ),
    (
        "POST",
        "/api/v1/decision",
        SCOPE_AUTHORIZE,
        "/api/v1/decision",
        {
            "subject": {"id": f"urn:altinn:person:identifier-no:{DAGL}"},
            "resource": {"id": PACKAGE, "attributes": {"party": REGISTER.as_org}},
            "action": {"id": "access"},
        },
    ),
    ("POST", "/api/v1/delegations", SCOPE_DELEGATIONS, "/api/v1/delegations", _delegation_body()),
    ("GET", "/api/v1/delegations", SCOPE_DELEGATIONS, "/api/v1/delegations", None),
    (
        "GET",
        "/api/v1/delegations/<delegation_id>",
        SCOPE_DELEGATIONS,
        "/api/v1/delegations/00000000-0000-0000-0000-000000000000",
        None,
    ),
    (
        "DELETE",
        "/api/v1/delegations/<delegation_id>",
        SCOPE_DELEGATIONS,
        f"/api/v1/delegations/00000000-0000-0000-0000-000000000000?revoked_by={DAGL}",
        None,
    ),
    ("GET", "/api/v1/policy-sets", SCOPE_ADMIN, "/api/v1/policy-sets", None),
    ("POST", "/api/v1/policy-sets", SCOPE_ADMIN, "/api/v1/policy-sets", {"source": {}}),
    ("GET", "/api/v1/policy-sets/active", SCOPE_ADMIN, "/api/v1/policy-sets/active", None),
    (
        "GET",
        f"/api/v1/policy-sets/<int(max={MAX_INTEGER}):number>",
        SCOPE_ADMIN,
        "/api/v1/policy-sets/1",
        None,
    ),
    (
        "POST",
        f"/api/v1/policy-sets/<int(max={MAX_INTEGER}):number>/activate",
        SCOPE_ADMIN,
        "/api/v1/policy-sets/1/activate",
        {"base_version": 1},
    ),
    (
        "POST",
        "/api/v1/register/imports",
        SCOPE_ADMIN,
        "/api/v1/register/imports",
        {"organizations": []},
    ),
    (
        "POST",
        "/accessmanagement/api/v1/resourceowner/authorizedparties",
        SCOPE_AUTHORIZED_PARTIES,
        "/accessmanagement/api/v1/resourceowner/authorizedparties",
        {"type": "urn:altinn:person:identifier-no", "value": DAGL},
    ),
    (
        "GET",
        "/api/v1/parties/<organization>/holders",
        SCOPE_ADMIN,
        f"/api/v1/parties/{REGISTER.as_org}/holders?package={PACKAGE}",
        None,
    ),
    (
        "POST",
        "/api/v1/explain",
        SCOPE_ADMIN,
        "/api/v1/explain",
        package_request(DAGL, REGISTER.as_org, PACKAGE),
    ),
    ("GET", "/api/v1/packages", SCOPE_AUTHORIZE, "/api/v1/packages", None),
    ("GET", "/api/v1/roles", SCOPE_AUTHORIZE, "/api/v1/roles", None),
    ("GET", "/api/v1/grants", SCOPE_AUTHORIZE, "/api/v1/grants", None),
    ("GET", "/metrics", SCOPE_METRICS, "/metrics", None),
]
ENDPOINT_IDS = [f"{method} {rule}" for method, rule, *_ in ENDPOINTS]

#: Ways a token is wrong, each made by one issuer call; all must be refused with 401.
BAD_TOKENS: dict[str, Callable[[Issuer, Issuer], str]] = {
    "expired": lambda issuer, _: issuer.token(lifetime=-120),
    "not yet valid": lambda issuer, _: issuer.token(not_before=time.time() + 600),
    "wrong audience": lambda issuer, _: issuer.token(audience="https://another.example/"),
    "no audience": lambda issuer, _: issuer.token(audience=None),
    "wrong issuer": lambda issuer, _: issuer.token(issuer="https://evil.example/"),
    "signed by a stranger's key": lambda _, stranger: stranger.token(),
    "unknown key id": lambda issuer, _: issuer.token(kid="no-such-key"),
    "tampered payload": lambda issuer, _: _tampered(issuer.token(scopes=SCOPE_AUTHORIZE)),
    "alg none": lambda issuer, _: jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 300, "scope": SCOPE_ADMIN},
        None,
        algorithm="none",
    ),
    "HS256 with the public key as secret": lambda issuer, _: _hmac_with_public_key(issuer),
    "not a JWT": lambda *_: "not-a-token",
    "malformed person claim": lambda issuer, _: issuer.token(person="12345678901"),
}


def _tampered(token: str) -> str:
    """The token with its payload swapped for one claiming every scope, signature kept."""
    header, _, signature = token.split(".")
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time() + 300), "scope": SCOPE_ADMIN}
    payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    return f"{header}.{payload}.{signature}"


def _hmac_with_public_key(issuer: Issuer) -> str:
    """The classic algorithm confusion: HS256 keyed with the issuer's public RSA key."""
    public = (
        issuer.keys["RS256"][1]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.keys["RS256"][0]}
    body = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time() + 300), "scope": SCOPE_ADMIN}
    signing_input = ".".join(
        jwt.utils.base64url_encode(json.dumps(part).encode()).decode() for part in (header, body)
    )
    signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{jwt.utils.base64url_encode(signature).decode()}"


def _call(client, method: str, path: str, body: Any, headers: dict[str, str]):
    if body is None:
        return client.open(path, method=method, headers=headers)
    return client.open(path, method=method, json=body, headers=headers)


def _assert_refused(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.startswith('Bearer realm="pdp"')
    body = response.get_json()
    assert body["code"] == status
    assert "Decision" not in response.get_data(as_text=True)
    return challenge


def test_the_table_names_every_guarded_route(secured_app):
    """(The console's pages have their own table: tests/console/test_access.py.)"""
    guarded = {
        (method, rule.rule)
        for rule in secured_app.url_map.iter_rules()
        if hasattr(secured_app.view_functions[rule.endpoint], "_required_scopes")
        and not rule.rule.startswith("/console/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert guarded == {(method, rule) for method, rule, *_ in ENDPOINTS}


@pytest.mark.parametrize(("method", "rule", "scope", "path", "body"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_a_request_without_a_token_is_401_with_a_bare_challenge(
    secured_client, method, rule, scope, path, body
):
    challenge = _assert_refused(_call(secured_client, method, path, body, {}), 401)
    assert "error=" not in challenge  # RFC 6750 3.1: no error code when no token was sent


@pytest.mark.parametrize(("method", "rule", "scope", "path", "body"), ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "bearer", "Token abc"]
)
def test_an_authorization_header_without_a_bearer_token_is_401(
    secured_client, method, rule, scope, path, body, header
):
    _assert_refused(_call(secured_client, method, path, body, {"Authorization": header}), 401)


@pytest.mark.parametrize(("method", "rule", "scope", "path", "body"), ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_a_bad_token_is_401_invalid_token(
    secured_client, issuer, stranger, method, rule, scope, path, body, case
):
    token = BAD_TOKENS[case](issuer, stranger)
    response = _call(secured_client, method, path, body, bearer(token))
    challenge = _assert_refused(response, 401)
    assert 'error="invalid_token"' in challenge


@pytest.mark.parametrize(("method", "rule", "scope", "path", "body"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_a_token_without_the_scope_is_403_insufficient_scope(
    secured_client, issuer, method, rule, scope, path, body
):
    others = " ".join(
        s for s in (SCOPE_AUTHORIZE, SCOPE_DELEGATIONS, SCOPE_ADMIN, "openid") if s != scope
    )
    if rule.startswith("/api/v1/packages") or rule in ("/api/v1/roles", "/api/v1/grants"):
        others = "openid altinn:instances.read"  # the catalog views take any PDP scope
    if scope == SCOPE_AUTHORIZED_PARTIES:  # Altinn's scope, or pdp:admin
        others = f"openid {SCOPE_AUTHORIZE} {SCOPE_DELEGATIONS}"
    if rule == "/metrics":
        others = f"openid {SCOPE_AUTHORIZE} {SCOPE_DELEGATIONS}"  # pdp:admin may read them
    response = _call(secured_client, method, path, body, bearer(issuer.token(scopes=others)))
    challenge = _assert_refused(response, 403)
    assert 'error="insufficient_scope"' in challenge
    assert f'scope="{scope}' in challenge or "scope=" in challenge


@pytest.mark.parametrize(("method", "rule", "scope", "path", "body"), ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_valid_token_with_the_scope_gets_through(
    secured_client, issuer, method, rule, scope, path, body, algorithm
):
    # As the person the delegation endpoints' requests name (acting in another's name needs a
    # scope of its own).
    token = issuer.token(scopes=scope, algorithm=algorithm, person=DAGL)
    response = _call(secured_client, method, path, body, bearer(token))
    assert response.status_code not in (401, 403), response.get_data(as_text=True)
    assert response.status_code < 500


def test_a_token_with_the_scope_as_a_list_gets_through(secured_client, issuer):
    token = issuer.token(scopes=[SCOPE_AUTHORIZE], scp=None)
    response = secured_client.post("/api/v1/decision", json=ENDPOINTS[1][4], headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["decision"] == "Permit"


def test_a_token_for_one_scope_cannot_reach_another(secured_client, issuer):
    token = bearer(issuer.token(scopes=SCOPE_AUTHORIZE))
    assert (
        secured_client.post("/api/v1/decision", json=ENDPOINTS[1][4], headers=token).status_code
        == 200
    )
    assert secured_client.get("/api/v1/policy-sets", headers=token).status_code == 403
    assert secured_client.get("/api/v1/delegations", headers=token).status_code == 403


def test_health_and_the_openapi_document_are_public(secured_client):
    health = secured_client.get("/health")
    assert health.status_code == 200
    assert health.get_json()["authentication"] == "enabled"
    spec = secured_client.get("/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    decide = spec["paths"]["/api/v1/decision"]["post"]
    assert decide["security"] == [{"bearerAuth": [SCOPE_AUTHORIZE]}]
    assert {"401", "403"} <= set(decide["responses"])


class TestDelegatingWithAPersonToken:
    """A token naming a person (`pid`) delegates and revokes as that person, and only as them."""

    def test_the_delegator_comes_from_the_token(self, secured_client, issuer):
        body = _delegation_body()
        del body["delegator"]
        token = bearer(issuer.token(scopes=SCOPE_DELEGATIONS, person=DAGL))
        response = secured_client.post("/api/v1/delegations", json=body, headers=token)
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["delegator"] == DAGL

    def test_the_token_person_may_name_themself(self, secured_client, issuer):
        token = bearer(issuer.token(scopes=SCOPE_DELEGATIONS, person=DAGL))
        response = secured_client.post(
            "/api/v1/delegations", json=_delegation_body(), headers=token
        )
        assert response.status_code == 201

    def test_a_token_cannot_delegate_on_someone_elses_behalf(self, secured_client, issuer):
        someone_else = REGISTER.as_holders["LEDE"]
        token = bearer(issuer.token(scopes=SCOPE_DELEGATIONS, person=someone_else))
        response = secured_client.post(
            "/api/v1/delegations", json=_delegation_body(), headers=token
        )
        assert response.status_code == 403
        assert "token" in response.get_json()["message"]
        listing = secured_client.get("/api/v1/delegations", headers=token).get_json()
        assert listing["total"] == 0

    def test_a_person_without_the_right_cannot_delegate_even_for_themself(
        self, secured_client, issuer
    ):
        body = _delegation_body()
        del body["delegator"]
        token = bearer(issuer.token(scopes=SCOPE_DELEGATIONS, person=REGISTER.stranger))
        body["recipient"] = {"person": REGISTER.as_holders["MEDL"]}
        response = secured_client.post("/api/v1/delegations", json=body, headers=token)
        assert response.status_code == 403

    def test_a_token_without_a_person_must_name_the_delegator(self, secured_client, issuer):
        body = _delegation_body()
        del body["delegator"]
        token = bearer(issuer.token(scopes=SCOPE_DELEGATIONS))
        response = secured_client.post("/api/v1/delegations", json=body, headers=token)
        assert response.status_code == 400
        assert "delegator" in response.get_json()["errors"]

    def test_a_token_without_a_person_may_not_delegate_in_a_named_persons_name(
        self, secured_client, issuer
    ):
        token = bearer(issuer.token(scopes=SCOPE_DELEGATIONS))
        response = secured_client.post(
            "/api/v1/delegations", json=_delegation_body(), headers=token
        )
        assert response.status_code == 403
        assert response.get_json()["message"] == (
            "the token names no person (pid), so it may act in the name of the delegator only "
            f"with the scope {SCOPE_DELEGATIONS_ON_BEHALF}"
        )
        listing = secured_client.get("/api/v1/delegations", headers=token).get_json()
        assert listing["total"] == 0

    def test_a_token_with_the_on_behalf_scope_delegates_and_revokes_in_a_named_persons_name(
        self, secured_client, issuer
    ):
        token = bearer(issuer.token(scopes=f"{SCOPE_DELEGATIONS} {SCOPE_DELEGATIONS_ON_BEHALF}"))
        made = secured_client.post("/api/v1/delegations", json=_delegation_body(), headers=token)
        assert made.status_code == 201, made.get_json()
        assert made.get_json()["delegator"] == DAGL
        path = f"/api/v1/delegations/{made.get_json()['id']}?revoked_by={DAGL}"
        without = bearer(issuer.token(scopes=SCOPE_DELEGATIONS))
        refused = secured_client.delete(path, headers=without)
        assert refused.status_code == 403
        assert SCOPE_DELEGATIONS_ON_BEHALF in refused.get_json()["message"]
        revoked = secured_client.delete(path, headers=token)
        assert revoked.status_code == 200
        assert revoked.get_json()["revoked_by"] == DAGL

    def test_revoking_is_done_as_the_token_person(self, secured_client, issuer):
        body = _delegation_body()
        del body["delegator"]
        token = bearer(issuer.token(scopes=SCOPE_DELEGATIONS, person=DAGL))
        made = secured_client.post("/api/v1/delegations", json=body, headers=token).get_json()
        other = bearer(issuer.token(scopes=SCOPE_DELEGATIONS, person=REGISTER.stranger))
        path = f"/api/v1/delegations/{made['id']}"
        assert secured_client.delete(f"{path}?revoked_by={DAGL}", headers=other).status_code == 403
        assert secured_client.delete(path, headers=other).status_code == 403
        revoked = secured_client.delete(path, headers=token)
        assert revoked.status_code == 200
        assert revoked.get_json()["revoked_by"] == DAGL

"""The token verifier refuses every malformed token with 401, whatever its header and claims.

Tokens here are correctly signed (ES256, with the issuer's own key), so the verifier gets past
the signature to the header's and the claims' contents: hypothesis puts arbitrary JSON in place
of each header parameter and claim (lists, objects, numbers beyond the float range, NaN,
booleans, nesting) and checks that the verifier either accepts the token or raises
`AuthenticationFailed`, never anything else; and, through the app, that the answer is never a
500.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdp.api.auth import AuthenticationFailed, Caller, JwksFile, TokenVerifier
from tests.security.tokens import AUDIENCE, ISSUER, Issuer, bearer

#: JSON values of every kind, nested, with the numbers JSON parsers choke on.
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
#: The numbers a time claim must not be: beyond float range, not finite, booleans, text.
ODD_NUMBERS = st.sampled_from(
    [10**400, -(10**400), 10**309, float("inf"), float("-inf"), float("nan"), True, False, "1"]
)
HEADER_NAMES = ("alg", "kid", "typ", "crit", "b64", "jku", "x5u", "cty")
CLAIM_NAMES = ("iss", "aud", "exp", "nbf", "iat", "scope", "scp", "sub", "client_id", "azp", "pid")


def _signed(issuer: Issuer, header: Any, claims: Any) -> str:
    """A token with exactly this header and these claims (any JSON), signed with the issuer's
    ES256 key whatever the header says."""
    segments = [
        jwt.utils.base64url_encode(json.dumps(part).encode()).decode() for part in (header, claims)
    ]
    signing_input = ".".join(segments).encode()
    key = issuer.keys["ES256"][1]
    signature = jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA256).sign(
        signing_input, key
    )
    return f"{signing_input.decode()}.{jwt.utils.base64url_encode(signature).decode()}"


def _valid_parts(issuer: Issuer) -> tuple[dict[str, Any], dict[str, Any]]:
    now = time.time()
    header = {"alg": "ES256", "typ": "JWT", "kid": issuer.keys["ES256"][0]}
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(now + 300), "iat": int(now)}
    return header, claims | {"scope": "altinn:authorization/authorize", "sub": "fuzz"}


def _mutated(base: dict[str, Any], names: tuple[str, ...], values: st.SearchStrategy[Any]):
    """`base` with some of `names` set to arbitrary values or left out."""
    return st.dictionaries(st.sampled_from(names), st.none() | values, max_size=4).map(
        lambda changes: {
            **{k: v for k, v in base.items() if k not in changes or changes[k] is not None},
            **{k: v for k, v in changes.items() if v is not None},
        }
    )


def _parts(issuer: Issuer) -> st.SearchStrategy[tuple[Any, Any]]:
    header, claims = _valid_parts(issuer)
    return st.tuples(
        _mutated(header, HEADER_NAMES, JSON) | JSON,
        _mutated(claims, CLAIM_NAMES, JSON | ODD_NUMBERS) | JSON,
    )


@pytest.fixture(scope="module")
def fuzzing_issuer() -> Issuer:
    return Issuer(prefix="fuzz")


@pytest.fixture(scope="module")
def verifier(fuzzing_issuer: Issuer, tmp_path_factory) -> TokenVerifier:
    path = fuzzing_issuer.write_jwks(tmp_path_factory.mktemp("keys") / "jwks.json")
    return TokenVerifier(JwksFile(str(path)), issuer=ISSUER, audience=AUDIENCE)


def _verdict(verifier: TokenVerifier, token: str) -> Caller | AuthenticationFailed:
    try:
        return verifier.verify(token)
    except AuthenticationFailed as refused:
        return refused


@settings(max_examples=600, deadline=None)
@given(data=st.data())
def test_any_header_and_claims_are_accepted_or_refused_never_an_error(
    data, verifier, fuzzing_issuer
):
    header, claims = data.draw(_parts(fuzzing_issuer))
    token = _signed(fuzzing_issuer, header, claims)
    # Twice: the second time the verifier may answer from its cache of checked tokens.
    first, second = _verdict(verifier, token), _verdict(verifier, token)
    assert type(first) is type(second)


@pytest.mark.parametrize(
    ("header", "claims"),
    [
        pytest.param({"alg": ["ES256"]}, {}, id="alg a list"),
        pytest.param({"alg": {"ES256": 1}}, {}, id="alg an object"),
        pytest.param({"alg": None}, {}, id="alg null"),
        pytest.param({"kid": ["fuzz-ec"]}, {}, id="kid a list"),
        pytest.param({"kid": {"id": 1}}, {}, id="kid an object"),
        pytest.param({"kid": 7}, {}, id="kid a number"),
        pytest.param({}, {"exp": 10**400}, id="exp beyond the float range"),
        pytest.param({}, {"exp": float("inf")}, id="exp infinite"),
        pytest.param({}, {"exp": float("nan")}, id="exp NaN"),
        pytest.param({}, {"exp": True}, id="exp a boolean"),
        pytest.param({}, {"exp": "99999999999"}, id="exp text"),
        pytest.param({}, {"exp": [1]}, id="exp a list"),
        pytest.param({}, {"nbf": -(10**400)}, id="nbf beyond the float range"),
        pytest.param({}, {"nbf": float("nan")}, id="nbf NaN"),
        pytest.param({}, {"nbf": False}, id="nbf a boolean"),
        pytest.param({}, {"nbf": "0"}, id="nbf text"),
        pytest.param({}, {"iat": 10**400}, id="iat beyond the float range"),
        pytest.param({}, {"iss": [ISSUER]}, id="iss a list"),
        pytest.param({}, {"aud": {"aud": AUDIENCE}}, id="aud an object"),
        pytest.param({}, {"pid": 12345678901}, id="pid a number"),
        pytest.param({}, {"scope": {"a": 1}}, id="scope an object"),
    ],
)
def test_each_malformed_header_and_claim_is_refused(verifier, fuzzing_issuer, header, claims):
    valid_header, valid_claims = _valid_parts(fuzzing_issuer)
    token = _signed(fuzzing_issuer, valid_header | header, valid_claims | claims)
    with pytest.raises(AuthenticationFailed):
        verifier.verify(token)
    with pytest.raises(AuthenticationFailed):
        verifier.verify(token)


def test_the_unmutated_token_is_accepted(verifier, fuzzing_issuer):
    """The fuzzing starts from a token the verifier accepts, so a refusal is the mutation's."""
    token = _signed(fuzzing_issuer, *_valid_parts(fuzzing_issuer))
    assert verifier.verify(token).subject == "fuzz"


@pytest.fixture
def fuzzing_client(secured_settings, fuzzing_issuer, tmp_path: Path, pdp):
    from dataclasses import replace

    from pdp.api import create_app

    keys = fuzzing_issuer.write_jwks(tmp_path / "fuzz-jwks.json")
    app = create_app(replace(secured_settings, jwks_file=str(keys)))
    yield app.test_client()
    app.extensions["pdp"].close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_through_the_app_a_malformed_token_is_401_never_500(data, fuzzing_client, fuzzing_issuer):
    header, claims = data.draw(_parts(fuzzing_issuer))
    token = _signed(fuzzing_issuer, header, claims)
    response = fuzzing_client.get("/api/v1/packages", headers=bearer(token))
    assert response.status_code in (200, 401, 403), response.get_data(as_text=True)
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="pdp"')

"""Every query parameter, fuzzed: no value makes an answer a 5xx, and an integer past its bound
is a 400 naming the parameter.

The parameters are those the served OpenAPI document declares, so a new one is fuzzed without
being named here; every integer parameter (query or path) must declare its bounds, within
`MAX_INTEGER`, which no database integer overflows at.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdp.api.common import MAX_INTEGER
from tests.security.test_openapi_conformance import DOCUMENT
from tests.security.tokens import bearer

#: A value for each path parameter, so that the operation is reached.
PATH_VALUES = {"delegation_id": "00000000-0000-0000-0000-000000000000", "number": "1"}
#: A body for each operation that needs one to reach its query parameters.
BODIES = {("post", "/api/v1/policy-sets"): {"source": {}, "base_version": 0}}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
        if method != "parameters"
    ]


def _parameters(operation: dict[str, Any], where: str) -> list[dict[str, Any]]:
    return [p for p in operation.get("parameters", []) if p["in"] == where]


QUERY_PARAMETERS = [
    (method, path, parameter)
    for method, path, operation in _operations()
    for parameter in _parameters(operation, "query")
]
#: Path parameters are declared for the path, not each operation (flask-smorest).
INTEGER_PARAMETERS = [
    (method, path, parameter)
    for method, path, operation in _operations()
    for parameter in _parameters(operation, "query") + _parameters(DOCUMENT["paths"][path], "path")
    if parameter["schema"].get("type") == "integer"
]


def _id(parameter: tuple[str, str, dict[str, Any]]) -> str:
    method, path, declared = parameter
    return f"{method.upper()} {path} {declared['name']}"


def test_the_document_declares_the_parameters_checked_here():
    names = {(path, parameter["name"]) for _, path, parameter in QUERY_PARAMETERS}
    assert {("/api/v1/delegations", "offset"), ("/api/v1/delegations", "limit")} <= names
    integers = {(path, parameter["name"]) for _, path, parameter in INTEGER_PARAMETERS}
    assert ("/api/v1/policy-sets/{number}", "number") in integers


@pytest.mark.parametrize("parameter", INTEGER_PARAMETERS, ids=map(_id, INTEGER_PARAMETERS))
def test_every_integer_parameter_is_bounded(parameter):
    _, _, declared = parameter
    schema = declared["schema"]
    assert 0 <= schema.get("minimum", -1) <= schema.get("maximum", MAX_INTEGER + 1) <= MAX_INTEGER


def _url(path: str, name: str, value: str) -> str:
    for placeholder, filled in PATH_VALUES.items():
        path = path.replace(f"{{{placeholder}}}", filled)
    return f"{path}?{quote(name, safe='')}={quote(value, safe='')}"


#: Values of every kind: text (any characters), integers near and far past any bound (also
#: beyond SQLite's and Python's int conversion limits), numbers in other spellings.
VALUES = st.one_of(
    st.text(max_size=30),
    st.integers().map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(
        [
            str(MAX_INTEGER),
            str(MAX_INTEGER + 1),
            str(2**63),
            str(2**64),
            "9" * 5000,
            "-1",
            "1e3",
            "0x10",
            "\uff11\uff12",  # full-width digits: numeric to Python, not ASCII
            "",
            "true",
            "NaN",
        ]
    ),
)


@pytest.mark.parametrize("parameter", QUERY_PARAMETERS, ids=map(_id, QUERY_PARAMETERS))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=VALUES)
def test_no_query_parameter_value_makes_a_5xx(secured_client, issuer, parameter, value):
    method, path, declared = parameter
    response = secured_client.open(
        _url(path, declared["name"], value),
        method=method.upper(),
        json=BODIES.get((method, path)),
        headers=bearer(issuer.token()),
    )
    assert response.status_code < 500, response.get_data(as_text=True)
    schema = declared["schema"]
    if schema.get("type") == "integer" and value.isascii() and value.lstrip("-").isdigit():
        number = int(value) if len(value) < 1000 else 10**1000
        if not schema.get("minimum", 0) <= number <= schema.get("maximum", MAX_INTEGER):
            assert response.status_code == 400, response.get_data(as_text=True)
            assert declared["name"] in response.get_data(as_text=True)


@pytest.mark.parametrize("value", [str(MAX_INTEGER + 1), str(2**63), "9" * 5000])
def test_an_offset_past_the_bound_is_400_naming_it(secured_client, issuer, value):
    response = secured_client.get(
        f"/api/v1/delegations?offset={value}", headers=bearer(issuer.token())
    )
    assert response.status_code == 400
    assert "offset" in response.get_json()["errors"]["query"]


def test_the_largest_offset_is_answered(secured_client, issuer):
    response = secured_client.get(
        f"/api/v1/delegations?offset={MAX_INTEGER}", headers=bearer(issuer.token())
    )
    assert response.status_code == 200
    assert response.get_json()["items"] == []


@pytest.mark.parametrize("path", ["/api/v1/policy-sets/{}", "/api/v1/policy-sets/{}/activate"])
def test_a_version_number_past_the_bound_names_no_version(secured_client, issuer, path):
    method = "POST" if path.endswith("activate") else "GET"
    for number in (str(MAX_INTEGER + 1), str(2**63), "9" * 5000):
        response = secured_client.open(
            path.format(number), method=method, json={}, headers=bearer(issuer.token())
        )
        assert response.status_code == 404

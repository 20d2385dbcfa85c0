"""Hostile bodies are refused early and cheaply, with a message naming the limit; failures that
get through anyway answer 500 with an id, never a stack trace or SQL."""

from __future__ import annotations

import time

import pytest

from pdp.api import create_app
from tests.conftest import REGISTER
from tests.helpers import attribute, open_settings, package_request

PACKAGE = "urn:altinn:accesspackage:maskinlesbarehendelser"
AUTHORIZE = "/authorization/api/v1/authorize"


@pytest.fixture
def limited(database_url, pdp):
    """An app with small limits, so each can be reached with a small body."""
    app = create_app(
        open_settings(
            database_url,
            max_body_bytes=64 * 1024,
            max_json_depth=12,
            max_string_length=200,
            max_multi_requests=5,
            max_attributes_per_category=4,
        )
    )
    yield app.test_client()
    app.extensions["pdp"].close()


def _refused(response, *fragments: str) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    message = response.get_json()["message"]
    for fragment in fragments:
        assert fragment in message


def _multi(count: int) -> dict:
    subjects = [
        {"Id": f"s{i}", "Attribute": [attribute("urn:altinn:person:identifier-no", person)]}
        for i, person in enumerate(list(REGISTER.as_holders.values())[:count])
    ]
    request = package_request(REGISTER.as_holders["DAGL"], REGISTER.as_org, PACKAGE)["Request"]
    request["Resource"][0]["Id"] = "r"
    request["Action"][0]["Id"] = "a"
    request["AccessSubject"] = subjects
    request["MultiRequests"] = {
        "RequestReference": [{"ReferenceId": [f"s{i}", "r", "a"]} for i in range(count)]
    }
    return {"Request": request}


def test_a_request_within_every_limit_is_decided(limited):
    response = limited.post(AUTHORIZE, json=_multi(5))
    assert response.status_code == 200
    assert [r["Decision"] for r in response.get_json()["Response"]] == ["Permit"] * 5


def test_too_many_multirequests_references_are_refused(limited):
    _refused(limited.post(AUTHORIZE, json=_multi(6)), "6 MultiRequests references", "more than 5")


def test_too_many_attributes_in_a_category_are_refused(limited):
    body = package_request(REGISTER.as_holders["DAGL"], REGISTER.as_org, PACKAGE)
    body["Request"]["Resource"][0]["Attribute"] *= 3
    _refused(
        limited.post(AUTHORIZE, json=body),
        "$.Request.Resource[0].Attribute",
        "PDP_MAX_ATTRIBUTES_PER_CATEGORY",
    )


@pytest.mark.parametrize("path", [AUTHORIZE, "/api/v1/decision", "/api/v1/delegations"])
def test_deep_nesting_is_refused_on_every_endpoint(limited, path):
    body: dict = {"x": 1}
    for _ in range(20):
        body = {"x": body}
    _refused(limited.post(path, json=body), "nests deeper than 12", "PDP_MAX_JSON_DEPTH")


def test_nesting_deeper_than_any_parser_follows_is_a_quick_400(limited):
    started = time.perf_counter()
    response = limited.post(
        AUTHORIZE, data="[" * 20_000 + "]" * 20_000, content_type="application/json"
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["message"]
    assert time.perf_counter() - started < 5  # refused by the parser, not by a recursion


@pytest.mark.parametrize("where", ["value", "key"])
def test_an_overlong_string_is_refused(limited, where):
    body = package_request(REGISTER.as_holders["DAGL"], REGISTER.as_org, PACKAGE)
    if where == "value":
        body["Request"]["AccessSubject"][0]["Attribute"][0]["Value"] = "1" * 201
    else:
        body["Request"]["AccessSubject"][0]["x" * 201] = 1
    _refused(limited.post(AUTHORIZE, json=body), "longer than 200", "PDP_MAX_STRING_LENGTH")


def test_a_body_over_the_size_limit_is_413(limited):
    response = limited.post(
        AUTHORIZE, data=b'{"a": "' + b"x" * 70_000 + b'"}', content_type="application/json"
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"Request": NaN}', b'{"a": 1e999999}', b"\xff\xfe"],
)
def test_bodies_that_are_not_strict_json_are_400(limited, raw):
    response = limited.post(AUTHORIZE, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["message"]


def test_an_unexpected_failure_is_a_500_with_an_id_and_nothing_inside(client, app, monkeypatch):
    def fail(*_: object) -> None:
        raise RuntimeError("SELECT secret FROM role_assignments WHERE holder_id = '02056260016'")

    monkeypatch.setattr(app.extensions["pdp"].engine, "decide_all", fail)
    body = package_request(REGISTER.as_holders["DAGL"], REGISTER.as_org, PACKAGE)
    response = client.post(AUTHORIZE, json=body)
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    for leak in ("SELECT", "Traceback", "RuntimeError", "02056260016", "role_assignments"):
        assert leak not in text
    answer = response.get_json()
    assert answer["decision_id"] == response.headers["X-Request-Id"]
    assert len(answer["decision_id"]) == 32

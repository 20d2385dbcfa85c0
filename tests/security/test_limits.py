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
    assert answer["request_id"] == response.headers["X-Request-Id"]
    assert len(answer["request_id"]) == 32


# --- each limit: exactly at it is read, one over is refused (the reader's single walk) -------


def _decided(response) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)


def test_multirequests_references_exactly_at_the_limit_are_read(limited):
    _decided(limited.post(AUTHORIZE, json=_multi(5)))
    _refused(limited.post(AUTHORIZE, json=_multi(6)), "$.Request.MultiRequests.RequestReference")


def _with_attributes(count: int) -> dict:
    body = package_request(REGISTER.as_holders["DAGL"], REGISTER.as_org, PACKAGE)
    extra = [attribute(f"urn:test:extra:{i}", "x") for i in range(count - 2)]
    body["Request"]["Resource"][0]["Attribute"] += extra
    return body


def test_attributes_exactly_at_the_limit_are_read(limited):
    _decided(limited.post(AUTHORIZE, json=_with_attributes(4)))
    _refused(limited.post(AUTHORIZE, json=_with_attributes(5)), "5 attributes in one category")


@pytest.mark.parametrize("where", ["value", "key", "unread member", "value in a bag"])
def test_strings_exactly_at_the_limit_are_read(limited, where):
    def body(length: int) -> dict:
        document = package_request(REGISTER.as_holders["DAGL"], REGISTER.as_org, PACKAGE)
        action = document["Request"]["Action"][0]
        if where == "value":
            action["Attribute"].append(attribute("urn:test:x", "v" * length))
        elif where == "key":
            action["k" * length] = 1
        elif where == "unread member":
            document["Request"]["XPathVersion"] = "v" * length
        else:
            action["Attribute"].append(attribute("urn:test:x", ["a", "v" * length]))
        return document

    _decided(limited.post(AUTHORIZE, json=body(200)))
    _refused(limited.post(AUTHORIZE, json=body(201)), "longer than 200", "PDP_MAX_STRING_LENGTH")


@pytest.mark.parametrize("where", ["attribute value", "unread member", "Content"])
def test_nesting_exactly_at_the_limit_is_read(limited, where):
    def body(depth: int) -> dict:
        """A request whose deepest object or list is at `depth` (the body itself is 0)."""
        document = package_request(REGISTER.as_holders["DAGL"], REGISTER.as_org, PACKAGE)
        action = document["Request"]["Action"][0]  # depth 3; its members' values at 4
        nested: object = "x"
        for _ in range(depth - 5 + 1):
            nested = [nested]
        if where == "attribute value":  # an attribute (5), its value (6) and deeper
            nested = "x"
            for _ in range(depth - 6 + 1):
                nested = [nested]
            action["Attribute"].append(attribute("urn:test:x", nested))
        elif where == "unread member":
            action["x-unread"] = {"y": nested}
        else:
            action["Content"] = {"y": nested}
        return document

    _decided(limited.post(AUTHORIZE, json=body(11)))  # levels 0..11: twelve
    _refused(limited.post(AUTHORIZE, json=body(12)), "nests deeper than 12", "PDP_MAX_JSON_DEPTH")


@pytest.mark.parametrize("path", ["/api/v1/decision", "/api/v1/delegations"])
def test_other_bodies_exactly_at_the_nesting_limit_are_read_for_the_limits(limited, path):
    def body(depth: int) -> dict:
        document: dict = {"x": 1}
        for _ in range(depth):
            document = {"x": document}
        return document

    response = limited.post(path, json=body(11))
    assert response.status_code == 400
    assert "PDP_MAX_JSON_DEPTH" not in response.get_json()["message"]  # refused for its fields
    _refused(limited.post(path, json=body(12)), "nests deeper than 12")

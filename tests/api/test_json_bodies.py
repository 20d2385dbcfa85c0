"""Every JSON body the API reads is read whole and exactly: a member named twice is refused
(the parser would keep one silently), and a body over the size limit is 413 whether its length
was announced or it came in chunks."""

from __future__ import annotations

import io
import json

import pytest

from tests.conftest import REGISTER
from tests.helpers import package_request

AUTHORIZE = "/authorization/api/v1/authorize"
PACKAGE = "urn:altinn:accesspackage:maskinlesbarehendelser"
DELEGATIONS = "/api/v1/delegations"


def permit_request() -> dict:
    return package_request(REGISTER.as_holders["DAGL"], REGISTER.as_org, PACKAGE)


def delegation() -> dict:
    return {
        "party": REGISTER.as_org,
        "package": "maskinlesbarehendelser",
        "delegator": {"person": REGISTER.as_holders["DAGL"]},
        "recipient": {"person": REGISTER.stranger},
    }


def with_member_twice(body: dict, *path: str | int) -> bytes:
    """`body` as JSON text with the last member of the object at `path` written twice."""
    place = body
    for step in path:
        place = place[step]
    name, value = list(place.items())[-1]
    text = json.dumps(body)
    repeated = json.dumps({name: value})[1:-1]
    marker = json.dumps(place)
    assert text.count(marker) == 1
    return text.replace(marker, marker[:-1] + ", " + repeated + "}").encode()


@pytest.mark.parametrize(
    ("path", "body", "place", "named"),
    [
        (
            AUTHORIZE,
            permit_request(),
            ("Request", "AccessSubject", 0, "Attribute", 0),
            '$.Request.AccessSubject[0].Attribute[0]: member "Value" given twice',
        ),
        (AUTHORIZE, permit_request(), ("Request",), '$.Request: member "Resource" given twice'),
        (
            "/api/v1/decision",
            {"subject": {"person": REGISTER.stranger}, "party": REGISTER.as_org, "package": "x"},
            ("subject",),
            '$.subject: member "person" given twice',
        ),
        (DELEGATIONS, delegation(), (), '$: member "recipient" given twice'),
        ("/api/v1/policy-sets", {"activate": False}, (), '$: member "activate" given twice'),
        ("/api/v1/register/imports", {"organizations": []}, (), '$: member "organizations"'),
    ],
)
def test_a_member_named_twice_is_refused_naming_it(client, path, body, place, named):
    response = client.post(
        path, data=with_member_twice(body, *place), content_type="application/json"
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["message"].startswith(named)


def test_nothing_is_decided_or_stored_from_a_body_with_a_member_twice(client, app, monkeypatch):
    def decide_all(*_: object) -> None:
        raise AssertionError("a refused body was decided")

    monkeypatch.setattr(app.extensions["pdp"].engine, "decide_all", decide_all)
    body = with_member_twice(permit_request(), "Request", "Action", 0, "Attribute", 0)
    assert client.post(AUTHORIZE, data=body, content_type="application/json").status_code == 400
    body = with_member_twice(delegation(), "recipient")
    assert client.post(DELEGATIONS, data=body, content_type="application/json").status_code == 400
    assert REGISTER.stranger not in json.dumps(client.get(DELEGATIONS).get_json())


def test_a_key_in_two_casings_is_still_an_ambiguous_request_not_a_repeat(client):
    body = permit_request()
    body["Request"]["Resource"][0]["Attribute"][1]["value"] = REGISTER.nuf_org
    response = client.post(AUTHORIZE, json=body)
    assert response.status_code == 200
    (result,) = response.get_json()["Response"]
    assert result["Decision"] == "Indeterminate"
    assert "more than once" in result["Status"]["StatusMessage"]


def test_a_string_holding_quotes_and_colons_is_no_repeat(client):
    body = permit_request()
    body["Request"]["Action"][0]["Attribute"].append(
        {"AttributeId": 'urn:test:"x":', "Value": '"a": "b", \\":'}
    )
    response = client.post(AUTHORIZE, json=body)
    assert response.status_code == 200
    assert response.get_json()["Response"][0]["Decision"] == "Permit"


# --- bodies of unannounced length (Transfer-Encoding: chunked) ------------------------------


def post_unannounced(client, path: str, body: bytes):
    """`body` as a WSGI server hands on a chunked one: no Content-Length, a terminated stream."""
    return client.post(
        path,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )


def padded(body: dict, size: int) -> bytes:
    """`body` as JSON text of exactly `size` bytes (spaces after it)."""
    text = json.dumps(body).encode()
    assert len(text) <= size
    return text + b" " * (size - len(text))


def test_a_chunked_body_over_the_limit_is_413_and_not_decided(client, app, monkeypatch):
    def decide_all(*_: object) -> None:
        raise AssertionError("a body not read whole was decided")

    monkeypatch.setattr(app.extensions["pdp"].engine, "decide_all", decide_all)
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = padded(permit_request(), limit) + b"x"  # valid JSON at the limit, not as a whole
    assert post_unannounced(client, AUTHORIZE, body).status_code == 413


def test_a_chunked_body_exactly_at_the_limit_is_read(client, app):
    response = post_unannounced(
        client, AUTHORIZE, padded(permit_request(), app.config["MAX_CONTENT_LENGTH"])
    )
    assert response.status_code == 200
    assert response.get_json()["Response"][0]["Decision"] == "Permit"


def test_a_chunked_delegation_over_the_limit_is_not_stored(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = post_unannounced(client, DELEGATIONS, padded(delegation(), limit) + b"x")
    assert response.status_code == 413
    stored = client.get(DELEGATIONS).get_json()
    assert REGISTER.stranger not in json.dumps(stored)


# --- bodies of announced length (Content-Length) ----------------------------------------------


def test_a_body_shorter_than_its_content_length_is_400_and_not_decided(client, app, monkeypatch):
    def decide_all(*_: object) -> None:
        raise AssertionError("a body not read whole was decided")

    monkeypatch.setattr(app.extensions["pdp"].engine, "decide_all", decide_all)
    body = json.dumps(permit_request()).encode()
    response = client.post(
        AUTHORIZE,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": str(len(body) + 10)},
    )
    assert response.status_code == 400


def test_a_body_over_the_limit_by_its_content_length_is_413_unread(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        AUTHORIZE,
        input_stream=io.BytesIO(b""),
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": str(limit + 1)},
    )
    assert response.status_code == 413

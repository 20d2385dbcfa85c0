"""The Ask page answers as the XACML endpoint answers: the same request, the same response."""

from __future__ import annotations

import json

import pytest

from pdp.api.auth import SCOPE_AUTHORIZE
from tests.conftest import EXAMPLES_DIR
from tests.console.conftest import csrf, text_of


def _ask(client, **form: str) -> tuple[int, str]:
    response = client.post(
        "/console/ask", data={**form, "csrf_token": csrf(client, "/console/ask")}
    )
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize("example", ["permit.json", "multi.json", "indeterminate.json"])
def test_a_pasted_request_gets_exactly_the_answer_the_xacml_endpoint_gives(client, example):
    body = (EXAMPLES_DIR / "requests" / example).read_text()
    api = client.post("/authorization/api/v1/authorize", data=body, content_type="application/json")
    status, page = _ask(client, xacml=body)
    assert status == 200
    assert json.loads(text_of(page, "xacml-response")) == api.get_json()
    assert json.loads(text_of(page, "xacml-request")) == json.loads(body)


def test_the_form_builds_the_request_a_pep_sends(client, register_facts):
    person = register_facts.as_holders["DAGL"]
    status, page = _ask(
        client,
        subject=person,
        party=register_facts.as_org,
        target="maskinlesbarehendelser",
        action="access",
    )
    assert status == 200
    request = json.loads(text_of(page, "xacml-request"))["Request"]
    assert request["AccessSubject"][0]["Attribute"] == [
        {"AttributeId": "urn:altinn:person:identifier-no", "Value": person}
    ]
    assert request["Resource"][0]["Attribute"] == [
        {"AttributeId": "urn:altinn:accesspackage", "Value": "maskinlesbarehendelser"},
        {"AttributeId": "urn:altinn:organization:identifier-no", "Value": register_facts.as_org},
    ]
    assert 'data-decision="Permit"' in page
    assert "TEST AS" in page  # the party's name from the register


def test_a_service_resource_is_asked_by_its_urn(client, register_facts):
    status, page = _ask(
        client,
        subject=register_facts.as_holders["DAGL"],
        party=register_facts.as_org,
        target="urn:altinn:resource:ttd-example-api",
        action="read",
    )
    assert status == 200 and 'data-decision="Permit"' in page
    assert "urn:altinn:minimum-authenticationlevel" in text_of(page, "xacml-response")


def test_each_wrong_field_is_named_next_to_it_and_nothing_is_decided(client):
    status, page = _ask(client, subject="12345678901", party="123", target="nope", action="")
    assert status == 400
    assert "check digit" in text_of(page, "subject-error")
    assert "9 digits" in text_of(page, "party-error")
    assert "no access package or service resource 'nope'" in text_of(page, "target-error")
    assert text_of(page, "action-error").startswith("required")
    assert "data-decision" not in page


def test_a_pasted_request_that_is_not_json_or_names_a_member_twice_is_refused_at_the_field(
    client,
):
    status, page = _ask(client, xacml="{oops")
    assert status == 400 and "not valid JSON" in text_of(page, "xacml-error")
    status, page = _ask(client, xacml='{"Request": {}, "Request": {}}')
    assert status == 400 and "Request" in text_of(page, "xacml-error")


def test_an_administrator_is_told_why_with_the_decision_asked(client, register_facts):
    facts = register_facts
    status, page = _ask(
        client,
        subject=facts.stranger,
        party=facts.as_org,
        target="maskinlesbarehendelser",
        action="access",
    )
    assert status == 200 and 'data-decision="NotApplicable"' in page
    why = text_of(page, "why-1")
    assert "holds no ER role" in why and "The decision is NotApplicable." in why


def test_the_explanation_is_only_for_tokens_that_may_ask_for_it(
    secured_client, issuer, register_facts
):
    token = issuer.token(SCOPE_AUTHORIZE)
    secured_client.post(
        "/console/sign-in",
        data={"token": token, "csrf_token": csrf(secured_client, "/console/sign-in")},
    )
    facts = register_facts
    status, page = _ask(
        secured_client,
        subject=facts.stranger,
        party=facts.as_org,
        target="maskinlesbarehendelser",
        action="access",
    )
    assert status == 200 and 'data-decision="NotApplicable"' in page
    assert 'id="why-1"' not in page and "shown to tokens with" in page

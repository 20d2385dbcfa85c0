"""Explanations: the decision as the engine made it, and each step of it told."""

from __future__ import annotations

import pytest

from pdp.engine import DecisionRequest, RoleClaim
from pdp.identities import Identifier
from pdp.subjects import ORGANIZATION, PERSON, Subject
from pdp.vocabulary import ORGANIZATION_ID, PERSON_ID, ROLECODE_ID
from pdp.xacml.items import resource_request
from tests.helpers import package_request

EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"
API_NUF = "urn:altinn:accesspackage:programmeringsgrensesnittNUF"


def ask(person: str, party: str, package: str = EVENTS, action: str = "access", roles=None):
    claims = None if roles is None else tuple(RoleClaim(ROLECODE_ID, r) for r in roles)
    return DecisionRequest(Subject(PERSON, person), party, package, action, claims)


def sentences(explanation) -> list[str]:
    return [step.sentence for step in explanation.steps]


def of_kind(explanation, kind: str):
    return [step for step in explanation.steps if step.kind == kind]


def test_a_permit_names_the_role_its_source_and_the_grant_that_matched(pdp, register_facts):
    facts = register_facts
    explanation = pdp.explain(ask(facts.as_holders["DAGL"], facts.as_org))
    assert explanation.result.decision == "Permit"
    assert explanation.steps[0].data == {"version": 1}
    (holding,) = of_kind(explanation, "holding")
    assert holding.data["role"] == "DAGL" and holding.data["how"] == "role"
    matched = [s.data["policy"] for s in of_kind(explanation, "policy") if s.data["matched"]]
    assert matched == ["grant:maskinlesbarehendelser:DAGL:access"]
    assert explanation.steps[-1].sentence == "The decision is Permit."


def test_the_explanation_never_changes_the_decision(pdp, register_facts):
    facts = register_facts
    for person in [*facts.as_holders.values(), facts.stranger]:
        for package in (EVENTS, API_NUF, "nosuchpackage"):
            request = ask(person, facts.as_org, package)
            assert pdp.explain(request).result == pdp.decide([request])[0]


def test_the_organisation_form_limit_is_told(pdp, register_facts):
    facts = register_facts
    explanation = pdp.explain(ask(facts.as_holders["DAGL"], facts.as_org, API_NUF))
    assert explanation.result.decision == "NotApplicable"
    assert of_kind(explanation, "org_form")[0].data == {"party": facts.as_org, "org_form": "AS"}
    dagl = next(s for s in of_kind(explanation, "policy") if s.data.get("role") == "DAGL")
    assert dagl.data["org_forms"] == ["NUF"]
    assert f"{facts.as_org} is of form AS" in dagl.sentence


def test_a_role_held_at_another_party_is_a_near_miss(pdp, register_facts):
    facts = register_facts
    explanation = pdp.explain(ask(facts.nuf_holders["DAGL"], facts.as_org))
    (miss,) = of_kind(explanation, "near_miss")
    assert miss.data == {"held_elsewhere": [{"role": "DAGL", "party": facts.nuf_org}]}


def test_a_revoked_delegation_is_a_near_miss(pdp, register_facts):
    facts = register_facts
    dagl = Subject(PERSON, facts.as_holders["DAGL"])
    made = pdp.delegate(
        facts.as_org, "maskinlesbarehendelser", dagl, Subject(PERSON, facts.stranger)
    )
    assert pdp.explain(ask(facts.stranger, facts.as_org)).result.decision == "Permit"
    pdp.revoke(made.id, dagl)
    explanation = pdp.explain(ask(facts.stranger, facts.as_org))
    assert explanation.result.decision == "NotApplicable"
    (miss,) = of_kind(explanation, "near_miss")
    assert miss.data["revoked_delegation"]["id"] == made.id
    assert "was revoked on" in miss.sentence


def test_a_delegation_through_a_key_role_is_told_with_its_delegator_and_date(pdp, register_facts):
    facts = register_facts
    dagl = Subject(PERSON, facts.as_holders["DAGL"])
    made = pdp.delegate(
        facts.as_org, "maskinlesbarehendelser", dagl, Subject(ORGANIZATION, facts.nuf_org)
    )
    explanation = pdp.explain(ask(facts.nuf_holders["LEDE"], facts.as_org))
    assert explanation.result.decision == "Permit"
    (holding,) = of_kind(explanation, "holding")
    assert holding.data["how"] == "key_role"
    assert holding.data["via"] == facts.nuf_org
    assert holding.data["delegation"]["id"] == made.id
    assert f"from {facts.as_holders['DAGL']} on " in holding.sentence


def test_stated_roles_are_told_instead_of_the_registers(pdp, register_facts):
    facts = register_facts
    explanation = pdp.explain(ask(facts.stranger, facts.as_org, roles=["dagl"]))
    assert explanation.result.decision == "Permit"
    assert of_kind(explanation, "stated_roles")[0].data == {"roles": ["DAGL"]}
    assert of_kind(explanation, "holding") == []


def test_an_unknown_package_is_explained_by_its_message(pdp, register_facts):
    explanation = pdp.explain(ask(register_facts.stranger, register_facts.as_org, "nosuchpackage"))
    assert [s.kind for s in explanation.steps] == ["version", "decision"]
    assert "nosuchpackage" in explanation.steps[-1].sentence


def test_a_resource_decision_tells_each_rule_and_the_package_it_asked_for(pdp, register_facts):
    facts = register_facts
    request = resource_request(
        Identifier(PERSON_ID, facts.as_holders["LEDE"]),
        Identifier(ORGANIZATION_ID, facts.as_org),
        "ttd-example-api",
        "read",
    )
    explanation = pdp.explain(request)
    assert explanation.result.decision == "Permit"
    rules = {s.data["rule"]: s.data["applies"] for s in of_kind(explanation, "rule")}
    assert rules[1] == "yes"  # the API package's holders
    assert rules[2] == "no"  # DAGL only
    asked = of_kind(explanation, "package_decision")
    assert [s.data["decision"] for s in asked] == ["Permit"]
    rule_two = next(s for s in of_kind(explanation, "rule") if s.data["rule"] == 2)
    assert "it needs role dagl" in rule_two.sentence


class TestOverHttp:
    def test_an_xacml_request_is_answered_as_authorize_and_explained(self, client, register_facts):
        facts = register_facts
        body = package_request(facts.as_holders["DAGL"], facts.as_org, EVENTS)
        answer = client.post("/api/v1/explain", json=body).get_json()
        decided = client.post("/authorization/api/v1/authorize", json=body).get_json()
        assert answer["response"] == decided
        (explanation,) = answer["explanations"]
        assert explanation["decision"] == "Permit"
        assert explanation["steps"][-1] == {
            "kind": "decision",
            "sentence": "The decision is Permit.",
            "data": {"decision": "Permit", "status": "urn:oasis:names:tc:xacml:1.0:status:ok"},
        }

    def test_py_abacs_shape_too(self, client, register_facts):
        facts = register_facts
        body = {
            "subject": {"id": f"{PERSON_ID}:{facts.stranger}"},
            "resource": {"id": EVENTS, "attributes": {"party": facts.as_org}},
            "action": {"id": "access"},
        }
        answer = client.post("/api/v1/explain", json=body).get_json()
        decided = client.post("/api/v1/decision", json=body).get_json()
        assert answer["response"]["decision"] == decided["decision"] == "NotApplicable"

    @pytest.mark.parametrize(
        "body",
        [
            {"subject": {"id": "urn:altinn:person:identifier-no:1"}, "resource": {"id": EVENTS}},
            {"subject": {}, "resource": {}, "action": {}, "extra": 1},
        ],
    )
    def test_a_malformed_py_abac_request_is_400(self, client, body):
        assert client.post("/api/v1/explain", json=body).status_code == 400

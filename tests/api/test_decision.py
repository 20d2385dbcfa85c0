"""POST /api/v1/decision: py-abac's request shape, for Python callers."""

from __future__ import annotations

import pytest

DECISION = "/api/v1/decision"
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"


def body(subject_id: str, party: str, package: str = EVENTS, action: str = "access", **extra):
    request = {
        "subject": {"id": subject_id, "attributes": {}},
        "resource": {"id": package, "attributes": {"party": party}},
        "action": {"id": action, "attributes": {}},
        "context": {},
    }
    for path, value in extra.items():
        element, key = path.split("__")
        request[element]["attributes"][key] = value
    return request


def person(identifier: str) -> str:
    return f"urn:altinn:person:identifier-no:{identifier}"


def test_a_key_role_holder_is_permitted_and_told_which_policy_decided(client, register_facts):
    response = client.post(
        DECISION, json=body(person(register_facts.as_holders["DAGL"]), register_facts.as_org)
    )
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["decision"] == "Permit"
    assert answer["version"] == 1
    assert answer["policies"] == [
        {
            "uid": "grant:maskinlesbarehendelser:DAGL:access",
            "description": "Daglig leder (DAGL) may access Maskinlesbare hendelser "
            "(urn:altinn:accesspackage:maskinlesbarehendelser)",
        }
    ]


def test_a_stranger_is_not_applicable(client, register_facts):
    answer = client.post(
        DECISION, json=body(person(register_facts.stranger), register_facts.as_org)
    ).get_json()
    assert answer["decision"] == "NotApplicable"
    assert answer["policies"] == []


def test_roles_may_be_stated_as_role_codes(client, register_facts):
    request = body(person(register_facts.stranger), register_facts.as_org, subject__roles=["INNH"])
    answer = client.post(DECISION, json=request).get_json()
    assert answer["decision"] == "Permit"
    assert answer["policies"][0]["uid"] == "grant:maskinlesbarehendelser:INNH:access"


def test_an_organisation_subject_is_understood(client, register_facts):
    subject = f"urn:altinn:organization:identifier-no:{register_facts.firm}"
    answer = client.post(DECISION, json=body(subject, register_facts.as_org)).get_json()
    assert answer["decision"] == "NotApplicable"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["subject"].update(id="02056260016"), "subject"),
        (lambda b: b["subject"].update(id=person("01039012345")), "subject"),
        (lambda b: b["resource"]["attributes"].update(party="897069651"), "resource"),
        (lambda b: b["resource"]["attributes"].pop("party"), "resource"),
        (lambda b: b["resource"]["attributes"].update(org_form="NUF"), "resource"),
        (lambda b: b["action"].update(id="read"), "action"),
        (lambda b: b.pop("subject"), "subject"),
        (lambda b: b["subject"]["attributes"].update(roles="DAGL"), "subject"),
    ],
)
def test_malformed_fields_are_a_400_naming_the_field(client, register_facts, mutate, field):
    request = body(person(register_facts.as_holders["DAGL"]), register_facts.as_org)
    mutate(request)
    response = client.post(DECISION, json=request)
    assert response.status_code == 400
    assert field in response.get_json()["errors"]


def test_a_malformed_package_is_a_400_as_in_the_xacml_profile(client, register_facts):
    request = body(person(register_facts.as_holders["DAGL"]), register_facts.as_org, "urn:x:y")
    response = client.post(DECISION, json=request)
    assert response.status_code == 400
    assert "'urn:x:y' is neither an access package URN" in response.get_json()["message"]


def test_an_unknown_role_code_is_a_400(client, register_facts):
    request = body(person(register_facts.stranger), register_facts.as_org, subject__roles=["BOSS"])
    response = client.post(DECISION, json=request)
    assert response.status_code == 400
    assert "'BOSS'" in response.get_json()["message"]


def test_the_org_form_cannot_be_asserted_by_the_caller(client, register_facts):
    """A caller cannot claim NUF for an AS: the organisation form comes from the register only."""
    request = body(
        person(register_facts.as_holders["DAGL"]),
        register_facts.as_org,
        package="programmeringsgrensesnittNUF",
        resource__org_form="NUF",
    )
    assert client.post(DECISION, json=request).status_code == 400

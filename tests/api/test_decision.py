"""POST /api/v1/decision: py-abac's request shape, for Python callers."""

from __future__ import annotations

import pytest

from pdp.api import create_app
from pdp.service import Pdp
from pdp.subjects import PERSON, Subject
from pdp.subjects import SYSTEM_USER as SYSTEM_USER_KIND
from tests.helpers import new_organization, new_person, open_settings

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


# --- service resources: decided under the resource's own XACML policy ------------------------

API_RESOURCE = "urn:altinn:resource:ttd-example-api"
API_PACKAGE = "urn:altinn:accesspackage:programmeringsgrensesnitt"
#: policies/resources/ttd-example-api/policy.xml: a Permit requires authentication level 3.
API_OBLIGATIONS = [
    {
        "id": "urn:altinn:obligation:authenticationLevel1",
        "assignments": [
            {
                "attribute_id": "urn:altinn:obligation-assignment:1",
                "value": "3",
                "data_type": "http://www.w3.org/2001/XMLSchema#integer",
                "category": "urn:altinn:minimum-authenticationlevel",
                "issuer": None,
            }
        ],
    }
]
SYSTEM_USER = "5f0a5a3e-8c8f-4a43-9d4b-2f2a7b9f0c11"
#: Altinn's identifiers of the organisation and person `altinn_ids` adds to the register.
PARTY_ID, PARTY_UUID = 51000001, "00000000-0000-0000-0005-000051000001"
USER_ID, PERSON_UUID = 21000001, "00000000-0000-0000-0005-000021000001"


def resource_body(subject_id: str, party: str, resource: str = API_RESOURCE, action: str = "read"):
    return {
        "subject": {"id": subject_id},
        "resource": {"id": resource, "attributes": {"party": party}},
        "action": {"id": action},
    }


@pytest.fixture
def altinn_ids(pdp, catalog, register_facts):
    """An organisation with a party id and UUID whose daglig leder has a user id and person
    UUID, and a system user it owns, given Programmeringsgrensesnitt by that daglig leder."""
    organization, leader = new_organization(), new_person()
    pdp.register.import_document(
        {
            "organizations": [
                {
                    "organization_number": organization,
                    "name": "ALTINN IDS AS",
                    "org_form": "AS",
                    "party_id": PARTY_ID,
                    "party_uuid": PARTY_UUID,
                    "roles": [{"code": "DAGL", "person": leader}],
                }
            ],
            "persons": [{"national_id": leader, "user_id": USER_ID, "person_uuid": PERSON_UUID}],
            "system_users": [{"uuid": SYSTEM_USER, "owner": organization}],
        },
        catalog,
    )
    pdp.delegate(
        organization, API_PACKAGE, Subject(PERSON, leader), Subject(SYSTEM_USER_KIND, SYSTEM_USER)
    )
    return organization, leader


def test_daglig_leder_may_read_a_service_resource_and_is_told_the_obligations(
    client, register_facts
):
    request = resource_body(person(register_facts.as_holders["DAGL"]), register_facts.as_org)
    response = client.post(DECISION, json=request)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["decision"] == "Permit"
    assert answer["status"] == "urn:oasis:names:tc:xacml:1.0:status:ok"
    assert answer["version"] == 1
    assert answer["obligations"] == API_OBLIGATIONS
    assert answer["advice"] == []
    assert "resource:ttd-example-api:2:1:read" in {policy["uid"] for policy in answer["policies"]}
    assert "package" not in answer


def test_a_bare_resource_id_names_the_resource_for_other_actions_than_the_package_ones(
    client, register_facts
):
    request = resource_body(
        person(register_facts.as_holders["DAGL"]), register_facts.as_org, "ttd-example-api"
    )
    answer = client.post(DECISION, json=request).get_json()
    assert answer["decision"] == "Permit"
    assert answer["obligations"] == API_OBLIGATIONS


def test_a_bare_id_with_a_package_action_names_a_package(client, register_facts):
    """`access` and `delegate` are the package actions: a bare id with them is a package code,
    so a resource's bare id asks for a package nobody has; its URN asks for the resource."""
    dagl = person(register_facts.as_holders["DAGL"])
    bare = client.post(
        DECISION, json=resource_body(dagl, register_facts.as_org, "ttd-example-api", "access")
    ).get_json()
    assert bare["decision"] == "NotApplicable"
    assert bare["message"] == "no policy applies to package 'ttd-example-api'"
    named = client.post(
        DECISION, json=resource_body(dagl, register_facts.as_org, API_RESOURCE, "access")
    ).get_json()
    assert named["decision"] == "NotApplicable"
    assert named["policies"] == []


def test_a_role_that_grants_nothing_is_not_applicable_without_obligations(client, register_facts):
    request = resource_body(person(register_facts.as_holders["MEDL"]), register_facts.as_org)
    answer = client.post(DECISION, json=request).get_json()
    assert answer["decision"] == "NotApplicable"
    assert answer["policies"] == []
    assert answer["obligations"] == []


def test_an_unknown_resource_is_not_applicable(client, register_facts):
    request = resource_body(
        person(register_facts.as_holders["DAGL"]),
        register_facts.as_org,
        "urn:altinn:resource:no-such-resource",
    )
    answer = client.post(DECISION, json=request).get_json()
    assert answer["decision"] == "NotApplicable"
    assert answer["message"] == "no policy for resource 'no-such-resource'"


def test_a_system_user_given_the_api_package_may_write_for_its_owner(client, altinn_ids):
    organization, _ = altinn_ids
    request = resource_body(f"urn:altinn:systemuser:uuid:{SYSTEM_USER}", organization)
    request["action"]["id"] = "write"
    answer = client.post(DECISION, json=request).get_json()
    assert answer["decision"] == "Permit"
    assert {policy["uid"] for policy in answer["policies"]} == {
        "resource:ttd-example-api:1:2:write",
        "delegation:programmeringsgrensesnitt:access",
    }
    assert answer["obligations"] == API_OBLIGATIONS


def test_the_same_system_user_gets_nothing_for_another_party(client, altinn_ids, register_facts):
    request = resource_body(f"urn:altinn:systemuser:uuid:{SYSTEM_USER}", register_facts.as_org)
    assert client.post(DECISION, json=request).get_json()["decision"] == "NotApplicable"


@pytest.mark.parametrize(
    "subject_id",
    [
        f"urn:altinn:userid:{USER_ID}",
        f"urn:altinn:person:uuid:{PERSON_UUID}",
    ],
    ids=["user id", "person uuid"],
)
@pytest.mark.parametrize(
    "party",
    [f"urn:altinn:partyid:{PARTY_ID}", f"urn:altinn:party:uuid:{PARTY_UUID}", None],
    ids=["party id", "party uuid", "organisation number"],
)
def test_altinns_own_identifiers_name_subject_and_party(client, altinn_ids, subject_id, party):
    organization, _ = altinn_ids
    request = resource_body(subject_id, party or organization)
    assert client.post(DECISION, json=request).get_json()["decision"] == "Permit"


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (
            lambda b: b["resource"].update(id="urn:altinn:resource:Not An Id"),
            ("resource", "id"),
            "'Not An Id' is not a resource id",
        ),
        (
            lambda b: b["subject"].update(id="urn:altinn:userid:12x"),
            ("subject", "id"),
            "String does not match expected pattern",
        ),
        (
            lambda b: b["subject"].update(id=person("01039012345")),
            ("subject", "id"),
            "has invalid check digits",
        ),
        (
            lambda b: b["subject"].update(attributes={"roles": ["DAGL"]}),
            ("subject", "attributes", "roles"),
            "not for a service resource",
        ),
        (
            lambda b: b["resource"]["attributes"].update(party="897069651"),
            ("resource", "attributes", "party"),
            "invalid check digit",
        ),
        (
            lambda b: b["resource"]["attributes"].update(party="urn:altinn:userid:20000095"),
            ("resource", "attributes", "party"),
            "String does not match expected pattern",
        ),
    ],
    ids=["resource id", "subject form", "check digits", "stated roles", "party", "party kind"],
)
def test_a_malformed_resource_request_is_a_400_naming_the_field(
    client, register_facts, mutate, field, problem
):
    request = resource_body(person(register_facts.as_holders["DAGL"]), register_facts.as_org)
    mutate(request)
    response = client.post(DECISION, json=request)
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    for step in field:
        errors = errors[step]
    assert any(problem in message for message in errors), errors


def test_a_package_request_names_its_party_by_organisation_number(client, register_facts):
    request = body(
        person(register_facts.as_holders["DAGL"]), f"urn:altinn:partyid:{PARTY_ID}", API_PACKAGE
    )
    response = client.post(DECISION, json=request)
    assert response.status_code == 400
    assert "party" in response.get_json()["errors"]["resource"]["attributes"]


def test_a_package_answer_is_as_it_was_without_obligations(client, register_facts):
    request = body(person(register_facts.as_holders["DAGL"]), register_facts.as_org)
    answer = client.post(DECISION, json=request).get_json()
    assert answer["decision"] == "Permit"
    assert set(answer) == {"decision", "status", "policies", "version", "package"}


def test_check_digits_follow_pdp_identifier_check_digits_as_in_the_xacml_profile(tmp_path, catalog):
    """Altinn's test data names parties by numbers with wrong check digits; with the check off
    a resource request naming one is decided (NotApplicable: nobody holds anything there)."""
    settings = open_settings(
        f"sqlite:///{tmp_path / 'unchecked.sqlite3'}", identifier_check_digits=False
    )
    service = Pdp.from_settings(settings)
    service.publish(catalog)
    app = create_app(settings)
    try:
        request = resource_body(person("01039012345"), "897069651")
        response = app.test_client().post(DECISION, json=request)
        assert response.status_code == 200
        assert response.get_json()["decision"] == "NotApplicable"
    finally:
        app.extensions["pdp"].close()
        service.close()

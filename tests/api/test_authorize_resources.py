"""POST /authorization/api/v1/authorize for service resources: the decisions of
tests/engine/test_resources.py over the XACML JSON wire, with their obligations, advice and the
policies that decided them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pdp import xacml
from pdp.api import create_app
from pdp.service import Pdp
from pdp.vocabulary import (
    PARTY_UUID_ID,
    PARTYID_ID,
    RESOURCE_ID,
    STATUS_MISSING_ATTRIBUTE,
    STATUS_OK,
    STATUS_PROCESSING_ERROR,
    STATUS_SYNTAX_ERROR,
    SYSTEM_USER_UUID_ID,
    USERID_ID,
    XML_INTEGER,
)
from tests.helpers import ACTION_ID, ORGANIZATION_ID, PERSON_ID, attribute, xacml_request
from tests.service_resources import (
    AUTHLEVEL_ID,
    CLEARANCE_ID,
    PERMIT_ADVICE,
    PERMIT_OBLIGATION,
    RULE_DENY_OBLIGATION,
    WORLD,
    resource_source,
)

AUTHORIZE = "/authorization/api/v1/authorize"


@pytest.fixture
def client(settings, tmp_path) -> Iterator[Any]:
    catalog = resource_source(tmp_path / "policies")
    service = Pdp.from_settings(settings)
    service.publish(catalog)
    service.register.import_document(WORLD.register_document(), catalog)
    service.close()
    app = create_app(settings)
    yield app.test_client()
    app.extensions["pdp"].close()


def request(
    resource: str, subject: list[dict[str, Any]], party: list[dict[str, Any]], action="read"
) -> dict[str, Any]:
    return xacml_request(subject, [attribute(RESOURCE_ID, resource), *party], action)


def manager() -> list[dict[str, Any]]:
    return [attribute(PERSON_ID, WORLD.manager.national_id)]


def limited() -> list[dict[str, Any]]:
    return [attribute(ORGANIZATION_ID, WORLD.limited.number)]


def answers(client, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(AUTHORIZE, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["Response"]


def answer(client, body: dict[str, Any]) -> dict[str, Any]:
    [result] = answers(client, body)
    return result


def policy_ids(result: dict[str, Any]) -> list[str]:
    return [ref["Id"] for ref in result["PolicyIdentifierList"]["PolicyIdReference"]]


def status(result: dict[str, Any]) -> str:
    return result["Status"]["StatusCode"]["Value"]


def authentication_level(identifier: str, level: str) -> dict[str, Any]:
    return {
        "Id": identifier,
        "AttributeAssignment": [
            {
                "AttributeId": "urn:altinn:obligation-assignment:1",
                "Category": "urn:altinn:minimum-authenticationlevel",
                "DataType": XML_INTEGER,
                "Value": level,
            }
        ],
    }


def test_a_permit_carries_its_obligations_advice_and_deciding_rule(client):
    """The subject by user id, the party by party id."""
    result = answer(
        client,
        request(
            "ttd-dagl",
            [attribute(USERID_ID, str(WORLD.manager.user_id))],
            [attribute(PARTYID_ID, str(WORLD.limited.party_id))],
        ),
    )
    assert (result["Decision"], status(result)) == ("Permit", STATUS_OK)
    assert result["Obligations"] == [authentication_level(PERMIT_OBLIGATION, "3")]
    assert result["AssociatedAdvice"] == [authentication_level(PERMIT_ADVICE, "1")]
    assert policy_ids(result) == ["resource:ttd-dagl:1:1:read"]


def test_not_applicable_carries_no_obligations(client):
    stranger = [attribute(PERSON_ID, WORLD.stranger.national_id)]
    result = answer(client, request("ttd-dagl", stranger, limited()))
    assert (result["Decision"], status(result)) == ("NotApplicable", STATUS_OK)
    assert "Obligations" not in result
    assert "AssociatedAdvice" not in result


def test_a_deny_carries_the_obligations_that_fulfil_on_deny(client):
    result = answer(client, request("ttd-deny-overrides", manager(), limited()))
    assert result["Decision"] == "Deny"
    assert [obligation["Id"] for obligation in result["Obligations"]] == [RULE_DENY_OBLIGATION]
    assert policy_ids(result) == ["resource:ttd-deny-overrides:2:1:read"]


def test_a_package_permit_names_the_rule_and_the_grant_that_gave_the_package(client):
    party = [attribute(PARTY_UUID_ID, WORLD.limited.party_uuid.upper())]
    result = answer(client, request("ttd-api", manager(), party))
    assert result["Decision"] == "Permit"
    assert policy_ids(result) == [
        "resource:ttd-api:1:1:read",
        "grant:programmeringsgrensesnitt:DAGL:access",
    ]


def test_a_system_user_permit_names_the_delegation_that_gave_the_package(client):
    system_user = [attribute(SYSTEM_USER_UUID_ID, WORLD.system_user)]
    body = request("ttd-api", system_user, limited())
    assert answer(client, body)["Decision"] == "NotApplicable"
    delegation = {
        "party": WORLD.limited.number,
        "package": "programmeringsgrensesnitt",
        "delegator": WORLD.manager.national_id,
        "recipient": {"system_user": WORLD.system_user},
    }
    response = client.post("/api/v1/delegations", json=delegation)
    assert response.status_code == 201, response.get_json()
    result = answer(client, body)
    assert result["Decision"] == "Permit"
    assert policy_ids(result) == [
        "resource:ttd-api:1:1:read",
        "delegation:programmeringsgrensesnitt:access",
    ]


def test_identifiers_naming_different_subjects_are_a_processing_error(client):
    subject = [*manager(), attribute(USERID_ID, str(WORLD.member.user_id))]
    result = answer(client, request("ttd-dagl", subject, limited()))
    assert (result["Decision"], status(result)) == ("Indeterminate", STATUS_PROCESSING_ERROR)
    assert "do not name one and the same subject" in result["Status"]["StatusMessage"]


def test_a_system_user_beside_another_subject_attribute_is_a_processing_error(client):
    subject = [attribute(SYSTEM_USER_UUID_ID, WORLD.system_user), *manager()]
    result = answer(client, request("ttd-api", subject, limited()))
    assert (result["Decision"], status(result)) == ("Indeterminate", STATUS_PROCESSING_ERROR)
    assert SYSTEM_USER_UUID_ID in result["Status"]["StatusMessage"]


def test_a_system_user_beside_another_subject_attribute_answers_a_multirequest_once(client):
    body = {
        "Request": {
            "AccessSubject": [
                {"Id": "manager", "Attribute": manager()},
                {
                    "Id": "mixed",
                    "Attribute": [attribute(SYSTEM_USER_UUID_ID, WORLD.system_user), *manager()],
                },
            ],
            "Action": [{"Id": "read", "Attribute": [attribute(ACTION_ID, "read")]}],
            "Resource": [
                {"Id": "dagl", "Attribute": [attribute(RESOURCE_ID, "ttd-dagl"), *limited()]}
            ],
            "MultiRequests": {
                "RequestReference": [
                    {"ReferenceId": ["manager", "read", "dagl"]},
                    {"ReferenceId": ["mixed", "read", "dagl"]},
                    {"ReferenceId": ["manager", "read", "dagl"]},
                ]
            },
        }
    }
    [result] = answers(client, body)
    assert (result["Decision"], status(result)) == ("Indeterminate", STATUS_PROCESSING_ERROR)


def test_a_multirequest_of_readable_items_answers_each(client):
    body = {
        "Request": {
            "AccessSubject": [
                {"Id": "manager", "Attribute": manager()},
                {"Id": "member", "Attribute": [attribute(PERSON_ID, WORLD.member.national_id)]},
            ],
            "Action": [{"Id": "read", "Attribute": [attribute(ACTION_ID, "read")]}],
            "Resource": [
                {"Id": "dagl", "Attribute": [attribute(RESOURCE_ID, "ttd-dagl"), *limited()]}
            ],
            "MultiRequests": {
                "RequestReference": [
                    {"ReferenceId": ["manager", "read", "dagl"]},
                    {"ReferenceId": ["member", "read", "dagl"]},
                ]
            },
        }
    }
    results = answers(client, body)
    assert [r["Decision"] for r in results] == ["Permit", "NotApplicable"]
    assert "Obligations" in results[0] and "Obligations" not in results[1]


def test_a_missing_attribute_that_must_be_present_is_indeterminate(client):
    result = answer(client, request("ttd-authlevel", manager(), limited()))
    assert (result["Decision"], status(result)) == ("Indeterminate", STATUS_MISSING_ATTRIBUTE)
    assert AUTHLEVEL_ID in result["Status"]["StatusMessage"]
    given = [*manager(), attribute(AUTHLEVEL_ID, "3")]
    assert answer(client, request("ttd-authlevel", given, limited()))["Decision"] == "Permit"


def test_a_resource_without_a_policy_is_not_applicable(client):
    result = answer(client, request("ttd-no-such-resource", manager(), limited()))
    assert (result["Decision"], status(result)) == ("NotApplicable", STATUS_OK)


@pytest.mark.parametrize(
    ("attribute_id", "value"),
    [("urn:altinn:accesspackage", "programmeringsgrensesnitt"), ("urn:altinn:rolecode", "dagl")],
)
def test_a_request_may_not_state_the_roles_or_packages_the_subject_holds(
    client, attribute_id, value
):
    stranger = [attribute(PERSON_ID, WORLD.stranger.national_id), attribute(attribute_id, value)]
    result = answer(client, request("ttd-api", stranger, limited()))
    assert (result["Decision"], status(result)) == ("Indeterminate", STATUS_SYNTAX_ERROR)
    assert attribute_id in result["Status"]["StatusMessage"]


# --- what a review found: the reader and the rules must see the same request ---------------


def test_an_attribute_id_in_another_casing_is_matched_as_the_id_the_reader_read(client):
    """The reader finds the action by its id in any casing; the rules must see that same
    action, or a Deny for it is dodged by spelling the id differently."""
    canonical = request("ttd-deny-overrides", manager(), limited())
    respelt = request("ttd-deny-overrides", manager(), limited())
    respelt["Request"]["Action"][0]["Attribute"][0]["AttributeId"] = ACTION_ID.upper()
    assert answer(client, canonical)["Decision"] == "Deny"
    assert answer(client, respelt)["Decision"] == "Deny"


def test_a_typed_value_is_compared_as_its_data_type_says(client):
    """`"false"` with DataType boolean is the boolean false; a JSON 0 is an integer and never
    the boolean false (so the MustBePresent boolean is missing)."""
    boolean = "http://www.w3.org/2001/XMLSchema#boolean"
    as_text = request(
        "ttd-write-needs-clearance",
        [*manager(), attribute(CLEARANCE_ID, "false") | {"DataType": boolean}],
        limited(),
        action="write",
    )
    assert answer(client, as_text)["Decision"] == "Deny"
    as_zero = request(
        "ttd-write-needs-clearance",
        [*manager(), attribute(CLEARANCE_ID, 0)],
        limited(),
        action="write",
    )
    result = answer(client, as_zero)
    assert (result["Decision"], status(result)) == ("Indeterminate", STATUS_MISSING_ATTRIBUTE)
    not_a_boolean = request(
        "ttd-write-needs-clearance",
        [*manager(), attribute(CLEARANCE_ID, "maybe") | {"DataType": boolean}],
        limited(),
        action="write",
    )
    result = answer(client, not_a_boolean)
    assert (result["Decision"], status(result)) == ("Indeterminate", STATUS_SYNTAX_ERROR)
    assert CLEARANCE_ID in result["Status"]["StatusMessage"]


def test_environment_attributes_reach_the_policy():
    body = request("ttd-dagl", manager(), limited())
    body["Request"]["Environment"] = [{"Attribute": [attribute("urn:test:env:state", "blocked")]}]
    [item] = xacml.parse(body).items
    assert item.request.given("context") == (
        ("urn:test:env:state", "http://www.w3.org/2001/XMLSchema#string", ("blocked",)),
    )


def test_a_party_named_twice_must_be_one_party(client):
    other = WORLD.firm.number
    body = request(
        "ttd-dagl",
        manager(),
        [attribute(PARTYID_ID, str(WORLD.limited.party_id)), attribute(ORGANIZATION_ID, other)],
    )
    result = answer(client, body)
    assert (result["Decision"], status(result)) == ("Indeterminate", STATUS_PROCESSING_ERROR)
    agreeing = request(
        "ttd-dagl",
        manager(),
        [
            attribute(PARTYID_ID, str(WORLD.limited.party_id)),
            attribute(ORGANIZATION_ID, WORLD.limited.number),
        ],
    )
    assert answer(client, agreeing)["Decision"] == "Permit"


def test_a_combined_decision_carries_the_obligations(client):
    body = request("ttd-dagl", manager(), limited())
    body["Request"]["CombinedDecision"] = True
    result = answer(client, body)
    assert result["Decision"] == "Permit"
    assert [o["Id"] for o in result["Obligations"]] == [PERMIT_OBLIGATION]


def test_a_resource_naming_a_package_too_is_refused(client):
    body = request(
        "ttd-dagl",
        manager(),
        [*limited(), attribute("urn:altinn:accesspackage", "programmeringsgrensesnitt")],
    )
    result = answer(client, body)
    assert (result["Decision"], status(result)) == ("Indeterminate", STATUS_SYNTAX_ERROR)


@pytest.mark.parametrize("value", [{"a": 1}, [["a"]], [{"a": 1}], None])
def test_a_value_that_is_no_scalar_is_refused_not_a_500(client, value):
    body = request("ttd-dagl", manager(), [*limited(), attribute("urn:x:y", value)])
    result = answer(client, body)
    assert (result["Decision"], status(result)) == ("Indeterminate", STATUS_SYNTAX_ERROR)

"""Renamed packages: a package's former URNs (`aliases`) keep working.

When Maskinlesbare hendelser is renamed to `urn:altinn:accesspackage:hendelser` with its old URN
as an alias, a request or a delegation naming the old URN, in any case or as a bare code, means
the renamed package. Answers name the package's current URN (`package` in /api/v1/decision; an
XACML advice `urn:pdp:advice:package-renamed`, only when a former name was used), new
delegations are stored under the current URN, and delegations stored under the old URN before
the rename still give the package. The catalog refuses an alias that could name two packages.
"""

from __future__ import annotations

from typing import Any

import pytest

from pdp import catalog as catalog_module
from pdp.errors import Problem, SourceError
from pdp.service import Pdp
from pdp.xacml import PACKAGE_RENAMED_ADVICE
from tests.conftest import POLICY_DIR, RegisterFacts
from tests.helpers import (
    ACTION_ID,
    ORGANIZATION_ID,
    PACKAGE_ID,
    PERSON_ID,
    attribute,
    package_request,
)

AUTHORIZE = "/authorization/api/v1/authorize"
DECISION = "/api/v1/decision"
DELEGATIONS = "/api/v1/delegations"

INTEGRASJONER = "packages/integrasjoner.yaml"
PREFIX = "urn:altinn:accesspackage:"
API = f"{PREFIX}programmeringsgrensesnitt"
API_NUF = f"{PREFIX}programmeringsgrensesnittNUF"
OLD = f"{PREFIX}maskinlesbarehendelser"
NEW = f"{PREFIX}hendelser"
EVENTS_INDEX = 2

#: The old URN as callers may write it: as published, in capitals, as a bare code, mixed case.
OLD_NAMES = [
    OLD,
    OLD.upper(),
    "maskinlesbarehendelser",
    "urn:altinn:accesspackage:MaskinlesbareHendelser",
]
#: The current URN as callers may write it.
CURRENT_NAMES = [NEW, NEW.upper(), "hendelser", "Hendelser"]


def renamed_source(*, alias: bool = True) -> dict[str, Any]:
    """The shipped source with Maskinlesbare hendelser renamed; its old URN an alias."""
    source = catalog_module.read_source(POLICY_DIR)
    events = source[INTEGRASJONER]["packages"][EVENTS_INDEX]
    events["urn"] = NEW
    if alias:
        events["aliases"] = [OLD]
    return source


@pytest.fixture
def facts(register_facts: RegisterFacts) -> RegisterFacts:
    return register_facts


@pytest.fixture
def renamed(pdp: Pdp) -> None:
    """Version 2, the renamed source, is active."""
    assert pdp.publish(catalog_module.parse(renamed_source())).version == 2


def authorize(client, person: str, party: str, package: str, action="access") -> dict[str, Any]:
    body = package_request(person, party, package, action)
    return client.post(AUTHORIZE, json=body).get_json()["Response"][0]


def policy_ids(result: dict[str, Any]) -> list[str]:
    return [ref["Id"] for ref in result["PolicyIdentifierList"]["PolicyIdReference"]]


def renamed_advice(current: str) -> list[dict[str, Any]]:
    return [
        {
            "Id": PACKAGE_RENAMED_ADVICE,
            "AttributeAssignment": [
                {
                    "AttributeId": "urn:altinn:accesspackage",
                    "Category": "urn:oasis:names:tc:xacml:3.0:attribute-category:resource",
                    "DataType": "http://www.w3.org/2001/XMLSchema#string",
                    "Value": current,
                }
            ],
        }
    ]


def py_abac_decision(client, person: str, party: str, package: str) -> dict[str, Any]:
    body = {
        "subject": {"id": f"{PERSON_ID}:{person}", "attributes": {}},
        "resource": {"id": package, "attributes": {"party": party}},
        "action": {"id": "access", "attributes": {}},
        "context": {},
    }
    response = client.post(DECISION, json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def delegate(client, facts: RegisterFacts, package: str, recipient: str, delegator="DAGL"):
    return client.post(
        DELEGATIONS,
        json={
            "party": facts.as_org,
            "package": package,
            "delegator": facts.as_holders[delegator],
            "recipient": {"person": recipient},
        },
    )


# --- decisions ------------------------------------------------------------------------------


class TestDecidingByAFormerName:
    @pytest.mark.parametrize("name", OLD_NAMES)
    def test_a_request_naming_the_former_urn_is_decided_for_the_renamed_package(
        self, client, facts, renamed, name
    ):
        result = authorize(client, facts.as_holders["DAGL"], facts.as_org, name)
        assert result["Decision"] == "Permit"
        assert policy_ids(result) == ["grant:hendelser:DAGL:access"]

    @pytest.mark.parametrize("name", OLD_NAMES)
    def test_delegate_by_the_former_urn_is_decided_too(self, client, facts, renamed, name):
        result = authorize(client, facts.as_holders["LEDE"], facts.as_org, name, "delegate")
        assert result["Decision"] == "Permit"

    def test_a_role_that_grants_nothing_stays_not_applicable_by_the_former_urn(
        self, client, facts, renamed
    ):
        assert authorize(client, facts.as_holders["MEDL"], facts.as_org, OLD)["Decision"] == (
            "NotApplicable"
        )

    @pytest.mark.parametrize("name", OLD_NAMES + CURRENT_NAMES)
    def test_the_py_abac_answer_names_the_current_urn(self, client, facts, renamed, name):
        answer = py_abac_decision(client, facts.as_holders["DAGL"], facts.as_org, name)
        assert (answer["decision"], answer["package"], answer["version"]) == ("Permit", NEW, 2)

    def test_the_py_abac_answer_names_no_package_when_none_is_known(self, client, facts):
        answer = py_abac_decision(client, facts.as_holders["DAGL"], facts.as_org, "ukjent")
        assert answer["decision"] == "NotApplicable"
        assert "package" not in answer

    def test_before_the_rename_the_answer_names_the_package_as_published(self, client, facts):
        answer = py_abac_decision(client, facts.as_holders["DAGL"], facts.as_org, OLD.upper())
        assert answer["package"] == OLD


class TestRenamedAdvice:
    @pytest.mark.parametrize("name", OLD_NAMES)
    def test_a_former_name_gets_advice_naming_the_current_urn(self, client, facts, renamed, name):
        result = authorize(client, facts.as_holders["DAGL"], facts.as_org, name)
        assert result["AssociatedAdvice"] == renamed_advice(NEW)

    @pytest.mark.parametrize("name", CURRENT_NAMES)
    def test_the_current_name_in_any_case_gets_no_advice(self, client, facts, renamed, name):
        result = authorize(client, facts.as_holders["DAGL"], facts.as_org, name)
        assert result["Decision"] == "Permit"
        assert "AssociatedAdvice" not in result

    def test_the_advice_comes_whatever_the_decision(self, client, facts, renamed):
        result = authorize(client, facts.stranger, facts.as_org, OLD)
        assert result["Decision"] == "NotApplicable"
        assert result["AssociatedAdvice"] == renamed_advice(NEW)

    def test_an_unknown_package_gets_no_advice(self, client, facts, renamed):
        result = authorize(client, facts.as_holders["DAGL"], facts.as_org, f"{PREFIX}ukjent")
        assert result["Decision"] == "NotApplicable"
        assert "AssociatedAdvice" not in result

    def test_without_a_rename_no_request_gets_advice(self, client, facts):
        for name in (OLD, OLD.upper(), "maskinlesbarehendelser"):
            assert "AssociatedAdvice" not in authorize(
                client, facts.as_holders["DAGL"], facts.as_org, name
            )

    def test_in_a_multi_request_only_the_results_that_used_a_former_name_get_advice(
        self, client, facts, renamed
    ):
        def resource(reference: str, package: str) -> dict[str, Any]:
            return {
                "Id": reference,
                "Attribute": [
                    attribute(PACKAGE_ID, package),
                    attribute(ORGANIZATION_ID, facts.as_org),
                ],
            }

        body = {
            "Request": {
                "AccessSubject": [
                    {"Id": "s", "Attribute": [attribute(PERSON_ID, facts.as_holders["DAGL"])]}
                ],
                "Action": [{"Id": "a", "Attribute": [attribute(ACTION_ID, "access")]}],
                "Resource": [resource("old", OLD), resource("new", NEW), resource("api", API)],
                "MultiRequests": {
                    "RequestReference": [
                        {"ReferenceId": ["s", "new", "a"]},
                        {"ReferenceId": ["s", "old", "a"]},
                        {"ReferenceId": ["s", "api", "a"]},
                    ]
                },
            }
        }
        results = client.post(AUTHORIZE, json=body).get_json()["Response"]
        assert [r["Decision"] for r in results] == ["Permit"] * 3
        assert [r.get("AssociatedAdvice") for r in results] == [None, renamed_advice(NEW), None]


# --- delegations ----------------------------------------------------------------------------


class TestDelegationsAcrossARename:
    def test_a_delegation_made_through_the_former_urn_is_stored_under_the_current_urn(
        self, client, facts, renamed
    ):
        response = delegate(client, facts, OLD.upper(), facts.stranger)
        assert response.status_code == 201
        assert response.get_json()["package"] == NEW
        result = authorize(client, facts.stranger, facts.as_org, NEW)
        assert result["Decision"] == "Permit"
        assert policy_ids(result) == ["delegation:hendelser:access"]

    def test_a_delegation_stored_under_the_old_urn_still_gives_the_package_after_the_rename(
        self, client, pdp, facts
    ):
        made = delegate(client, facts, OLD, facts.stranger)
        assert (made.status_code, made.get_json()["package"]) == (201, OLD)

        pdp.publish(catalog_module.parse(renamed_source()))

        for name in (NEW, OLD):
            result = authorize(client, facts.stranger, facts.as_org, name)
            assert result["Decision"] == "Permit", name
            assert policy_ids(result) == ["delegation:hendelser:access"]
            assert result["PolicyIdentifierList"]["PolicySetIdReference"][0]["Version"] == "2"

    def test_without_the_alias_a_delegation_under_the_old_urn_gives_nothing(
        self, client, pdp, facts
    ):
        delegate(client, facts, OLD, facts.stranger)
        pdp.publish(catalog_module.parse(renamed_source(alias=False)))
        assert authorize(client, facts.stranger, facts.as_org, NEW)["Decision"] == ("NotApplicable")

    def test_a_delegation_under_the_old_urn_may_be_revoked_by_another_delegator_after_it(
        self, client, pdp, facts
    ):
        made = delegate(client, facts, OLD, facts.stranger)
        pdp.publish(catalog_module.parse(renamed_source()))
        revoked = client.delete(
            f"{DELEGATIONS}/{made.get_json()['id']}?revoked_by={facts.as_holders['LEDE']}"
        )
        assert revoked.status_code == 200
        assert authorize(client, facts.stranger, facts.as_org, NEW)["Decision"] == ("NotApplicable")

    def test_a_recipient_holding_the_package_under_its_former_urn_cannot_be_given_it_again(
        self, client, pdp, facts
    ):
        assert delegate(client, facts, OLD, facts.stranger).status_code == 201
        pdp.publish(catalog_module.parse(renamed_source()))
        again = delegate(client, facts, NEW, facts.stranger)
        assert again.status_code == 409


# --- validation -----------------------------------------------------------------------------


def problems_with_aliases(aliases: dict[int, Any]) -> list[Problem]:
    """The problems of the shipped source with these aliases, by package position."""
    source = catalog_module.read_source(POLICY_DIR)
    for index, value in aliases.items():
        source[INTEGRASJONER]["packages"][index]["aliases"] = value
    with pytest.raises(SourceError) as refused:
        catalog_module.parse(source)
    return refused.value.problems


class TestAliasValidation:
    def test_an_alias_is_accepted_and_kept(self):
        source = renamed_source()
        catalog = catalog_module.parse(source)
        assert catalog.package(NEW).aliases == (OLD,)

    @pytest.mark.parametrize("alias", [API, f"{PREFIX}PROGRAMMERINGSGRENSESNITT"])
    def test_an_alias_naming_another_package_in_any_case_is_refused(self, alias):
        assert problems_with_aliases({EVENTS_INDEX: [alias]}) == [
            Problem(INTEGRASJONER, "packages[2].aliases[0]", f"duplicate package URN {alias}")
        ]

    def test_an_alias_naming_its_own_package_is_refused(self):
        alias = f"{PREFIX}MaskinlesbareHendelser"
        assert problems_with_aliases({EVENTS_INDEX: [alias]}) == [
            Problem(INTEGRASJONER, "packages[2].aliases[0]", f"duplicate package URN {alias}")
        ]

    def test_two_packages_may_not_share_an_alias_in_any_case(self):
        problems = problems_with_aliases(
            {0: [f"{PREFIX}gammel"], EVENTS_INDEX: [f"{PREFIX}nyere", f"{PREFIX}GAMMEL"]}
        )
        assert problems == [
            Problem(
                INTEGRASJONER, "packages[2].aliases[1]", f"duplicate package URN {PREFIX}GAMMEL"
            )
        ]

    def test_a_package_may_not_take_another_packages_alias_as_its_urn(self):
        source = catalog_module.read_source(POLICY_DIR)
        source[INTEGRASJONER]["packages"][0]["aliases"] = [NEW]
        source[INTEGRASJONER]["packages"][EVENTS_INDEX]["urn"] = NEW
        with pytest.raises(SourceError) as refused:
            catalog_module.parse(source)
        assert refused.value.problems == [
            Problem(INTEGRASJONER, "packages[2].urn", f"duplicate package URN {NEW}")
        ]

    @pytest.mark.parametrize(
        "alias",
        [
            "maskinlesbarehendelser",
            f"{PREFIX}gammel navn",
            f"{PREFIX}",
            "urn:altinn:resource:maskinlesbarehendelser",
            "URN:ALTINN:ACCESSPACKAGE:GAMMEL",
        ],
    )
    def test_a_malformed_alias_is_refused_with_its_place(self, alias):
        assert problems_with_aliases({EVENTS_INDEX: [alias]}) == [
            Problem(INTEGRASJONER, "packages[2].aliases[0]", f"malformed package URN {alias}")
        ]

    def test_aliases_must_be_a_list(self):
        [problem] = problems_with_aliases({EVENTS_INDEX: OLD})
        assert (problem.file, problem.path) == (INTEGRASJONER, "packages[2].aliases")

    def test_publishing_a_clashing_alias_over_http_is_422_with_the_place(self, client):
        source = renamed_source()
        source[INTEGRASJONER]["packages"][EVENTS_INDEX]["aliases"] = [OLD, API_NUF.lower()]
        response = client.post(
            "/api/v1/policy-sets", json={"source": source}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 422
        assert response.get_json()["errors"] == [
            {
                "file": INTEGRASJONER,
                "path": "packages[2].aliases[1]",
                "problem": f"duplicate package URN {API_NUF.lower()}",
            }
        ]

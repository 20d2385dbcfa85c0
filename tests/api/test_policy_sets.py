"""/api/v1/policy-sets: the policy administration point over HTTP.

An author reads the active version's source, edits it and publishes it back naming the version
the edit was based on (`If-Match: "1"` or `base_version`). A stale base is refused with 409, a
missing one with 428, an invalid source with 422 naming every problem, and in none of these
cases is anything written. `?dry_run=true` shows the rule diff and who in the register would
gain or lose what, and publishes nothing. Any published version can be made active again.

The app here checks the repository for another process's publish only once an hour, so every
"the very next decision" below shows that a publish or activation through this process takes
effect at once, not after a refresh interval.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import update

from pdp import catalog as catalog_module
from pdp.api import create_app
from pdp.config import Settings
from pdp.db import active_policy_set, write_transaction
from tests.conftest import (
    KEY_ROLES,
    POLICY_DIR,
    RESOURCE_DOCUMENTS,
    RESOURCE_POLICIES,
    RegisterFacts,
)
from tests.helpers import LOCK_WAITERS, open_settings, package_request

POLICY_SETS = "/api/v1/policy-sets"
AUTHORIZE = "/authorization/api/v1/authorize"
DECISION = "/api/v1/decision"
DELEGATIONS = "/api/v1/delegations"

INTEGRASJONER = "packages/integrasjoner.yaml"
API = "urn:altinn:accesspackage:programmeringsgrensesnitt"
API_NUF = "urn:altinn:accesspackage:programmeringsgrensesnittNUF"
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"
#: Positions of the packages in the shipped packages/integrasjoner.yaml.
API_INDEX, API_NUF_INDEX, EVENTS_INDEX = 0, 1, 2

#: Policies the shipped source compiles to (see tests/test_cli.py).
SHIPPED_POLICIES = 51 + RESOURCE_DOCUMENTS


@pytest.fixture
def settings(database_url: str) -> Settings:
    """As conftest's, but with an hour between checks for another process's publish."""
    return open_settings(database_url, policy_refresh_seconds=3600)


# --- helpers --------------------------------------------------------------------------------


def shipped_source() -> dict[str, Any]:
    return catalog_module.read_source(POLICY_DIR)


def edited(source: dict[str, Any], edit: Callable[[list[dict[str, Any]]], Any]) -> dict[str, Any]:
    """A deep copy of `source` with `edit` applied to its Integrasjoner packages."""
    changed = copy.deepcopy(source)
    edit(changed[INTEGRASJONER]["packages"])
    return changed


def grant_medl_events(packages: list[dict[str, Any]]) -> None:
    """Styremedlem (MEDL) joins the delegable grant of Maskinlesbare hendelser."""
    packages[EVENTS_INDEX]["grants"][0]["roles"].append("MEDL")


def with_medl() -> dict[str, Any]:
    return edited(shipped_source(), grant_medl_events)


def publish(client, source, *, if_match: str | None = None, query: str = "", **body: Any):
    headers = {} if if_match is None else {"If-Match": if_match}
    return client.post(f"{POLICY_SETS}{query}", json={"source": source, **body}, headers=headers)


def dry_run(client, source, query: str = ""):
    return client.post(f"{POLICY_SETS}?dry_run=true{query}", json={"source": source})


def version_numbers(client) -> tuple[int | None, list[int]]:
    """The active version and every published version's number."""
    listing = client.get(POLICY_SETS).get_json()
    return listing["active"], [version["number"] for version in listing["versions"]]


def xacml_decision(client, person: str, party: str, package: str = EVENTS) -> dict[str, Any]:
    return client.post(AUTHORIZE, json=package_request(person, party, package)).get_json()[
        "Response"
    ][0]


def decided_version(result: dict[str, Any]) -> str:
    return result["PolicyIdentifierList"]["PolicySetIdReference"][0]["Version"]


def person_urn(person: str) -> str:
    return f"urn:altinn:person:identifier-no:{person}"


def organization_urn(organization: str) -> str:
    return f"urn:altinn:organization:identifier-no:{organization}"


def change(subject: str, party: str, package: str, action: str, what: str) -> dict[str, str]:
    return {
        "subject": subject,
        "party": party,
        "package": package,
        "action": action,
        "change": what,
    }


def in_change_order(changes: list[dict[str, str]]) -> list[dict[str, str]]:
    """Changes as the preview lists them: by subject, party, package, action."""
    return sorted(changes, key=lambda c: (c["subject"], c["party"], c["package"], c["action"]))


def rule(role: str, package: str, action: str, org_forms: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"role": role, "package": package, "action": action, "org_forms": list(org_forms)}


@pytest.fixture
def facts(register_facts: RegisterFacts) -> RegisterFacts:
    return register_facts


@pytest.fixture
def version_2(client) -> dict[str, Any]:
    """Version 2 published through the API: MEDL holds Maskinlesbare hendelser."""
    source = with_medl()
    response = publish(client, source, if_match='"1"', message="MEDL too", author="kari")
    assert response.status_code == 201, response.get_json()
    return source


# --- reading --------------------------------------------------------------------------------


class TestReading:
    def test_the_list_names_every_version_and_marks_the_active_one(self, client):
        response = client.get(POLICY_SETS)
        assert response.status_code == 200
        assert response.headers["ETag"] == '"1"'
        listing = response.get_json()
        assert listing["active"] == 1
        [version] = listing["versions"]
        assert version["number"] == 1
        assert version["active"] is True
        assert len(version["content_hash"]) == 64
        assert {"created_at", "message", "author"} <= version.keys()

    def test_the_active_version_comes_with_its_source_file_by_file(self, client):
        response = client.get(f"{POLICY_SETS}/active")
        assert response.status_code == 200
        assert response.headers["ETag"] == '"1"'
        body = response.get_json()
        assert body["number"] == 1
        assert body["active"] is True
        assert sorted(body["source"]) == [
            "org_forms.yaml",
            INTEGRASJONER,
            *(f"resources/{resource}/policy.xml" for resource in RESOURCE_POLICIES),
            "roles.yaml",
        ]
        assert body["source"] == shipped_source()

    def test_a_version_by_number_returns_the_same_source(self, client):
        by_number = client.get(f"{POLICY_SETS}/1")
        assert by_number.status_code == 200
        assert by_number.headers["ETag"] == '"1"'
        assert by_number.get_json() == client.get(f"{POLICY_SETS}/active").get_json()

    def test_an_unknown_version_is_404(self, client):
        response = client.get(f"{POLICY_SETS}/9")
        assert response.status_code == 404
        assert response.get_json()["message"] == "policy-set version 9 does not exist"

    def test_the_source_read_back_and_posted_unchanged_is_a_no_op(self, client):
        read = client.get(f"{POLICY_SETS}/active")
        response = publish(client, read.get_json()["source"], if_match=read.headers["ETag"])
        assert response.status_code == 200
        assert response.get_json() == {
            "version": 1,
            "created": False,
            "policies": SHIPPED_POLICIES,
        }
        assert response.headers["ETag"] == '"1"'
        assert version_numbers(client) == (1, [1])

    def test_after_a_publish_the_list_marks_the_new_version_active(self, client, version_2):
        response = client.get(POLICY_SETS)
        assert response.headers["ETag"] == '"2"'
        listing = response.get_json()
        assert listing["active"] == 2
        assert [(v["number"], v["active"]) for v in listing["versions"]] == [(1, False), (2, True)]
        assert (listing["versions"][1]["message"], listing["versions"][1]["author"]) == (
            "MEDL too",
            "kari",
        )

    def test_an_earlier_versions_etag_is_the_active_version_to_base_an_edit_on(
        self, client, version_2
    ):
        earlier = client.get(f"{POLICY_SETS}/1")
        assert earlier.headers["ETag"] == '"2"'
        assert earlier.get_json()["active"] is False
        assert earlier.get_json()["source"] == shipped_source()
        assert client.get(f"{POLICY_SETS}/active").get_json()["source"] == version_2


# --- publishing -----------------------------------------------------------------------------


class TestPublishing:
    def test_a_changed_source_is_published_as_the_new_active_version(self, client):
        response = publish(client, with_medl(), if_match='"1"')
        assert response.status_code == 201
        assert response.headers["Location"] == f"{POLICY_SETS}/2"
        assert response.headers["ETag"] == '"2"'
        # MEDL's grant is delegable: one access and one delegate policy more.
        assert response.get_json() == {
            "version": 2,
            "created": True,
            "policies": SHIPPED_POLICIES + 2,
        }
        assert version_numbers(client) == (2, [1, 2])

    def test_a_resource_policy_longer_than_the_string_limit_is_published(self, client):
        """A policy's XML is one JSON string: real policies run to tens of kilobytes, so a
        publish reads them up to the policy file limit, not `PDP_MAX_STRING_LENGTH`."""
        source = shipped_source()
        name = "resources/ttd-example-api/policy.xml"
        described = source[name].replace(
            "</Description>", " " + "lang beskrivelse " * 500 + "</Description>", 1
        )
        assert len(described) > 4096 and described != source[name]
        source[name] = described
        response = publish(client, source, if_match='"1"')
        assert response.status_code == 201, response.get_json()
        assert client.get(f"{POLICY_SETS}/active").get_json()["source"][name] == described

    def test_the_very_next_authorize_follows_the_published_rule(self, client, facts):
        member = facts.as_holders["MEDL"]
        before = xacml_decision(client, member, facts.as_org)
        assert (before["Decision"], decided_version(before)) == ("NotApplicable", "1")

        assert publish(client, with_medl(), if_match='"1"').status_code == 201

        after = xacml_decision(client, member, facts.as_org)
        assert after["Decision"] == "Permit"
        assert decided_version(after) == "2"
        assert after["PolicyIdentifierList"]["PolicyIdReference"] == [
            {"Id": "grant:maskinlesbarehendelser:MEDL:access", "Version": "2"}
        ]

    def test_the_very_next_py_abac_decision_follows_the_published_rule(self, client, facts):
        request = {
            "subject": {"id": person_urn(facts.as_holders["MEDL"]), "attributes": {}},
            "resource": {"id": EVENTS, "attributes": {"party": facts.as_org}},
            "action": {"id": "access", "attributes": {}},
            "context": {},
        }
        assert client.post(DECISION, json=request).get_json()["decision"] == "NotApplicable"

        assert publish(client, with_medl(), if_match='"1"').status_code == 201

        answer = client.post(DECISION, json=request).get_json()
        assert (answer["decision"], answer["version"]) == ("Permit", 2)

    def test_base_version_in_the_body_works_as_if_match_does(self, client):
        response = publish(client, with_medl(), base_version=1)
        assert response.status_code == 201
        assert response.headers["ETag"] == '"2"'
        assert version_numbers(client) == (2, [1, 2])

    @pytest.mark.parametrize("if_match", ['"1"', "1", 'W/"1"', ' "1" '])
    def test_if_match_may_be_a_quoted_weak_or_bare_version(self, client, if_match):
        assert publish(client, with_medl(), if_match=if_match).status_code == 201

    def test_if_match_and_base_version_agreeing_is_accepted(self, client):
        assert publish(client, with_medl(), if_match='"1"', base_version=1).status_code == 201

    def test_if_match_and_base_version_disagreeing_is_400_and_nothing_published(self, client):
        response = publish(client, with_medl(), if_match='"1"', base_version=2)
        assert response.status_code == 400
        assert response.get_json()["message"] == "If-Match and base_version name different versions"
        assert version_numbers(client) == (1, [1])

    def test_without_a_base_version_it_is_428_and_nothing_published(self, client, facts):
        response = publish(client, with_medl())
        assert response.status_code == 428
        assert "If-Match" in response.get_json()["message"]
        assert version_numbers(client) == (1, [1])
        assert xacml_decision(client, facts.as_holders["MEDL"], facts.as_org)["Decision"] == (
            "NotApplicable"
        )

    def test_a_stale_base_is_409_and_nothing_written(self, client, version_2):
        stale = edited(shipped_source(), lambda packages: packages[API_INDEX].update(name="X"))
        response = publish(client, stale, if_match='"1"')
        assert response.status_code == 409
        assert "version 2 is active" in response.get_json()["message"]
        assert version_numbers(client) == (2, [1, 2])
        assert client.get(f"{POLICY_SETS}/active").get_json()["source"] == version_2

    def test_a_stale_base_is_409_even_for_content_already_active(self, client, version_2):
        assert publish(client, version_2, if_match='"1"').status_code == 409

    @pytest.mark.parametrize("if_match", ["abc", '"1", "2"', "*", '""', '"-1"', '"1.0"'])
    def test_a_malformed_if_match_is_400_and_nothing_published(self, client, if_match):
        response = publish(client, with_medl(), if_match=if_match)
        assert response.status_code == 400
        assert "If-Match must name one version" in response.get_json()["message"]
        assert version_numbers(client) == (1, [1])

    @pytest.mark.parametrize("base_version", ["1", -1, 1.5, True])
    def test_a_malformed_base_version_is_400(self, client, base_version):
        response = publish(client, with_medl(), base_version=base_version)
        assert response.status_code == 400
        assert "base_version" in response.get_json()["errors"]
        assert version_numbers(client) == (1, [1])

    def test_message_and_author_are_limited_in_length(self, client):
        response = publish(client, with_medl(), if_match='"1"', author="a" * 201)
        assert response.status_code == 400
        assert "author" in response.get_json()["errors"]


class TestTheFirstPublish:
    """On an empty database the active version is 0: the first publish is based on it."""

    @pytest.fixture
    def empty_client(self, database_url):
        application = create_app(open_settings(database_url, policy_refresh_seconds=0))
        yield application.test_client()
        application.extensions["pdp"].close()

    def test_the_list_is_empty_with_etag_0(self, empty_client):
        response = empty_client.get(POLICY_SETS)
        assert response.headers["ETag"] == '"0"'
        assert response.get_json() == {"active": None, "versions": []}

    def test_there_is_no_active_version_to_read(self, empty_client):
        assert empty_client.get(f"{POLICY_SETS}/active").status_code == 404

    def test_publishing_based_on_version_0_creates_version_1(self, empty_client):
        response = publish(empty_client, shipped_source(), if_match='"0"')
        assert response.status_code == 201
        assert response.get_json() == {"version": 1, "created": True, "policies": SHIPPED_POLICIES}
        assert version_numbers(empty_client) == (1, [1])


# --- invalid sources ------------------------------------------------------------------------


class TestInvalidSources:
    def test_an_unknown_role_is_422_naming_file_place_and_problem(self, client):
        bad = edited(
            shipped_source(),
            lambda packages: packages[API_INDEX]["grants"][0]["roles"].insert(0, "REGX"),
        )
        response = publish(client, bad, if_match='"1"')
        assert response.status_code == 422
        body = response.get_json()
        assert body["message"] == "the policy source is invalid; nothing was published"
        assert body["errors"] == [
            {
                "file": INTEGRASJONER,
                "path": "packages[0].grants[0].roles[0]",
                "problem": "unknown role code 'REGX'",
            }
        ]
        assert version_numbers(client) == (1, [1])

    def test_every_problem_is_listed_at_once(self, client):
        def break_three_grants(packages: list[dict[str, Any]]) -> None:
            packages[API_INDEX]["grants"][0]["roles"].append("REGX")
            packages[API_NUF_INDEX]["grants"][0]["org_forms"] = ["XYZ"]
            packages[EVENTS_INDEX]["grants"].append({"roles": ["DAGL"], "delegable": False})

        response = publish(client, edited(shipped_source(), break_three_grants), if_match='"1"')
        assert response.status_code == 422
        assert response.get_json()["errors"] == [
            {
                "file": INTEGRASJONER,
                "path": "packages[0].grants[0].roles[8]",
                "problem": "unknown role code 'REGX'",
            },
            {
                "file": INTEGRASJONER,
                "path": "packages[1].grants[0].org_forms[0]",
                "problem": "unknown org form 'XYZ'",
            },
            {
                "file": INTEGRASJONER,
                "path": "packages[2].grants[1].roles[0]",
                "problem": "duplicate grant of this package to DAGL",
            },
        ]
        assert version_numbers(client) == (1, [1])

    def test_structural_problems_in_several_files_are_listed_at_once(self, client):
        source = edited(shipped_source(), lambda packages: packages[EVENTS_INDEX].pop("name"))
        del source["roles.yaml"]["roles"][0]["name"]
        response = publish(client, source, if_match='"1"')
        assert response.status_code == 422
        assert sorted((e["file"], e["path"]) for e in response.get_json()["errors"]) == [
            (INTEGRASJONER, "packages[2].name"),
            ("roles.yaml", "roles[0].name"),
        ]
        assert version_numbers(client) == (1, [1])

    def test_an_unknown_file_name_is_422(self, client):
        source = {**shipped_source(), "extra.yaml": {"roles": []}}
        response = publish(client, source, if_match='"1"')
        assert response.status_code == 422
        assert response.get_json()["errors"] == [
            {"file": "extra.yaml", "path": "", "problem": "unexpected file in policy source"}
        ]
        assert version_numbers(client) == (1, [1])

    def test_a_missing_file_is_422(self, client):
        source = shipped_source()
        del source["org_forms.yaml"]
        response = publish(client, source, if_match='"1"')
        assert response.status_code == 422
        assert {"file": "org_forms.yaml", "path": "", "problem": "file not found"} in (
            response.get_json()["errors"]
        )

    def test_a_document_that_is_not_a_mapping_is_422(self, client):
        source = {**shipped_source(), "roles.yaml": ["DAGL"]}
        response = publish(client, source, if_match='"1"')
        assert response.status_code == 422
        assert response.get_json()["errors"] == [
            {"file": "roles.yaml", "path": "", "problem": "must be a mapping at the top level"}
        ]

    def test_an_unknown_field_inside_a_document_is_422_naming_it(self, client):
        bad = edited(shipped_source(), lambda packages: packages[API_INDEX].update(colour="red"))
        response = publish(client, bad, if_match='"1"')
        assert response.status_code == 422
        assert response.get_json()["errors"] == [
            {"file": INTEGRASJONER, "path": "packages[0].colour", "problem": "unknown field"}
        ]

    @pytest.mark.parametrize("source", [[], "roles.yaml", None, 3], ids=repr)
    def test_a_source_that_is_not_an_object_is_400(self, client, source):
        response = publish(client, source, if_match='"1"')
        assert response.status_code == 400
        assert "source" in response.get_json()["errors"]
        assert version_numbers(client) == (1, [1])

    def test_a_body_without_source_is_400(self, client):
        response = client.post(POLICY_SETS, json={"message": "x"}, headers={"If-Match": '"1"'})
        assert response.status_code == 400
        assert response.get_json()["errors"] == {"source": ["Missing data for required field."]}

    def test_an_unknown_top_level_field_is_400_naming_it(self, client):
        response = publish(client, with_medl(), if_match='"1"', comment="typo for message")
        assert response.status_code == 400
        assert response.get_json()["errors"] == {"comment": ["Unknown field."]}
        assert version_numbers(client) == (1, [1])

    def test_a_body_that_is_not_json_is_400(self, client):
        response = client.post(
            POLICY_SETS,
            data="{source",
            content_type="application/json",
            headers={"If-Match": '"1"'},
        )
        assert response.status_code == 400
        assert version_numbers(client) == (1, [1])

    def test_an_invalid_source_without_a_base_is_still_named_invalid(self, client):
        """Validation comes first: an author learns what is wrong before anything else."""
        bad = edited(shipped_source(), lambda packages: packages[API_INDEX].pop("grants"))
        assert publish(client, bad).status_code == 422


# --- dry run --------------------------------------------------------------------------------


def remove_dagl_from_api(packages: list[dict[str, Any]]) -> None:
    packages[API_INDEX]["grants"][0]["roles"].remove("DAGL")


class TestDryRun:
    def test_removing_dagl_from_a_package_shows_the_rules_and_every_dagl_losing_it(
        self, client, facts
    ):
        response = dry_run(client, edited(shipped_source(), remove_dagl_from_api))
        assert response.status_code == 200
        preview = response.get_json()
        assert preview["dry_run"] is True
        assert preview["base_version"] == 1
        assert preview["unchanged"] is False
        assert preview["packages"] == {"added": [], "removed": [], "renamed": []}
        assert preview["grants"] == {
            "added": [],
            "removed": [rule("DAGL", API, "access"), rule("DAGL", API, "delegate")],
        }
        # Every DAGL holder in the register: one at the AS, one at the NUF.
        as_dagl, nuf_dagl = facts.as_holders["DAGL"], facts.nuf_holders["DAGL"]
        expected = [
            change(person_urn(holder), party, API, action, "lost")
            for holder, party in ((as_dagl, facts.as_org), (nuf_dagl, facts.nuf_org))
            for action in ("access", "delegate")
        ]
        impact = preview["impact"]
        assert impact["changes"] == in_change_order(expected)
        assert (impact["gained"], impact["lost"], impact["subjects"], impact["parties"]) == (
            0,
            4,
            2,
            2,
        )
        assert impact["by_package"] == {API: {"gained": 0, "lost": 4}}
        assert impact["truncated"] is False

    def test_a_dry_run_publishes_nothing(self, client, facts):
        assert dry_run(client, with_medl()).status_code == 200
        assert version_numbers(client) == (1, [1])
        assert xacml_decision(client, facts.as_holders["MEDL"], facts.as_org)["Decision"] == (
            "NotApplicable"
        )

    def test_a_dry_run_needs_no_base_version(self, client):
        response = dry_run(client, with_medl())
        assert response.status_code == 200
        assert response.get_json()["base_version"] == 1

    def test_a_new_grant_shows_who_gains_access_and_delegate(self, client, facts):
        impact = dry_run(client, with_medl()).get_json()["impact"]
        member = person_urn(facts.as_holders["MEDL"])
        assert impact["changes"] == [
            change(member, facts.as_org, EVENTS, "access", "gained"),
            change(member, facts.as_org, EVENTS, "delegate", "gained"),
        ]

    def test_a_grant_limited_to_nuf_reaches_no_one_at_an_as(self, client):
        def grant_nuf_only(packages: list[dict[str, Any]]) -> None:
            packages[EVENTS_INDEX]["grants"].append(
                {"roles": ["MEDL", "REGN"], "delegable": False, "org_forms": ["NUF"]}
            )

        preview = dry_run(client, edited(shipped_source(), grant_nuf_only)).get_json()
        assert preview["grants"]["added"] == [
            rule("MEDL", EVENTS, "access", ("NUF",)),
            rule("REGN", EVENTS, "access", ("NUF",)),
        ]
        # The test NUF has no MEDL or REGN; the AS's holders are not at a NUF.
        assert preview["impact"]["changes"] == []
        assert preview["unchanged"] is False

    def test_the_same_grant_without_the_limit_reaches_the_as_holders_and_the_firm(
        self, client, facts
    ):
        def grant_anywhere(packages: list[dict[str, Any]]) -> None:
            packages[EVENTS_INDEX]["grants"].append({"roles": ["MEDL", "REGN"], "delegable": False})

        impact = dry_run(client, edited(shipped_source(), grant_anywhere)).get_json()["impact"]
        gainers = [
            person_urn(facts.as_holders["MEDL"]),
            person_urn(facts.as_holders["REGN"]),
            organization_urn(facts.firm),
        ]
        assert impact["changes"] == in_change_order(
            [change(gainer, facts.as_org, EVENTS, "access", "gained") for gainer in gainers]
        )
        assert (impact["subjects"], impact["parties"]) == (3, 1)

    def test_a_new_nuf_only_package_reaches_only_the_nuf_organisations_key_roles(
        self, client, facts
    ):
        new_package = "urn:altinn:accesspackage:nufhendelser"

        def add_package(packages: list[dict[str, Any]]) -> None:
            packages.append(
                {
                    "urn": new_package,
                    "name": "NUF-hendelser",
                    "description": "Hendelser for NUF.",
                    "grants": [
                        {"roles": list(KEY_ROLES), "delegable": False, "org_forms": ["NUF"]}
                    ],
                }
            )

        preview = dry_run(client, edited(shipped_source(), add_package)).get_json()
        assert preview["packages"]["added"] == [new_package]
        assert preview["grants"]["added"] == sorted(
            (rule(role, new_package, "access", ("NUF",)) for role in KEY_ROLES),
            key=lambda r: r["role"],
        )
        impact = preview["impact"]
        assert impact["changes"] == in_change_order(
            [
                change(person_urn(holder), facts.nuf_org, new_package, "access", "gained")
                for holder in facts.nuf_holders.values()
            ]
        )
        assert (impact["gained"], impact["lost"], impact["subjects"], impact["parties"]) == (
            8,
            0,
            8,
            1,
        )

    def test_limit_truncates_the_list_of_changes_but_not_the_counts(self, client):
        preview = dry_run(client, edited(shipped_source(), remove_dagl_from_api), "&limit=1")
        impact = preview.get_json()["impact"]
        assert len(impact["changes"]) == 1
        assert impact["truncated"] is True
        assert (impact["lost"], impact["subjects"], impact["parties"]) == (4, 2, 2)
        assert impact["by_package"] == {API: {"gained": 0, "lost": 4}}

    def test_limit_0_lists_no_changes_at_all(self, client):
        impact = dry_run(
            client, edited(shipped_source(), remove_dagl_from_api), "&limit=0"
        ).get_json()["impact"]
        assert (impact["changes"], impact["truncated"], impact["lost"]) == ([], True, 4)

    def test_a_limit_as_large_as_the_changes_is_not_truncated(self, client):
        impact = dry_run(
            client, edited(shipped_source(), remove_dagl_from_api), "&limit=4"
        ).get_json()["impact"]
        assert (len(impact["changes"]), impact["truncated"]) == (4, False)

    def test_resource_changes_are_listed_by_resource_and_rule(self, client):
        source = shipped_source()
        del source["resources/ttd-example-events/policy.xml"]
        resources = dry_run(client, source).get_json()["resources"]
        assert (resources["added"], resources["removed"], resources["changed"]) == (
            [],
            ["ttd-example-events"],
            [],
        )
        assert resources["rules_added"] == []
        assert {rule["resource"] for rule in resources["rules_removed"]} == {"ttd-example-events"}
        assert {(rule["action"], rule["effect"]) for rule in resources["rules_removed"]} == {
            ("subscribe", "Permit"),
            ("read", "Permit"),
            ("publish", "Deny"),
        }
        assert all(rule["matches"] for rule in resources["rules_removed"])

    def test_the_identical_source_is_unchanged(self, client):
        preview = dry_run(client, shipped_source()).get_json()
        assert preview["unchanged"] is True
        assert preview["grants"] == {"added": [], "removed": []}
        assert preview["impact"]["changes"] == []
        assert (preview["impact"]["gained"], preview["impact"]["lost"]) == (0, 0)

    def test_an_invalid_source_is_422_in_a_dry_run_too(self, client):
        bad = edited(
            shipped_source(),
            lambda packages: packages[API_INDEX]["grants"][0]["roles"].append("REGX"),
        )
        response = dry_run(client, bad)
        assert response.status_code == 422
        assert response.get_json()["errors"][0]["problem"] == "unknown role code 'REGX'"

    @pytest.mark.parametrize(
        "query",
        [
            "?dry_run=yes",
            "?dry_run=",
            "?dry_run=true&limit=-1",
            "?dry_run=true&limit=abc",
            "?dry_run=true&limit=1.5",
            "?dry_run=true&limit=100001",
            "?dry_run=true&limit=",
        ],
    )
    def test_a_bad_dry_run_or_limit_value_is_400(self, client, query):
        response = publish(client, with_medl(), query=query)
        assert response.status_code == 400
        assert "query parameter" in response.get_json()["message"]
        assert version_numbers(client) == (1, [1])

    @pytest.mark.parametrize("digits", ["%C2%B2", "%D9%A3"], ids=["superscript", "arabic-indic"])
    def test_a_limit_in_digits_other_than_ascii_is_400(self, client, digits):
        response = publish(client, with_medl(), query=f"?dry_run=true&limit={digits}")
        assert response.status_code == 400

    @pytest.mark.parametrize("value", ["true", "TRUE", "1"])
    def test_dry_run_accepts_true_in_any_case_and_1(self, client, value):
        response = publish(client, with_medl(), query=f"?dry_run={value}")
        assert (response.status_code, response.get_json()["dry_run"]) == (200, True)

    @pytest.mark.parametrize("value", ["false", "0"])
    def test_dry_run_false_publishes(self, client, value):
        response = publish(client, with_medl(), if_match='"1"', query=f"?dry_run={value}")
        assert response.status_code == 201

    def test_a_delegation_recipient_loses_access_when_the_package_is_no_longer_delegable(
        self, client, facts
    ):
        made = client.post(
            DELEGATIONS,
            json={
                "party": facts.as_org,
                "package": EVENTS,
                "delegator": facts.as_holders["DAGL"],
                "recipient": {"person": facts.stranger},
            },
        )
        assert made.status_code == 201

        def not_delegable(packages: list[dict[str, Any]]) -> None:
            packages[EVENTS_INDEX]["grants"][0]["delegable"] = False

        preview = dry_run(client, edited(shipped_source(), not_delegable)).get_json()
        assert preview["grants"]["removed"] == [
            rule(role, EVENTS, "delegate") for role in sorted(KEY_ROLES)
        ]
        impact = preview["impact"]
        assert (
            change(person_urn(facts.stranger), facts.as_org, EVENTS, "access", "lost")
            in (impact["changes"])
        )
        # Every key-role holder at the AS and the NUF loses `delegate`; the recipient, `access`.
        assert (impact["gained"], impact["lost"], impact["subjects"], impact["parties"]) == (
            0,
            17,
            17,
            2,
        )


# --- activating (rolling back) --------------------------------------------------------------


class TestActivate:
    def test_activating_version_1_rolls_back_and_decisions_follow_at_once(
        self, client, facts, version_2
    ):
        member = facts.as_holders["MEDL"]
        assert xacml_decision(client, member, facts.as_org)["Decision"] == "Permit"

        response = client.post(f"{POLICY_SETS}/1/activate", headers={"If-Match": '"2"'})
        assert response.status_code == 200
        assert response.get_json() == {"active": 1}
        assert response.headers["ETag"] == '"1"'

        after = xacml_decision(client, member, facts.as_org)
        assert (after["Decision"], decided_version(after)) == ("NotApplicable", "1")
        assert version_numbers(client) == (1, [1, 2])

    def test_rolling_forward_again_restores_the_later_version(self, client, facts, version_2):
        client.post(f"{POLICY_SETS}/1/activate", headers={"If-Match": '"2"'})
        response = client.post(f"{POLICY_SETS}/2/activate", headers={"If-Match": '"1"'})
        assert response.get_json() == {"active": 2}
        assert xacml_decision(client, facts.as_holders["MEDL"], facts.as_org)["Decision"] == (
            "Permit"
        )

    def test_base_version_in_the_body_works_as_if_match_does(self, client, version_2):
        response = client.post(f"{POLICY_SETS}/1/activate", json={"base_version": 2})
        assert (response.status_code, response.get_json()) == (200, {"active": 1})

    def test_activating_the_active_version_changes_nothing(self, client):
        response = client.post(f"{POLICY_SETS}/1/activate", headers={"If-Match": '"1"'})
        assert (response.status_code, response.get_json()) == (200, {"active": 1})
        assert version_numbers(client) == (1, [1])

    def test_an_unknown_version_is_404(self, client):
        response = client.post(f"{POLICY_SETS}/9/activate", headers={"If-Match": '"1"'})
        assert response.status_code == 404
        assert response.get_json()["message"] == "policy-set version 9 does not exist"
        assert version_numbers(client) == (1, [1])

    def test_a_stale_base_is_409_and_the_active_version_stays(self, client, version_2):
        response = client.post(f"{POLICY_SETS}/1/activate", headers={"If-Match": '"1"'})
        assert response.status_code == 409
        assert version_numbers(client) == (2, [1, 2])

    def test_without_a_base_version_it_is_428(self, client, version_2):
        response = client.post(f"{POLICY_SETS}/1/activate")
        assert response.status_code == 428
        assert version_numbers(client) == (2, [1, 2])

    def test_an_unknown_field_in_the_body_is_400(self, client):
        response = client.post(f"{POLICY_SETS}/1/activate", json={"base": 1})
        assert response.status_code == 400
        assert response.get_json()["errors"] == {"base": ["Unknown field."]}


# --- concurrent publishers ------------------------------------------------------------------


def grant_role_events(role: str) -> dict[str, Any]:
    return edited(
        shipped_source(), lambda packages: packages[EVENTS_INDEX]["grants"][0]["roles"].append(role)
    )


class TestConcurrentPublishers:
    def test_two_publishes_on_the_same_base_the_second_is_409(self, client, facts):
        first = publish(client, grant_role_events("MEDL"), if_match='"1"')
        second = publish(client, grant_role_events("REVI"), if_match='"1"')
        assert (first.status_code, second.status_code) == (201, 409)
        assert version_numbers(client) == (2, [1, 2])
        assert xacml_decision(client, facts.as_holders["REVI"], facts.as_org)["Decision"] == (
            "NotApplicable"
        )

    def test_of_several_servers_publishing_on_the_same_base_at_once_exactly_one_wins(
        self, settings, pdp, facts
    ):
        """Separate app instances (as separate server processes) share one database; all
        publish on version 1 at the same moment. One gets 201, every other 409, and the
        winner's rules are the ones in force everywhere."""
        roles = ("MEDL", "REVI", "NEST", "VARA")
        every_decision_checks = dataclasses.replace(settings, policy_refresh_seconds=0)
        apps = [create_app(every_decision_checks) for _ in roles]
        barrier = threading.Barrier(len(roles))
        statuses: dict[str, int] = {}

        def author(application, role: str) -> None:
            source = grant_role_events(role)
            client = application.test_client()
            barrier.wait(timeout=30)
            statuses[role] = publish(client, source, if_match='"1"').status_code

        threads = [
            threading.Thread(target=author, args=(application, role))
            for application, role in zip(apps, roles, strict=True)
        ]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert sorted(statuses.values()) == [201, 409, 409, 409]
            [winner] = [role for role, status in statuses.items() if status == 201]
            for application in apps:
                client = application.test_client()
                assert version_numbers(client) == (2, [1, 2])
                for role in roles:
                    expected = "Permit" if role == winner else "NotApplicable"
                    result = xacml_decision(client, facts.as_holders[role], facts.as_org)
                    assert result["Decision"] == expected
        finally:
            for application in apps:
                application.extensions["pdp"].close()

    def test_a_publish_that_waited_for_another_writer_is_told_the_version_active_now(
        self, client, pdp, version_2, database_url
    ):
        """Another server holds the active-version row while it rolls forward to version 2;
        a publish based on version 1 waits for it, then is refused naming version 2."""
        rolled_back = client.post(f"{POLICY_SETS}/1/activate", headers={"If-Match": '"2"'})
        assert rolled_back.status_code == 200
        responses = []
        publisher = threading.Thread(
            target=lambda: responses.append(
                publish(client, grant_role_events("REVI"), if_match='"1"')
            )
        )
        with write_transaction(pdp.database) as connection:
            connection.execute(
                update(active_policy_set).where(active_policy_set.c.id == 1).values(version=2)
            )
            publisher.start()
            wait_until_someone_waits_for_a_lock(pdp.database)
        publisher.join(timeout=30)
        [response] = responses
        assert response.status_code == 409
        assert "but version 2 is active now" in response.get_json()["message"]
        assert version_numbers(client) == (2, [1, 2])


def wait_until_someone_waits_for_a_lock(engine) -> None:
    """Return once a transaction waits for a row lock (PostgreSQL), or after a moment (SQLite,
    whose writers wait in busy_timeout where no one can see them)."""
    if engine.dialect.name != "postgresql":
        time.sleep(0.5)
        return
    deadline = time.monotonic() + 10
    with engine.connect() as observer:
        while time.monotonic() < deadline:
            if observer.execute(LOCK_WAITERS).scalar():
                return
            observer.rollback()
            time.sleep(0.02)
    raise AssertionError("no one waited for the active-version row")

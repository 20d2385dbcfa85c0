"""Publishing and rolling back reach every worker of every server, within one second.

Two gunicorn servers (two workers each) share one database. An author publishes a new version
through one server; within a second every worker of the other answers under it. Rolling back
through the second server brings both back. No answer ever mixes versions: a MultiRequests is
decided under one version, and each decision agrees with the rules of the version it reports.
"""

from __future__ import annotations

import copy
import json
import time

import pytest

from tests.conftest import EXAMPLES_DIR
from tests.e2e.servers import call, prepared_database, running_server

#: The switch every worker must have made this long after a publish or activation.
SWITCH_SECONDS = 1.0

API = "urn:altinn:accesspackage:programmeringsgrensesnitt"
#: In examples/register.json: Ørjan holds MEDL (a role that grants nothing) at this AS.
MEMBER, PARTY = "27099450067", "910459880"
#: ... and Paula is its daglig leder.
MANAGER = "02056260016"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("hot-switch")
    env = prepared_database(workdir)
    with running_server(env, workdir) as first, running_server(env, workdir) as second:
        yield first, second


def _multi_request() -> bytes:
    """The member and the manager, asking for the API package in one MultiRequests."""

    def subject(person: str, ref: str) -> dict:
        return {
            "Id": ref,
            "Attribute": [{"AttributeId": "urn:altinn:person:identifier-no", "Value": person}],
        }

    return json.dumps(
        {
            "Request": {
                "ReturnPolicyIdList": True,
                "AccessSubject": [subject(MEMBER, "s1"), subject(MANAGER, "s2")],
                "Action": [
                    {
                        "Id": "a1",
                        "Attribute": [
                            {
                                "AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id",
                                "Value": "access",
                            }
                        ],
                    }
                ],
                "Resource": [
                    {
                        "Id": "r1",
                        "Attribute": [
                            {"AttributeId": "urn:altinn:accesspackage", "Value": API},
                            {
                                "AttributeId": "urn:altinn:organization:identifier-no",
                                "Value": PARTY,
                            },
                        ],
                    }
                ],
                "MultiRequests": {
                    "RequestReference": [
                        {"ReferenceId": ["s1", "a1", "r1"]},
                        {"ReferenceId": ["s2", "a1", "r1"]},
                    ]
                },
            }
        }
    ).encode()


def _answers(base: str) -> tuple[str, int]:
    """(the member's decision, the version) from one MultiRequests, checking it is whole:
    both results under one version, and the manager permitted under every version."""
    status, answer, _ = call("POST", f"{base}/authorization/api/v1/authorize", _multi_request())
    assert status == 200
    member, manager = answer["Response"]
    versions = {
        int(result["PolicyIdentifierList"]["PolicySetIdReference"][0]["Version"])
        for result in (member, manager)
    }
    assert len(versions) == 1, answer
    assert manager["Decision"] == "Permit"
    return member["Decision"], versions.pop()


def _sample(base: str, count: int = 30) -> set[tuple[str, int]]:
    """Answers from many requests, so both workers of the server are asked."""
    return {_answers(base) for _ in range(count)}


def test_a_publish_and_a_rollback_reach_every_worker_of_every_server(servers):
    first, second = servers
    assert _sample(first) | _sample(second) == {("NotApplicable", 1)}

    status, active, headers = call("GET", f"{first}/api/v1/policy-sets/active")
    assert status == 200 and headers["ETag"] == '"1"'
    source = copy.deepcopy(active["source"])
    grants = source["packages/integrasjoner.yaml"]["packages"][0]["grants"]
    grants.append({"roles": ["MEDL"], "delegable": False})
    body = json.dumps({"source": source, "message": "MEDL may use the API"}).encode()
    status, published, _ = call(
        "POST", f"{first}/api/v1/policy-sets", body, headers={"If-Match": '"1"'}
    )
    published_at = time.monotonic()
    assert (status, published["version"]) == (201, 2)

    # Until the switch, each answer is wholly version 1 or wholly version 2, never a mixture.
    while time.monotonic() - published_at < SWITCH_SECONDS:
        assert _sample(second, 3) <= {("NotApplicable", 1), ("Permit", 2)}
    assert _sample(first) | _sample(second) == {("Permit", 2)}

    status, activated, _ = call(
        "POST", f"{second}/api/v1/policy-sets/1/activate", headers={"If-Match": '"2"'}
    )
    activated_at = time.monotonic()
    assert (status, activated) == (200, {"active": 1})
    while time.monotonic() - activated_at < SWITCH_SECONDS:
        assert _sample(first, 3) <= {("NotApplicable", 1), ("Permit", 2)}
    assert _sample(first) | _sample(second) == {("NotApplicable", 1)}


def test_the_example_register_has_the_people_this_test_relies_on():
    register = json.loads((EXAMPLES_DIR / "register.json").read_text(encoding="utf-8"))
    roles = {
        (role.get("person"), role["code"])
        for organization in register["organizations"]
        if organization["organization_number"] == PARTY
        for role in organization["roles"]
    }
    assert {(MEMBER, "MEDL"), (MANAGER, "DAGL")} <= roles

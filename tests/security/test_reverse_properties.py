"""Properties of the questions asked the other way, against the oracle and `/authorize`.

- Authorized parties: for random subjects, every package listed for a party is Permit through
  `/authorize` and held by the oracle's reading; every package not listed, at every party, is
  NotApplicable. Every resource listed is permitted one of its actions through `/authorize`;
  every one not listed is permitted none.
- Holders: for random parties, packages and actions, everyone listed gets Permit and is a
  holder by the oracle; nobody unlisted among everyone the register and the delegations name
  (and strangers) does.
- Explanations: over a randomized stream of requests (well formed, respelt, spoiled), the
  decisions `/api/v1/explain` gives are exactly those `/authorize` gives.

Same PDP as `test_properties` (its module fixture, register and DELEGATIONS).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdp.catalog import load
from tests.conftest import POLICY_DIR
from tests.security.oracle import ACCESS, ACTIONS, ORGANIZATION, PERSON
from tests.security.test_properties import (
    AUTHORIZE,
    DELEGATIONS,
    NOT_APPLICABLE,
    ORACLE,
    PERMIT,
    REGISTER_ORGANIZATIONS,
    REGISTER_PERSONS,
    UNREGISTERED_PARTY,
    Ask,
    asks,
    harmlessly_changed,
    parties,
    quick,
    serving,
    spoiled,
    subjects,
    xacml,
)

PARTIES_PATH = "/accessmanagement/api/v1/resourceowner/authorizedparties"
EXPLAIN = "/api/v1/explain"
SUBJECT_TYPES = {
    PERSON: "urn:altinn:person:identifier-no",
    ORGANIZATION: "urn:altinn:organization:identifier-no",
}
#: The shipped resource policies and their actions, read from the policy source.
RESOURCES = {policy.resource_id: policy.actions() for policy in load(POLICY_DIR).resources}
#: Everyone who could hold anything: the register's persons and organisations, the
#: delegations' recipients, and a stranger.
EVERYONE = sorted(
    {(PERSON, p) for p in REGISTER_PERSONS}
    | {(ORGANIZATION, o) for o in REGISTER_ORGANIZATIONS}
    | {d.recipient for d in DELEGATIONS}
)


@pytest.fixture(scope="module")
def pdp_client(tmp_path_factory, catalog):
    """A PDP as `test_properties` has it: the test register and its DELEGATIONS."""
    yield from serving(tmp_path_factory.mktemp("reverse"), catalog)


def authorized(client, subject) -> dict[str, dict]:
    kind, identifier = subject
    response = client.post(
        PARTIES_PATH,
        query_string={"includeAccessPackages": "true"},
        json={"type": SUBJECT_TYPES[kind], "value": identifier},
    )
    assert response.status_code == 200, response.get_json()
    return {entry["organizationNumber"]: entry for entry in response.get_json()}


def authorize(client, subject, party: str, resource: tuple[str, str], action: str) -> str:
    """The decision `/authorize` gives: `resource` is ("package", code) or ("resource", id)."""
    kind, identifier = subject
    attributes = [{"AttributeId": "urn:altinn:organization:identifier-no", "Value": party}]
    if resource[0] == "package":
        attributes.append({"AttributeId": "urn:altinn:accesspackage", "Value": resource[1]})
    else:
        attributes.append({"AttributeId": "urn:altinn:resource", "Value": resource[1]})
    body = {
        "Request": {
            "AccessSubject": [
                {"Attribute": [{"AttributeId": SUBJECT_TYPES[kind], "Value": identifier}]}
            ],
            "Action": [
                {
                    "Attribute": [
                        {
                            "AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id",
                            "Value": action,
                        }
                    ]
                }
            ],
            "Resource": [{"Attribute": attributes}],
        }
    }
    response = client.post(AUTHORIZE, json=body)
    assert response.status_code == 200
    (result,) = response.get_json()["Response"]
    return result["Decision"]


@quick(25)
@given(subject=subjects, other=parties)
def test_authorized_parties_list_exactly_what_authorize_permits(pdp_client, subject, other):
    listed = authorized(pdp_client, subject)
    assert set(listed) <= set(REGISTER_ORGANIZATIONS)
    for party in sorted({*REGISTER_ORGANIZATIONS, other, UNREGISTERED_PARTY}):
        entry = listed.get(party, {"authorizedAccessPackages": [], "authorizedResources": []})
        for package in ORACLE.packages:
            held = package.code in entry["authorizedAccessPackages"]
            assert held == ORACLE.holds(subject, party, package.urn, ACCESS), (party, package)
            decision = authorize(pdp_client, subject, party, ("package", package.code), ACCESS)
            assert decision == (PERMIT if held else NOT_APPLICABLE), (party, package)
        if party not in REGISTER_ORGANIZATIONS:
            continue
        for resource, actions in RESOURCES.items():
            permitted = any(
                authorize(pdp_client, subject, party, ("resource", resource), action) == PERMIT
                for action in actions
            )
            assert (resource in entry["authorizedResources"]) == permitted, (party, resource)


@quick(25)
@given(
    party=st.sampled_from(REGISTER_ORGANIZATIONS) | parties,
    package=st.sampled_from([p.code for p in ORACLE.packages]),
    action=st.sampled_from(ACTIONS),
    stranger=subjects,
)
def test_holders_are_exactly_those_who_get_permit(pdp_client, party, package, action, stranger):
    response = pdp_client.get(
        f"/api/v1/parties/{party}/holders",
        query_string={"package": package, "action": action, "limit": 1000},
    )
    assert response.status_code == 200, response.get_json()
    page = response.get_json()
    listed = {(h["subject"]["kind"], h["subject"]["identifier"]) for h in page["holders"]}
    assert page["total"] == len(listed)
    for subject in {*EVERYONE, stranger}:
        expected = ORACLE.holds(subject, party, package, action)
        assert (subject in listed) == expected, subject
        decision = authorize(pdp_client, subject, party, ("package", package), action)
        assert decision == (PERMIT if expected else NOT_APPLICABLE), subject


@st.composite
def streamed(draw) -> dict:
    """A request body as PEPs might send it: well formed, respelt harmlessly, or spoiled."""
    ask: Ask = draw(asks())
    return draw(st.one_of(st.just(xacml(ask)), harmlessly_changed(ask), spoiled(ask)))


@quick(60)
@given(body=streamed())
def test_explain_decides_every_request_as_authorize_does(pdp_client, body):
    decided = pdp_client.post(AUTHORIZE, json=body)
    explained = pdp_client.post(EXPLAIN, json=body)
    assert explained.status_code == decided.status_code
    if decided.status_code != 200:
        return
    answer = explained.get_json()
    assert answer["response"] == decided.get_json()
    decisions = [result["Decision"] for result in answer["response"]["Response"]]
    if len(decisions) == len(answer["explanations"]):  # not one CombinedDecision
        assert [e["decision"] for e in answer["explanations"]] == decisions
    for explanation in answer["explanations"]:
        assert explanation["steps"][-1]["kind"] == "decision"
        assert all(step["sentence"] for step in explanation["steps"])

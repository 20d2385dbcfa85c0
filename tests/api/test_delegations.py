"""/api/v1/delegations over HTTP, and what the PDP decides once a package is delegated."""

from __future__ import annotations

import pytest

from tests.helpers import ORGANIZATION_ID, PACKAGE_ID, attribute, package_request, xacml_request

DELEGATIONS = "/api/v1/delegations"
AUTHORIZE = "/authorization/api/v1/authorize"
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"
API_NUF = "urn:altinn:accesspackage:programmeringsgrensesnittNUF"


def delegate(client, party, delegator, package="maskinlesbarehendelser", **recipient):
    return client.post(
        DELEGATIONS,
        json={"party": party, "package": package, "delegator": delegator, "recipient": recipient},
    )


def decision(client, body) -> dict:
    return client.post(AUTHORIZE, json=body).get_json()["Response"][0]


def decide_for(client, person, party, package=EVENTS, action="access") -> str:
    return decision(client, package_request(person, party, package, action))["Decision"]


@pytest.fixture
def facts(register_facts):
    return register_facts


class TestDelegatingToAPerson:
    def test_a_dagl_delegates_and_the_recipient_gets_access_but_cannot_delegate(
        self, client, facts
    ):
        response = delegate(client, facts.as_org, facts.as_holders["DAGL"], person=facts.stranger)
        assert response.status_code == 201
        stored = response.get_json()
        assert stored["party"] == facts.as_org
        assert stored["package"] == EVENTS
        assert stored["delegator"] == facts.as_holders["DAGL"]
        assert stored["recipient"] == {"person": facts.stranger}
        assert stored["id"] and stored["created"] and stored["revoked"] is None

        result = decision(client, package_request(facts.stranger, facts.as_org, EVENTS))
        assert result["Decision"] == "Permit"
        assert [ref["Id"] for ref in result["PolicyIdentifierList"]["PolicyIdReference"]] == [
            "delegation:maskinlesbarehendelser:access"
        ]
        assert (
            decide_for(client, facts.stranger, facts.as_org, action="delegate") == "NotApplicable"
        )

    def test_the_delegation_holds_only_for_its_party_and_package(self, client, facts):
        delegate(client, facts.as_org, facts.as_holders["DAGL"], person=facts.stranger)
        assert decide_for(client, facts.stranger, facts.nuf_org) == "NotApplicable"
        assert (
            decide_for(client, facts.stranger, facts.as_org, "programmeringsgrensesnitt")
            == "NotApplicable"
        )

    def test_after_revocation_the_recipient_gets_not_applicable(self, client, facts):
        created = delegate(client, facts.as_org, facts.as_holders["DAGL"], person=facts.stranger)
        delegation_id = created.get_json()["id"]
        revoked = client.delete(
            f"{DELEGATIONS}/{delegation_id}?revoked_by={facts.as_holders['DAGL']}"
        )
        assert revoked.status_code == 200
        assert revoked.get_json()["revoked_by"] == facts.as_holders["DAGL"]
        assert revoked.get_json()["revoked"] is not None
        assert decide_for(client, facts.stranger, facts.as_org) == "NotApplicable"

    def test_the_recipient_may_not_delegate_further(self, client, facts):
        delegate(client, facts.as_org, facts.as_holders["DAGL"], person=facts.stranger)
        onward = delegate(client, facts.as_org, facts.stranger, person=facts.as_holders["MEDL"])
        assert onward.status_code == 403

    def test_a_recipient_with_a_key_role_there_may_still_delegate_by_that_role(self, client, facts):
        delegate(client, facts.as_org, facts.as_holders["DAGL"], person=facts.as_holders["LEDE"])
        onward = delegate(client, facts.as_org, facts.as_holders["LEDE"], person=facts.stranger)
        assert onward.status_code == 201


class TestDelegatingToAnOrganisation:
    """The recipient organisation acts through the holders of its key roles."""

    @pytest.fixture(autouse=True)
    def delegated(self, client, facts):
        response = delegate(
            client, facts.nuf_org, facts.nuf_holders["DAGL"], organization=facts.as_org
        )
        assert response.status_code == 201

    def test_the_organisation_itself_gets_access(self, client, facts):
        body = xacml_request(
            [attribute(ORGANIZATION_ID, facts.as_org)],
            [attribute(PACKAGE_ID, EVENTS), attribute(ORGANIZATION_ID, facts.nuf_org)],
        )
        assert decision(client, body)["Decision"] == "Permit"

    @pytest.mark.parametrize("role", ["DAGL", "LEDE", "KOMP", "BOBE"])
    def test_key_role_holders_of_the_recipient_get_access(self, client, facts, role):
        assert decide_for(client, facts.as_holders[role], facts.nuf_org) == "Permit"

    @pytest.mark.parametrize("role", ["MEDL", "REGN", "REVI"])
    def test_other_role_holders_of_the_recipient_do_not(self, client, facts, role):
        assert decide_for(client, facts.as_holders[role], facts.nuf_org) == "NotApplicable"


def test_a_delegated_nuf_package_is_usable_for_the_nuf_party(client, facts):
    response = delegate(
        client,
        facts.nuf_org,
        facts.nuf_holders["DAGL"],
        "programmeringsgrensesnittNUF",
        person=facts.stranger,
    )
    assert response.status_code == 201
    assert decide_for(client, facts.stranger, facts.nuf_org, API_NUF) == "Permit"


class TestRefusals:
    def test_a_regn_holder_may_not_delegate(self, client, facts):
        response = delegate(client, facts.as_org, facts.as_holders["REGN"], person=facts.stranger)
        assert response.status_code == 403
        assert "may not delegate" in response.get_json()["message"]

    def test_a_delegator_who_does_not_represent_the_party_is_refused(self, client, facts):
        response = delegate(client, facts.nuf_org, facts.as_holders["DAGL"], person=facts.stranger)
        assert response.status_code == 403

    def test_the_nuf_package_cannot_be_delegated_for_an_as(self, client, facts):
        response = delegate(
            client,
            facts.as_org,
            facts.as_holders["DAGL"],
            "programmeringsgrensesnittNUF",
            person=facts.stranger,
        )
        assert response.status_code == 403

    def test_the_same_delegation_twice_is_a_conflict(self, client, facts):
        assert (
            delegate(
                client, facts.as_org, facts.as_holders["DAGL"], person=facts.stranger
            ).status_code
            == 201
        )
        again = delegate(client, facts.as_org, facts.as_holders["INNH"], person=facts.stranger)
        assert again.status_code == 409

    @pytest.mark.parametrize(
        ("field", "change"),
        [
            ("party", {"party": "897069651"}),
            ("delegator", {"delegator": "01039012345"}),
            ("recipient", {"recipient": {"person": "01039012345"}}),
            ("recipient", {"recipient": {"organization": "974760674"}}),
            ("recipient", {"recipient": {}}),
            ("package", {"package": "no-such-package"}),
            ("package", {"package": ""}),
            ("recipient", {"recipient": "self"}),
        ],
    )
    def test_malformed_input_is_a_400_naming_the_field(self, client, facts, field, change):
        body = {
            "party": facts.as_org,
            "package": "maskinlesbarehendelser",
            "delegator": facts.as_holders["DAGL"],
            "recipient": {"person": facts.stranger},
        }
        if change.get("recipient") == "self":
            change = {"recipient": {"person": facts.as_holders["DAGL"]}}
        body.update(change)
        response = client.post(DELEGATIONS, json=body)
        assert response.status_code == 400
        assert field in response.get_json()["errors"]

    def test_a_body_that_is_not_json_is_a_400(self, client):
        response = client.post(DELEGATIONS, data="{", content_type="application/json")
        assert response.status_code == 400


class TestListingAndRevoking:
    @pytest.fixture
    def made(self, client, facts):
        """Three delegations from the AS's DAGL: two people, one organisation."""
        people = [facts.stranger, facts.as_holders["MEDL"]]
        ids = [
            delegate(client, facts.as_org, facts.as_holders["DAGL"], person=p).get_json()["id"]
            for p in people
        ]
        ids.append(
            delegate(
                client,
                facts.as_org,
                facts.as_holders["DAGL"],
                "programmeringsgrensesnitt",
                organization=facts.firm,
            ).get_json()["id"]
        )
        return ids

    def listing(self, client, query=""):
        response = client.get(f"{DELEGATIONS}?{query}")
        assert response.status_code == 200
        return response.get_json()

    def test_list_filters_by_party_recipient_and_package(self, client, facts, made):
        assert self.listing(client, f"party={facts.as_org}")["total"] == 3
        assert self.listing(client, f"party={facts.nuf_org}")["total"] == 0
        by_recipient = self.listing(client, f"recipient={facts.firm}")
        assert [item["id"] for item in by_recipient["items"]] == [made[2]]
        by_package = self.listing(client, "package=MASKINLESBAREHENDELSER")
        assert [item["id"] for item in by_package["items"]] == made[:2]

    def test_list_pages(self, client, made):
        page = self.listing(client, "limit=2&offset=1")
        assert page["total"] == 3
        assert [item["id"] for item in page["items"]] == made[1:]

    def test_revoked_delegations_stay_in_the_history(self, client, facts, made):
        client.delete(f"{DELEGATIONS}/{made[0]}?revoked_by={facts.as_holders['DAGL']}")
        assert [item["id"] for item in self.listing(client)["items"]] == made[1:]
        history = self.listing(client, "include_revoked=true")["items"]
        assert [item["id"] for item in history] == made
        assert history[0]["revoked_by"] == facts.as_holders["DAGL"]
        assert client.get(f"{DELEGATIONS}/{made[0]}").get_json()["revoked"] is not None

    def test_revoking_twice_is_a_conflict_and_an_unknown_id_is_not_found(self, client, facts, made):
        by = f"revoked_by={facts.as_holders['DAGL']}"
        assert client.delete(f"{DELEGATIONS}/{made[0]}?{by}").status_code == 200
        assert client.delete(f"{DELEGATIONS}/{made[0]}?{by}").status_code == 409
        assert client.delete(f"{DELEGATIONS}/no-such-id?{by}").status_code == 404
        assert client.get(f"{DELEGATIONS}/no-such-id").status_code == 404

    def test_another_key_role_holder_may_revoke_a_stranger_may_not(self, client, facts, made):
        refused = client.delete(f"{DELEGATIONS}/{made[0]}?revoked_by={facts.as_holders['MEDL']}")
        assert refused.status_code == 403
        allowed = client.delete(f"{DELEGATIONS}/{made[0]}?revoked_by={facts.as_holders['LEDE']}")
        assert allowed.status_code == 200

    @pytest.mark.parametrize(
        "query",
        ["recipient=123", "party=897069651", "limit=0", "limit=abc", "package=no-such", "x=1"],
    )
    def test_malformed_list_queries_are_a_400(self, client, query):
        assert client.get(f"{DELEGATIONS}?{query}").status_code == 400

    def test_revoking_needs_a_valid_revoker(self, client, made):
        assert client.delete(f"{DELEGATIONS}/{made[0]}").status_code == 400
        assert client.delete(f"{DELEGATIONS}/{made[0]}?revoked_by=01039012345").status_code == 400


class TestDelegatingToASystemUser:
    """A system user receives packages only for the organisation that owns it."""

    OWN = "0b0c8a3e-6d5f-4f43-9a51-3f2a1d7e9c01"
    FOREIGN = "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"

    @pytest.fixture(autouse=True)
    def system_users(self, pdp, facts, catalog):
        pdp.register.import_document(
            {
                "organizations": [],
                "system_users": [
                    {"uuid": self.OWN, "owner": facts.as_org, "name": "Regnskapssystem"},
                    {"uuid": self.FOREIGN, "owner": facts.nuf_org},
                ],
            },
            catalog,
        )

    def test_the_owner_party_delegates_to_its_system_user(self, client, facts):
        response = delegate(client, facts.as_org, facts.as_holders["DAGL"], system_user=self.OWN)
        assert response.status_code == 201
        stored = response.get_json()
        assert stored["recipient"] == {"system_user": self.OWN}
        assert (stored["party"], stored["package"]) == (facts.as_org, EVENTS)

    def test_a_system_user_of_another_party_is_a_400_naming_its_owner(self, client, facts):
        response = delegate(
            client, facts.as_org, facts.as_holders["DAGL"], system_user=self.FOREIGN
        )
        assert response.status_code == 400
        body = response.get_json()
        assert f"belongs to organisation {facts.nuf_org}" in body["message"]
        assert body["errors"] == {"recipient": [body["message"]]}

    def test_an_unknown_system_user_is_a_400(self, client, facts):
        unknown = "00000000-0000-0000-0000-0000000000ff"
        response = delegate(client, facts.as_org, facts.as_holders["DAGL"], system_user=unknown)
        assert response.status_code == 400
        assert response.get_json()["message"] == f"system user {unknown} is not in the register"

    def test_a_delegator_who_may_not_delegate_is_refused_before_the_system_user_is_looked_at(
        self, client, facts
    ):
        response = delegate(
            client, facts.as_org, facts.as_holders["MEDL"], system_user=self.FOREIGN
        )
        assert response.status_code == 403

    @pytest.mark.parametrize(
        "recipient",
        [
            {"system_user": OWN.upper()},
            {"system_user": "not-a-uuid"},
            {"system_user": OWN, "person": "02056260016"},
        ],
        ids=["upper case", "not a uuid", "two recipients"],
    )
    def test_a_malformed_system_user_recipient_is_a_400(self, client, facts, recipient):
        response = client.post(
            DELEGATIONS,
            json={
                "party": facts.as_org,
                "package": "maskinlesbarehendelser",
                "delegator": facts.as_holders["DAGL"],
                "recipient": recipient,
            },
        )
        assert response.status_code == 400
        assert "recipient" in response.get_json()["errors"]

    def test_two_recipients_are_refused_naming_the_three_kinds(self, client, facts):
        response = delegate(
            client,
            facts.as_org,
            facts.as_holders["DAGL"],
            system_user=self.OWN,
            organization=facts.firm,
        )
        assert response.get_json()["errors"]["recipient"] == {
            "_schema": ["give exactly one of `person`, `organization` or `system_user`"]
        }

    def test_listed_by_the_system_user_and_revoked(self, client, facts):
        made = delegate(client, facts.as_org, facts.as_holders["DAGL"], system_user=self.OWN)
        delegate(client, facts.as_org, facts.as_holders["DAGL"], person=facts.stranger)
        delegation_id = made.get_json()["id"]
        listed = client.get(f"{DELEGATIONS}?recipient={self.OWN}").get_json()
        assert [item["id"] for item in listed["items"]] == [delegation_id]
        assert listed["total"] == 1

        revoked = client.delete(
            f"{DELEGATIONS}/{delegation_id}?revoked_by={facts.as_holders['DAGL']}"
        )
        assert revoked.status_code == 200
        assert revoked.get_json()["recipient"] == {"system_user": self.OWN}
        assert client.get(f"{DELEGATIONS}?recipient={self.OWN}").get_json()["total"] == 0
        history = client.get(f"{DELEGATIONS}?recipient={self.OWN}&include_revoked=true")
        assert history.get_json()["items"][0]["revoked_by"] == facts.as_holders["DAGL"]

    def test_listing_by_a_malformed_uuid_is_a_400(self, client):
        assert client.get(f"{DELEGATIONS}?recipient={self.OWN.upper()}").status_code == 400

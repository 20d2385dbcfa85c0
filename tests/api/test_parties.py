"""Authorized parties (Altinn's resource owners' endpoint) and holders over HTTP, on the
example register (examples/register.json: Paula is DAGL of 910459880, which owns a system
user; 316289177 is a NUF)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLES_DIR

PARTIES = "/accessmanagement/api/v1/resourceowner/authorizedparties"
DELEGATIONS = "/api/v1/delegations"
PERSON_ID = "urn:altinn:person:identifier-no"
ORGANIZATION_ID = "urn:altinn:organization:identifier-no"

PAULA = "02056260016"  # DAGL of 910459880; user id 20000095, party and person UUID ...2203
ELENA = "01025161013"  # DAGL of 810418672 and 910493353, no role at 910459880
NUF_DAGL = "30856499983"  # DAGL of the NUF 316289177
ORSTA, KARLSTAD, NUF = "910459880", "810418672", "316289177"
SYSTEM_USER = "47caea5b-a80b-4343-b1d3-31eb523a4e28"  # owned by 910459880


@pytest.fixture
def example(client, pdp, catalog):
    """The test client, with the example register imported too."""
    document = json.loads((EXAMPLES_DIR / "register.json").read_text(encoding="utf-8"))
    pdp.register.import_document(document, catalog)
    return client


def parties(client, kind, value, *, party_filter=None, **flags):
    body = {"type": kind, "value": value}
    if party_filter is not None:
        body["partyFilter"] = party_filter
    query = {
        key: str(value).lower() if isinstance(value, bool) else value
        for key, value in flags.items()
    }
    return client.post(PARTIES, json=body, query_string=query)


def listed(client, kind, value, **flags) -> dict[str, dict]:
    response = parties(client, kind, value, includeAccessPackages=True, **flags)
    assert response.status_code == 200, response.get_json()
    return {entry["organizationNumber"]: entry for entry in response.get_json()}


def delegate(client, party, package, delegator, **recipient) -> dict:
    response = client.post(
        DELEGATIONS,
        json={"party": party, "package": package, "delegator": delegator, "recipient": recipient},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


class TestAuthorizedParties:
    def test_a_daglig_leder_gets_the_party_in_altinns_shape(self, example):
        response = parties(example, PERSON_ID, PAULA, includeAccessPackages=True)
        assert response.status_code == 200
        assert response.get_json() == [
            {
                "partyUuid": "00000000-0000-0000-0005-000000005545",
                "name": "ØRSTA OG HEGGEDAL REGNSKAP AS",
                "organizationNumber": ORSTA,
                "parentId": None,
                "personId": None,
                "dateOfBirth": None,
                "partyId": 50005545,
                "type": "Organization",
                "unitType": "AS",
                "isDeleted": False,
                "onlyHierarchyElementWithNoAccess": False,
                "authorizedAccessPackages": ["maskinlesbarehendelser", "programmeringsgrensesnitt"],
                "authorizedResources": ["ttd-example-api", "ttd-example-events"],
                "authorizedRoles": ["DAGL"],
                "authorizedInstances": [],
                "subunits": [],
            }
        ]

    @pytest.mark.parametrize(
        ("kind", "value"),
        [
            (PERSON_ID, PAULA),
            ("urn:altinn:userid", "20000095"),
            ("urn:altinn:party:uuid", "00000000-0000-0000-0005-000000002203"),
            ("urn:altinn:person:uuid", "00000000-0000-0000-0005-000000002203"),
        ],
    )
    def test_each_identifier_of_a_person_names_the_same_parties(self, example, kind, value):
        assert listed(example, kind, value) == listed(example, PERSON_ID, PAULA)

    def test_an_organisation_is_listed_where_it_holds_a_role(self, example):
        found = listed(example, ORGANIZATION_ID, ORSTA)  # REGN of 810418672
        assert found[KARLSTAD]["authorizedRoles"] == ["REGN"]
        assert found[KARLSTAD]["authorizedAccessPackages"] == []

    def test_a_system_user_holds_what_was_delegated_to_it_for_its_owner(self, example):
        assert listed(example, "urn:altinn:systemuser:uuid", SYSTEM_USER) == {}
        delegate(example, ORSTA, "programmeringsgrensesnitt", PAULA, system_user=SYSTEM_USER)
        found = listed(example, "urn:altinn:systemuser:uuid", SYSTEM_USER)
        assert list(found) == [ORSTA]
        assert found[ORSTA]["authorizedAccessPackages"] == ["programmeringsgrensesnitt"]
        assert found[ORSTA]["authorizedRoles"] == []
        assert "ttd-example-api" in found[ORSTA]["authorizedResources"]

    def test_a_delegation_lists_its_party_until_it_is_revoked(self, example):
        assert ORSTA not in listed(example, PERSON_ID, ELENA)
        made = delegate(example, ORSTA, "maskinlesbarehendelser", PAULA, person=ELENA)
        assert listed(example, PERSON_ID, ELENA)[ORSTA]["authorizedAccessPackages"] == [
            "maskinlesbarehendelser"
        ]
        example.delete(f"{DELEGATIONS}/{made['id']}", query_string={"revoked_by": PAULA})
        assert ORSTA not in listed(example, PERSON_ID, ELENA)

    def test_key_role_holders_of_a_recipient_organisation_are_listed(self, example):
        delegate(example, ORSTA, "maskinlesbarehendelser", PAULA, organization=KARLSTAD)
        assert listed(example, PERSON_ID, ELENA)[ORSTA]["authorizedAccessPackages"] == [
            "maskinlesbarehendelser"
        ]

    def test_the_nuf_package_is_listed_for_nuf_parties_only(self, example):
        nuf = listed(example, PERSON_ID, NUF_DAGL)[NUF]["authorizedAccessPackages"]
        assert "programmeringsgrensesnittNUF" in nuf
        assert (
            "programmeringsgrensesnittNUF"
            not in (listed(example, PERSON_ID, PAULA)[ORSTA]["authorizedAccessPackages"])
        )

    def test_someone_with_no_access_gets_an_empty_list(self, example):
        assert parties(example, PERSON_ID, "08069402071").get_json() == []
        assert parties(example, "urn:altinn:userid", "999999").get_json() == []

    def test_flags_as_altinn_defaults_them(self, example):
        (entry,) = parties(example, PERSON_ID, PAULA).get_json()
        assert entry["authorizedAccessPackages"] == []  # includeAccessPackages: false
        assert entry["authorizedRoles"] == ["DAGL"]  # includeRoles: true
        assert entry["authorizedResources"] == ["ttd-example-api", "ttd-example-events"]
        (entry,) = parties(
            example, PERSON_ID, PAULA, includeRoles=False, includeResources=False
        ).get_json()
        assert entry["authorizedRoles"] == entry["authorizedResources"] == []

    def test_any_of_resource_ids_keeps_parties_where_one_is_permitted(self, example):
        found = parties(example, PERSON_ID, ELENA, anyOfResourceIds="ttd-example-api").get_json()
        # Elena is DAGL of 810418672 and 910493353: rule 2 of ttd-example-api lets a DAGL read.
        assert sorted(entry["organizationNumber"] for entry in found) == [KARLSTAD, "910493353"]
        assert all(entry["authorizedResources"] == ["ttd-example-api"] for entry in found)
        none = parties(example, PERSON_ID, PAULA, anyOfResourceIds="no-such-resource")
        assert none.get_json() == []

    def test_a_party_filter_keeps_only_the_parties_it_names(self, example):
        kept = parties(
            example,
            PERSON_ID,
            ELENA,
            party_filter=[
                {"type": "urn:altinn:party:uuid", "value": "00000000-0000-0000-0005-000000004222"}
            ],
        ).get_json()
        assert [entry["organizationNumber"] for entry in kept] == [KARLSTAD]
        by_number = parties(
            example, PERSON_ID, ELENA, party_filter=[{"type": ORGANIZATION_ID, "value": ORSTA}]
        )
        assert by_number.get_json() == []


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"type": "urn:altinn:foo", "value": PAULA}, "type"),
            ({"type": PERSON_ID, "value": "02056260017"}, "value"),
            ({"type": ORGANIZATION_ID, "value": "910459881"}, "value"),
            ({"type": "urn:altinn:userid", "value": "abc"}, "value"),
            ({"type": "urn:altinn:systemuser:uuid", "value": "not-a-uuid"}, "value"),
            ({"value": PAULA}, "type"),
            ({"type": PERSON_ID, "value": PAULA, "extra": 1}, "extra"),
        ],
    )
    def test_a_malformed_subject_is_400_naming_the_field(self, example, body, field):
        response = example.post(PARTIES, json=body)
        assert response.status_code == 400
        assert field in response.get_json()["errors"]

    def test_organisations_and_persons_in_one_filter_are_400(self, example):
        response = parties(
            example,
            PERSON_ID,
            PAULA,
            party_filter=[
                {"type": ORGANIZATION_ID, "value": ORSTA},
                {"type": PERSON_ID, "value": ELENA},
            ],
        )
        assert response.status_code == 400
        assert "not both" in response.get_json()["errors"]["partyFilter"][0]

    def test_a_filter_with_bad_check_digits_is_400(self, example):
        response = parties(
            example,
            PERSON_ID,
            PAULA,
            party_filter=[{"type": ORGANIZATION_ID, "value": "910459881"}],
        )
        assert response.status_code == 400
        assert "partyFilter" in response.get_json()["errors"]

    def test_an_unknown_flag_is_400(self, example):
        response = parties(example, PERSON_ID, PAULA, includeEverything=True)
        assert response.status_code == 400


class TestHolders:
    def test_holders_of_a_package_with_how(self, example):
        made = delegate(example, ORSTA, "maskinlesbarehendelser", PAULA, person=ELENA)
        page = example.get(f"/api/v1/parties/{ORSTA}/holders?package=maskinlesbarehendelser")
        assert page.status_code == 200
        body = page.get_json()
        assert body["total"] == 3
        ways = {h["subject"]["identifier"]: h["ways"] for h in body["holders"]}
        assert ways[PAULA] == [{"how": "role", "role": "DAGL"}]
        assert ways["07124912037"] == [{"how": "role", "role": "LEDE"}]
        (given,) = ways[ELENA]
        assert given["how"] == "delegation"
        assert given["delegation"]["id"] == made["id"]
        assert given["delegation"]["delegator"] == PAULA

    def test_a_key_role_in_a_recipient_organisation(self, example):
        made = delegate(example, ORSTA, "maskinlesbarehendelser", PAULA, organization=KARLSTAD)
        body = example.get(
            f"/api/v1/parties/{ORSTA}/holders?package=maskinlesbarehendelser"
        ).get_json()
        ways = {h["subject"]["urn"]: h["ways"] for h in body["holders"]}
        assert ways[f"{PERSON_ID}:{ELENA}"] == [
            {
                "how": "key_role",
                "role": "DAGL",
                "via": KARLSTAD,
                "delegation": ways[f"{ORGANIZATION_ID}:{KARLSTAD}"][0]["delegation"],
            }
        ]
        assert ways[f"{ORGANIZATION_ID}:{KARLSTAD}"][0]["delegation"]["id"] == made["id"]

    def test_a_system_user_by_delegation(self, example):
        delegate(example, ORSTA, "programmeringsgrensesnitt", PAULA, system_user=SYSTEM_USER)
        body = example.get(
            f"/api/v1/parties/{ORSTA}/holders?package=programmeringsgrensesnitt"
        ).get_json()
        kinds = {h["subject"]["kind"] for h in body["holders"]}
        assert "system_user" in kinds

    def test_revoked_delegations_are_not_listed(self, example):
        made = delegate(example, ORSTA, "maskinlesbarehendelser", PAULA, person=ELENA)
        example.delete(f"{DELEGATIONS}/{made['id']}", query_string={"revoked_by": PAULA})
        body = example.get(
            f"/api/v1/parties/{ORSTA}/holders?package=maskinlesbarehendelser"
        ).get_json()
        assert ELENA not in {h["subject"]["identifier"] for h in body["holders"]}

    def test_paging(self, example):
        url = f"/api/v1/parties/{ORSTA}/holders?package=maskinlesbarehendelser"
        whole = example.get(url).get_json()["holders"]
        pages = [example.get(f"{url}&limit=1&offset={n}").get_json() for n in range(3)]
        assert [p["holders"][0] for p in pages[:2]] == whole[:2]
        assert all(p["total"] == 2 for p in pages)
        assert pages[2]["holders"] == []

    def test_delegate_is_held_by_the_delegable_grants_only(self, example):
        delegate(example, ORSTA, "maskinlesbarehendelser", PAULA, person=ELENA)
        body = example.get(
            f"/api/v1/parties/{ORSTA}/holders?package=maskinlesbarehendelser&action=delegate"
        ).get_json()
        assert ELENA not in {h["subject"]["identifier"] for h in body["holders"]}

    def test_holders_of_a_resource_action(self, example):
        body = example.get(
            f"/api/v1/parties/{KARLSTAD}/holders?resource=ttd-example-api&action=read"
        ).get_json()
        assert [h["subject"]["identifier"] for h in body["holders"]] == [ELENA]

    def test_the_nuf_package_has_no_holders_at_an_as(self, example):
        body = example.get(
            f"/api/v1/parties/{ORSTA}/holders?package=programmeringsgrensesnittNUF"
        ).get_json()
        assert body["total"] == 0

    @pytest.mark.parametrize(
        ("url", "field"),
        [
            ("/api/v1/parties/910459881/holders?package=maskinlesbarehendelser", "organization"),
            (f"/api/v1/parties/{ORSTA}/holders", "package"),
            (f"/api/v1/parties/{ORSTA}/holders?package=a&resource=b", "package"),
            (f"/api/v1/parties/{ORSTA}/holders?package=nosuchpackage", "package"),
            (f"/api/v1/parties/{ORSTA}/holders?resource=ttd-example-api", "action"),
            (f"/api/v1/parties/{ORSTA}/holders?resource=no-such&action=read", "resource"),
            (f"/api/v1/parties/{ORSTA}/holders?package=maskinlesbarehendelser&action=x", "action"),
            (f"/api/v1/parties/{ORSTA}/holders?package=maskinlesbarehendelser&limit=0", "limit"),
        ],
    )
    def test_bad_input_is_400_naming_the_field(self, example, url, field):
        response = example.get(url)
        assert response.status_code == 400
        assert field in json.dumps(response.get_json())

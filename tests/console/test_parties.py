"""The Parties page: for whom a subject may act, and who holds a package at a party, as the
reverse-query endpoints answer."""

from __future__ import annotations

from tests.console.conftest import csrf, text_of

PERSON_ID = "urn:altinn:person:identifier-no"


def _parties(client, **form: str):
    return client.post(
        "/console/parties", data={**form, "csrf_token": csrf(client, "/console/parties")}
    )


def test_the_parties_of_a_subject_are_those_the_api_lists(client, register_facts):
    person = register_facts.as_holders["DAGL"]
    response = _parties(client, type=PERSON_ID, value=person)
    assert response.status_code == 200
    api = client.post(
        "/accessmanagement/api/v1/resourceowner/authorizedparties?includeAccessPackages=true",
        json={"type": PERSON_ID, "value": person},
    ).get_json()
    page = text_of(response.text, "parties")
    for party in api:
        assert party["organizationNumber"] in page and party["name"] in page
        assert all(role in page for role in party["authorizedRoles"])
    assert "may act for 1 party" in page


def test_a_malformed_subject_is_named_next_to_its_field(client):
    response = _parties(client, type=PERSON_ID, value="12345678901")
    assert response.status_code == 400
    assert "check digit" in text_of(response.text, "value-error")


def test_the_holders_of_a_package_say_how_they_hold_it(client, register_facts):
    facts = register_facts
    response = client.get(
        f"/console/parties/holders?party={facts.as_org}&package=maskinlesbarehendelser"
    )
    assert response.status_code == 200
    page = text_of(response.text, "holders")
    assert f"person {facts.as_holders['DAGL']}" in page and "ER role DAGL" in page
    assert facts.as_holders["MEDL"] not in page  # MEDL grants nothing


def test_holders_need_a_party_and_one_of_package_or_resource(client):
    response = client.get("/console/parties/holders?party=123")
    assert response.status_code == 400
    assert "9 digits" in text_of(response.text, "party-error")
    assert "one of them" in text_of(response.text, "package-error")


def test_an_unknown_package_is_named_at_its_field(client, register_facts):
    response = client.get(f"/console/parties/holders?party={register_facts.as_org}&package=nope")
    assert response.status_code == 400
    assert "unknown access package" in text_of(response.text, "package-error")

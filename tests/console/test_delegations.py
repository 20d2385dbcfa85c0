"""The Delegations page: the PDP decides, refusals come with their reason, errors sit next to
their fields, and a revocation is confirmed first."""

from __future__ import annotations

from tests.console.conftest import csrf, text_of

PACKAGE = "urn:altinn:accesspackage:maskinlesbarehendelser"


def _delegate(client, **form: str):
    form = {"recipient_kind": "person", "package": PACKAGE, **form}
    token = csrf(client, "/console/delegations")
    return client.post("/console/delegations/new", data={**form, "csrf_token": token})


def test_a_permitted_delegation_is_made_and_listed(client, pdp, register_facts):
    facts = register_facts
    response = _delegate(
        client, party=facts.as_org, delegator=facts.as_holders["DAGL"], recipient=facts.stranger
    )
    assert response.status_code == 303
    page = client.get(response.location).get_data(as_text=True)
    assert "created" in page and facts.stranger in page
    (delegation,) = pdp.find_delegations(party=facts.as_org).items
    assert delegation.recipient.identifier == facts.stranger


def test_a_refused_delegation_shows_the_pdps_reason_and_changes_nothing(
    client, pdp, register_facts
):
    facts = register_facts
    response = _delegate(
        client, party=facts.as_org, delegator=facts.as_holders["MEDL"], recipient=facts.stranger
    )
    assert response.status_code == 403
    assert "may not delegate" in text_of(response.get_data(as_text=True), "problem")
    assert pdp.find_delegations().total == 0


def test_malformed_fields_are_named_next_to_each_field(client, register_facts):
    response = _delegate(
        client, party="12345678", delegator="123", recipient="x", package="no-such-package"
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "9 digits" in text_of(page, "party-error")
    assert "11 digits" in text_of(page, "delegator-error")
    assert "11 digits" in text_of(page, "recipient-error")


def test_an_unknown_package_is_named_at_its_field(client, register_facts):
    facts = register_facts
    response = _delegate(
        client,
        party=facts.as_org,
        delegator=facts.as_holders["DAGL"],
        recipient=facts.stranger,
        package="no-such-package",
    )
    assert response.status_code == 400
    assert "unknown access package" in text_of(response.get_data(as_text=True), "package-error")


def test_revoking_asks_for_confirmation_then_keeps_the_history(client, pdp, register_facts):
    facts = register_facts
    delegator = facts.as_holders["DAGL"]
    _delegate(client, party=facts.as_org, delegator=delegator, recipient=facts.stranger)
    (delegation,) = pdp.find_delegations().items
    path = f"/console/delegations/{delegation.id}/revoke"
    confirmation = client.get(path)
    assert confirmation.status_code == 200 and "Revoke this delegation?" in confirmation.text
    assert pdp.find_delegations().total == 1  # asking changed nothing
    response = client.post(path, data={"revoked_by": delegator, "csrf_token": csrf(client, path)})
    assert response.status_code == 303
    assert pdp.find_delegations().total == 0
    history = client.get("/console/delegations?include_revoked=on").get_data(as_text=True)
    assert "revoked" in history and delegation.id in history
    token = csrf(client, "/console/delegations")  # the page of a revoked one has no form
    again = client.post(path, data={"revoked_by": delegator, "csrf_token": token})
    assert again.status_code == 409 and "already revoked" in again.text


def test_a_filter_with_a_malformed_value_is_named_next_to_it(client):
    response = client.get("/console/delegations?party=123&package=nope")
    page = response.get_data(as_text=True)
    assert "9 digits" in text_of(page, "f-party-error")

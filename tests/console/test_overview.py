"""The Overview page: the active version, counts, health, and the latest audit events read
back from the audit log's file."""

from __future__ import annotations

from dataclasses import replace

from pdp.api import create_app
from pdp.api.auth import SCOPE_AUTHORIZE
from tests.console.conftest import csrf
from tests.helpers import open_settings


def test_the_overview_names_the_active_version_and_counts_what_it_holds(client, catalog):
    page = client.get("/console/").get_data(as_text=True)
    assert "Version <strong>1</strong>" in page
    assert f'<span class="n">{len(catalog.packages)}</span>' in page
    assert '<span class="n">3</span><span class="l">organisations</span>' in page
    assert "Deciding under version 1" in page


def test_changes_made_in_the_console_appear_among_the_latest_audit_events(
    database_url, pdp, register_facts, tmp_path
):
    audit_log = tmp_path / "audit.log"
    app = create_app(replace(open_settings(database_url), audit_log=str(audit_log)))
    client = app.test_client()
    facts = register_facts
    client.post(
        "/console/delegations/new",
        data={
            "party": facts.as_org,
            "package": "maskinlesbarehendelser",
            "delegator": facts.as_holders["MEDL"],  # refused: the refusal is audited too
            "recipient_kind": "person",
            "recipient": facts.stranger,
            "csrf_token": csrf(client, "/console/delegations"),
        },
    )
    page = client.get("/console/").get_data(as_text=True)
    assert "<code>delegation.create</code>" in page and ">403<" in page
    app.extensions["pdp"].close()


def test_audit_events_are_shown_only_to_administrators(secured_client, issuer):
    token = issuer.token(SCOPE_AUTHORIZE)
    secured_client.post(
        "/console/sign-in",
        data={"token": token, "csrf_token": csrf(secured_client, "/console/sign-in")},
    )
    page = secured_client.get("/console/").get_data(as_text=True)
    assert "Audit events are shown to tokens with" in page

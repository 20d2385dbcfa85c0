"""What the PDP writes down: one JSON line per decision with the national identity number
masked, and one audit line per administrative change with the caller named by the token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pdp.api import create_app
from pdp.api.auth import SCOPE_ADMIN, SCOPE_AUTHORIZE, SCOPE_DELEGATIONS
from pdp.api.logs import DecisionBatch, mask
from tests.conftest import EXAMPLES_DIR, REGISTER
from tests.helpers import attribute, package_request
from tests.security.tokens import bearer

PACKAGE = "urn:altinn:accesspackage:maskinlesbarehendelser"
AUTHORIZE = "/authorization/api/v1/authorize"
DAGL = REGISTER.as_holders["DAGL"]


@pytest.fixture
def logged(secured_settings, pdp, tmp_path):
    """An app that logs decisions and audits into files, and a reader of those files."""
    settings = secured_settings.__class__(
        **{
            **secured_settings.__dict__,
            "decision_log": str(tmp_path / "decisions.jsonl"),
            "audit_log": str(tmp_path / "audit.jsonl"),
        }
    )
    app = create_app(settings)

    def lines(name: str) -> list[dict]:
        app.extensions["pdp.decision_log"].flush()
        path = tmp_path / f"{name}.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    yield app.test_client(), lines, tmp_path
    app.extensions["pdp"].close()


def test_masking_keeps_the_birth_date_of_every_national_identity_number():
    assert mask("urn:altinn:person:identifier-no:02056260016") == (
        "urn:altinn:person:identifier-no:020562*****"
    )
    assert mask("02056260016 and 41056260012") == "020562***** and 410562*****"
    assert mask("910459880") == "910459880"  # organisation numbers are public
    assert mask("123456789012") == "123456789012"  # twelve digits are not a person


def test_every_decision_is_one_line_with_the_subject_masked(logged, issuer):
    client, lines, tmp_path = logged
    token = bearer(issuer.token(scopes=SCOPE_AUTHORIZE, subject="pep-1"))
    response = client.post(
        AUTHORIZE, json=package_request(DAGL, REGISTER.as_org, PACKAGE), headers=token
    )
    assert response.status_code == 200
    (entry,) = lines("decisions")
    assert entry["log"] == "decision"
    assert entry["request_id"] == response.headers["X-Request-Id"]
    assert entry["subject"] == f"urn:altinn:person:identifier-no:{DAGL[:6]}*****"
    assert entry["party"] == REGISTER.as_org
    assert entry["package"] == PACKAGE
    assert entry["action"] == "access"
    assert entry["decision"] == "Permit"
    assert entry["policies"] and all(isinstance(uid, str) for uid in entry["policies"])
    assert entry["version"] == 1
    assert entry["latency_us"] > 0
    assert entry["time"].endswith("+00:00")
    assert entry["caller"] == {"sub": "pep-1", "client_id": "pep-1", "person": None}
    assert DAGL not in (tmp_path / "decisions.jsonl").read_text()


def test_a_service_resource_decision_is_logged_with_its_resource_and_obligations(logged, issuer):
    client, lines, tmp_path = logged
    body = {
        "Request": {
            "AccessSubject": {"Attribute": [attribute("urn:altinn:person:identifier-no", DAGL)]},
            "Action": {
                "Attribute": [attribute("urn:oasis:names:tc:xacml:1.0:action:action-id", "read")]
            },
            "Resource": {
                "Attribute": [
                    attribute("urn:altinn:resource", "ttd-example-api"),
                    attribute("urn:altinn:organization:identifier-no", REGISTER.as_org),
                ]
            },
        }
    }
    response = client.post(AUTHORIZE, json=body, headers=bearer(issuer.token()))
    assert response.get_json()["Response"][0]["Decision"] == "Permit"
    (entry,) = lines("decisions")
    assert entry["resource"] == "ttd-example-api"
    assert entry["action"] == "read"
    assert entry["subject"] == [f"urn:altinn:person:identifier-no:{DAGL[:6]}*****"]
    assert entry["party"] == f"urn:altinn:organization:identifier-no:{REGISTER.as_org}"
    assert entry["obligations"] == [
        {
            "id": obligation["Id"],
            "assignments": {
                a["AttributeId"]: a["Value"] for a in obligation["AttributeAssignment"]
            },
        }
        for obligation in response.get_json()["Response"][0]["Obligations"]
    ]
    assert entry["obligations"]
    assert DAGL not in (tmp_path / "decisions.jsonl").read_text()


def test_a_multirequests_batch_logs_one_line_per_decision(logged, issuer):
    client, lines, _ = logged
    body = json.loads((EXAMPLES_DIR / "requests" / "multi.json").read_text())
    response = client.post(AUTHORIZE, json=body, headers=bearer(issuer.token()))
    results = response.get_json()["Response"]
    entries = lines("decisions")
    assert len(entries) == len(results) > 1
    request_id = response.headers["X-Request-Id"]
    assert [e["request_id"] for e in entries] == [f"{request_id}/{i}" for i in range(len(results))]
    assert [e["decision"] for e in entries] == [r["Decision"] for r in results]
    assert {e["batch_size"] for e in entries} == {len(results)}


def test_a_malformed_request_is_logged_as_indeterminate_without_a_subject(logged, issuer):
    client, lines, _ = logged
    body = package_request("12345678901", REGISTER.as_org, PACKAGE)
    client.post(AUTHORIZE, json=body, headers=bearer(issuer.token()))
    (entry,) = lines("decisions")
    assert entry["decision"] == "Indeterminate"
    assert entry["status"].endswith("syntax-error")
    assert "subject" not in entry


def test_logging_does_not_change_the_answer(logged, client, issuer):
    logged_client, _, _ = logged
    for person in (DAGL, REGISTER.stranger, REGISTER.as_holders["MEDL"]):
        body = package_request(person, REGISTER.as_org, PACKAGE)
        with_log = logged_client.post(AUTHORIZE, json=body, headers=bearer(issuer.token()))
        without = client.post(AUTHORIZE, json=body)
        assert with_log.get_json() == without.get_json()


def test_a_broken_sink_loses_log_lines_but_never_a_decision(
    secured_settings, pdp, issuer, tmp_path
):
    settings = secured_settings.__class__(
        **{**secured_settings.__dict__, "decision_log": str(tmp_path / "no-such-dir" / "x.jsonl")}
    )
    app = create_app(settings)
    client = app.test_client()
    body = package_request(DAGL, REGISTER.as_org, PACKAGE)
    for _ in range(3):
        response = client.post(AUTHORIZE, json=body, headers=bearer(issuer.token()))
        assert response.get_json()["Response"][0]["Decision"] == "Permit"
    log = app.extensions["pdp.decision_log"]
    log.flush()
    assert log.dropped == 3
    app.extensions["pdp"].close()


def test_a_line_that_cannot_be_made_is_dropped_and_the_decision_stands(
    secured_settings, pdp, issuer, tmp_path, monkeypatch
):
    settings = secured_settings.__class__(
        **{**secured_settings.__dict__, "decision_log": str(tmp_path / "decisions.jsonl")}
    )
    app = create_app(settings)

    def unmakeable(batch):
        raise ValueError("a value no line can hold")

    monkeypatch.setattr(DecisionBatch, "entries", unmakeable)
    body = package_request(DAGL, REGISTER.as_org, PACKAGE)
    response = app.test_client().post(AUTHORIZE, json=body, headers=bearer(issuer.token()))
    assert response.get_json()["Response"][0]["Decision"] == "Permit"
    log = app.extensions["pdp.decision_log"]
    log.flush()
    assert log.dropped == 1
    app.extensions["pdp"].close()


class TestAuditLog:
    """Every change an administrator or delegator makes, or tries to, names who asked."""

    def test_a_delegation_and_its_revocation_are_audited_with_the_token_person(
        self, logged, issuer
    ):
        client, lines, tmp_path = logged
        token = bearer(issuer.token(scopes=SCOPE_DELEGATIONS, person=DAGL, subject="portal"))
        body = {
            "party": REGISTER.as_org,
            "package": PACKAGE,
            "recipient": {"person": REGISTER.stranger},
        }
        made = client.post("/api/v1/delegations", json=body, headers=token).get_json()
        client.delete(f"/api/v1/delegations/{made['id']}", headers=token)
        create, revoke = lines("audit")
        assert create["action"] == "delegation.create"
        assert create["outcome"] == 201
        assert create["delegation_id"] == made["id"]
        assert create["caller"] == {"sub": "portal", "client_id": "portal", "person": mask(DAGL)}
        assert create["recipient"] == mask(f"urn:altinn:person:identifier-no:{REGISTER.stranger}")
        assert revoke["action"] == "delegation.revoke"
        assert revoke["outcome"] == 200
        assert revoke["delegation_id"] == made["id"]
        text = (tmp_path / "audit.jsonl").read_text()
        assert DAGL not in text and REGISTER.stranger not in text

    def test_a_refused_delegation_is_audited_with_its_outcome(self, logged, issuer):
        client, lines, _ = logged
        token = bearer(issuer.token(scopes=SCOPE_DELEGATIONS, person=REGISTER.stranger))
        body = {"party": REGISTER.as_org, "package": PACKAGE, "recipient": {"person": DAGL}}
        assert client.post("/api/v1/delegations", json=body, headers=token).status_code == 403
        (entry,) = lines("audit")
        assert entry["outcome"] == 403
        assert entry["problem"]

    def test_publish_activate_and_import_are_audited(self, logged, issuer):
        client, lines, _ = logged
        token = bearer(issuer.token(scopes=SCOPE_ADMIN, subject="policy-author"))
        source = client.get("/api/v1/policy-sets/active", headers=token).get_json()["source"]
        source["packages/integrasjoner.yaml"]["area"]["description"] = "edited"
        published = client.post(
            "/api/v1/policy-sets",
            json={"source": source, "message": "edit", "base_version": 1},
            headers=token,
        )
        assert published.status_code == 201, published.get_json()
        client.post("/api/v1/policy-sets/1/activate", json={"base_version": 2}, headers=token)
        register = json.loads((EXAMPLES_DIR / "register.json").read_text())
        client.post("/api/v1/register/imports", json=register, headers=token)
        publish, activate, imported = lines("audit")
        assert (publish["action"], publish["outcome"], publish["version"]) == (
            "policy_set.publish",
            201,
            2,
        )
        assert (activate["action"], activate["outcome"], activate["number"]) == (
            "policy_set.activate",
            200,
            1,
        )
        assert imported["action"] == "register.import"
        assert imported["organizations"] == len(register["organizations"])
        for entry in (publish, activate, imported):
            assert entry["caller"]["sub"] == "policy-author"
            assert entry["request_id"]

    def test_the_author_of_a_version_defaults_to_the_token_client(self, logged, issuer):
        client, _, _ = logged
        token = bearer(issuer.token(scopes=SCOPE_ADMIN, subject="policy-author"))
        source = client.get("/api/v1/policy-sets/active", headers=token).get_json()["source"]
        source["packages/integrasjoner.yaml"]["area"]["description"] = "edited"
        client.post(
            "/api/v1/policy-sets", json={"source": source, "base_version": 1}, headers=token
        )
        versions = client.get("/api/v1/policy-sets", headers=token).get_json()["versions"]
        assert versions[-1]["author"] == "policy-author"


def test_decision_lines_from_many_requests_never_interleave(logged, issuer):
    client, lines, tmp_path = logged
    token = bearer(issuer.token())
    for person in list(REGISTER.as_holders.values()):
        client.post(
            AUTHORIZE, json=package_request(person, REGISTER.as_org, PACKAGE), headers=token
        )
    entries = lines("decisions")
    assert len(entries) == len(REGISTER.as_holders)
    assert all(
        line.startswith('{"log":"decision"')
        for line in Path(tmp_path / "decisions.jsonl").read_text().splitlines()
    )


def test_a_decision_on_roles_the_caller_stated_says_so(logged, issuer):
    """A Permit on the caller's word differs from one on the register's; an auditor must see
    which it was."""
    client, lines, _ = logged
    body = package_request(REGISTER.stranger, REGISTER.as_org, PACKAGE)
    body["Request"]["AccessSubject"][0]["Attribute"].append(
        attribute("urn:altinn:rolecode", "DAGL")
    )
    client.post(AUTHORIZE, json=body, headers=bearer(issuer.token()))
    client.post(
        AUTHORIZE,
        json=package_request(DAGL, REGISTER.as_org, PACKAGE),
        headers=bearer(issuer.token()),
    )
    stated, looked_up = lines("decisions")
    assert (stated["decision"], stated["stated_roles"]) == ("Permit", ["DAGL"])
    assert looked_up["decision"] == "Permit"
    assert "stated_roles" not in looked_up

"""The error table: every error a request ends in is answered once, as the table says.

Views let the package's errors propagate; one handler answers each by the table's entry for
its class (the most specific one), and the audit log records the same status and message. An
error the table does not know is an unexpected failure: 500, the request's id, nothing inside.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from pdp.api import create_app
from pdp.api.errors import ERROR_TABLE, answer_for
from pdp.delegation_rights import InvalidDelegation
from pdp.errors import InvalidFields, PdpError, SourceError
from pdp.repository import VersionConflict
from pdp.service import Pdp


class _NotInTheTable(PdpError):
    """An error no request should end in."""


def test_no_entry_is_hidden_behind_an_earlier_one_for_a_class_it_derives_from():
    for index, entry in enumerate(ERROR_TABLE):
        earlier = [
            e.error.__name__ for e in ERROR_TABLE[:index] if issubclass(entry.error, e.error)
        ]
        assert earlier == [], f"{entry.error.__name__} is answered by {earlier}"


def test_an_error_is_answered_by_the_entry_for_its_own_class_or_the_nearest_base():
    assert answer_for(VersionConflict("moved on")).status == 409
    refused = InvalidDelegation("package", "unknown access package 'x'")
    entry = answer_for(refused)
    assert entry.error is InvalidFields
    assert entry.body(refused) == {
        "code": 400,
        "status": "Bad Request",
        "message": "unknown access package 'x'",
        "errors": {"package": ["unknown access package 'x'"]},
    }
    assert answer_for(_NotInTheTable("?")) is None


def test_an_error_outside_the_table_is_a_500_with_the_request_id_and_nothing_inside(
    client, monkeypatch
):
    def fail(self: Pdp) -> None:
        raise _NotInTheTable("SELECT secret FROM policies")

    monkeypatch.setattr(Pdp, "versions", fail)
    response = client.get("/api/v1/policy-sets")
    assert response.status_code == 500
    assert "SELECT" not in response.get_data(as_text=True)
    assert response.get_json()["request_id"] == response.headers["X-Request-Id"]


@pytest.fixture
def audited_client(settings, pdp, tmp_path):
    """A client of an app that writes its audit log to a file, and a reader of that file."""
    audit_log = tmp_path / "audit.jsonl"
    app = create_app(replace(settings, audit_log=str(audit_log)))

    def entries() -> list[dict]:
        return [json.loads(line) for line in audit_log.read_text().splitlines()]

    yield app.test_client(), entries
    app.extensions["pdp"].close()


def test_the_audit_log_records_the_status_and_message_the_table_answers_with(audited_client):
    client, entries = audited_client
    response = client.post(
        "/api/v1/policy-sets",
        json={"source": {"roles.yaml": {"roles": "not a list"}}},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 422
    (entry,) = entries()
    assert entry["outcome"] == 422
    assert entry["problem"] == response.get_json()["message"]
    expected = SourceError([])
    assert answer_for(expected).body(expected)["message"] == entry["problem"]


def test_a_refused_base_version_is_audited_as_the_table_answers_it(audited_client):
    client, entries = audited_client
    response = client.post("/api/v1/policy-sets/1/activate", headers={"If-Match": '"7"'})
    assert response.status_code == 409
    (entry,) = entries()
    assert (entry["action"], entry["outcome"]) == ("policy_set.activate", 409)
    assert entry["problem"] == response.get_json()["message"]

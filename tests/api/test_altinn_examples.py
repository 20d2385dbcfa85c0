"""Requests from Altinn's own PDP test suite (tests/data/altinn-xacml), read as Altinn reads them.

Each parses, in PascalCase and in camelCase, into as many results as Altinn gives. Against the
test register (which holds none of Altinn's parties) none of them is a Permit; what they decide
against Altinn's own facts is tests/conformance/'s business.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pdp import xacml
from pdp.engine.request import ResourceRequest, Unreadable
from pdp.identities import Identifier
from pdp.vocabulary import STATUS_PROCESSING_ERROR
from tests.conftest import DATA_DIR

EXAMPLES = sorted((DATA_DIR / "altinn-xacml").glob("*Request.json"))


def camel_case(value):
    if isinstance(value, dict):
        return {key[0].lower() + key[1:]: camel_case(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camel_case(item) for item in value]
    return value


def expected_results(path: Path) -> int:
    response = json.loads(
        path.with_name(path.name.removesuffix("Request.json") + "Response.json").read_text()
    )
    return len(response.get("Response") or response.get("response"))


@pytest.mark.parametrize("casing", [lambda body: body, camel_case], ids=["PascalCase", "camelCase"])
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_altinn_requests_parse_into_as_many_results_as_altinn_gives(client, path, casing):
    body = casing(json.loads(path.read_text()))
    parsed = xacml.parse(body)
    assert len(parsed.items) == expected_results(path)
    response = client.post("/authorization/api/v1/authorize", json=body)
    assert response.status_code == 200
    results = response.get_json()["Response"]
    assert len(results) == expected_results(path)
    assert all(result["Decision"] != "Permit" for result in results)


def test_a_missing_subject_is_indeterminate_as_in_altinns_own_test(client):
    body = json.loads(
        (DATA_DIR / "altinn-xacml/ResourceRegistry_NoSubject_IndeterminateRequest.json").read_text()
    )
    result = client.post("/authorization/api/v1/authorize", json=body).get_json()["Response"][0]
    assert result["Decision"] == "Indeterminate"
    assert result["Status"]["StatusCode"]["Value"] == STATUS_PROCESSING_ERROR
    assert (
        result["Status"]["StatusMessage"]
        == "the request has no AccessSubject categories; give exactly one, or use MultiRequests"
    )


def test_the_multi_request_example_reads_subjects_and_parties_by_reference():
    body = json.loads(
        (DATA_DIR / "altinn-xacml/AltinnResourceRegistryMulti0012Request.json").read_text()
    )
    items = xacml.parse(body).items
    # s1's person number is Altinn's test value with wrong check digits: refused while check
    # digits are checked (the default). s2 names the subject by user id.
    assert isinstance(items[0].request, Unreadable)
    assert "01039012345" in items[0].request.message
    fourth = items[3].request
    assert isinstance(fourth, ResourceRequest)
    assert fourth.subject == (Identifier("urn:altinn:userid", "1337"),)
    assert fourth.party == Identifier("urn:altinn:organization:identifier-no", "910459880")
    assert fourth.resource == "ttd-externalpdp-resource3"
    assert fourth.action == "read"
    echoed_ids = [
        attribute["AttributeId"]
        for category in items[0].echoed
        for attribute in category["Attribute"]
    ]
    # Altinn's order: subject, action, resource.
    assert echoed_ids == [
        "urn:oasis:names:tc:xacml:1.0:action:action-id",
        "urn:altinn:resource",
        "urn:altinn:organization:identifier-no",
    ]

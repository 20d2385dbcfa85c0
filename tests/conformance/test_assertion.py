"""The comparison of Altinn's tests, checked on its own: it must be able to fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conformance.assertion import differences

CASES = Path(__file__).parent / "data" / "cases"


def expected(name: str):
    return json.loads((CASES / f"{name}Response.json").read_text(encoding="utf-8-sig"))


@pytest.mark.parametrize(
    "name", sorted(p.name[: -len("Response.json")] for p in CASES.glob("*Response.json"))
)
def test_every_expected_response_agrees_with_itself(name):
    assert differences(expected(name), expected(name)) == []


def test_property_names_match_in_any_case_and_values_ignoring_case():
    want = expected("AltinnResourceRegistry0005")
    have = json.loads(json.dumps(want).replace('"value": "2"', '"Value": "2"'))
    assert differences(want, have) == []


def test_a_different_decision_status_or_count_is_reported():
    want = expected("AltinnResourceRegistry0005")
    assert differences(want, {"Response": []}) == ["0 results, expected 1"]
    wrong = json.loads(json.dumps(want))
    wrong["Response"][0]["Decision"] = "NotApplicable"
    assert differences(want, wrong) == ["result 0: Decision is 'NotApplicable', expected 'Permit'"]


def test_obligations_must_be_absent_where_none_are_expected():
    want = expected("AltinnResourceRegistry0007")
    have = json.loads(json.dumps(want))
    have["Response"][0]["Obligations"] = []
    assert differences(want, have) == ["result 0: Obligations [], expected none"]


def test_the_first_assignment_of_the_first_obligation_is_compared():
    want = expected("AltinnResourceRegistry0005")
    have = json.loads(json.dumps(want))
    have["Response"][0]["Obligations"][0]["attributeAssignment"][0]["dataType"] = "string"
    assert differences(want, have) == [
        "result 0 obligation: DataType is 'string', expected "
        "'http://www.w3.org/2001/XMLSchema#integer'"
    ]


def test_echoed_categories_are_compared_attribute_by_attribute():
    want = expected("AltinnApps0009")
    have = json.loads(json.dumps(want))
    assert differences(want, have) == []
    del have["Response"][0]["Category"]
    assert differences(want, have) == [
        f"result 0: Category None, expected {len(want['Response'][0]['Category'])} categories"
    ]

"""`pdp parties`, `pdp holders` and `pdp explain` on the example register, in-process."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLES_DIR
from tests.test_cli import REGISTER_FILE, database_file, error_lines, run  # noqa: F401

PAULA, ORSTA = "02056260016", "910459880"


@pytest.fixture
def example(database_file):  # noqa: F811
    assert run("init").exit_code == 0
    assert run("register", "import", str(REGISTER_FILE)).exit_code == 0


def test_parties_prints_altinns_answer(example):
    result = run("parties", PAULA)
    assert result.exit_code == 0, result.stderr
    (party,) = json.loads(result.stdout)
    assert party["organizationNumber"] == ORSTA
    assert party["authorizedRoles"] == ["DAGL"]
    assert party["authorizedAccessPackages"] == [
        "maskinlesbarehendelser",
        "programmeringsgrensesnitt",
    ]


def test_parties_by_another_identifier_type(example):
    result = run("parties", "20000095", "--type", "urn:altinn:userid", "--no-resources")
    assert result.exit_code == 0, result.stderr
    assert [p["authorizedResources"] for p in json.loads(result.stdout)] == [[]]


def test_parties_refuses_bad_check_digits(example):
    result = run("parties", "02056260017")
    assert result.exit_code == 1
    assert "02056260017" in error_lines(result)[0] or "check" in error_lines(result)[0]


def test_holders_lists_who_and_how(example):
    result = run("holders", ORSTA, "--package", "maskinlesbarehendelser")
    assert result.exit_code == 0, result.stderr
    page = json.loads(result.stdout)
    assert page["total"] == 2
    assert page["holders"][0]["ways"] == [{"how": "role", "role": "DAGL"}]


def test_holders_needs_a_package_or_a_resource(example):
    assert run("holders", ORSTA).exit_code == 2


def test_explain_prints_one_sentence_per_step(example):
    result = run("explain", str(EXAMPLES_DIR / "requests" / "not-applicable.json"))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "- Decided under policy-set version 1."
    assert "holds ER role MEDL for 910459880 in the register" in result.stdout
    assert lines[-1] == "- The decision is NotApplicable."


def test_holders_of_an_unknown_package_is_an_error_naming_it(example):
    result = run("holders", ORSTA, "--package", "nosuchpackage")
    assert result.exit_code == 1
    assert error_lines(result) == ["error: unknown access package 'nosuchpackage'"]

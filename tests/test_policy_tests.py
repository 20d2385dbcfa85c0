"""`pdp test`: the decision cases policy authors keep next to their source (pdp.policy_tests).

Each test here runs the command in-process with click's CliRunner, against the shipped policy
directories or a copy of `policies/` in tmp_path with one thing changed. The runner decides on
its own in-memory SQLite database, so nothing here needs a server or PostgreSQL.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from pdp import policy_tests
from pdp.cli import main
from pdp.engine import Result as EngineResult
from pdp.errors import PdpError, Problem, SourceError
from pdp.resource_policies import Assignment, Expression
from pdp.subjects import PERSON, Subject
from pdp.vocabulary import PERMIT, XML_STRING
from tests.conftest import POLICY_DIR

CATALOG_DIR = POLICY_DIR / "altinn-catalog"
SHIPPED_TEST_FILE = "tests/integrasjoner.yaml"
RESOURCE_TEST_FILE = "tests/resources.yaml"

# From examples/register.json: Paula is daglig leder of ØRSTA OG HEGGEDAL REGNSKAP AS.
PAULA = "02056260016"
ORSTA_AS = "910459880"
# Made with tests.helpers.new_person: a person the example register does not know.
OLA = "01885505623"

API = "urn:altinn:accesspackage:programmeringsgrensesnitt"
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"


def run(*args: str) -> Result:
    # Unexpected exceptions propagate; only the CLI's own exits give an exit code.
    return CliRunner(catch_exceptions=False).invoke(main, ["test", *args])


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line]


def summary(result: Result) -> str:
    return result.stdout.splitlines()[-1]


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def write_yaml(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")


def cases_in(directory: Path) -> list[dict[str, Any]]:
    """Every case of every test file in `directory`, in the order the runner takes them."""
    return [case for _, case in files_and_cases(directory)]


def files_and_cases(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    """`cases_in`, each with its test file as the runner names it (`tests/<name>.yaml`)."""
    return [
        (path.relative_to(directory).as_posix(), case)
        for path in sorted((directory / "tests").glob("*.yaml"))
        for case in read_yaml(path)["cases"]
    ]


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """A copy of the shipped policy source and its tests, to change (the catalog left out)."""
    return Path(
        shutil.copytree(
            POLICY_DIR, tmp_path / "policies", ignore=shutil.ignore_patterns("altinn-catalog")
        )
    )


@pytest.fixture
def bare_policy_dir(tmp_path: Path) -> Path:
    """A copy of the shipped policy source without any tests."""
    return Path(
        shutil.copytree(
            POLICY_DIR, tmp_path / "bare", ignore=shutil.ignore_patterns("altinn-catalog", "tests")
        )
    )


def edit_case(
    directory: Path, name: str, file: str = SHIPPED_TEST_FILE, **changes: Any
) -> dict[str, Any]:
    """Change the shipped test case called `name` (in `file`) in the copy at `directory`; None
    removes a field. Returns the case as changed."""
    path = directory / file
    document = read_yaml(path)
    matching = [case for case in document["cases"] if case["name"] == name]
    assert len(matching) == 1, f"{file} has no single case named {name!r}"
    [case] = matching
    for key, value in changes.items():
        if value is None:
            case.pop(key, None)
        else:
            case[key] = value
    write_yaml(path, document)
    return case


def small_test_file() -> dict[str, Any]:
    """A valid test file with a register, a delegation and one case, to break in one place."""
    return {
        "description": "small",
        "register": {
            "organizations": [
                {
                    "organization_number": ORSTA_AS,
                    "name": "ØRSTA OG HEGGEDAL REGNSKAP AS",
                    "org_form": "AS",
                    "roles": [{"code": "DAGL", "person": PAULA}],
                }
            ]
        },
        "delegations": [
            {"party": ORSTA_AS, "package": EVENTS, "delegator": PAULA, "person": OLA},
        ],
        "cases": [
            {
                "name": "Paula may access the API package",
                "person": PAULA,
                "party": ORSTA_AS,
                "package": API,
                "expect": "Permit",
            }
        ],
    }


# --- the shipped policy sources pass --------------------------------------------------------


@pytest.mark.parametrize("directory", [POLICY_DIR, CATALOG_DIR], ids=["policies", "catalog"])
def test_the_shipped_policy_sources_pass_their_tests(directory):
    result = run(str(directory))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{len(cases_in(directory))} passed, 0 failed ({directory})\n"
    assert result.stderr == ""


def test_without_a_directory_it_tests_pdp_policy_dir(bare_policy_dir, monkeypatch):
    write_yaml(bare_policy_dir / "tests" / "small.yaml", small_test_file())
    monkeypatch.setenv("PDP_POLICY_DIR", str(bare_policy_dir))
    result = run()
    assert result.exit_code == 0, result.output
    assert result.stdout == f"1 passed, 0 failed ({bare_policy_dir})\n"


def test_it_needs_no_database_and_leaves_the_configured_one_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("PDP_DATABASE_URL", f"sqlite:///{tmp_path / 'configured.sqlite3'}")
    monkeypatch.chdir(tmp_path)
    assert run(str(POLICY_DIR)).exit_code == 0
    assert list(tmp_path.iterdir()) == []


def test_the_runner_returns_one_passing_outcome_per_case_in_file_order():
    outcomes = policy_tests.run(POLICY_DIR)
    assert [outcome.case.name for outcome in outcomes] == [
        case["name"] for case in cases_in(POLICY_DIR)
    ]
    assert all(outcome.passed for outcome in outcomes)
    assert {outcome.case.file for outcome in outcomes} == {SHIPPED_TEST_FILE, RESOURCE_TEST_FILE}


# --- -v -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped_verbose() -> Result:
    return run("-v", str(POLICY_DIR))


def test_quietly_only_the_summary_is_printed(shipped_verbose):
    quiet = run(str(POLICY_DIR))
    assert quiet.stdout.splitlines() == shipped_verbose.stdout.splitlines()[-1:]


def test_verbose_lists_every_passing_case_then_the_summary(shipped_verbose):
    result = shipped_verbose
    assert result.exit_code == 0, result.output
    *listed, last = result.stdout.splitlines()
    assert listed == [f"ok   {file}: {case['name']}" for file, case in files_and_cases(POLICY_DIR)]
    assert listed[0] == (
        f"ok   {SHIPPED_TEST_FILE}: "
        "Daglig leder (DAGL) of an AS may access Programmeringsgrensesnitt"
    )
    assert last == f"{len(listed)} passed, 0 failed ({POLICY_DIR})"


def fail_line(policy_dir, name: str, file: str = SHIPPED_TEST_FILE) -> str:
    """How a failing case of a shipped test file is headed: file, position in it and name."""
    index = [case["name"] for case in read_yaml(policy_dir / file)["cases"]].index(name)
    return f"FAIL {file}: cases[{index}] {name}"


def test_verbose_reports_a_failure_in_its_place_among_the_passing_cases(policy_dir):
    names = [case["name"] for case in cases_in(policy_dir)]
    edit_case(policy_dir, names[1], expect="NotApplicable", policies=None)
    lines = run("-v", str(policy_dir)).stdout.splitlines()
    assert lines[0] == f"ok   {SHIPPED_TEST_FILE}: {names[0]}"
    assert lines[1] == fail_line(policy_dir, names[1])
    assert lines[5] == f"ok   {SHIPPED_TEST_FILE}: {names[2]}"


# --- a wrong expectation fails, showing the request, the expected and the actual decision --


@pytest.mark.parametrize(
    ("name", "request_line"),
    [
        (
            "Daglig leder (DAGL) of an AS may access Programmeringsgrensesnitt",
            f"urn:altinn:person:identifier-no:{PAULA} -> access {API} for {ORSTA_AS}",
        ),
        (
            "Daglig leder (DAGL) of an AS may delegate Maskinlesbare hendelser",
            f"urn:altinn:person:identifier-no:{PAULA} -> delegate {EVENTS} for {ORSTA_AS}",
        ),
        (
            "A person stated to be DAGL may access Programmeringsgrensesnitt "
            "without a register role",
            "urn:altinn:person:identifier-no:01885705827 stating roles DAGL "
            f"-> access {API} for {ORSTA_AS}",
        ),
        (
            "The firm given Programmeringsgrensesnitt may access it for the AS",
            f"urn:altinn:organization:identifier-no:810418672 -> access {API} for {ORSTA_AS}",
        ),
    ],
    ids=["access", "delegate", "stated roles", "organisation"],
)
def test_a_wrong_expected_decision_fails_with_the_request_expected_and_actual(
    policy_dir, name, request_line
):
    edit_case(policy_dir, name, expect="NotApplicable", policies=None)
    result = run(str(policy_dir))
    assert result.exit_code == 1
    report = result.stdout.splitlines()
    assert report[:3] == [
        fail_line(policy_dir, name),
        f"  request:  {request_line}",
        "  expected: NotApplicable",
    ]
    assert report[3].startswith("  actual:   Permit")
    assert report[4:] == [f"{len(cases_in(policy_dir)) - 1} passed, 1 failed ({policy_dir})"]


def test_an_indeterminate_actual_decision_shows_why(policy_dir):
    edit_case(
        policy_dir, "Stating an unknown role code makes the request malformed", expect="Permit"
    )
    result = run(str(policy_dir))
    assert result.exit_code == 1
    [actual] = [line for line in result.stdout.splitlines() if line.startswith("  actual:")]
    assert actual.startswith("  actual:   Indeterminate (")
    assert "unknown role 'DAGX'" in actual


@pytest.mark.parametrize(
    ("name", "policies", "expected", "actual"),
    [
        (
            "Daglig leder (DAGL) of an AS may access Programmeringsgrensesnitt",
            ["grant:programmeringsgrensesnitt:LEDE:access"],
            "Permit by grant:programmeringsgrensesnitt:LEDE:access",
            "Permit by grant:programmeringsgrensesnitt:DAGL:access",
        ),
        (
            "Ola may access Maskinlesbare hendelser for the AS by delegation",
            ["grant:maskinlesbarehendelser:DAGL:access"],
            "Permit by grant:maskinlesbarehendelser:DAGL:access",
            "Permit by delegation:maskinlesbarehendelser:access",
        ),
        (
            "Two stated key roles give two deciding policies (DAGL and LEDE)",
            ["grant:programmeringsgrensesnitt:DAGL:access"],
            "Permit by grant:programmeringsgrensesnitt:DAGL:access",
            "Permit by grant:programmeringsgrensesnitt:DAGL:access, "
            "grant:programmeringsgrensesnitt:LEDE:access",
        ),
        (
            "An unknown package is NotApplicable",
            ["grant:programmeringsgrensesnitt:DAGL:access"],
            "NotApplicable by grant:programmeringsgrensesnitt:DAGL:access",
            "NotApplicable by no policy (no policy applies to package "
            "'urn:altinn:accesspackage:programmeringsgrensesnitt-v2')",
        ),
    ],
    ids=["another grant", "a grant, not the delegation", "one of two", "none decided"],
)
def test_a_wrong_expected_policy_id_fails_too(policy_dir, name, policies, expected, actual):
    edit_case(policy_dir, name, policies=policies)
    result = run(str(policy_dir))
    assert result.exit_code == 1
    report = result.stdout.splitlines()
    assert report[0] == fail_line(policy_dir, name)
    assert report[2:4] == [f"  expected: {expected}", f"  actual:   {actual}"]
    assert summary(result).endswith("passed, 1 failed" + f" ({policy_dir})")


def test_expected_policy_ids_are_a_set_in_any_order(policy_dir):
    edit_case(
        policy_dir,
        "Two stated key roles give two deciding policies (DAGL and LEDE)",
        policies=[
            "grant:programmeringsgrensesnitt:LEDE:access",
            "grant:programmeringsgrensesnitt:DAGL:access",
        ],
    )
    assert run(str(policy_dir)).exit_code == 0


def test_without_expected_policies_only_the_decision_is_compared(policy_dir):
    edit_case(
        policy_dir,
        "Daglig leder (DAGL) of an AS may access Programmeringsgrensesnitt",
        policies=None,
    )
    assert run(str(policy_dir)).exit_code == 0


def test_the_tests_prove_what_the_source_on_disk_would_do(policy_dir):
    """Dropping the NUF limit from the source makes the NUF cases at an AS fail."""
    path = policy_dir / "packages" / "integrasjoner.yaml"
    source = read_yaml(path)
    del source["packages"][1]["grants"][0]["org_forms"]
    write_yaml(path, source)
    result = run(str(policy_dir))
    assert result.exit_code == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]
    name = "Daglig leder (DAGL) of an AS may not access Programmeringsgrensesnitt NUF"
    assert fail_line(policy_dir, name) in failed
    assert summary(result).endswith(f"passed, {len(failed)} failed ({policy_dir})")


# --- a malformed test file is refused, and nothing runs -------------------------------------


def _set(*path: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path
        for step in parents:
            document = document[step]
        document[last] = value

    return change


def _remove(*path: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path
        for step in parents:
            document = document[step]
        del document[last]

    return change


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (_set("cases", 0, "decision", value="Permit"), "cases[0].decision: unknown field"),
        (_set("case", value=[]), "case: unknown field"),
        (_remove("cases", 0, "expect"), "cases[0].expect: Missing data for required field"),
        (
            _set("cases", 0, "expect", value="permit"),
            "cases[0].expect: Must be one of: Permit, Deny, NotApplicable, Indeterminate",
        ),
        (
            _set("cases", 0, "action", value="read"),
            "cases[0].action: Must be one of: access, delegate",
        ),
        (
            _set("cases", 0, "person", value="02056260017"),
            "cases[0].person: national identity number 02056260017 has invalid check digits",
        ),
        (
            _set("cases", 0, "organization", value=ORSTA_AS),
            "cases[0]: give exactly one of `person` or `organization`",
        ),
        (_set("cases", value=[]), "cases: Shorter than minimum length 1"),
        (
            _set("register", "organizations", 0, "roles", 0, "code", value="DAGX"),
            "register.organizations[0].roles[0].code: unknown role code 'DAGX'",
        ),
        (
            _set("delegations", 0, "package", value="programmeringsgrensesnitt-v2"),
            "delegations[0].package: unknown package 'programmeringsgrensesnitt-v2'",
        ),
    ],
    ids=[
        "unknown field in a case",
        "unknown top-level field",
        "missing expect",
        "invalid decision",
        "invalid action",
        "invalid person id",
        "person and organization",
        "no cases",
        "unknown role code in the register",
        "unknown package in a delegation",
    ],
)
def test_a_malformed_test_file_is_refused_by_file_and_path_and_nothing_runs(
    bare_policy_dir, change, problem
):
    # a-valid.yaml comes first and is fine: it does not run either.
    write_yaml(bare_policy_dir / "tests" / "a-valid.yaml", small_test_file())
    document = small_test_file()
    change(document)
    write_yaml(bare_policy_dir / "tests" / "wrong.yaml", document)
    result = run("-v", str(bare_policy_dir))
    assert result.exit_code == 1
    assert error_lines(result) == [f"error: tests/wrong.yaml: {problem}"]
    assert result.stdout == ""


def test_every_problem_of_a_test_file_is_named(bare_policy_dir):
    document = small_test_file()
    document["cases"][0]["expect"] = "permit"
    document["cases"].append({"name": "no expectation", "person": OLA, "party": ORSTA_AS})
    document["cases"][1]["package"] = EVENTS
    document["delegations"][0]["delegator"] = "02056260017"
    write_yaml(bare_policy_dir / "tests" / "wrong.yaml", document)
    result = run(str(bare_policy_dir))
    assert result.exit_code == 1
    assert sorted(error_lines(result)) == [
        "error: tests/wrong.yaml: cases[0].expect: "
        "Must be one of: Permit, Deny, NotApplicable, Indeterminate",
        "error: tests/wrong.yaml: cases[1].expect: Missing data for required field",
        "error: tests/wrong.yaml: delegations[0].delegator: "
        "national identity number 02056260017 has invalid check digits",
    ]


def test_the_problems_of_every_test_file_are_named_at_once(bare_policy_dir):
    """Schema problems in one file, and register and delegation problems in another, come in
    one report, so an author fixes them in one go."""
    schema_broken = small_test_file()
    schema_broken["cases"][0]["action"] = "read"
    write_yaml(bare_policy_dir / "tests" / "a.yaml", schema_broken)
    facts_broken = small_test_file()
    facts_broken["register"]["organizations"][0]["roles"][0]["code"] = "DAGX"
    facts_broken["delegations"].append(dict(facts_broken["delegations"][0]))
    facts_broken["delegations"].append({**facts_broken["delegations"][0], "package": "nope"})
    write_yaml(bare_policy_dir / "tests" / "b.yaml", facts_broken)
    result = run(str(bare_policy_dir))
    assert result.exit_code == 1
    assert error_lines(result) == [
        "error: tests/a.yaml: cases[0].action: Must be one of: access, delegate",
        "error: tests/b.yaml: register.organizations[0].roles[0].code: unknown role code 'DAGX'",
        f"error: tests/b.yaml: delegations[1]: urn:altinn:person:identifier-no:{OLA} already "
        f"holds {EVENTS} for {ORSTA_AS} by delegation",
        "error: tests/b.yaml: delegations[2].package: unknown package 'nope'",
    ]
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- just\n- a list\n", "must be a mapping at the top level"),
        ("cases: [{name: x\n", "not valid YAML: "),
    ],
    ids=["not a mapping", "not YAML"],
)
def test_a_test_file_that_is_not_a_yaml_mapping_is_refused(bare_policy_dir, text, problem):
    write_yaml(bare_policy_dir / "tests" / "a-valid.yaml", small_test_file())
    (bare_policy_dir / "tests" / "wrong.yaml").write_text(text, encoding="utf-8")
    result = run(str(bare_policy_dir))
    assert result.exit_code == 1
    assert error_lines(result)[0].startswith(f"error: tests/wrong.yaml: {problem}")
    assert result.stdout == ""


def test_the_runner_raises_the_problems_as_a_source_error(bare_policy_dir):
    document = small_test_file()
    del document["cases"][0]["expect"]
    write_yaml(bare_policy_dir / "tests" / "wrong.yaml", document)
    with pytest.raises(SourceError) as raised:
        policy_tests.run(bare_policy_dir)
    assert raised.value.problems == [
        Problem("tests/wrong.yaml", "cases[0].expect", "Missing data for required field")
    ]


# --- no tests, no source, a broken source ---------------------------------------------------


@pytest.mark.parametrize("make_tests_dir", [False, True], ids=["no tests dir", "empty tests dir"])
def test_a_policy_source_without_tests_says_so(bare_policy_dir, make_tests_dir):
    if make_tests_dir:
        (bare_policy_dir / "tests").mkdir()
    result = run(str(bare_policy_dir))
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert line.startswith(f"error: no test files in {bare_policy_dir / 'tests'}")
    assert result.stdout == ""
    with pytest.raises(PdpError):
        policy_tests.run(bare_policy_dir)


def test_a_missing_directory_is_named(tmp_path):
    result = run(str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert error_lines(result) == [f"error: {tmp_path / 'nowhere'}: policy directory not found"]


def test_a_source_error_in_the_policies_is_reported_as_such_and_nothing_runs(policy_dir):
    path = policy_dir / "packages" / "integrasjoner.yaml"
    source = read_yaml(path)
    source["packages"][0]["grants"][0]["roles"].append("REGX")
    write_yaml(path, source)
    result = run(str(policy_dir))
    assert result.exit_code == 1
    assert error_lines(result) == [
        "error: packages/integrasjoner.yaml: packages[0].grants[0].roles[8]: "
        "unknown role code 'REGX'"
    ]
    assert result.stdout == ""


# --- each test file brings its own facts ----------------------------------------------------


def test_each_test_file_runs_against_its_own_register_and_delegations(bare_policy_dir):
    """a.yaml makes Paula daglig leder and gives Ola a package; b.yaml, run after it, knows
    the same organisation as a NUF where Paula is only a board member, and no delegation."""
    with_facts = small_test_file()
    with_facts["cases"].append(
        {
            "name": "Ola holds it by delegation",
            "person": OLA,
            "party": ORSTA_AS,
            "package": EVENTS,
            "expect": "Permit",
        }
    )
    write_yaml(bare_policy_dir / "tests" / "a.yaml", with_facts)
    other_facts = {
        "register": {
            "organizations": [
                {
                    "organization_number": ORSTA_AS,
                    "name": "ØRSTA OG HEGGEDAL NUF",
                    "org_form": "NUF",
                    "roles": [{"code": "MEDL", "person": PAULA}],
                }
            ]
        },
        "cases": [
            {
                "name": "Paula is not daglig leder here",
                "person": PAULA,
                "party": ORSTA_AS,
                "package": API,
                "expect": "NotApplicable",
            },
            {
                "name": "Ola was given nothing here",
                "person": OLA,
                "party": ORSTA_AS,
                "package": EVENTS,
                "expect": "NotApplicable",
            },
        ],
    }
    write_yaml(bare_policy_dir / "tests" / "b.yaml", other_facts)
    result = run("-v", str(bare_policy_dir))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "ok   tests/a.yaml: Paula may access the API package",
        "ok   tests/a.yaml: Ola holds it by delegation",
        "ok   tests/b.yaml: Paula is not daglig leder here",
        "ok   tests/b.yaml: Ola was given nothing here",
        f"4 passed, 0 failed ({bare_policy_dir})",
    ]


def test_a_test_file_without_a_register_knows_no_one(bare_policy_dir):
    write_yaml(
        bare_policy_dir / "tests" / "empty.yaml",
        {
            "cases": [
                {
                    "name": "Paula holds nothing",
                    "person": PAULA,
                    "party": ORSTA_AS,
                    "package": API,
                    "expect": "NotApplicable",
                }
            ]
        },
    )
    assert run(str(bare_policy_dir)).exit_code == 0


# --- cases that name a service resource -----------------------------------------------------

SYSTEM_USER = "47caea5b-a80b-4343-b1d3-31eb523a4e28"
API_RESOURCE = "urn:altinn:resource:ttd-example-api"
DAGL_READS = "Daglig leder (DAGL) may read the API resource, at authentication level 3"
SYSTEM_USER_WRITES = (
    "The system user given Programmeringsgrensesnitt may write the API resource for its owner"
)
LEVEL_3 = "urn:altinn:obligation:authenticationLevel1 (urn:altinn:obligation-assignment:1=3)"


def resource_test_file(**case: Any) -> dict[str, Any]:
    """A test file whose one case asks about the API resource: Paula reads it, unless `case`
    says otherwise (a None value removes a field)."""
    document = small_test_file()
    document["cases"] = [
        {
            "name": "Paula may read the API resource",
            "person": PAULA,
            "party": ORSTA_AS,
            "resource": "ttd-example-api",
            "action": "read",
            "expect": "Permit",
        }
    ]
    for key, value in case.items():
        if value is None:
            document["cases"][0].pop(key, None)
        else:
            document["cases"][0][key] = value
    return document


def test_a_resource_case_with_a_wrong_decision_shows_the_resource_and_the_obligations(policy_dir):
    edit_case(policy_dir, DAGL_READS, RESOURCE_TEST_FILE, expect="NotApplicable", policies=None)
    result = run(str(policy_dir))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        fail_line(policy_dir, DAGL_READS, RESOURCE_TEST_FILE),
        f"  request:  urn:altinn:person:identifier-no:{PAULA} -> read {API_RESOURCE} for "
        f"{ORSTA_AS}",
        "  expected: NotApplicable; obligations: " + LEVEL_3,
        "  actual:   Permit by grant:programmeringsgrensesnitt:DAGL:access, "
        "resource:ttd-example-api:1:1:read, resource:ttd-example-api:2:1:read; "
        "obligations: " + LEVEL_3,
        f"{len(cases_in(policy_dir)) - 1} passed, 1 failed ({policy_dir})",
    ]


@pytest.mark.parametrize(
    ("obligations", "expected"),
    [
        (
            [
                {
                    "id": "urn:altinn:obligation:authenticationLevel1",
                    "assignments": [
                        {"attribute_id": "urn:altinn:obligation-assignment:1", "value": "2"}
                    ],
                }
            ],
            "urn:altinn:obligation:authenticationLevel1 (urn:altinn:obligation-assignment:1=2)",
        ),
        (
            [{"id": "urn:altinn:obligation:authenticationLevel2"}],
            "urn:altinn:obligation:authenticationLevel2",
        ),
        ([], "none"),
        (
            [
                {"id": "urn:altinn:obligation:authenticationLevel1"},
                {"id": "urn:altinn:obligation:authenticationLevel1"},
            ],
            "urn:altinn:obligation:authenticationLevel1, urn:altinn:obligation:"
            "authenticationLevel1",
        ),
    ],
    ids=["another value", "another id", "none expected", "one too many"],
)
def test_a_wrong_expected_obligation_fails(policy_dir, obligations, expected):
    edit_case(policy_dir, SYSTEM_USER_WRITES, RESOURCE_TEST_FILE, obligations=obligations)
    result = run(str(policy_dir))
    assert result.exit_code == 1
    report = result.stdout.splitlines()
    assert report[0] == fail_line(policy_dir, SYSTEM_USER_WRITES, RESOURCE_TEST_FILE)
    assert report[1] == (
        f"  request:  urn:altinn:systemuser:uuid:{SYSTEM_USER} -> write {API_RESOURCE} for "
        f"{ORSTA_AS}"
    )
    policies = "delegation:programmeringsgrensesnitt:access, resource:ttd-example-api:1:2:write"
    assert report[2:4] == [
        f"  expected: Permit by {policies}; obligations: {expected}",
        f"  actual:   Permit by {policies}; obligations: {LEVEL_3}",
    ]


@pytest.mark.parametrize(
    "assignment",
    [
        {"attribute_id": "urn:altinn:obligation-assignment:1", "value": "3"},
        {
            "attribute_id": "urn:altinn:obligation-assignment:1",
            "value": "3",
            "category": "urn:altinn:minimum-authenticationlevel",
            "data_type": "http://www.w3.org/2001/XMLSchema#integer",
        },
    ],
    ids=["the fields that matter", "every field"],
)
def test_an_obligation_is_compared_on_the_fields_the_case_gives(policy_dir, assignment):
    obligation = {"id": "urn:altinn:obligation:authenticationLevel1", "assignments": [assignment]}
    edit_case(policy_dir, SYSTEM_USER_WRITES, RESOURCE_TEST_FILE, obligations=[obligation])
    assert run(str(policy_dir)).exit_code == 0


def test_a_wrong_category_in_an_expected_obligation_fails(policy_dir):
    assignment = {
        "attribute_id": "urn:altinn:obligation-assignment:1",
        "value": "3",
        "category": "urn:altinn:maximum-authenticationlevel",
    }
    obligation = {"id": "urn:altinn:obligation:authenticationLevel1", "assignments": [assignment]}
    edit_case(policy_dir, SYSTEM_USER_WRITES, RESOURCE_TEST_FILE, obligations=[obligation])
    assert run(str(policy_dir)).exit_code == 1


def test_obligations_are_matched_in_any_order_each_by_its_own():
    def expression(identifier: str, value: str) -> Expression:
        return Expression(identifier, PERMIT, (Assignment("urn:a", None, XML_STRING, None, value),))

    actual = (expression("urn:o:1", "1"), expression("urn:o:2", "2"))
    first = policy_tests.ExpectedObligation("urn:o:1", ({"attribute_id": "urn:a", "value": "1"},))
    second = policy_tests.ExpectedObligation("urn:o:2", None)

    def passes(*expected: policy_tests.ExpectedObligation) -> bool:
        case = policy_tests.Case(
            "f",
            0,
            "n",
            Subject(PERSON, PAULA),
            ORSTA_AS,
            None,
            "r",
            "read",
            None,
            PERMIT,
            None,
            expected,
        )
        return policy_tests.Outcome(case, EngineResult(PERMIT, obligations=actual)).passed

    assert passes(second, first)
    assert not passes(first)
    assert not passes(first, first)


def test_a_system_user_in_the_register_receives_a_delegation_and_is_decided(bare_policy_dir):
    document = resource_test_file(
        person=None,
        system_user=SYSTEM_USER,
        action="write",
        policies=[
            "resource:ttd-example-api:1:2:write",
            "delegation:programmeringsgrensesnitt:access",
        ],
    )
    document["register"]["system_users"] = [{"uuid": SYSTEM_USER, "owner": ORSTA_AS}]
    document["delegations"] = [
        {"party": ORSTA_AS, "package": API, "delegator": PAULA, "system_user": SYSTEM_USER}
    ]
    write_yaml(bare_policy_dir / "tests" / "system-user.yaml", document)
    result = run(str(bare_policy_dir))
    assert result.exit_code == 0, result.output


def test_a_delegation_to_another_organisations_system_user_is_refused(bare_policy_dir):
    document = resource_test_file()
    document["register"]["organizations"].append(
        {"organization_number": "810418672", "name": "KARLSTAD", "org_form": "AS", "roles": []}
    )
    document["register"]["system_users"] = [{"uuid": SYSTEM_USER, "owner": "810418672"}]
    document["delegations"] = [
        {"party": ORSTA_AS, "package": API, "delegator": PAULA, "system_user": SYSTEM_USER}
    ]
    write_yaml(bare_policy_dir / "tests" / "wrong.yaml", document)
    result = run(str(bare_policy_dir))
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert line.startswith("error: tests/wrong.yaml: delegations[0]: ")
    assert "810418672" in line


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ({"action": None}, "cases[0].action: a resource case names its action (read, write, ...)"),
        (
            {"package": API},
            "cases[0]: give exactly one of `package` or `resource`",
        ),
        (
            {"roles": ["DAGL"]},
            "cases[0].roles: a resource case may not state roles: the PDP works out the roles "
            "the subject holds for the party itself",
        ),
        (
            {"system_user": SYSTEM_USER},
            "cases[0]: give exactly one of `person`, `organization` or `system_user`",
        ),
        (
            {"resource": "urn:altinn:resource:TTD Example"},
            "cases[0].resource: must be a resource id (lower-case letters, digits, - and _) or "
            "urn:altinn:resource:<id>",
        ),
        (
            {"obligations": [{"id": "urn:o", "assignments": [{"attribute_id": "urn:a"}]}]},
            "cases[0].obligations[0].assignments[0].value: Missing data for required field",
        ),
        (
            {
                "resource": None,
                "package": API,
                "action": None,
                "person": None,
                "system_user": SYSTEM_USER,
            },
            "cases[0].system_user: only a resource case names a system user",
        ),
    ],
    ids=[
        "no action",
        "package and resource",
        "stated roles",
        "two subjects",
        "malformed resource",
        "assignment without value",
        "system user asking for a package",
    ],
)
def test_a_malformed_resource_case_is_refused_by_its_path(bare_policy_dir, case, problem):
    write_yaml(bare_policy_dir / "tests" / "wrong.yaml", resource_test_file(**case))
    result = run(str(bare_policy_dir))
    assert result.exit_code == 1
    assert error_lines(result) == [f"error: tests/wrong.yaml: {problem}"]

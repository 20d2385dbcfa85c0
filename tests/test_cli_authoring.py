"""The policy author's commands: `pdp diff`, `pdp rollback`, `pdp grants`, and
`pdp compile --base/--author`, run in-process with click's CliRunner on every test database.

`pdp diff DIR` previews a source against the active version (rule changes, then who gains or
loses what) and publishes nothing; `pdp rollback N` makes a published version active again;
`pdp compile --base N` refuses to publish unless version N is still the active one; `pdp grants`
prints the README's table.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from pdp import catalog as catalog_module
from pdp import grants_table
from pdp.cli import main
from pdp.db import active_policy_set, make_engine, write_transaction
from tests.conftest import POLICY_DIR, RESOURCE_DOCUMENTS, RegisterFacts
from tests.helpers import LOCK_WAITERS, write_source
from tests.test_readme import readme_table

INTEGRASJONER = "packages/integrasjoner.yaml"
PREFIX = "urn:altinn:accesspackage:"
API = f"{PREFIX}programmeringsgrensesnitt"
EVENTS = f"{PREFIX}maskinlesbarehendelser"
API_INDEX, API_NUF_INDEX, EVENTS_INDEX = 0, 1, 2


def run(*args: str, catch_exceptions: bool = False) -> Result:
    return CliRunner(catch_exceptions=catch_exceptions).invoke(main, list(args))


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line]


def policy_dir(directory: Path, edit: Callable[[list[dict[str, Any]]], Any]) -> str:
    """The shipped source with `edit` applied to its Integrasjoner packages, written out."""
    source = catalog_module.read_source(POLICY_DIR)
    edit(source[INTEGRASJONER]["packages"])
    return str(write_source(directory, source))


def remove_dagl_from_api(packages: list[dict[str, Any]]) -> None:
    packages[API_INDEX]["grants"][0]["roles"].remove("DAGL")


def grant_medl_events(packages: list[dict[str, Any]]) -> None:
    packages[EVENTS_INDEX]["grants"][0]["roles"].append("MEDL")


def versions() -> list[tuple[str, int, str]]:
    """`pdp versions` as (marker, number, rest of the line)."""
    result = run("versions")
    assert result.exit_code == 0, result.output
    return [(line[0], int(line[1:6]), line[6:]) for line in result.stdout.splitlines()]


def person(identifier: str) -> str:
    return f"urn:altinn:person:identifier-no:{identifier}"


@pytest.fixture
def cli_database(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI's database (SQLite, and PostgreSQL when configured); policies from policies/."""
    monkeypatch.setenv("PDP_DATABASE_URL", database_url)
    monkeypatch.setenv("PDP_POLICY_DIR", str(POLICY_DIR))
    monkeypatch.setenv("PDP_POLICY_REFRESH_SECONDS", "0")
    monkeypatch.chdir(tmp_path)
    return database_url


@pytest.fixture
def initialised(cli_database: str, tmp_path: Path, register_facts: RegisterFacts) -> str:
    """`pdp init` done (version 1) and the test register imported."""
    assert run("init").exit_code == 0
    register_file = tmp_path / "register.json"
    register_file.write_text(json.dumps(register_facts.document), encoding="utf-8")
    assert run("register", "import", str(register_file)).exit_code == 0
    return cli_database


@pytest.fixture
def version_2(initialised: str, tmp_path: Path) -> None:
    """Version 2 published with `pdp compile`: MEDL holds Maskinlesbare hendelser."""
    result = run("compile", policy_dir(tmp_path / "medl", grant_medl_events), "--message", "MEDL")
    assert (
        result.stdout == f"published policy-set version 2 ({53 + RESOURCE_DOCUMENTS} policies)\n"
    ), result.output


# --- pdp diff -------------------------------------------------------------------------------


class TestDiff:
    def test_diff_prints_the_rule_changes_and_everyone_they_reach(
        self, initialised, tmp_path, register_facts
    ):
        result = run("diff", policy_dir(tmp_path / "no-dagl", remove_dagl_from_api))
        assert result.exit_code == 0, result.output
        losers = sorted(
            [
                (person(register_facts.as_holders["DAGL"]), register_facts.as_org),
                (person(register_facts.nuf_holders["DAGL"]), register_facts.nuf_org),
            ]
        )
        assert result.stdout.splitlines() == [
            "against active version 1",
            "packages: 0 added, 0 removed, 0 renamed",
            "grants: 0 added, 2 removed",
            f"  - DAGL may access {API}",
            f"  - DAGL may delegate {API}",
            "impact: 0 gained, 4 lost, 2 subjects, 2 parties",
            f"  {API}: +0 -4",
            *(
                f"  - {subject} may {action} {API} for {party}"
                for subject, party in losers
                for action in ("access", "delegate")
            ),
        ]

    def test_diff_publishes_nothing(self, initialised, tmp_path):
        run("diff", policy_dir(tmp_path / "medl", grant_medl_events))
        assert [(marker, number) for marker, number, _ in versions()] == [("*", 1)]

    def test_diff_of_a_gain_marks_it_with_a_plus(self, initialised, tmp_path, register_facts):
        result = run("diff", policy_dir(tmp_path / "medl", grant_medl_events))
        member = person(register_facts.as_holders["MEDL"])
        assert f"  + MEDL may access {EVENTS}" in result.stdout.splitlines()
        assert f"  + {member} may access {EVENTS} for {register_facts.as_org}" in (
            result.stdout.splitlines()
        )
        assert "impact: 2 gained, 0 lost, 1 subjects, 1 parties" in result.stdout

    def test_limit_lists_fewer_changes_and_says_how_many_more(self, initialised, tmp_path):
        result = run("diff", policy_dir(tmp_path / "no-dagl", remove_dagl_from_api), "--limit", "1")
        lines = result.stdout.splitlines()
        assert lines[-1] == "  ... 3 more (--limit to list them)"
        assert sum(line.startswith("  - urn:altinn:person") for line in lines) == 1
        assert "impact: 0 gained, 4 lost, 2 subjects, 2 parties" in lines

    def test_an_org_form_limit_is_named_in_the_rule(self, initialised, tmp_path):
        def nuf_only_regn(packages: list[dict[str, Any]]) -> None:
            packages[EVENTS_INDEX]["grants"].append(
                {"roles": ["REGN"], "delegable": False, "org_forms": ["NUF"]}
            )

        result = run("diff", policy_dir(tmp_path / "regn", nuf_only_regn))
        assert f"  + REGN may access {EVENTS} (only NUF)" in result.stdout.splitlines()
        assert "impact: 0 gained, 0 lost, 0 subjects, 0 parties" in result.stdout

    def test_a_rename_with_an_alias_is_one_line_and_reaches_no_one(self, initialised, tmp_path):
        new = f"{PREFIX}hendelser"

        def rename(packages: list[dict[str, Any]]) -> None:
            packages[EVENTS_INDEX].update(urn=new, aliases=[EVENTS])

        result = run("diff", policy_dir(tmp_path / "renamed", rename))
        assert result.stdout.splitlines()[1:5] == [
            "packages: 0 added, 0 removed, 1 renamed",
            f"  ~ {EVENTS} -> {new}",
            "grants: 0 added, 0 removed",
            "impact: 0 gained, 0 lost, 0 subjects, 0 parties",
        ]

    def test_the_same_source_changes_nothing(self, initialised):
        result = run("diff", str(POLICY_DIR))
        assert result.stdout.splitlines() == [
            "against active version 1",
            "identical to the active version: publishing it would change nothing",
            "packages: 0 added, 0 removed, 0 renamed",
            "grants: 0 added, 0 removed",
            "impact: 0 gained, 0 lost, 0 subjects, 0 parties",
        ]

    def test_with_nothing_published_everything_is_added(self, cli_database):
        lines = run("diff").stdout.splitlines()
        assert lines[:2] == [
            "against nothing published yet",
            "packages: 3 added, 0 removed, 0 renamed",
        ]
        assert "grants: 48 added, 0 removed" in lines

    def test_resource_rules_added_and_removed_are_listed(self, initialised, tmp_path):
        def api_read_only(directory: Path) -> str:
            source = catalog_module.read_source(POLICY_DIR)
            name = "resources/ttd-example-api/policy.xml"
            source[name] = source[name].replace(">write<", ">delete<")
            del source["resources/ttd-example-events/policy.xml"]
            return str(write_source(directory, source))

        lines = run("diff", api_read_only(tmp_path / "api")).stdout.splitlines()
        package = "subject urn:altinn:accesspackage = (any case) 'programmeringsgrensesnitt'"
        resource = "resource urn:altinn:resource = 'ttd-example-api'"
        start = lines.index("resources: 0 added, 1 removed, 0 changed")
        assert lines[start : start + 3] == [
            "resources: 0 added, 1 removed, 0 changed",
            "  - ttd-example-events",
            "resource rules: 1 added, 4 removed",
        ]
        assert f"  + ttd-example-api: Permit delete if {resource} and {package}" in lines
        assert f"  - ttd-example-api: Permit write if {resource} and {package}" in lines
        assert sum(line.startswith("  - ttd-example-events: ") for line in lines) == 3

    def test_an_invalid_source_is_refused_with_its_problems(self, initialised, tmp_path):
        def unknown_role(packages: list[dict[str, Any]]) -> None:
            packages[API_INDEX]["grants"][0]["roles"].append("REGX")

        result = run("diff", policy_dir(tmp_path / "bad", unknown_role))
        assert result.exit_code == 1
        assert error_lines(result) == [
            f"error: {INTEGRASJONER}: packages[0].grants[0].roles[8]: unknown role code 'REGX'"
        ]


# --- pdp rollback and pdp versions ----------------------------------------------------------


class TestRollback:
    def test_rollback_makes_an_earlier_version_active_and_versions_marks_it(self, version_2):
        assert [(marker, number) for marker, number, _ in versions()] == [(" ", 1), ("*", 2)]
        result = run("rollback", "1")
        assert (result.exit_code, result.stdout) == (0, "policy-set version 1 is active\n")
        assert [(marker, number) for marker, number, _ in versions()] == [("*", 1), (" ", 2)]

    def test_decisions_follow_the_rollback(self, version_2, tmp_path, register_facts):
        def medl_decision() -> str:
            request = tmp_path / "medl.json"
            request.write_text(
                json.dumps(
                    {
                        "Request": {
                            "AccessSubject": {
                                "Attribute": [
                                    {
                                        "AttributeId": "urn:altinn:person:identifier-no",
                                        "Value": register_facts.as_holders["MEDL"],
                                    }
                                ]
                            },
                            "Resource": {
                                "Attribute": [
                                    {"AttributeId": "urn:altinn:accesspackage", "Value": EVENTS},
                                    {
                                        "AttributeId": "urn:altinn:organization:identifier-no",
                                        "Value": register_facts.as_org,
                                    },
                                ]
                            },
                            "Action": {
                                "Attribute": [
                                    {
                                        "AttributeId": (
                                            "urn:oasis:names:tc:xacml:1.0:action:action-id"
                                        ),
                                        "Value": "access",
                                    }
                                ]
                            },
                        }
                    }
                ),
                encoding="utf-8",
            )
            return json.loads(run("check", str(request)).stdout)["Response"][0]["Decision"]

        assert medl_decision() == "Permit"
        run("rollback", "1")
        assert medl_decision() == "NotApplicable"
        run("rollback", "2")
        assert medl_decision() == "Permit"

    def test_rollback_to_an_unknown_version_fails(self, version_2):
        result = run("rollback", "9")
        assert result.exit_code == 1
        assert error_lines(result) == ["error: policy-set version 9 does not exist"]
        assert [(marker, number) for marker, number, _ in versions()] == [(" ", 1), ("*", 2)]

    def test_rollback_with_the_active_version_as_base_switches(self, version_2):
        assert run("rollback", "1", "--base", "2").exit_code == 0
        assert versions()[0][0] == "*"

    def test_rollback_with_a_stale_base_fails_and_changes_nothing(self, version_2):
        result = run("rollback", "1", "--base", "1")
        assert result.exit_code == 1
        [line] = error_lines(result)
        assert line.startswith(
            "error: the change was based on version 1, but version 2 is active now; "
            "nothing was written"
        )
        assert versions()[1][0] == "*"

    def test_rollback_to_the_active_version_changes_nothing(self, version_2):
        assert run("rollback", "2").stdout == "policy-set version 2 is active\n"
        assert [(marker, number) for marker, number, _ in versions()] == [(" ", 1), ("*", 2)]


# --- pdp compile --base and --author --------------------------------------------------------


class TestCompileWithABase:
    def test_a_stale_base_is_refused_naming_the_conflict(self, version_2, tmp_path):
        result = run(
            "compile", policy_dir(tmp_path / "no-dagl", remove_dagl_from_api), "--base", "1"
        )
        assert result.exit_code == 1
        assert error_lines(result) == [
            "error: the change was based on version 1, but version 2 is active now; nothing was "
            "written. Look at the active version and try again"
        ]
        assert result.stdout == ""
        assert [(marker, number) for marker, number, _ in versions()] == [(" ", 1), ("*", 2)]

    def test_the_active_version_as_base_publishes(self, version_2, tmp_path):
        result = run(
            "compile", policy_dir(tmp_path / "no-dagl", remove_dagl_from_api), "--base", "2"
        )
        assert (
            result.stdout
            == f"published policy-set version 3 ({49 + RESOURCE_DOCUMENTS} policies)\n"
        )
        assert versions()[2][:2] == ("*", 3)

    def test_base_0_publishes_the_first_version_of_an_empty_database(self, cli_database):
        result = run("compile", "--base", "0")
        assert (
            result.stdout
            == f"published policy-set version 1 ({51 + RESOURCE_DOCUMENTS} policies)\n"
        )

    def test_base_0_is_stale_once_a_version_exists(self, initialised):
        result = run("compile", "--base", "0")
        assert result.exit_code == 1
        assert "version 1 is active now" in result.stderr

    def test_author_and_message_are_recorded_and_listed(self, initialised, tmp_path):
        directory = policy_dir(tmp_path / "medl", grant_medl_events)
        run("compile", directory, "--author", "kari.nordmann", "--message", "MEDL too")
        marker, number, rest = versions()[1]
        assert (marker, number) == ("*", 2)
        assert rest.endswith("  kari.nordmann  MEDL too")


# --- pdp grants -----------------------------------------------------------------------------


def test_grants_prints_the_readme_table(cli_database):
    result = run("grants")
    assert result.exit_code == 0
    assert result.stdout == readme_table()


def test_grants_of_a_directory_prints_that_sources_table(cli_database, tmp_path):
    def events_not_delegable(packages: list[dict[str, Any]]) -> None:
        packages[EVENTS_INDEX]["grants"][0]["delegable"] = False

    directory = policy_dir(tmp_path / "changed", events_not_delegable)
    result = run("grants", directory)
    assert result.stdout == grants_table.markdown(catalog_module.load(directory))
    assert result.stdout.splitlines()[-1].endswith("| no |  |")


# --- writers waiting for each other ---------------------------------------------------------


def run_while_another_writer_switches_to(version: int, database_url: str, *args: str) -> Result:
    """Run `pdp *args` while another process holds the active-version row to switch it to
    `version`; that process commits once the command is waiting for the row."""
    engine = make_engine(database_url)
    results: list[Result] = []
    command = threading.Thread(target=lambda: results.append(run(*args, catch_exceptions=True)))
    try:
        with write_transaction(engine) as connection:
            connection.execute(
                update(active_policy_set).where(active_policy_set.c.id == 1).values(version=version)
            )
            command.start()
            _wait_until_someone_waits_for_a_lock(engine)
        command.join(timeout=30)
    finally:
        engine.dispose()
    [result] = results
    return result


def _wait_until_someone_waits_for_a_lock(engine) -> None:
    if engine.dialect.name != "postgresql":
        time.sleep(0.5)  # SQLite cannot be asked; the command waits in busy_timeout
        return
    deadline = time.monotonic() + 10
    with engine.connect() as observer:
        while time.monotonic() < deadline:
            waiting = observer.execute(LOCK_WAITERS).scalar()
            if waiting:
                return
            observer.rollback()
            time.sleep(0.02)
    raise AssertionError("the command never waited for the active-version row")


class TestWritersWaitingForEachOther:
    def test_a_rollback_that_waits_for_another_activation_then_rolls_back(
        self, version_2, database_url
    ):
        assert run("rollback", "1").exit_code == 0
        result = run_while_another_writer_switches_to(2, database_url, "rollback", "1")
        assert result.exception is None, repr(result.exception)
        assert (result.exit_code, result.stdout) == (0, "policy-set version 1 is active\n")
        assert versions()[0][:2] == ("*", 1)

    def test_a_compile_that_waits_for_another_activation_then_publishes_on_top(
        self, version_2, database_url, tmp_path
    ):
        assert run("rollback", "1").exit_code == 0
        directory = policy_dir(tmp_path / "no-dagl", remove_dagl_from_api)
        result = run_while_another_writer_switches_to(2, database_url, "compile", directory)
        assert error_lines(result) == []
        assert (result.exit_code, result.stdout) == (
            0,
            f"published policy-set version 3 ({49 + RESOURCE_DOCUMENTS} policies)\n",
        )

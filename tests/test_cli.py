"""The `pdp` command line, run in-process with click's CliRunner."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pdp import catalog as catalog_module
from pdp import compiler, schema
from pdp.changes import ChangeLog
from pdp.cli import main
from pdp.db import make_engine
from pdp.repository import PolicyRepository
from tests.conftest import EXAMPLES_DIR, POLICY_DIR, RESOURCE_DOCUMENTS
from tests.helpers import new_organization, write_source
from tests.released import Released, released_database

REGISTER_FILE = EXAMPLES_DIR / "register.json"
#: What `pdp compile --check` says of the shipped source.
OK_LINE = f"ok: 3 packages, 24 grants, 2 resources, {51 + RESOURCE_DOCUMENTS} policies\n"


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/x.sqlite3"
    monkeypatch.setenv("PDP_DATABASE_URL", url)
    monkeypatch.setenv("PDP_POLICY_DIR", str(POLICY_DIR))
    monkeypatch.chdir(tmp_path)
    return url


@pytest.fixture
def repository(database_file: str):
    """The CLI's database, read directly (the schema is created here if no command has yet)."""
    engine = make_engine(database_file)
    schema.prepare(engine)
    yield PolicyRepository(engine, ChangeLog.of(engine, refresh_seconds=0))
    engine.dispose()


def run(*args: str, input: str | bytes | None = None) -> Result:
    # Unexpected exceptions propagate; only the CLI's own exits give an exit code.
    return CliRunner(catch_exceptions=False).invoke(main, list(args), input=input)


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line]


def write_policy_dir(directory: Path, source: dict[str, Any]) -> Path:
    return write_source(directory, source)


@pytest.fixture
def bad_policy_dir(tmp_path: Path) -> Path:
    """A policy source with two problems: a package without name, a duplicate role code."""
    source = catalog_module.read_source(POLICY_DIR)
    del source["packages/integrasjoner.yaml"]["packages"][1]["name"]
    source["roles.yaml"]["roles"].append(
        {
            "code": "DAGL",
            "name": "Daglig leder igjen",
            "urn": "urn:altinn:external-role:ccr:daglig-leder-igjen",
            "legacy_urn": "urn:altinn:rolecode:daglx",
        }
    )
    return write_policy_dir(tmp_path / "bad-policies", source)


# --- init -----------------------------------------------------------------------------------


def test_init_publishes_the_policy_source_as_version_1(repository):
    result = run("init")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"published policy-set version 1 ({51 + RESOURCE_DOCUMENTS} policies)\n"
    assert repository.active_version() == 1


def test_second_init_says_the_content_is_already_active(repository):
    run("init")
    result = run("init")
    assert result.exit_code == 0, result.output
    assert result.stdout == "policy-set version 1 is already active with this content\n"
    assert [v.number for v in repository.versions()] == [1]


def test_init_records_why_the_version_was_published(repository):
    run("init")
    assert repository.versions()[0].message == "pdp init"


def test_init_reads_the_policies_option_before_the_environment(repository, bad_policy_dir):
    result = run("init", "--policies", str(bad_policy_dir))
    assert result.exit_code == 1
    assert repository.active_version() is None


def test_init_on_an_empty_database_makes_the_schema_first(database_file):
    result = run("init")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"created the database schema at revision {schema.head()}",
        f"published policy-set version 1 ({51 + RESOURCE_DOCUMENTS} policies)",
    ]


def test_init_upgrades_a_released_database_and_then_publishes(database_file, catalog):
    engine = make_engine(database_file)
    released_database(engine, catalog, Released())
    engine.dispose()
    result = run("init")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"upgraded the database schema from revision {schema.BASELINE} (made before schema "
        f"versions) to {schema.head()}",
        "policy-set version 1 is already active with this content",
    ]


# --- db upgrade -----------------------------------------------------------------------------


def test_db_upgrade_says_what_it_did_each_time(database_file):
    assert run("db", "upgrade").stdout == (
        f"created the database schema at revision {schema.head()}\n"
    )
    assert run("db", "upgrade").stdout == (
        f"the database schema is up to date (revision {schema.head()})\n"
    )


def test_commands_refuse_a_database_behind_and_name_the_upgrade(database_file, catalog):
    engine = make_engine(database_file)
    released_database(engine, catalog, Released())
    engine.dispose()
    result = run("versions")
    assert result.exit_code == 1
    assert "run `pdp db upgrade`" in result.stderr


# --- compile --------------------------------------------------------------------------------


def test_compile_check_validates_and_publishes_nothing(repository):
    result = run("compile", "--check")
    assert result.exit_code == 0, result.output
    assert result.stdout == OK_LINE
    assert repository.active_version() is None
    assert repository.versions() == []


@pytest.mark.parametrize(
    ("not_delegable", "policies"),
    [
        # Neither its 8 delegate policies nor its delegation policy.
        ([2], 51 - 8 - 1),
        ([0, 1, 2], 24),
    ],
    ids=["one package", "every package"],
)
def test_compile_check_counts_delegation_policies_only_for_delegable_packages(
    tmp_path, repository, not_delegable, policies
):
    source = catalog_module.read_source(POLICY_DIR)
    for index in not_delegable:
        for grant in source["packages/integrasjoner.yaml"]["packages"][index]["grants"]:
            grant["delegable"] = False
    changed = write_policy_dir(tmp_path / "changed", source)
    result = run("compile", "--check", str(changed))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"ok: 3 packages, 24 grants, 2 resources, {policies + RESOURCE_DOCUMENTS} policies\n"
    )


def test_compile_check_output_is_byte_identical_across_runs(tmp_path, repository, catalog):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert run("compile", "--check", "--output", str(first)).exit_code == 0
    assert run("compile", "--check", "--output", str(second)).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() == compiler.policies_json(compiler.compile_catalog(catalog))
    assert repository.versions() == []


def test_compile_output_to_stdout_keeps_the_report_on_stderr(catalog, repository):
    result = run("compile", "--check", "--output", "-")
    assert result.exit_code == 0
    assert result.stdout.encode() == compiler.policies_json(compiler.compile_catalog(catalog))
    assert result.stderr == OK_LINE


def test_compile_publishes_a_changed_source_as_a_new_version(tmp_path, repository):
    run("init")
    source = catalog_module.read_source(POLICY_DIR)
    source["packages/integrasjoner.yaml"]["packages"][0]["name"] = "API (endret)"
    changed = write_policy_dir(tmp_path / "changed", source)
    result = run("compile", str(changed), "--message", "rename API")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"published policy-set version 2 ({51 + RESOURCE_DOCUMENTS} policies)\n"
    assert repository.active_version() == 2
    assert repository.versions()[-1].message == "rename API"


def test_compile_of_a_bad_source_prints_one_error_line_per_problem(bad_policy_dir, repository):
    run("init")
    result = run("compile", str(bad_policy_dir))
    assert result.exit_code == 1
    assert sorted(error_lines(result)) == [
        "error: packages/integrasjoner.yaml: packages[1].name: Missing data for required field",
        "error: roles.yaml: roles[61].code: duplicate role code DAGL",
    ]
    assert result.stdout == ""
    assert repository.active_version() == 1
    assert [v.number for v in repository.versions()] == [1]


def test_compile_check_of_a_bad_source_fails_too(bad_policy_dir, repository):
    result = run("compile", "--check", str(bad_policy_dir))
    assert result.exit_code == 1
    assert len(error_lines(result)) == 2
    assert all(line.startswith("error: ") for line in error_lines(result))


def test_compile_of_a_missing_directory_fails(tmp_path, repository):
    result = run("compile", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert error_lines(result) == [f"error: {tmp_path / 'nowhere'}: policy directory not found"]


def test_bad_source_does_not_write_the_output_file(tmp_path, bad_policy_dir, repository):
    output = tmp_path / "policies.json"
    result = run("compile", "--check", "--output", str(output), str(bad_policy_dir))
    assert result.exit_code == 1
    assert not output.exists()


# --- register import ------------------------------------------------------------------------


def test_register_import_of_the_example_register(repository):
    run("init")
    result = run("register", "import", str(REGISTER_FILE))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "imported 6 organisations, 14 role assignments, 3 persons and 1 system users\n"
    )


def test_register_import_with_an_invalid_identifier_names_its_position(tmp_path, repository):
    run("init")
    document = json.loads(REGISTER_FILE.read_text(encoding="utf-8"))
    document["organizations"][2]["roles"][1]["person"] = "47827602784"
    bad = tmp_path / "bad-register.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    result = run("register", "import", str(bad))
    assert result.exit_code == 1
    assert error_lines(result) == [
        "error: organizations[2].roles[1].person: "
        "national identity number 47827602784 has invalid check digits"
    ]


def test_register_import_of_invalid_json_fails(tmp_path, repository):
    run("init")
    bad = tmp_path / "bad.json"
    bad.write_text('{"organizations": [', encoding="utf-8")
    result = run("register", "import", str(bad))
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert line.startswith(f"error: {bad} is not valid JSON")


def test_register_import_before_init_fails(repository):
    result = run("register", "import", str(REGISTER_FILE))
    assert result.exit_code == 1
    assert error_lines(result) == [
        "error: no policy-set version is active; run `pdp init` or `pdp compile`"
    ]


# --- check ----------------------------------------------------------------------------------


def test_check_decides_a_request_from_stdin(repository):
    run("init")
    run("register", "import", str(REGISTER_FILE))
    request = (EXAMPLES_DIR / "requests" / "permit.json").read_text(encoding="utf-8")
    result = run("check", input=request)
    assert result.exit_code == 0, result.output
    [response] = json.loads(result.stdout)["Response"]
    assert response["Decision"] == "Permit"
    assert response["Status"]["StatusCode"]["Value"] == "urn:oasis:names:tc:xacml:1.0:status:ok"
    assert response["PolicyIdentifierList"]["PolicyIdReference"] == [
        {"Id": "grant:maskinlesbarehendelser:DAGL:access", "Version": "1"}
    ]


def test_check_reads_a_request_file(repository):
    run("init")
    run("register", "import", str(REGISTER_FILE))
    result = run("check", str(EXAMPLES_DIR / "requests" / "permit.json"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["Response"][0]["Decision"] == "Permit"


def test_check_of_invalid_json_fails(repository):
    run("init")
    result = run("check", input="{not json")
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert "is not valid JSON" in line


def test_rewritten_policy_dir_is_the_same_source(tmp_path, repository):
    """Guards `write_policy_dir`: the shipped source written out again is the same content."""
    rewritten = write_policy_dir(tmp_path / "rewritten", catalog_module.read_source(POLICY_DIR))
    run("init")
    result = run("compile", str(rewritten))
    assert result.exit_code == 0, result.output
    assert result.stdout == "policy-set version 1 is already active with this content\n"


# --- pdp delegations ------------------------------------------------------------------------


@pytest.fixture
def example_pdp(database_file: str) -> None:
    """The shipped policies and the example register, as after the README's quick start."""
    assert run("init").exit_code == 0
    assert run("register", "import", str(EXAMPLES_DIR / "register.json")).exit_code == 0


def delegate_example(*recipient: str) -> Result:
    return run(
        "delegations",
        "add",
        "--party",
        "910459880",
        "--package",
        "maskinlesbarehendelser",
        "--delegator",
        "02056260016",
        *recipient,
    )


def test_delegations_add_list_and_revoke(example_pdp):
    added = delegate_example("--to-person", "01025161013")
    assert added.exit_code == 0, added.output
    delegation_id = added.stdout.split()[0]
    assert "from 02056260016 to person 01025161013" in added.stdout

    listed = run("delegations", "list", "--party", "910459880")
    assert listed.stdout.split()[0] == delegation_id

    revoked = run("delegations", "revoke", delegation_id, "--by", "02056260016")
    assert revoked.exit_code == 0
    assert "revoked" in revoked.stdout and "by 02056260016" in revoked.stdout
    assert run("delegations", "list").stdout == ""
    assert delegation_id in run("delegations", "list", "--include-revoked").stdout


def test_delegations_add_refuses_a_delegator_without_a_delegable_grant(example_pdp):
    result = run(
        "delegations",
        "add",
        "--party",
        "910459880",
        "--package",
        "maskinlesbarehendelser",
        "--delegator",
        "27099450067",
        "--to-person",
        "01025161013",
    )
    assert result.exit_code == 1
    assert error_lines(result) == [
        "error: urn:altinn:person:identifier-no:27099450067 may not delegate "
        "urn:altinn:accesspackage:maskinlesbarehendelser for 910459880: no delegable grant "
        "applies to them there (decision NotApplicable)"
    ]


def test_delegations_add_needs_exactly_one_recipient(example_pdp):
    assert delegate_example().exit_code == 2
    both = delegate_example("--to-person", "01025161013", "--to-organization", "810418672")
    assert both.exit_code == 2


def test_delegations_add_refuses_invalid_identifiers_and_duplicates(example_pdp):
    assert error_lines(delegate_example("--to-person", "01039012345")) == [
        "error: national identity number 01039012345 has invalid check digits"
    ]
    assert delegate_example("--to-organization", "810418672").exit_code == 0
    duplicate = delegate_example("--to-organization", "810418672")
    assert duplicate.exit_code == 1
    assert "already holds" in duplicate.stderr


def test_revoking_an_unknown_delegation_fails(example_pdp):
    result = run("delegations", "revoke", "no-such-id", "--by", "02056260016")
    assert result.exit_code == 1
    assert error_lines(result) == ["error: no delegation no-such-id"]


#: The example register's system user, owned by 910459880.
EXAMPLE_SYSTEM_USER = "47caea5b-a80b-4343-b1d3-31eb523a4e28"


def test_delegations_add_to_a_system_user_of_the_party_list_and_revoke(example_pdp):
    added = delegate_example("--to-system-user", EXAMPLE_SYSTEM_USER)
    assert added.exit_code == 0, added.output
    delegation_id = added.stdout.split()[0]
    assert f"from 02056260016 to system_user {EXAMPLE_SYSTEM_USER}" in added.stdout
    assert run("delegations", "list", "--party", "910459880").stdout.split()[0] == delegation_id
    revoked = run("delegations", "revoke", delegation_id, "--by", "02056260016")
    assert revoked.exit_code == 0
    assert "by 02056260016" in revoked.stdout
    assert run("delegations", "list").stdout == ""


def test_delegations_add_refuses_a_system_user_of_another_party(example_pdp):
    # Elena (01025161013) is DAGL of 810418672, but the system user is 910459880's.
    result = run(
        "delegations",
        "add",
        "--party",
        "810418672",
        "--package",
        "maskinlesbarehendelser",
        "--delegator",
        "01025161013",
        "--to-system-user",
        EXAMPLE_SYSTEM_USER,
    )
    assert result.exit_code == 1
    assert error_lines(result) == [
        f"error: system user {EXAMPLE_SYSTEM_USER} belongs to organisation 910459880: it can "
        "be given packages for 910459880 only, not for 810418672"
    ]
    assert run("delegations", "list", "--include-revoked").stdout == ""


def test_delegations_add_refuses_a_malformed_or_unknown_system_user(example_pdp):
    assert error_lines(delegate_example("--to-system-user", EXAMPLE_SYSTEM_USER.upper())) == [
        f"error: a UUID must be 32 lower-case hex digits as 8-4-4-4-12, "
        f"got '{EXAMPLE_SYSTEM_USER.upper()}'"
    ]
    unknown = "00000000-0000-0000-0000-0000000000ff"
    assert error_lines(delegate_example("--to-system-user", unknown)) == [
        f"error: system user {unknown} is not in the register"
    ]


def test_delegations_add_takes_one_recipient_of_three_kinds(example_pdp):
    both = delegate_example("--to-person", "01025161013", "--to-system-user", EXAMPLE_SYSTEM_USER)
    assert both.exit_code == 2
    assert "give exactly one of --to-person, --to-organization or --to-system-user" in both.stderr


def test_register_import_honours_the_check_digit_setting(tmp_path, repository, monkeypatch):
    """Altinn's test party 897069651 (wrong check digit) imports only with the setting off."""
    run("init")
    document = {
        "organizations": [
            {
                "organization_number": "897069651",
                "name": "DDG Fitness Oslo",
                "org_form": "BEDR",
                "party_id": 500001,
                "roles": [{"code": "DAGL", "person": "01039012345"}],
            }
        ]
    }
    altinn = tmp_path / "altinn-register.json"
    altinn.write_text(json.dumps(document), encoding="utf-8")
    refused = run("register", "import", str(altinn))
    assert refused.exit_code == 1
    assert error_lines(refused) == [
        "error: organizations[0].organization_number: "
        "organisation number 897069651 has an invalid check digit",
        "error: organizations[0].roles[0].person: "
        "national identity number 01039012345 has invalid check digits",
    ]
    monkeypatch.setenv("PDP_IDENTIFIER_CHECK_DIGITS", "false")
    imported = run("register", "import", str(altinn))
    assert imported.exit_code == 0, imported.output
    assert imported.stdout.startswith("imported 1 organisations, 1 role assignments")


def test_compile_prints_the_sources_warnings_and_still_compiles(tmp_path, repository):
    source = catalog_module.read_source(POLICY_DIR)
    name = "resources/ttd-example-api/policy.xml"
    source[name] = source[name].replace(">dagl<", ">REGNA<")
    result = run("compile", "--check", str(write_policy_dir(tmp_path / "regna", source)))
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"warning: {name}: line 45: unknown role code 'REGNA' (urn:altinn:rolecode): not an ER "
        "role of roles.yaml, so the register never supplies it\n"
    )
    assert result.stdout == OK_LINE


def test_compile_names_an_unknown_package_in_a_resource_policy(tmp_path, repository):
    source = catalog_module.read_source(POLICY_DIR)
    name = "resources/ttd-example-events/policy.xml"
    source[name] = source[name].replace(">programmeringsgrensesnitt<", ">ansettelsesforhod<")
    result = run("compile", str(write_policy_dir(tmp_path / "typo", source)))
    assert result.exit_code == 1
    assert error_lines(result) == [
        f"error: {name}: line {line}: unknown access package 'ansettelsesforhod'"
        for line in (18, 45)
    ]
    assert repository.active_version() is None


def test_register_import_brreg_reports_counts_and_unknown_forms(tmp_path, repository):
    run("init")
    entities = [
        {
            "organisasjonsnummer": new_organization(),
            "navn": "A AS",
            "organisasjonsform": {"kode": form},
        }
        for form in ("AS", "ZZZ", "ZZZ")
    ]
    path = tmp_path / "enheter.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        json.dump(entities, stream)
    result = run("register", "import-brreg", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "read 3 entities: 1 organisations added, 0 updated, 0 deleted ones removed "
        "(0 deleted ones were not in the register)",
        "skipped, organisation form unknown to the active policy set: ZZZ 2",
    ]
    assert result.stderr.splitlines()[0] == "reading enheter.json.gz ..."


def test_register_import_brreg_of_a_broken_file_fails_naming_it(tmp_path, repository):
    run("init")
    path = tmp_path / "enheter.json"
    path.write_text("[{", encoding="utf-8")
    result = run("register", "import-brreg", str(path))
    assert result.exit_code == 1
    assert error_lines(result)[-1].startswith("error: enheter.json is not a JSON array")

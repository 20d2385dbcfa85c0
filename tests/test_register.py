"""The register: importing organisations and ER role holders, and reading them back."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from sqlalchemy import delete, func, inspect, select
from sqlalchemy.exc import DBAPIError

from pdp import table_swap
from pdp.catalog import Catalog
from pdp.db import REGISTER_LOCK, organizations, role_assignments
from pdp.errors import Problem, RegisterImportError
from pdp.identifiers import IdentifierRules
from pdp.register import (
    ORGANIZATION,
    PERSON,
    ImportSummary,
    Organization,
    Person,
    Register,
    SystemUser,
    sections_of,
)
from pdp.subjects import SYSTEM_USER, Subject
from tests.conftest import EXAMPLES_DIR
from tests.helpers import new_organization, new_person

ORG = "910459880"
OTHER_ORG = "991825827"
FIRM = "974760673"
PERSON_A = "02056260016"
PERSON_B = "07124912037"


@pytest.fixture
def register(engine, changes) -> Register:
    return Register(engine, changes)


def org(
    number: str,
    roles: list[dict[str, str]] | None = None,
    org_form: str = "AS",
    name: str = "X AS",
    **identifiers: Any,
) -> dict[str, Any]:
    return {
        "organization_number": number,
        "name": name,
        "org_form": org_form,
        "roles": roles or [],
        **identifiers,
    }


def document(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"organizations": list(entries)}


def refused(register: Register, catalog: Catalog, doc: Any) -> list[Problem]:
    with pytest.raises(RegisterImportError) as raised:
        register.import_document(doc, catalog)
    return raised.value.problems


def roles_of(register: Register, kind: str, holder: str, party: str) -> frozenset[str]:
    """The roles `holder` has in `party`, read as decisions read them."""
    holding = (Subject(kind, holder), party)
    return register.roles_held_by([holding])[holding]


def organization(register: Register, number: str) -> Organization | None:
    return register.organizations_by("organization_number", [number])[number]


def row_counts(engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            connection.execute(select(func.count()).select_from(organizations)).scalar(),
            connection.execute(select(func.count()).select_from(role_assignments)).scalar(),
        )


VALID = document(
    org(
        ORG,
        [
            {"code": "DAGL", "person": PERSON_A},
            {"code": "LEDE", "person": PERSON_A},
            {"code": "MEDL", "person": PERSON_B},
            {"code": "REGN", "organization": FIRM},
        ],
        name="ØRSTA OG HEGGEDAL REGNSKAP AS",
    ),
    org(OTHER_ORG, [{"code": "DAGL", "person": PERSON_B}], org_form="NUF", name="Y NUF"),
    org(FIRM, name="FIRMA AS"),
)


# --- importing and reading ------------------------------------------------------------------


def test_import_reports_what_it_stored(register, catalog):
    assert register.import_document(VALID, catalog) == ImportSummary(3, 5)


def test_roles_held_by_a_person_are_those_for_the_given_party(register, catalog):
    register.import_document(VALID, catalog)
    assert roles_of(register, PERSON, PERSON_A, ORG) == frozenset({"DAGL", "LEDE"})
    assert roles_of(register, PERSON, PERSON_B, ORG) == frozenset({"MEDL"})
    assert roles_of(register, PERSON, PERSON_B, OTHER_ORG) == frozenset({"DAGL"})
    assert roles_of(register, PERSON, PERSON_A, OTHER_ORG) == frozenset()


def test_roles_held_by_an_organisation(register, catalog):
    register.import_document(VALID, catalog)
    assert roles_of(register, ORGANIZATION, FIRM, ORG) == frozenset({"REGN"})
    assert roles_of(register, ORGANIZATION, FIRM, OTHER_ORG) == frozenset()


def test_roles_held_distinguishes_person_from_organisation_holders(register, catalog):
    register.import_document(VALID, catalog)
    assert roles_of(register, ORGANIZATION, PERSON_A, ORG) == frozenset()
    assert roles_of(register, PERSON, FIRM, ORG) == frozenset()


def test_roles_held_is_empty_for_unknown_holders_and_parties(register, catalog):
    register.import_document(VALID, catalog)
    assert roles_of(register, PERSON, new_person(), ORG) == frozenset()
    assert roles_of(register, PERSON, PERSON_A, new_organization()) == frozenset()


def test_organization_lookup(register, catalog):
    register.import_document(VALID, catalog)
    assert organization(register, ORG) == Organization(ORG, "ØRSTA OG HEGGEDAL REGNSKAP AS", "AS")
    assert organization(register, OTHER_ORG) == Organization(OTHER_ORG, "Y NUF", "NUF")
    assert organization(register, new_organization()) is None


def test_many_holders_and_forms_read_at_once_are_what_each_reads_alone(register, catalog):
    """The batch readings a MultiRequests uses answer for each holder and party what the
    single ones do, unknown holders and organisations included."""
    register.import_document(VALID, catalog)
    unknown_person, unknown_org = new_person(), new_organization()
    holders = [
        *(Subject(PERSON, number) for number in (PERSON_A, PERSON_B, FIRM, unknown_person)),
        *(Subject(ORGANIZATION, number) for number in (FIRM, PERSON_A)),
    ]
    holdings = [(h, party) for h in holders for party in (ORG, OTHER_ORG, FIRM, unknown_org)]
    assert register.roles_held_by([*holdings, *holdings]) == {
        (h, party): roles_of(register, h.kind, h.identifier, party) for h, party in holdings
    }
    numbers = [ORG, OTHER_ORG, FIRM, unknown_org, ORG]
    assert register.org_forms_of(numbers) == {
        ORG: "AS",
        OTHER_ORG: "NUF",
        FIRM: "AS",
        unknown_org: None,
    }
    assert register.roles_held_by([]) == {}
    assert register.org_forms_of([]) == {}


def test_organisation_without_roles_may_be_imported(register, catalog):
    number = new_organization()
    entry = {"organization_number": number, "name": "UTEN ROLLER AS", "org_form": "AS"}
    assert register.import_document(document(entry), catalog) == ImportSummary(1, 0)
    assert organization(register, number) == Organization(number, "UTEN ROLLER AS", "AS")


def test_example_register_imports(register, catalog):
    doc = json.loads((EXAMPLES_DIR / "register.json").read_text(encoding="utf-8"))
    assert register.import_document(doc, catalog) == ImportSummary(6, 14, 3, 1)
    assert roles_of(register, PERSON, "01025161013", "910493353") == frozenset({"DAGL"})
    assert roles_of(register, PERSON, "47827602783", "316289177") == frozenset({"KNUF"})
    assert roles_of(register, ORGANIZATION, "810418672", "910493353") == frozenset({"KOMP"})
    assert organization(register, "316289177").org_form == "NUF"


def test_empty_register_document_stores_nothing(register, catalog, engine):
    assert register.import_document(document(), catalog) == ImportSummary(0, 0)
    assert row_counts(engine) == (0, 0)


def test_import_larger_than_one_write_chunk(register, catalog, engine):
    entries = [org(new_organization(), [{"code": "DAGL", "person": PERSON_A}]) for _ in range(1100)]
    assert register.import_document(document(*entries), catalog) == ImportSummary(1100, 1100)
    assert row_counts(engine) == (1100, 1100)
    # ...and replaced again, which deletes in chunks too.
    for entry in entries:
        entry["roles"] = [{"code": "LEDE", "person": PERSON_B}]
    register.import_document(document(*entries), catalog)
    assert row_counts(engine) == (1100, 1100)
    last = entries[-1]["organization_number"]
    assert roles_of(register, PERSON, PERSON_A, last) == frozenset()
    assert roles_of(register, PERSON, PERSON_B, last) == frozenset({"LEDE"})


# --- re-import ------------------------------------------------------------------------------


def test_reimporting_an_organisation_replaces_its_roles_and_facts(register, catalog):
    register.import_document(VALID, catalog)
    register.import_document(
        document(org(ORG, [{"code": "DAGL", "person": PERSON_B}], org_form="ASA", name="NY ASA")),
        catalog,
    )
    assert roles_of(register, PERSON, PERSON_A, ORG) == frozenset()
    assert roles_of(register, PERSON, PERSON_B, ORG) == frozenset({"DAGL"})
    assert roles_of(register, ORGANIZATION, FIRM, ORG) == frozenset()
    assert organization(register, ORG) == Organization(ORG, "NY ASA", "ASA")


def test_reimport_leaves_organisations_not_in_the_document_alone(register, catalog):
    register.import_document(VALID, catalog)
    register.import_document(document(org(ORG)), catalog)
    assert roles_of(register, PERSON, PERSON_B, OTHER_ORG) == frozenset({"DAGL"})
    assert organization(register, FIRM) == Organization(FIRM, "FIRMA AS", "AS")


# --- large imports: the role table rebuilt beside itself (PostgreSQL) -----------------------


def table_definition(engine) -> dict[str, Any]:
    """The role table's indexes and constraints, by name, as the database describes them."""
    found = inspect(engine)
    table = role_assignments.name
    return {
        "primary key": found.get_pk_constraint(table),
        "indexes": found.get_indexes(table),
        "unique": found.get_unique_constraints(table),
        "foreign keys": found.get_foreign_keys(table),
        "checks": found.get_check_constraints(table),
    }


def test_a_large_import_replaces_the_roles_it_gives_and_keeps_the_others(register, catalog, engine):
    register.import_document(VALID, catalog)
    before = table_definition(engine)
    newcomer = new_organization()
    roles = [{"code": "DAGL", "person": PERSON_B}, {"code": "REGN", "organization": FIRM}]
    large = document(org(ORG, roles), org(newcomer, roles))
    # `rebuild_from=0`: imported as one of a million role assignments is (on PostgreSQL,
    # the table rebuilt with the roles it keeps and the new ones, and swapped in).
    summary = register.import_sections(sections_of(large), catalog, rebuild_from=0)
    assert summary == ImportSummary(2, 4)
    assert roles_of(register, PERSON, PERSON_A, ORG) == frozenset()
    assert roles_of(register, PERSON, PERSON_B, ORG) == frozenset({"DAGL"})
    assert roles_of(register, ORGANIZATION, FIRM, newcomer) == frozenset({"REGN"})
    assert roles_of(register, PERSON, PERSON_B, OTHER_ORG) == frozenset({"DAGL"})
    assert row_counts(engine) == (4, 5)
    assert table_definition(engine) == before
    # The table works as the old one did: its ids go on, its organisations' roles go with
    # them.
    register.import_document(document(org(OTHER_ORG, roles)), catalog)
    assert roles_of(register, ORGANIZATION, FIRM, OTHER_ORG) == frozenset({"REGN"})
    with engine.begin() as connection:
        connection.execute(delete(organizations).where(organizations.c.organization_number == ORG))
    assert row_counts(engine) == (3, 4)


def test_a_large_import_that_fails_while_applied_leaves_the_register_and_its_table(
    register, catalog, engine, monkeypatch
):
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL rebuilds the table")
    register.import_document(VALID, catalog)
    before = table_definition(engine)
    # Something else depends on the table, so the old table cannot be dropped for the new;
    # the import is told it can be, so that it fails at its very end.
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE VIEW held_roles AS SELECT * FROM role_assignments")
    monkeypatch.setattr(table_swap, "possible", lambda connection, table: True)
    large = document(org(ORG, [{"code": "DAGL", "person": PERSON_B}]), org(new_organization()))
    with pytest.raises(DBAPIError, match="depend"):
        register.import_sections(sections_of(large), catalog, rebuild_from=0)
    assert row_counts(engine) == (3, 5)
    assert roles_of(register, PERSON, PERSON_A, ORG) == frozenset({"DAGL", "LEDE"})
    assert table_definition(engine) == before
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP VIEW held_roles")


def test_a_large_import_into_a_table_a_view_reads_writes_in_place(register, catalog, engine):
    """A report's view over the role table is not dropped with it: the import writes in place
    (on PostgreSQL it would otherwise rebuild the table, and fail at its very end)."""
    register.import_document(VALID, catalog)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE VIEW held_roles AS SELECT * FROM role_assignments")
    try:
        large = document(org(ORG, [{"code": "DAGL", "person": PERSON_B}]))
        assert register.import_sections(sections_of(large), catalog, rebuild_from=0) == (
            ImportSummary(1, 1)
        )
        assert roles_of(register, PERSON, PERSON_B, ORG) == frozenset({"DAGL"})
        with engine.connect() as connection:
            held = connection.exec_driver_sql("SELECT count(*) FROM held_roles").scalar()
        assert held == row_counts(engine)[1]
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP VIEW held_roles")


def test_an_import_waits_for_another_write_to_the_register(register, catalog, engine):
    """Register writes go one at a time (`pdp.db.register_write_transaction`): two imports
    interleaving their writes to organisations and roles could deadlock."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's write lock, taken up front, already makes writers queue")
    finished = threading.Event()
    importing = threading.Thread(
        target=lambda: (register.import_document(VALID, catalog), finished.set())
    )
    with engine.begin() as other_write:
        other_write.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (REGISTER_LOCK,))
        importing.start()
        assert not finished.wait(0.5), "the import did not wait for the other write"
    importing.join(timeout=30)
    assert finished.is_set()
    assert row_counts(engine) == (3, 5)


# --- refused documents ----------------------------------------------------------------------


def test_invalid_person_number_is_reported_by_position(register, catalog):
    problems = refused(
        register,
        catalog,
        document(org(ORG), org(OTHER_ORG, [{"code": "DAGL", "person": "01039012345"}])),
    )
    assert problems == [
        Problem(
            "",
            "organizations[1].roles[0].person",
            "national identity number 01039012345 has invalid check digits",
        )
    ]


def test_invalid_organisation_number_is_reported_by_position(register, catalog):
    problems = refused(register, catalog, document(org(ORG), org("974760674")))
    assert problems == [
        Problem(
            "",
            "organizations[1].organization_number",
            "organisation number 974760674 has an invalid check digit",
        )
    ]


def test_invalid_organisation_holder_is_reported_by_position(register, catalog):
    problems = refused(
        register,
        catalog,
        document(
            org(
                ORG,
                [
                    {"code": "DAGL", "person": PERSON_A},
                    {"code": "REGN", "organization": "123456789"},
                ],
            )
        ),
    )
    assert problems == [
        Problem(
            "",
            "organizations[0].roles[1].organization",
            "organisation number 123456789 has an invalid check digit",
        )
    ]


def test_person_number_with_impossible_date_is_refused(register, catalog):
    # 31 February, with correct check digits.
    problems = refused(
        register, catalog, document(org(ORG, [{"code": "DAGL", "person": "31029012302"}]))
    )
    assert [p.path for p in problems] == ["organizations[0].roles[0].person"]
    assert "valid date of birth" in problems[0].problem


def test_unknown_role_code_is_refused(register, catalog):
    problems = refused(
        register, catalog, document(org(ORG, [{"code": "SJEF", "person": PERSON_A}]))
    )
    assert problems == [Problem("", "organizations[0].roles[0].code", "unknown role code 'SJEF'")]


def test_role_codes_are_case_sensitive(register, catalog):
    problems = refused(
        register, catalog, document(org(ORG, [{"code": "dagl", "person": PERSON_A}]))
    )
    assert problems == [Problem("", "organizations[0].roles[0].code", "unknown role code 'dagl'")]


def test_unknown_org_form_is_refused(register, catalog):
    problems = refused(register, catalog, document(org(ORG), org(OTHER_ORG, org_form="LTD")))
    assert problems == [Problem("", "organizations[1].org_form", "unknown organisation form 'LTD'")]


@pytest.mark.parametrize(
    "holder",
    [{"person": PERSON_A, "organization": FIRM}, {}],
    ids=["both", "neither"],
)
def test_role_needs_exactly_one_holder(register, catalog, holder):
    problems = refused(register, catalog, document(org(ORG, [{"code": "DAGL", **holder}])))
    assert problems == [
        Problem("", "organizations[0].roles[0]", "give exactly one of `person` or `organization`")
    ]


def test_organisation_twice_in_one_document_is_refused(register, catalog):
    problems = refused(register, catalog, document(org(ORG), org(OTHER_ORG), org(ORG)))
    assert problems == [
        Problem(
            "", "organizations[2].organization_number", f"{ORG} already appears at organizations[0]"
        )
    ]


def test_same_role_assignment_twice_is_refused(register, catalog):
    role = {"code": "DAGL", "person": PERSON_A}
    problems = refused(register, catalog, document(org(ORG, [role, dict(role)])))
    assert problems == [Problem("", "organizations[0].roles[1]", "duplicate role assignment")]


def test_every_problem_is_reported(register, catalog):
    problems = refused(
        register,
        catalog,
        document(
            org(ORG, [{"code": "SJEF", "person": PERSON_A}]),
            org(OTHER_ORG, org_form="LTD"),
        ),
    )
    assert {p.path for p in problems} == {
        "organizations[0].roles[0].code",
        "organizations[1].org_form",
    }


@pytest.mark.parametrize(
    ("doc", "path", "problem"),
    [
        ([], "", "the register must be a JSON object"),
        ({}, "organizations", "Missing data for required field"),
        ({"organizations": [], "extra": 1}, "extra", "unknown field"),
        (document({**org(ORG), "ceo": PERSON_A}), "organizations[0].ceo", "unknown field"),
        (
            document(org(ORG, [{"code": "DAGL", "person": int(PERSON_A)}])),
            "organizations[0].roles[0].person",
            "Not a valid string",
        ),
        (
            document({k: v for k, v in org(ORG).items() if k != "name"}),
            "organizations[0].name",
            "Missing data for required field",
        ),
    ],
    ids=["not an object", "no organizations", "unknown field", "unknown org field", "int", "name"],
)
def test_malformed_document_is_refused_with_position(register, catalog, doc, path, problem):
    assert refused(register, catalog, doc) == [Problem("", path, problem)]


# --- all or nothing -------------------------------------------------------------------------


def test_refused_document_stores_nothing_and_keeps_earlier_content(register, catalog, engine):
    register.import_document(VALID, catalog)
    before = row_counts(engine)
    newcomer = new_organization()
    with pytest.raises(RegisterImportError):
        register.import_document(
            document(
                org(ORG, [{"code": "INNH", "person": PERSON_B}]),  # would replace ORG's roles
                org(newcomer, [{"code": "DAGL", "person": PERSON_A}]),  # would be new
                org(OTHER_ORG, [{"code": "DAGL", "person": "01017012345"}]),  # bad
            ),
            catalog,
        )
    assert row_counts(engine) == before
    assert organization(register, newcomer) is None
    assert roles_of(register, PERSON, PERSON_A, ORG) == frozenset({"DAGL", "LEDE"})
    assert roles_of(register, PERSON, PERSON_B, ORG) == frozenset({"MEDL"})
    assert roles_of(register, PERSON, PERSON_B, OTHER_ORG) == frozenset({"DAGL"})


def test_register_import_error_message_names_every_position(register, catalog):
    with pytest.raises(RegisterImportError) as raised:
        register.import_document(document(org(ORG), org(ORG)), catalog)
    assert str(raised.value) == (
        "organizations[1].organization_number: 910459880 already appears at organizations[0]"
    )


# --- Altinn's identifiers: persons, party ids, system users ---------------------------------

ORG_PARTY, ORG_UUID = 50005545, "00000000-0000-0000-0005-000000005545"
PERSON_PARTY, PERSON_PARTY_UUID = 50002203, "00000000-0000-0000-0005-000000002203"
PERSON_UUID = "10000000-0000-0000-0005-000000002203"
USER = 20000095
SYSTEM = "47caea5b-a80b-4343-b1d3-31eb523a4e28"


def person(national_id: str, **identifiers: Any) -> dict[str, Any]:
    return {"national_id": national_id, **identifiers}


def system_user(uuid: str, owner: str, **more: Any) -> dict[str, Any]:
    return {"uuid": uuid, "owner": owner, **more}


def altinn_document() -> dict[str, Any]:
    """VALID with party ids for ORG, PERSON_A with every identifier, and a system user of ORG."""
    doc = json.loads(json.dumps(VALID))
    doc["organizations"][0].update(party_id=ORG_PARTY, party_uuid=ORG_UUID)
    doc["persons"] = [
        person(
            PERSON_A,
            name="PAULA RIMSTAD",
            user_id=USER,
            party_id=PERSON_PARTY,
            party_uuid=PERSON_PARTY_UUID,
            person_uuid=PERSON_UUID,
        ),
        person(PERSON_B),
    ]
    doc["system_users"] = [system_user(SYSTEM, ORG, name="Regnskapssystem")]
    return doc


PAULA = Person(
    PERSON_A,
    name="PAULA RIMSTAD",
    user_id=USER,
    person_uuid=PERSON_UUID,
    party_id=PERSON_PARTY,
    party_uuid=PERSON_PARTY_UUID,
)
ORSTA = Organization(
    ORG, "ØRSTA OG HEGGEDAL REGNSKAP AS", "AS", party_id=ORG_PARTY, party_uuid=ORG_UUID
)


def test_import_counts_persons_and_system_users(register, catalog):
    assert register.import_document(altinn_document(), catalog) == ImportSummary(3, 5, 2, 1)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("national_id", PERSON_A),
        ("user_id", USER),
        ("party_id", PERSON_PARTY),
        ("party_uuid", PERSON_PARTY_UUID),
        ("person_uuid", PERSON_UUID),
    ],
)
def test_a_person_is_found_by_each_of_their_identifiers(register, catalog, key, value):
    register.import_document(altinn_document(), catalog)
    assert register.persons_by(key, [value]) == {value: PAULA}


@pytest.mark.parametrize(
    ("key", "value"),
    [("organization_number", ORG), ("party_id", ORG_PARTY), ("party_uuid", ORG_UUID)],
)
def test_an_organisation_is_found_by_each_of_its_identifiers(register, catalog, key, value):
    register.import_document(altinn_document(), catalog)
    assert register.organizations_by(key, [value]) == {value: ORSTA}


def test_a_party_id_or_uuid_names_an_organisation_or_a_person(register, catalog):
    register.import_document(altinn_document(), catalog)
    assert register.parties_by("party_id", [ORG_PARTY, PERSON_PARTY]) == {
        ORG_PARTY: ORSTA,
        PERSON_PARTY: PAULA,
    }
    assert register.parties_by("party_uuid", [ORG_UUID, PERSON_PARTY_UUID]) == {
        ORG_UUID: ORSTA,
        PERSON_PARTY_UUID: PAULA,
    }
    assert ORSTA.subject == Subject(ORGANIZATION, ORG)
    assert PAULA.subject == Subject(PERSON, PERSON_A)


def test_a_system_user_is_found_by_its_uuid_with_its_owner(register, catalog):
    register.import_document(altinn_document(), catalog)
    found = register.system_users_by_uuid([SYSTEM])[SYSTEM]
    assert found == SystemUser(SYSTEM, ORG, "Regnskapssystem")
    assert found.subject == Subject(SYSTEM_USER, SYSTEM)


def test_identifiers_not_given_are_none(register, catalog):
    register.import_document(altinn_document(), catalog)
    assert register.persons_by("national_id", [PERSON_B]) == {PERSON_B: Person(PERSON_B)}
    assert organization(register, OTHER_ORG) == Organization(OTHER_ORG, "Y NUF", "NUF")
    # A role holder who is not among the persons is not a person the register knows.
    assert register.persons_by("national_id", [FIRM]) == {FIRM: None}


@pytest.mark.parametrize(
    ("lookup", "values"),
    [
        ("persons_by national_id", [new_person(), 2056260016, None]),
        ("persons_by user_id", [1, -1, 2**64, "20000095", 20000095.0, True]),
        ("persons_by party_id", [ORG_PARTY, 0]),
        ("persons_by party_uuid", [ORG_UUID, "E2EBA2C3-B369-4FF9-8418-99A810D6BB58", ""]),
        ("persons_by person_uuid", [PERSON_PARTY_UUID, SYSTEM]),
        ("organizations_by organization_number", [new_organization(), PERSON_A, 910459880]),
        ("organizations_by party_id", [PERSON_PARTY, 2**63]),
        ("organizations_by party_uuid", [PERSON_PARTY_UUID, ORG]),
        ("parties_by party_id", [1, "50005545", 2**70]),
        ("parties_by party_uuid", [SYSTEM, PERSON_UUID, ORG]),
    ],
)
def test_what_names_no_one_is_none_never_an_error(register, catalog, lookup, values):
    register.import_document(altinn_document(), catalog)
    method, *key = lookup.split()
    assert getattr(register, method)(*key, values) == {value: None for value in values}


def test_an_unknown_system_user_is_none(register, catalog):
    register.import_document(altinn_document(), catalog)
    unknown = "00000000-0000-0000-0000-0000000000ff"
    assert register.system_users_by_uuid([unknown, SYSTEM.upper(), 7]) == {
        unknown: None,
        SYSTEM.upper(): None,
        7: None,
    }


def test_lookups_of_nothing_are_empty(register, catalog):
    register.import_document(altinn_document(), catalog)
    assert register.persons_by("user_id", []) == {}
    assert register.organizations_by("party_id", []) == {}
    assert register.parties_by("party_uuid", []) == {}
    assert register.system_users_by_uuid([]) == {}


def test_reimporting_replaces_a_persons_and_an_organisations_identifiers(register, catalog):
    register.import_document(altinn_document(), catalog)
    register.import_document(
        {
            "organizations": [org(ORG, name="NY AS")],
            "persons": [person(PERSON_A, party_id=ORG_PARTY)],
        },
        catalog,
    )
    # ORG gave up its party id, and PERSON_A took it: both records are replaced whole.
    assert organization(register, ORG) == Organization(ORG, "NY AS", "AS")
    assert register.persons_by("national_id", [PERSON_A])[PERSON_A] == Person(
        PERSON_A, party_id=ORG_PARTY
    )
    assert register.parties_by("party_id", [ORG_PARTY, PERSON_PARTY]) == {
        ORG_PARTY: Person(PERSON_A, party_id=ORG_PARTY),
        PERSON_PARTY: None,
    }
    assert register.persons_by("user_id", [USER]) == {USER: None}


def test_reimporting_a_system_user_replaces_it(register, catalog):
    register.import_document(altinn_document(), catalog)
    register.import_document(
        {"organizations": [], "system_users": [system_user(SYSTEM, OTHER_ORG)]}, catalog
    )
    assert register.system_users_by_uuid([SYSTEM])[SYSTEM] == SystemUser(SYSTEM, OTHER_ORG)


def test_reimporting_an_organisation_keeps_its_system_users_and_others_identifiers(
    register, catalog
):
    register.import_document(altinn_document(), catalog)
    register.import_document(document(org(ORG, party_id=ORG_PARTY)), catalog)
    assert register.system_users_by_uuid([SYSTEM])[SYSTEM].owner == ORG
    assert register.persons_by("user_id", [USER]) == {USER: PAULA}


def test_a_system_users_owner_may_be_in_the_register_already(register, catalog):
    register.import_document(VALID, catalog)
    summary = register.import_document(
        {"organizations": [], "system_users": [system_user(SYSTEM, FIRM)]}, catalog
    )
    assert summary == ImportSummary(0, 0, 0, 1)


@pytest.mark.parametrize(
    ("change", "path", "problem"),
    [
        (
            {"persons": [person(PERSON_A), person(PERSON_B), person(PERSON_A)]},
            "persons[2].national_id",
            f"{PERSON_A} already appears at persons[0]",
        ),
        (
            {"system_users": [system_user(SYSTEM, ORG), system_user(SYSTEM, FIRM)]},
            "system_users[1].uuid",
            f"{SYSTEM} already appears at system_users[0]",
        ),
        (
            {"persons": [person(PERSON_A), person(PERSON_B, party_id=ORG_PARTY)]},
            "persons[1].party_id",
            f"{ORG_PARTY} is also organizations[0].party_id",
        ),
        (
            {"persons": [person(PERSON_B, party_uuid=ORG_UUID)]},
            "persons[0].party_uuid",
            f"{ORG_UUID} is also organizations[0].party_uuid",
        ),
        (
            {"persons": [person(PERSON_A, user_id=USER), person(PERSON_B, user_id=USER)]},
            "persons[1].user_id",
            f"{USER} is also persons[0].user_id",
        ),
        (
            {
                "persons": [
                    person(PERSON_A, person_uuid=PERSON_UUID),
                    person(PERSON_B, person_uuid=PERSON_UUID),
                ]
            },
            "persons[1].person_uuid",
            f"{PERSON_UUID} is also persons[0].person_uuid",
        ),
    ],
    ids=["national id", "system user", "party id", "party uuid", "user id", "person uuid"],
)
def test_an_identifier_given_twice_in_a_document_is_refused_naming_both(
    register, catalog, change, path, problem
):
    doc = document(org(ORG, party_id=ORG_PARTY, party_uuid=ORG_UUID), org(FIRM))
    assert refused(register, catalog, {**doc, **change}) == [Problem("", path, problem)]


def test_a_party_id_given_to_two_organisations_is_refused(register, catalog):
    doc = document(org(ORG, party_id=ORG_PARTY), org(FIRM, party_id=ORG_PARTY))
    assert refused(register, catalog, doc) == [
        Problem("", "organizations[1].party_id", f"{ORG_PARTY} is also organizations[0].party_id")
    ]


def test_a_persons_party_uuid_may_be_their_person_uuid(register, catalog):
    same = PERSON_PARTY_UUID
    doc = {
        "organizations": [],
        "persons": [person(PERSON_A, party_uuid=same, person_uuid=same)],
    }
    assert register.import_document(doc, catalog) == ImportSummary(0, 0, 1, 0)


@pytest.mark.parametrize(
    ("later", "path", "problem"),
    [
        (
            {"organizations": [org(OTHER_ORG, party_id=PERSON_PARTY)]},
            "organizations[0].party_id",
            f"{PERSON_PARTY} is already the party id of person {PERSON_A} in the register",
        ),
        (
            {"organizations": [], "persons": [person(PERSON_B, party_uuid=ORG_UUID)]},
            "persons[0].party_uuid",
            f"{ORG_UUID} is already the party uuid of organisation {ORG} in the register",
        ),
        (
            {"organizations": [], "persons": [person(PERSON_B, user_id=USER)]},
            "persons[0].user_id",
            f"{USER} is already the user id of person {PERSON_A} in the register",
        ),
        (
            {"organizations": [], "persons": [person(PERSON_B, person_uuid=PERSON_UUID)]},
            "persons[0].person_uuid",
            f"{PERSON_UUID} is already the person uuid of person {PERSON_A} in the register",
        ),
    ],
    ids=["party id", "party uuid", "user id", "person uuid"],
)
def test_an_identifier_the_register_gives_to_another_is_refused(
    register, catalog, engine, later, path, problem
):
    register.import_document(altinn_document(), catalog)
    assert refused(register, catalog, later) == [Problem("", path, problem)]
    assert register.persons_by("national_id", [PERSON_A]) == {PERSON_A: PAULA}
    assert organization(register, ORG) == ORSTA


def test_an_identifier_of_an_entry_the_document_replaces_may_move(register, catalog):
    """The party id of PERSON_A moves to PERSON_B, in a document that replaces both."""
    register.import_document(altinn_document(), catalog)
    register.import_document(
        {
            "organizations": [],
            "persons": [person(PERSON_A), person(PERSON_B, party_id=PERSON_PARTY)],
        },
        catalog,
    )
    assert register.parties_by("party_id", [PERSON_PARTY]) == {
        PERSON_PARTY: Person(PERSON_B, party_id=PERSON_PARTY)
    }


def test_a_system_user_whose_owner_is_nowhere_is_refused(register, catalog):
    register.import_document(VALID, catalog)
    stranger = new_organization()
    problems = refused(
        register,
        catalog,
        {
            "organizations": [org(stranger)],
            "system_users": [
                system_user(SYSTEM, stranger),
                system_user("e2eba2c3-b369-4ff9-8418-99a810d6bb58", "314242726"),
            ],
        },
    )
    assert problems == [
        Problem(
            "",
            "system_users[1].owner",
            "organisation 314242726 is not in the register (nor in this document)",
        )
    ]


@pytest.mark.parametrize(
    ("entry", "path"),
    [
        ({"organizations": [org(ORG, party_uuid=SYSTEM.upper())]}, "organizations[0].party_uuid"),
        (
            {"organizations": [], "persons": [person(PERSON_A, party_uuid="50002203")]},
            "persons[0].party_uuid",
        ),
        (
            {"organizations": [], "persons": [person(PERSON_A, person_uuid="{" + SYSTEM + "}")]},
            "persons[0].person_uuid",
        ),
        (
            {"organizations": [org(ORG)], "system_users": [system_user(SYSTEM[:-1], ORG)]},
            "system_users[0].uuid",
        ),
    ],
    ids=["upper case", "a number", "braces", "short"],
)
def test_a_uuid_not_in_canonical_form_is_refused(register, catalog, entry, path):
    [problem] = refused(register, catalog, entry)
    assert problem.path == path
    assert "lower-case hex digits as 8-4-4-4-12" in problem.problem


@pytest.mark.parametrize(
    ("entry", "path", "problem"),
    [
        (person(PERSON_A, user_id="20000095"), "persons[0].user_id", "Not a valid integer"),
        (person(PERSON_A, party_id=0), "persons[0].party_id", "Must be greater than or equal to 1"),
        (person(PERSON_A, party_id=2**63), "persons[0].party_id", "Must be greater than or equal"),
        (person(PERSON_A, name=""), "persons[0].name", "Length must be between 1 and 500"),
        (person(PERSON_A, ssn=PERSON_A), "persons[0].ssn", "unknown field"),
        ({"name": "X"}, "persons[0].national_id", "Missing data for required field"),
    ],
    ids=["string id", "zero", "too large", "empty name", "unknown field", "no national id"],
)
def test_a_malformed_person_is_refused_with_position(register, catalog, entry, path, problem):
    [found] = refused(register, catalog, {"organizations": [], "persons": [entry]})
    assert found.path == path
    assert found.problem.startswith(problem)


def test_a_malformed_system_user_is_refused_with_position(register, catalog):
    problems = refused(
        register, catalog, {"organizations": [org(ORG)], "system_users": [{"uuid": SYSTEM}]}
    )
    assert problems == [Problem("", "system_users[0].owner", "Missing data for required field")]


def test_identifiers_of_persons_and_owners_are_checked(register, catalog):
    problems = refused(
        register,
        catalog,
        {
            "organizations": [org(ORG)],
            "persons": [person("01039012345")],
            "system_users": [system_user(SYSTEM, "897069651")],
        },
    )
    assert problems == [
        Problem(
            "",
            "persons[0].national_id",
            "national identity number 01039012345 has invalid check digits",
        ),
        Problem(
            "",
            "system_users[0].owner",
            "organisation number 897069651 has an invalid check digit",
        ),
        Problem(
            "",
            "system_users[0].owner",
            "organisation 897069651 is not in the register (nor in this document)",
        ),
    ]


def test_without_check_digits_altinns_test_identifiers_import(register, catalog):
    """`PDP_IDENTIFIER_CHECK_DIGITS=false`: Altinn's test parties with wrong check digits."""
    doc = {
        "organizations": [
            org(
                "897069651",
                [{"code": "DAGL", "person": "01039012345"}],
                org_form="BEDR",
                party_id=500001,
            )
        ],
        "persons": [person("01039012345", user_id=1337, party_id=501337)],
        "system_users": [system_user(SYSTEM, "897069651")],
    }
    relaxed = IdentifierRules(check_digits=False)
    assert register.import_document(doc, catalog, relaxed) == ImportSummary(1, 1, 1, 1)
    assert roles_of(register, PERSON, "01039012345", "897069651") == frozenset({"DAGL"})
    assert register.parties_by("party_id", [500001])[500001].organization_number == "897069651"
    # ...and the same document with check digits checked (the default) is refused.
    assert {p.path for p in refused(register, catalog, doc)} == {
        "organizations[0].organization_number",
        "organizations[0].roles[0].person",
        "persons[0].national_id",
        "system_users[0].owner",
    }


def test_without_check_digits_lengths_still_count(register, catalog):
    relaxed = IdentifierRules(check_digits=False)
    with pytest.raises(RegisterImportError) as raised:
        register.import_document(document(org("89706965")), catalog, relaxed)
    assert [p.path for p in raised.value.problems] == ["organizations[0].organization_number"]


def test_a_refused_document_leaves_persons_and_system_users_as_they_were(register, catalog, engine):
    register.import_document(altinn_document(), catalog)
    with pytest.raises(RegisterImportError):
        register.import_document(
            {
                "organizations": [org(ORG)],
                "persons": [person(PERSON_A), person(PERSON_B, user_id=USER + 1)],
                "system_users": [system_user(SYSTEM, OTHER_ORG), system_user(SYSTEM, ORG)],
            },
            catalog,
        )
    assert register.persons_by("national_id", [PERSON_A]) == {PERSON_A: PAULA}
    assert register.persons_by("user_id", [USER + 1]) == {USER + 1: None}
    assert register.system_users_by_uuid([SYSTEM])[SYSTEM].owner == ORG
    assert organization(register, ORG) == ORSTA


def test_the_example_register_knows_altinns_identifiers(register, catalog):
    doc = json.loads((EXAMPLES_DIR / "register.json").read_text(encoding="utf-8"))
    register.import_document(doc, catalog)
    assert register.parties_by("party_id", [50005545])[50005545].organization_number == ORG
    paula = register.persons_by("user_id", [20000095])[20000095]
    assert (paula.national_id, paula.party_id) == ("02056260016", 50002203)
    assert register.system_users_by_uuid([SYSTEM])[SYSTEM].owner == "910459880"

"""The register: importing organisations and ER role holders, and reading them back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from pdp.catalog import Catalog
from pdp.db import organizations, role_assignments
from pdp.errors import Problem, RegisterImportError
from pdp.register import ORGANIZATION, PERSON, ImportSummary, Organization, Register
from pdp.subjects import Subject
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
    number: str, roles: list[dict[str, str]] | None = None, org_form: str = "AS", name: str = "X AS"
) -> dict[str, Any]:
    return {
        "organization_number": number,
        "name": name,
        "org_form": org_form,
        "roles": roles or [],
    }


def document(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"organizations": list(entries)}


def refused(register: Register, catalog: Catalog, doc: Any) -> list[Problem]:
    with pytest.raises(RegisterImportError) as raised:
        register.import_document(doc, catalog)
    return raised.value.problems


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
    assert register.roles_held(PERSON, PERSON_A, ORG) == frozenset({"DAGL", "LEDE"})
    assert register.roles_held(PERSON, PERSON_B, ORG) == frozenset({"MEDL"})
    assert register.roles_held(PERSON, PERSON_B, OTHER_ORG) == frozenset({"DAGL"})
    assert register.roles_held(PERSON, PERSON_A, OTHER_ORG) == frozenset()


def test_roles_held_by_an_organisation(register, catalog):
    register.import_document(VALID, catalog)
    assert register.roles_held(ORGANIZATION, FIRM, ORG) == frozenset({"REGN"})
    assert register.roles_held(ORGANIZATION, FIRM, OTHER_ORG) == frozenset()


def test_roles_held_distinguishes_person_from_organisation_holders(register, catalog):
    register.import_document(VALID, catalog)
    assert register.roles_held(ORGANIZATION, PERSON_A, ORG) == frozenset()
    assert register.roles_held(PERSON, FIRM, ORG) == frozenset()


def test_roles_held_is_empty_for_unknown_holders_and_parties(register, catalog):
    register.import_document(VALID, catalog)
    assert register.roles_held(PERSON, new_person(), ORG) == frozenset()
    assert register.roles_held(PERSON, PERSON_A, new_organization()) == frozenset()


def test_organization_lookup(register, catalog):
    register.import_document(VALID, catalog)
    assert register.organization(ORG) == Organization(ORG, "ØRSTA OG HEGGEDAL REGNSKAP AS", "AS")
    assert register.organization(OTHER_ORG) == Organization(OTHER_ORG, "Y NUF", "NUF")
    assert register.organization(new_organization()) is None


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
        (h, party): register.roles_held(h.kind, h.identifier, party) for h, party in holdings
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
    assert register.organization(number) == Organization(number, "UTEN ROLLER AS", "AS")


def test_example_register_imports(register, catalog):
    doc = json.loads((EXAMPLES_DIR / "register.json").read_text(encoding="utf-8"))
    assert register.import_document(doc, catalog) == ImportSummary(6, 14)
    assert register.roles_held(PERSON, "01025161013", "910493353") == frozenset({"DAGL"})
    assert register.roles_held(PERSON, "47827602783", "316289177") == frozenset({"KNUF"})
    assert register.roles_held(ORGANIZATION, "810418672", "910493353") == frozenset({"KOMP"})
    assert register.organization("316289177").org_form == "NUF"


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
    assert register.roles_held(PERSON, PERSON_A, last) == frozenset()
    assert register.roles_held(PERSON, PERSON_B, last) == frozenset({"LEDE"})


# --- re-import ------------------------------------------------------------------------------


def test_reimporting_an_organisation_replaces_its_roles_and_facts(register, catalog):
    register.import_document(VALID, catalog)
    register.import_document(
        document(org(ORG, [{"code": "DAGL", "person": PERSON_B}], org_form="ASA", name="NY ASA")),
        catalog,
    )
    assert register.roles_held(PERSON, PERSON_A, ORG) == frozenset()
    assert register.roles_held(PERSON, PERSON_B, ORG) == frozenset({"DAGL"})
    assert register.roles_held(ORGANIZATION, FIRM, ORG) == frozenset()
    assert register.organization(ORG) == Organization(ORG, "NY ASA", "ASA")


def test_reimport_leaves_organisations_not_in_the_document_alone(register, catalog):
    register.import_document(VALID, catalog)
    register.import_document(document(org(ORG)), catalog)
    assert register.roles_held(PERSON, PERSON_B, OTHER_ORG) == frozenset({"DAGL"})
    assert register.organization(FIRM) == Organization(FIRM, "FIRMA AS", "AS")


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
    assert register.organization(newcomer) is None
    assert register.roles_held(PERSON, PERSON_A, ORG) == frozenset({"DAGL", "LEDE"})
    assert register.roles_held(PERSON, PERSON_B, ORG) == frozenset({"MEDL"})
    assert register.roles_held(PERSON, PERSON_B, OTHER_ORG) == frozenset({"DAGL"})


def test_register_import_error_message_names_every_position(register, catalog):
    with pytest.raises(RegisterImportError) as raised:
        register.import_document(document(org(ORG), org(ORG)), catalog)
    assert str(raised.value) == (
        "organizations[1].organization_number: 910459880 already appears at organizations[0]"
    )

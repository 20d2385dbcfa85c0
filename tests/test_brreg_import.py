"""Importing Enhetsregisteret's bulk files (`pdp register import-brreg`): what lands in the
register, what is refused, and that a register file of the PDP's own format streams in parts."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from benchmarks.national_data import UNKNOWN_FORM, NationalData, Sizes
from pdp.db import organizations, role_assignments
from pdp.errors import RegisterImportError
from pdp.progress import LineProgress, Progress
from pdp.register_file import sections_in
from pdp.subjects import PERSON, Subject
from tests.helpers import new_organization, new_person

SMALL = Sizes(entities=600, sub_units=300, roles=1500, persons=400)


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> tuple[NationalData, dict[str, Path]]:
    data = NationalData.of(SMALL)
    return data, data.write(tmp_path_factory.mktemp("national"))


def write_entities(path: Path, entities: list[Any]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        json.dump(entities, stream)
    return path


def entity(number: str, form: str = "AS", **more: Any) -> dict[str, Any]:
    return {
        "organisasjonsnummer": number,
        "navn": f"FIRMA {number}",
        "organisasjonsform": {"kode": form, "beskrivelse": "..."},
        **more,
    }


def stored(pdp, number: str) -> tuple[str, str, str | None] | None:
    with pdp.database.connect() as connection:
        row = connection.execute(
            select(
                organizations.c.name,
                organizations.c.org_form,
                organizations.c.parent_organization_number,
            ).where(organizations.c.organization_number == number)
        ).first()
    return None if row is None else tuple(row)


def count(pdp, table) -> int:
    with pdp.database.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_the_synthetic_files_import_with_forms_main_units_and_deletions(pdp, national):
    data, paths = national
    summary = pdp.import_brreg([paths["enheter"], paths["underenheter"]])
    deleted = sum(data.deleted(i) for i in range(SMALL.entities)) + sum(
        data.deleted(i) for i in range(SMALL.sub_units)
    )
    unknown = sum(
        data.form_of(i)[0] == UNKNOWN_FORM and not data.deleted(i) for i in range(SMALL.entities)
    )
    assert summary.read == SMALL.entities + SMALL.sub_units
    # (the conftest register's organisations may be among the synthetic numbers: updated)
    assert summary.added + summary.updated == summary.read - deleted - unknown
    assert summary.deleted_absent == deleted
    sub_unit = data.sub_unit(0)
    assert stored(pdp, sub_unit["organisasjonsnummer"]) == (
        sub_unit["navn"],
        "BEDR",
        sub_unit["overordnetEnhet"],
    )
    main = data.entity(0)
    assert stored(pdp, main["organisasjonsnummer"]) == (main["navn"], "ENK", None)


def test_an_unknown_form_is_counted_and_skipped_not_fatal(pdp, tmp_path):
    known, odd = new_organization(), new_organization()
    path = write_entities(tmp_path / "e.json.gz", [entity(known), entity(odd, form="ZZZ")])
    summary = pdp.import_brreg([path])
    assert summary.unknown_forms == {"ZZZ": 1}
    assert summary.added == 1
    assert stored(pdp, odd) is None


def test_reimport_updates_name_and_form_and_keeps_roles(pdp, register_facts, tmp_path):
    number = register_facts.as_org
    holder = register_facts.as_holders["DAGL"]
    path = write_entities(tmp_path / "e.json.gz", [entity(number, form="ASA", navn="NYTT NAVN")])
    summary = pdp.import_brreg([path])
    assert (summary.added, summary.updated) == (0, 1)
    assert stored(pdp, number) == ("NYTT NAVN", "ASA", None)
    holding = (Subject(PERSON, holder), number)
    assert pdp.register.roles_held_by([holding])[holding] == {"DAGL"}


def test_a_deleted_entity_is_removed_with_the_roles_in_it_and_held_by_it(
    pdp, register_facts, tmp_path
):
    firm = register_facts.firm  # holds REGN in register_facts.as_org
    as_org = register_facts.as_org
    path = write_entities(
        tmp_path / "e.json.gz",
        [entity(firm, slettedato="2024-06-01"), entity(as_org, slettedato="2024-06-01")],
    )
    summary = pdp.import_brreg([path])
    assert summary.removed == 2
    assert stored(pdp, firm) is None and stored(pdp, as_org) is None
    with pdp.database.connect() as connection:
        left = connection.execute(
            select(func.count())
            .select_from(role_assignments)
            .where(
                (role_assignments.c.organization_number.in_([firm, as_org]))
                | (role_assignments.c.holder_id.in_([firm, as_org]))
            )
        ).scalar_one()
    assert left == 0


def test_a_bad_entity_refuses_the_whole_import_naming_file_and_position(pdp, tmp_path):
    good = new_organization()
    path = write_entities(
        tmp_path / "enheter.json.gz",
        [entity(good), entity("974760674"), {"organisasjonsnummer": new_organization()}],
    )
    before = count(pdp, organizations)
    with pytest.raises(RegisterImportError) as raised:
        pdp.import_brreg([path])
    messages = [str(problem) for problem in raised.value.problems]
    assert messages == [
        "enheter.json.gz: [1].organisasjonsnummer: "
        "organisation number 974760674 has an invalid check digit",
        "enheter.json.gz: [2].navn: a name is required",
        "enheter.json.gz: [2].organisasjonsform.kode: an organisation form code is required",
        "nothing was imported",
    ]
    assert count(pdp, organizations) == before
    assert stored(pdp, good) is None


def test_a_number_given_twice_across_files_is_refused(pdp, tmp_path):
    twice = new_organization()
    first = write_entities(tmp_path / "enheter.json.gz", [entity(twice)])
    second = write_entities(tmp_path / "underenheter.json.gz", [entity(twice, form="BEDR")])
    with pytest.raises(RegisterImportError) as raised:
        pdp.import_brreg([first, second])
    assert str(raised.value.problems[0]) == (
        f"underenheter.json.gz: [0].organisasjonsnummer: {twice} already appears at "
        "enheter.json.gz[0]"
    )


@pytest.mark.parametrize(
    "content", [b'{"enheter": []}', b"[{]", b""], ids=["object", "broken", "empty"]
)
def test_a_file_that_is_no_json_array_is_refused(pdp, tmp_path, content):
    path = tmp_path / "enheter.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"enheter\.json is not a JSON array of entities"):
        pdp.import_brreg([path])


def test_plain_progress_lines_name_each_step(pdp, tmp_path):
    path = write_entities(tmp_path / "enheter.json.gz", [entity(new_organization())])
    stream = io.StringIO()
    pdp.import_brreg([path], LineProgress(stream))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "reading enheter.json.gz ..."
    assert lines[1].startswith("reading enheter.json.gz: 1 entities read (")
    assert lines[-1].startswith("checking and storing: 1 added, 0 updated, 0 removed (")


def test_progress_is_a_bar_only_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert type(Progress.for_stream(Terminal())).__name__ == "BarProgress"
    assert type(Progress.for_stream(io.StringIO())) is LineProgress


# --- the register's own format, streamed --------------------------------------------------


def test_the_synthetic_role_file_streams_in_parts(pdp, national):
    data, paths = national
    pdp.import_brreg([paths["enheter"], paths["underenheter"]])
    summary = pdp.register.import_sections(
        sections_in(paths["roller"]), pdp.active_policy_set().catalog, chunk=97
    )
    assert summary.role_assignments == SMALL.roles
    index = next(
        i for i in range(SMALL.entities) if data.form_of(i)[0] == "AS" and data.has_roles(i)
    )
    [dagl, *_] = data.roles_of(index)
    holding = (Subject(PERSON, dagl["person"]), data.entities[index])
    assert "DAGL" in pdp.register.roles_held_by([holding])[holding]
    number, _ = data.sub_unit(1)["organisasjonsnummer"], None
    assert stored(pdp, number)[2] == data.sub_unit(1)["overordnetEnhet"]


def test_an_organisation_given_twice_in_different_parts_is_refused(pdp, tmp_path):
    twice = new_organization()
    entries = [
        {"organization_number": n, "name": "X AS", "org_form": "AS"}
        for n in (twice, new_organization(), new_organization(), twice)
    ]
    path = tmp_path / "register.json"
    path.write_text(json.dumps({"organizations": entries}))
    with pytest.raises(RegisterImportError) as raised:
        pdp.register.import_sections(sections_in(path), pdp.active_policy_set().catalog, chunk=2)
    assert [str(p) for p in raised.value.problems] == [
        f"organizations[3].organization_number: {twice} already appears at organizations[0]"
    ]


def test_a_problem_in_a_later_part_names_its_position_in_the_whole_file(pdp, tmp_path):
    entries = [
        {
            "organization_number": new_organization(),
            "name": "X AS",
            "org_form": "AS",
            "roles": [{"code": "DAGL", "person": new_person()}],
        }
        for _ in range(5)
    ]
    entries[4]["roles"][0]["code"] = "SJEF"
    path = tmp_path / "register.json.gz"
    with gzip.open(path, "wt") as stream:
        json.dump({"organizations": entries}, stream)
    with pytest.raises(RegisterImportError) as raised:
        pdp.register.import_sections(sections_in(path), pdp.active_policy_set().catalog, chunk=2)
    assert [str(p) for p in raised.value.problems] == [
        "organizations[4].roles[0].code: unknown role code 'SJEF'"
    ]
    assert stored(pdp, entries[0]["organization_number"]) is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "the register must be a JSON object"),
        ({"organizations": [], "extra": 1}, "extra: unknown field"),
        ({"persons": []}, "organizations: Missing data for required field"),
        ({"organizations": {}}, "organizations: Not a valid list"),
    ],
)
def test_a_register_file_of_the_wrong_shape_is_refused(pdp, tmp_path, document, message):
    path = tmp_path / "register.json"
    path.write_text(json.dumps(document))
    with pytest.raises(RegisterImportError) as raised:
        pdp.import_register_file(path)
    assert [str(p) for p in raised.value.problems] == [message]


def test_a_broken_national_file_lists_a_hundred_problems_and_counts_the_rest(pdp, tmp_path):
    entries = [{"organization_number": "123456789", "name": "X", "org_form": "AS"}] * 250
    path = tmp_path / "register.json"
    path.write_text(json.dumps({"organizations": entries}))
    with pytest.raises(RegisterImportError) as raised:
        pdp.register.import_sections(sections_in(path), pdp.active_policy_set().catalog, chunk=60)
    problems = raised.value.problems
    assert len(problems) == 101
    assert str(problems[-1]) == "... and 399 more problems"

"""The policy source: what the shipped policies say, and how a bad source is refused."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pdp import catalog as catalog_module
from pdp.catalog import Catalog, package_urn_form
from pdp.errors import Problem, SourceError
from pdp.vocabulary import PACKAGE_URN_PREFIX
from tests.conftest import KEY_ROLES, NON_GRANTING_ROLES, POLICY_DIR

PACKAGES_FILE = "packages/integrasjoner.yaml"
API = "urn:altinn:accesspackage:programmeringsgrensesnitt"
API_NUF = "urn:altinn:accesspackage:programmeringsgrensesnittNUF"
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"


def refused(edit: Callable[[dict[str, Any]], object]) -> list[Problem]:
    """The problems `catalog.parse` reports for the shipped source after `edit`."""
    source = copy.deepcopy(catalog_module.read_source(POLICY_DIR))
    edit(source)
    with pytest.raises(SourceError) as raised:
        catalog_module.parse(source)
    return raised.value.problems


def packages(source: dict[str, Any]) -> list[dict[str, Any]]:
    return source[PACKAGES_FILE]["packages"]


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped policy directory."""
    return Path(shutil.copytree(POLICY_DIR, tmp_path / "policies"))


# --- the shipped policies -------------------------------------------------------------------


def test_shipped_policies_know_61_roles_and_46_org_forms(catalog: Catalog):
    assert len(catalog.roles) == 61
    assert len({role.code for role in catalog.roles}) == 61
    assert len(catalog.org_forms) == 46
    assert len({form.code for form in catalog.org_forms}) == 46


def test_shipped_roles_include_the_key_roles_and_the_non_granting_ones(catalog: Catalog):
    codes = {role.code for role in catalog.roles}
    assert set(KEY_ROLES) <= codes
    assert set(NON_GRANTING_ROLES) <= codes


def test_exactly_the_eight_key_roles_are_key_roles(catalog: Catalog):
    assert catalog.key_roles == frozenset(
        {"DAGL", "LEDE", "INNH", "DTSO", "DTPR", "KOMP", "BEST", "BOBE"}
    )
    assert catalog.key_roles == frozenset(KEY_ROLES)
    assert sorted(role.code for role in catalog.roles if role.key_role) == sorted(KEY_ROLES)
    assert not catalog.role("MEDL").key_role
    assert all(not catalog.role(code).key_role for code in NON_GRANTING_ROLES)


def roles_file(source: dict[str, Any]) -> list[dict[str, Any]]:
    return source["roles.yaml"]["roles"]


def role_index(code: str) -> int:
    roles = catalog_module.read_source(POLICY_DIR)["roles.yaml"]["roles"]
    return next(index for index, role in enumerate(roles) if role["code"] == code)


def test_key_role_defaults_to_false_and_follows_the_source():
    source = copy.deepcopy(catalog_module.read_source(POLICY_DIR))
    medl = role_index("MEDL")
    dagl = role_index("DAGL")
    assert "key_role" not in roles_file(source)[medl]
    roles_file(source)[medl]["key_role"] = True
    roles_file(source)[dagl]["key_role"] = False
    changed = catalog_module.parse(source)
    assert changed.key_roles == (frozenset(KEY_ROLES) - {"DAGL"}) | {"MEDL"}
    assert changed.role("MEDL").key_role is True
    assert changed.role("DAGL").key_role is False


@pytest.mark.parametrize("value", ["yes", "true", "false", 1, 0, None])
def test_key_role_must_be_a_yaml_boolean(value):
    index = role_index("DAGL")
    problems = refused(lambda s: roles_file(s)[index].__setitem__("key_role", value))
    assert [(p.file, p.path) for p in problems] == [("roles.yaml", f"roles[{index}].key_role")]


def test_shipped_policies_have_one_area_integrasjoner_with_three_packages(catalog: Catalog):
    assert [area.code for area in catalog.areas] == ["integrasjoner"]
    assert sorted(package.urn for package in catalog.packages) == sorted([API, API_NUF, EVENTS])
    assert {package.area for package in catalog.packages} == {"integrasjoner"}


@pytest.mark.parametrize("urn", [API, API_NUF, EVENTS])
def test_each_package_is_granted_to_exactly_the_eight_key_roles_and_is_delegable(
    catalog: Catalog, urn: str
):
    grants = catalog.package(urn).grants
    assert sorted(grant.role for grant in grants) == sorted(KEY_ROLES)
    assert all(grant.delegable for grant in grants)
    assert all(grant.package == urn for grant in grants)


def test_only_the_nuf_package_is_limited_to_nuf_organisations(catalog: Catalog):
    assert {grant.org_forms for grant in catalog.package(API_NUF).grants} == {("NUF",)}
    assert {grant.org_forms for grant in catalog.package(API).grants} == {()}
    assert {grant.org_forms for grant in catalog.package(EVENTS).grants} == {()}


def test_catalog_grants_are_every_package_grant(catalog: Catalog):
    assert len(catalog.grants) == 24
    assert set(catalog.grants) == {g for p in catalog.packages for g in p.grants}


def test_package_code_is_the_urn_without_its_prefix(catalog: Catalog):
    assert catalog.package(API_NUF).code == "programmeringsgrensesnittNUF"


def test_role_knows_its_request_values(catalog: Catalog):
    dagl = catalog.role("DAGL")
    assert dagl.rolecode_value == "dagl"
    assert dagl.ccr_value == "daglig-leder"


def test_catalog_keeps_the_source_it_was_parsed_from(catalog: Catalog):
    assert dict(catalog.source) == catalog_module.read_source(POLICY_DIR)


# --- role claims ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attribute_id", "value"),
    [
        ("urn:altinn:rolecode", "dagl"),
        ("urn:altinn:rolecode", "DAGL"),
        ("URN:ALTINN:ROLECODE", "Dagl"),
        ("urn:altinn:external-role:ccr", "daglig-leder"),
        ("urn:altinn:external-role:ccr", "DAGLIG-LEDER"),
        ("Urn:Altinn:External-Role:CCR", "Daglig-Leder"),
    ],
)
def test_role_code_for_resolves_request_claims_in_any_case(catalog, attribute_id, value):
    assert catalog.role_code_for(attribute_id, value) == "DAGL"


@pytest.mark.parametrize(
    ("attribute_id", "value"),
    [
        ("urn:altinn:rolecode", "sjef"),
        ("urn:altinn:external-role:ccr", "sjef"),
        ("urn:altinn:rolecode", "daglig-leder"),  # a CCR value under the legacy attribute
        ("urn:altinn:external-role:ccr", "dagl"),  # a legacy value under the CCR attribute
        ("urn:altinn:role", "dagl"),
        ("urn:altinn:rolecode:dagl", ""),
    ],
)
def test_role_code_for_returns_none_for_unknown_claims(catalog, attribute_id, value):
    assert catalog.role_code_for(attribute_id, value) is None


# --- refused sources: every problem names file, path and what is wrong ---------------------


def test_grant_to_unknown_role_code_is_refused():
    problems = refused(lambda s: packages(s)[1]["grants"][0]["roles"].append("SJEF"))
    assert problems == [
        Problem(PACKAGES_FILE, "packages[1].grants[0].roles[8]", "unknown role code 'SJEF'")
    ]


def test_role_codes_in_grants_are_case_sensitive():
    problems = refused(lambda s: packages(s)[0]["grants"][0]["roles"].__setitem__(0, "dagl"))
    assert problems == [
        Problem(PACKAGES_FILE, "packages[0].grants[0].roles[0]", "unknown role code 'dagl'")
    ]


def test_duplicate_package_urn_is_refused():
    problems = refused(lambda s: packages(s)[2].__setitem__("urn", API))
    assert problems == [Problem(PACKAGES_FILE, "packages[2].urn", f"duplicate package URN {API}")]


def test_package_urns_differing_only_in_case_are_duplicates():
    other_case = "urn:altinn:accesspackage:ProgrammeringsGrensesnitt"
    problems = refused(lambda s: packages(s)[2].__setitem__("urn", other_case))
    assert problems == [
        Problem(PACKAGES_FILE, "packages[2].urn", f"duplicate package URN {other_case}")
    ]


def test_duplicate_package_urn_in_another_area_file_is_refused():
    def add_area(source: dict[str, Any]) -> None:
        source["packages/tilgangsstyring.yaml"] = {
            "area": {
                "code": "tilgangsstyring",
                "name": "Tilgangsstyring",
                "description": "Andre pakker.",
            },
            "packages": [copy.deepcopy(packages(source)[0])],
        }

    assert refused(add_area) == [
        Problem("packages/tilgangsstyring.yaml", "packages[0].urn", f"duplicate package URN {API}")
    ]


def test_package_without_name_is_refused():
    problems = refused(lambda s: packages(s)[1].pop("name"))
    assert problems == [
        Problem(PACKAGES_FILE, "packages[1].name", "Missing data for required field")
    ]


def test_grant_without_delegable_is_refused():
    problems = refused(lambda s: packages(s)[0]["grants"][0].pop("delegable"))
    assert problems == [
        Problem(PACKAGES_FILE, "packages[0].grants[0].delegable", "Missing data for required field")
    ]


@pytest.mark.parametrize(
    "urn",
    [
        "urn:altinn:package:programmeringsgrensesnitt",
        "programmeringsgrensesnitt",
        "urn:altinn:accesspackage:",
        "urn:altinn:accesspackage:with space",
        "urn:altinn:accesspackage:wild*",
        "urn:altinn:accesspackage:-leading-dash",
    ],
)
def test_malformed_package_urn_is_refused(urn: str):
    problems = refused(lambda s: packages(s)[0].__setitem__("urn", urn))
    assert problems == [
        Problem(PACKAGES_FILE, "packages[0].urn", f"malformed package URN {urn}"),
    ]


@pytest.mark.parametrize("value", ["yes", "false", 1, "true"])
def test_delegable_must_be_a_yaml_boolean(value):
    problems = refused(lambda s: packages(s)[0]["grants"][0].__setitem__("delegable", value))
    assert [(p.file, p.path) for p in problems] == [
        (PACKAGES_FILE, "packages[0].grants[0].delegable")
    ]


def test_grant_limited_to_unknown_org_form_is_refused():
    problems = refused(
        lambda s: packages(s)[1]["grants"][0].__setitem__("org_forms", ["NUF", "XY"])
    )
    assert problems == [
        Problem(PACKAGES_FILE, "packages[1].grants[0].org_forms[1]", "unknown org form 'XY'")
    ]


def test_grant_naming_an_org_form_twice_is_refused():
    problems = refused(
        lambda s: packages(s)[1]["grants"][0].__setitem__("org_forms", ["NUF", "NUF"])
    )
    assert problems == [
        Problem(PACKAGES_FILE, "packages[1].grants[0].org_forms[1]", "duplicate org form NUF")
    ]


def test_duplicate_role_code_in_roles_file_is_refused():
    def duplicate_dagl(source: dict[str, Any]) -> None:
        source["roles.yaml"]["roles"].append(
            {
                "code": "DAGL",
                "name": "Daglig leder igjen",
                "urn": "urn:altinn:external-role:ccr:daglig-leder-igjen",
                "legacy_urn": "urn:altinn:rolecode:daglx",
            }
        )

    assert refused(duplicate_dagl) == [
        Problem("roles.yaml", "roles[61].code", "duplicate role code DAGL")
    ]


def test_duplicate_role_urns_are_refused():
    def copy_first_role(source: dict[str, Any]) -> None:
        roles = source["roles.yaml"]["roles"]
        roles.append({**roles[0], "code": "ZZZZ"})

    first = catalog_module.read_source(POLICY_DIR)["roles.yaml"]["roles"][0]
    assert refused(copy_first_role) == [
        Problem("roles.yaml", "roles[61].urn", f"duplicate URN {first['urn']}"),
        Problem("roles.yaml", "roles[61].legacy_urn", f"duplicate URN {first['legacy_urn']}"),
    ]


def test_duplicate_org_form_is_refused():
    def duplicate_as(source: dict[str, Any]) -> None:
        source["org_forms.yaml"]["org_forms"].append({"code": "AS", "name": "Aksjeselskap 2"})

    assert refused(duplicate_as) == [
        Problem("org_forms.yaml", "org_forms[46].code", "duplicate organisation form AS")
    ]


def test_granting_a_package_twice_to_the_same_role_is_refused():
    def grant_dagl_again(source: dict[str, Any]) -> None:
        packages(source)[2]["grants"].append({"roles": ["DAGL"], "delegable": False})

    assert refused(grant_dagl_again) == [
        Problem(
            PACKAGES_FILE,
            "packages[2].grants[1].roles[0]",
            "duplicate grant of this package to DAGL",
        )
    ]


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda s: packages(s)[0].__setitem__("colour", "blue"), "packages[0].colour"),
        (
            lambda s: packages(s)[0]["grants"][0].__setitem__("delegatable", True),
            "packages[0].grants[0].delegatable",
        ),
        (lambda s: s[PACKAGES_FILE]["area"].__setitem__("owner", "x"), "area.owner"),
        (lambda s: s[PACKAGES_FILE].__setitem__("version", 2), "version"),
    ],
    ids=["package", "grant", "area", "top level"],
)
def test_unknown_field_is_refused(edit, path):
    assert refused(edit) == [Problem(PACKAGES_FILE, path, "unknown field")]


def test_unknown_field_in_roles_file_is_refused():
    problems = refused(lambda s: s["roles.yaml"]["roles"][3].__setitem__("nmae", "x"))
    assert problems == [Problem("roles.yaml", "roles[3].nmae", "unknown field")]


def test_every_problem_in_a_source_is_reported_not_only_the_first():
    def break_twice(source: dict[str, Any]) -> None:
        packages(source)[0].pop("name")
        source["org_forms.yaml"]["org_forms"].append({"code": "AS", "name": "Aksjeselskap 2"})
        source["roles.yaml"]["roles"][0]["code"] = "x"

    problems = refused(break_twice)
    assert len(problems) == 3
    assert set(problems) == {
        Problem(PACKAGES_FILE, "packages[0].name", "Missing data for required field"),
        Problem("org_forms.yaml", "org_forms[46].code", "duplicate organisation form AS"),
        Problem("roles.yaml", "roles[0].code", "malformed role code x"),
    }


def test_package_file_that_is_not_a_mapping_is_refused():
    problems = refused(lambda s: s.__setitem__(PACKAGES_FILE, ["not", "a", "mapping"]))
    assert problems == [Problem(PACKAGES_FILE, "", "must be a mapping at the top level")]


def test_unexpected_file_in_source_is_refused():
    problems = refused(lambda s: s.__setitem__("notes.yaml", {}))
    assert problems == [Problem("notes.yaml", "", "unexpected file in policy source")]


def test_source_without_package_files_is_refused():
    problems = refused(lambda s: s.pop(PACKAGES_FILE))
    assert problems == [Problem("packages/", "", "no package files")]


def test_missing_roles_file_in_source_is_refused():
    assert refused(lambda s: s.pop("roles.yaml")) == [Problem("roles.yaml", "", "file not found")]


# --- refused policy directories -------------------------------------------------------------


def test_policy_directory_with_yaml_syntax_error_is_refused(policy_copy: Path):
    target = policy_copy / PACKAGES_FILE
    target.write_text(target.read_text(encoding="utf-8") + "  - urn: [unclosed\n", "utf-8")
    with pytest.raises(SourceError) as raised:
        catalog_module.load(policy_copy)
    [problem] = raised.value.problems
    assert (problem.file, problem.path) == (PACKAGES_FILE, "")
    assert problem.problem.startswith("not valid YAML:")
    assert "line" in problem.problem


def test_policy_directory_without_roles_file_is_refused(policy_copy: Path):
    (policy_copy / "roles.yaml").unlink()
    with pytest.raises(SourceError) as raised:
        catalog_module.load(policy_copy)
    assert raised.value.problems == [Problem("roles.yaml", "", "file not found")]


def test_missing_policy_directory_is_refused(tmp_path: Path):
    with pytest.raises(SourceError) as raised:
        catalog_module.load(tmp_path / "nowhere")
    assert raised.value.problems == [
        Problem(str(tmp_path / "nowhere"), "", "policy directory not found")
    ]


def test_edited_policy_directory_is_refused_with_file_and_path(policy_copy: Path):
    target = policy_copy / PACKAGES_FILE
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("[DAGL, LEDE,", "[DAGL, SJEF, LEDE,", 1), "utf-8")
    with pytest.raises(SourceError) as raised:
        catalog_module.load(policy_copy)
    assert raised.value.problems == [
        Problem(PACKAGES_FILE, "packages[0].grants[0].roles[1]", "unknown role code 'SJEF'")
    ]


def test_quoted_key_role_in_the_roles_file_is_refused(policy_copy: Path):
    target = policy_copy / "roles.yaml"
    text = target.read_text(encoding="utf-8")
    marked = '    legacy_urn: "urn:altinn:rolecode:dagl"\n    key_role: true\n'
    assert marked in text
    target.write_text(text.replace(marked, marked.replace("true", '"true"')), "utf-8")
    with pytest.raises(SourceError) as raised:
        catalog_module.load(policy_copy)
    assert [(p.file, p.path) for p in raised.value.problems] == [
        ("roles.yaml", f"roles[{role_index('DAGL')}].key_role")
    ]


def test_source_error_message_lists_every_problem():
    error = SourceError([Problem("a.yaml", "x[0]", "bad"), Problem("b.yaml", "", "worse")])
    assert str(error) == "a.yaml: x[0]: bad; b.yaml: worse"


def test_copied_policy_directory_loads_like_the_original(policy_copy: Path, catalog: Catalog):
    assert catalog_module.load(policy_copy) == catalog


@pytest.mark.parametrize(
    ("name", "urn"),
    [
        ("maskinlesbarehendelser", "urn:altinn:accesspackage:maskinlesbarehendelser"),
        (
            "URN:Altinn:AccessPackage:maskinlesbarehendelser",
            PACKAGE_URN_PREFIX + "maskinlesbarehendelser",
        ),
        # "ß" folds to "ss": the prefix must not swallow a character of the code
        ("urn:altinn:acce\u00dfpackage:Xmaskinlesbarehendelser", None),
        ("urn:altinn:acce\u00dfpackage:maskinlesbarehendelser", None),
        ("urn:altinn:accesspackage:", None),
        ("urn:altinn:accesspackage:ma\u017fkin", None),  # long s folds to s
    ],
)
def test_a_package_name_is_read_letter_for_letter(name, urn):
    assert package_urn_form(name) == urn


# --- service resources' policies ------------------------------------------------------------

API_POLICY = "resources/ttd-example-api/policy.xml"
EVENTS_POLICY = "resources/ttd-example-events/policy.xml"


def test_resource_policies_are_part_of_the_source_as_xml_text(catalog: Catalog):
    assert catalog.source[API_POLICY] == (POLICY_DIR / API_POLICY).read_text(encoding="utf-8")
    assert [policy.resource_id for policy in catalog.resources] == [
        "ttd-example-api",
        "ttd-example-events",
    ]
    assert catalog.resource("ttd-example-api").file == API_POLICY
    assert catalog.warnings == ()


def test_the_shipped_resource_policies_permit_with_an_authentication_level(catalog: Catalog):
    for policy in catalog.resources:
        [obligation] = policy.obligations
        [assignment] = obligation.assignments
        assert obligation.effect == "Permit"
        assert assignment.category == "urn:altinn:minimum-authenticationlevel"
    assert catalog.resource("ttd-example-api").actions() == ("read", "write")
    assert catalog.resource("ttd-example-events").actions() == ("publish", "read", "subscribe")


def test_a_source_without_resources_has_none(catalog: Catalog):
    source = {k: v for k, v in catalog.source.items() if not k.startswith("resources/")}
    assert catalog_module.parse(source).resources == ()


def test_an_unknown_access_package_in_a_resource_policy_is_an_error():
    def typo(source: dict[str, Any]) -> None:
        source[API_POLICY] = source[API_POLICY].replace(
            ">programmeringsgrensesnitt<", ">programeringsgrensesnitt<"
        )

    assert refused(typo) == [
        Problem(API_POLICY, "line 18", "unknown access package 'programeringsgrensesnitt'")
    ]


def test_a_package_named_by_urn_alias_or_code_in_any_case_is_known():
    source = copy.deepcopy(catalog_module.read_source(POLICY_DIR))
    packages(source)[2]["aliases"] = ["urn:altinn:accesspackage:hendelser"]
    for name in ("urn:altinn:accesspackage:hendelser", "HENDELSER", f"{EVENTS.upper()}"):
        edited = dict(source)
        edited[API_POLICY] = source[API_POLICY].replace(">programmeringsgrensesnitt<", f">{name}<")
        assert catalog_module.parse(edited).resource("ttd-example-api")


def test_an_unknown_role_is_a_warning_not_an_error():
    source = copy.deepcopy(catalog_module.read_source(POLICY_DIR))
    source[API_POLICY] = source[API_POLICY].replace(">dagl<", ">REGNA<")
    parsed = catalog_module.parse(source)
    assert parsed.warnings == (
        Problem(
            API_POLICY,
            "line 45",
            "unknown role code 'REGNA' (urn:altinn:rolecode): not an ER role of roles.yaml, so "
            "the register never supplies it",
        ),
    )


def test_a_malformed_resource_policy_is_refused_with_the_rest_of_the_source():
    def break_both(source: dict[str, Any]) -> None:
        source[API_POLICY] = source[API_POLICY].replace("</Rule>", "</Rul>", 1)
        del packages(source)[0]["name"]

    assert refused(break_both) == [
        Problem(PACKAGES_FILE, "packages[0].name", "Missing data for required field"),
        Problem(API_POLICY, "line 39", "not well-formed XML: mismatched tag"),
    ]


@pytest.mark.parametrize(
    "name",
    ["resources/TTD-X/policy.xml", "resources/ttd-x/Policy.xml", "resources/ttd-x.xml"],
)
def test_a_resource_file_not_named_as_altinn_names_resources_is_refused(name):
    def add(source: dict[str, Any]) -> None:
        source[name] = source[API_POLICY]

    [problem] = refused(add)
    assert (problem.file, problem.path) == (name, "")
    assert problem.problem.startswith("unexpected file: a resource's policy is resources/")


def test_a_resource_policy_that_is_not_text_is_refused():
    assert refused(lambda source: source.__setitem__(API_POLICY, {"Policy": {}})) == [
        Problem(API_POLICY, "", "must be the policy's XML text")
    ]


def test_a_directory_reads_its_resource_policies(policy_copy: Path, catalog: Catalog):
    assert catalog_module.read_source(policy_copy) == dict(catalog.source)


def test_a_resource_policy_over_the_size_limit_is_refused_unread(policy_copy: Path):
    (policy_copy / API_POLICY).write_bytes(b" " * (1024 * 1024 + 1))
    with pytest.raises(SourceError) as raised:
        catalog_module.read_source(policy_copy)
    assert raised.value.problems == [
        Problem(API_POLICY, "", "larger than 1048576 bytes (1048577 bytes): refused unread")
    ]


def test_misplaced_files_under_resources_are_refused(policy_copy: Path):
    (policy_copy / "resources/ttd-empty").mkdir()
    (policy_copy / "resources/ttd-example-api/notes.txt").write_text("x")
    (policy_copy / "resources/Bad_Id").mkdir()
    (policy_copy / "resources/Bad_Id/policy.xml").write_text("<x/>")
    with pytest.raises(SourceError) as raised:
        catalog_module.read_source(policy_copy)
    assert [(p.file, p.problem.split(":")[0]) for p in raised.value.problems] == [
        ("resources/Bad_Id/policy.xml", "unexpected file"),
        ("resources/ttd-empty", "no policy.xml"),
        ("resources/ttd-example-api/notes.txt", "unexpected file"),
    ]


def test_a_resource_policy_in_another_encoding_is_refused(policy_copy: Path):
    (policy_copy / API_POLICY).write_bytes("<x>ø</x>".encode("latin-1"))
    with pytest.raises(SourceError) as raised:
        catalog_module.read_source(policy_copy)
    [problem] = raised.value.problems
    assert problem.problem.startswith("not UTF-8")

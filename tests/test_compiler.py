"""Compiling the catalog's grants into py-abac policies."""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path

import pytest
from py_abac import Policy

from pdp import catalog as catalog_module
from pdp import compiler
from pdp.catalog import Catalog
from tests.conftest import KEY_ROLES, POLICY_DIR, PROJECT_ROOT

PACKAGE_CODES = (
    "maskinlesbarehendelser",
    "programmeringsgrensesnitt",
    "programmeringsgrensesnittNUF",
)
NUF_PACKAGE = "urn:altinn:accesspackage:programmeringsgrensesnittNUF"


@pytest.fixture(scope="module")
def policies(catalog: Catalog) -> list[dict]:
    return compiler.compile_catalog(catalog)


def by_uid(policies: list[dict]) -> dict[str, dict]:
    return {policy["uid"]: policy for policy in policies}


def test_every_grant_gives_an_access_and_a_delegate_policy(policies):
    assert len(policies) == 48
    expected = {
        f"grant:{package}:{role}:{action}"
        for package in PACKAGE_CODES
        for role in KEY_ROLES
        for action in ("access", "delegate")
    }
    assert {policy["uid"] for policy in policies} == expected


def test_uids_are_unique_and_policies_are_sorted_by_uid(policies):
    uids = [policy["uid"] for policy in policies]
    assert len(set(uids)) == len(uids)
    assert uids == sorted(uids)


def test_policy_for_a_grant_reads_like_the_grant(policies):
    policy = by_uid(policies)["grant:programmeringsgrensesnitt:DAGL:access"]
    assert policy == {
        "uid": "grant:programmeringsgrensesnitt:DAGL:access",
        "description": (
            "Daglig leder (DAGL) may access Programmeringsgrensesnitt (API) "
            "(urn:altinn:accesspackage:programmeringsgrensesnitt)"
        ),
        "effect": "allow",
        "priority": 0,
        "targets": {
            "subject_id": "*",
            "resource_id": "urn:altinn:accesspackage:programmeringsgrensesnitt",
            "action_id": "access",
        },
        "rules": {
            "subject": {"$.roles": {"condition": "AnyIn", "values": ["DAGL"]}},
            "resource": {},
            "action": {},
            "context": {},
        },
    }


@pytest.mark.parametrize("index", range(48))
def test_policy_round_trips_through_py_abac_unchanged(policies, index):
    policy = policies[index]
    assert Policy.from_json(copy.deepcopy(policy)).to_json() == policy


def test_targets_are_the_exact_package_urn_and_action(policies, catalog: Catalog):
    urns = {package.urn for package in catalog.packages}
    for policy in policies:
        _, code, role, action = policy["uid"].split(":")
        assert policy["targets"] == {
            "subject_id": "*",
            "resource_id": f"urn:altinn:accesspackage:{code}",
            "action_id": action,
        }
        assert policy["targets"]["resource_id"] in urns
        assert policy["rules"]["subject"] == {"$.roles": {"condition": "AnyIn", "values": [role]}}
        assert policy["effect"] == "allow"


def test_nuf_policies_require_the_nuf_organisation_form(policies):
    nuf = [p for p in policies if p["targets"]["resource_id"] == NUF_PACKAGE]
    assert len(nuf) == 16
    for policy in nuf:
        assert policy["rules"]["resource"] == {
            "$.org_form": {
                "condition": "AnyOf",
                "values": [{"condition": "Equals", "value": "NUF", "case_insensitive": False}],
            }
        }
        assert policy["description"].endswith(" for organisations of form NUF")


def test_other_policies_have_no_organisation_form_condition(policies):
    others = [p for p in policies if p["targets"]["resource_id"] != NUF_PACKAGE]
    assert len(others) == 32
    for policy in others:
        assert policy["rules"]["resource"] == {}
        assert "form" not in policy["description"]


def test_compiling_twice_gives_equal_policies_and_identical_bytes(catalog: Catalog):
    first = compiler.compile_catalog(catalog)
    second = compiler.compile_catalog(catalog_module.load(POLICY_DIR))
    assert first == second
    assert compiler.render(first) == compiler.render(second)


def test_render_is_canonical_json_of_the_policy_list(policies):
    rendered = compiler.render(policies)
    assert json.loads(rendered) == {"policies": policies}
    assert rendered.endswith(b"}\n")
    assert rendered == compiler.render(json.loads(rendered)["policies"])


def test_render_does_not_depend_on_key_order(policies):
    reordered = [dict(reversed(list(policy.items()))) for policy in policies]
    assert compiler.render(reordered) == compiler.render(policies)


def test_non_delegable_grant_gives_only_an_access_policy():
    source = copy.deepcopy(catalog_module.read_source(POLICY_DIR))
    grants = source["packages/integrasjoner.yaml"]["packages"][2]["grants"]
    grants[0]["roles"].remove("KOMP")
    grants.append({"roles": ["KOMP"], "delegable": False})
    policies = by_uid(compiler.compile_catalog(catalog_module.parse(source)))
    assert len(policies) == 47
    assert "grant:maskinlesbarehendelser:KOMP:access" in policies
    assert "grant:maskinlesbarehendelser:KOMP:delegate" not in policies
    assert "grant:maskinlesbarehendelser:DAGL:delegate" in policies


def test_grant_limited_to_several_forms_accepts_any_of_them():
    source = copy.deepcopy(catalog_module.read_source(POLICY_DIR))
    package = source["packages/integrasjoner.yaml"]["packages"][0]
    package["grants"][0]["org_forms"] = ["AS", "ASA"]
    policy = by_uid(compiler.compile_catalog(catalog_module.parse(source)))[
        "grant:programmeringsgrensesnitt:LEDE:delegate"
    ]
    assert policy["rules"]["resource"]["$.org_form"]["values"] == [
        {"condition": "Equals", "value": "AS", "case_insensitive": False},
        {"condition": "Equals", "value": "ASA", "case_insensitive": False},
    ]
    assert policy["description"].endswith(" for organisations of form AS, ASA")


def _role_literals(path: Path) -> list[str]:
    """String literals in `path` that are a key role code, in any case (`"DAGL"`, `"dagl"`)."""
    return sorted(
        node.value
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.strip().upper() in KEY_ROLES
    )


def test_no_module_of_the_package_names_a_key_role():
    """The role-to-package table lives only in policies/, never in code."""
    modules = sorted((PROJECT_ROOT / "pdp").rglob("*.py"))
    assert len(modules) > 10
    offenders = {
        str(module.relative_to(PROJECT_ROOT)): _role_literals(module) for module in modules
    }
    assert {module: found for module, found in offenders.items() if found} == {}


def test_role_literal_guard_finds_role_codes_but_not_prose(tmp_path: Path):
    module = tmp_path / "sample.py"
    module.write_text(
        '"""Example: {"code": "DAGL"}."""\n'
        'GRANTS = {"DAGL": ["x"], "lede": ["y"]}\n'
        'HELP = "roles held (e.g. DAGL)"\n',
        encoding="utf-8",
    )
    assert _role_literals(module) == ["DAGL", "lede"]

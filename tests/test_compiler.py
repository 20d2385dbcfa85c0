"""Compiling the catalog's grants into py-abac policies."""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path

import pytest
from py_abac import Policy
from py_abac.context import EvaluationContext
from py_abac.request import AccessRequest

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
API_PACKAGE = "urn:altinn:accesspackage:programmeringsgrensesnitt"
PACKAGES_FILE = "packages/integrasjoner.yaml"
#: Every grant policy (48) and one delegation policy per package (3).
POLICY_COUNT = 51


def org_form_rule(*forms: str) -> dict:
    """The resource rule limiting a policy to parties of these organisation forms."""
    return {
        "$.org_form": {
            "condition": "AnyOf",
            "values": [
                {"condition": "Equals", "value": form, "case_insensitive": False} for form in forms
            ],
        }
    }


def compiled(edit) -> dict[str, dict]:
    """The grant and delegation policies, by uid, compiled from the shipped source after
    `edit(packages)`."""
    source = copy.deepcopy(catalog_module.read_source(POLICY_DIR))
    edit(source[PACKAGES_FILE]["packages"])
    return by_uid(grant_policies(compiler.compile_catalog(catalog_module.parse(source))))


def grant_policies(policies: list[dict]) -> list[dict]:
    """The policies compiled from grants and delegable packages; those of resource policies
    are specified in tests/test_resource_compiler.py."""
    return [policy for policy in policies if not policy["uid"].startswith("resource:")]


def delegation_policies(policies) -> dict[str, dict]:
    return {uid: p for uid, p in by_uid(policies).items() if uid.startswith("delegation:")}


@pytest.fixture(scope="module")
def policies(catalog: Catalog) -> list[dict]:
    return grant_policies(compiler.compile_catalog(catalog))


def by_uid(policies: list[dict]) -> dict[str, dict]:
    return {policy["uid"]: policy for policy in policies}


def test_every_grant_gives_an_access_and_a_delegate_policy(policies):
    assert len(policies) == POLICY_COUNT
    expected = {
        f"grant:{package}:{role}:{action}"
        for package in PACKAGE_CODES
        for role in KEY_ROLES
        for action in ("access", "delegate")
    }
    assert {p["uid"] for p in policies if p["uid"].startswith("grant:")} == expected


def test_every_package_with_a_delegable_grant_gives_one_delegation_policy(policies):
    assert set(delegation_policies(policies)) == {
        f"delegation:{package}:access" for package in PACKAGE_CODES
    }
    assert len(policies) == 48 + len(PACKAGE_CODES)


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


@pytest.mark.parametrize("index", range(POLICY_COUNT))
def test_policy_round_trips_through_py_abac_unchanged(policies, index):
    policy = policies[index]
    assert Policy.from_json(copy.deepcopy(policy)).to_json() == policy


def test_delegation_policy_reads_like_the_delegation(policies):
    policy = by_uid(policies)["delegation:programmeringsgrensesnitt:access"]
    assert policy == {
        "uid": "delegation:programmeringsgrensesnitt:access",
        "description": (
            "Holders of a delegation of Programmeringsgrensesnitt (API) "
            "(urn:altinn:accesspackage:programmeringsgrensesnitt) may access it"
        ),
        "effect": "allow",
        "priority": 0,
        "targets": {
            "subject_id": "*",
            "resource_id": "urn:altinn:accesspackage:programmeringsgrensesnitt",
            "action_id": "access",
        },
        "rules": {
            "subject": {
                "$.delegated_packages": {
                    "condition": "AnyIn",
                    "values": ["urn:altinn:accesspackage:programmeringsgrensesnitt"],
                }
            },
            "resource": {},
            "action": {},
            "context": {},
        },
    }


def test_nuf_delegation_policy_is_limited_like_the_nuf_grants(policies):
    policy = by_uid(policies)["delegation:programmeringsgrensesnittNUF:access"]
    assert policy["targets"]["resource_id"] == NUF_PACKAGE
    assert policy["rules"]["subject"] == {
        "$.delegated_packages": {"condition": "AnyIn", "values": [NUF_PACKAGE]}
    }
    assert policy["rules"]["resource"] == org_form_rule("NUF")
    assert policy["description"] == (
        "Holders of a delegation of Programmeringsgrensesnitt NUF (API) "
        f"({NUF_PACKAGE}) may access it for organisations of form NUF"
    )


def test_targets_are_the_exact_package_urn_and_action(policies, catalog: Catalog):
    urns = {package.urn for package in catalog.packages}
    for policy in policies:
        kind, code, *rest = policy["uid"].split(":")
        urn = f"urn:altinn:accesspackage:{code}"
        if kind == "grant":
            role, action = rest
            subject_rule = {"$.roles": {"condition": "AnyIn", "values": [role]}}
        else:
            assert kind == "delegation"
            [action] = rest
            assert action == "access"  # a delegation never passes on the right to delegate
            subject_rule = {"$.delegated_packages": {"condition": "AnyIn", "values": [urn]}}
        assert policy["targets"] == {"subject_id": "*", "resource_id": urn, "action_id": action}
        assert policy["targets"]["resource_id"] in urns
        assert policy["rules"]["subject"] == subject_rule
        assert policy["rules"]["action"] == {}
        assert policy["rules"]["context"] == {}
        assert policy["effect"] == "allow"
        assert policy["priority"] == 0


def test_nuf_policies_require_the_nuf_organisation_form(policies):
    nuf = [p for p in policies if p["targets"]["resource_id"] == NUF_PACKAGE]
    assert len(nuf) == 17  # 8 access, 8 delegate, 1 delegation
    for policy in nuf:
        assert policy["rules"]["resource"] == org_form_rule("NUF")
        assert policy["description"].endswith(" for organisations of form NUF")


def test_other_policies_have_no_organisation_form_condition(policies):
    others = [p for p in policies if p["targets"]["resource_id"] != NUF_PACKAGE]
    assert len(others) == 34
    for policy in others:
        assert policy["rules"]["resource"] == {}
        assert "form" not in policy["description"]


def test_compiling_twice_gives_equal_policies_and_identical_bytes(catalog: Catalog):
    first = compiler.compile_catalog(catalog)
    second = compiler.compile_catalog(catalog_module.load(POLICY_DIR))
    assert first == second
    assert compiler.policies_json(first) == compiler.policies_json(second)


def test_render_is_canonical_json_of_the_policy_list(policies):
    rendered = compiler.policies_json(policies)
    assert json.loads(rendered) == {"policies": policies}
    assert rendered.endswith(b"}\n")
    assert rendered == compiler.policies_json(json.loads(rendered)["policies"])


def test_render_does_not_depend_on_key_order(policies):
    reordered = [dict(reversed(list(policy.items()))) for policy in policies]
    assert compiler.policies_json(reordered) == compiler.policies_json(policies)


def test_non_delegable_grant_gives_only_an_access_policy():
    def komp_may_not_delegate(packages):
        grants = packages[2]["grants"]
        grants[0]["roles"].remove("KOMP")
        grants.append({"roles": ["KOMP"], "delegable": False})

    policies = compiled(komp_may_not_delegate)
    assert len(policies) == POLICY_COUNT - 1
    assert "grant:maskinlesbarehendelser:KOMP:access" in policies
    assert "grant:maskinlesbarehendelser:KOMP:delegate" not in policies
    assert "grant:maskinlesbarehendelser:DAGL:delegate" in policies
    # Other roles may still delegate the package, so it can still be held by delegation.
    assert "delegation:maskinlesbarehendelser:access" in policies


def test_package_without_a_delegable_grant_gets_no_delegation_policy():
    def nobody_may_delegate_events(packages):
        packages[2]["grants"][0]["delegable"] = False

    policies = compiled(nobody_may_delegate_events)
    assert "delegation:maskinlesbarehendelser:access" not in policies
    assert not any(
        uid.startswith("grant:maskinlesbarehendelser:") and uid.endswith(":delegate")
        for uid in policies
    )
    assert len(policies) == POLICY_COUNT - 8 - 1
    assert set(delegation_policies(list(policies.values()))) == {
        "delegation:programmeringsgrensesnitt:access",
        "delegation:programmeringsgrensesnittNUF:access",
    }


def test_catalog_without_delegable_grants_compiles_to_access_policies_only():
    def nobody_may_delegate(packages):
        for package in packages:
            for grant in package["grants"]:
                grant["delegable"] = False

    policies = compiled(nobody_may_delegate)
    assert len(policies) == 24
    assert all(uid.startswith("grant:") and uid.endswith(":access") for uid in policies)


def test_delegation_policy_of_a_package_limited_in_several_ways_takes_every_form():
    """Every delegable grant limited: the delegation is limited to the union of their forms."""

    def split_api_grant(packages):
        packages[0]["grants"] = [
            {"roles": ["DAGL", "LEDE", "INNH"], "delegable": True, "org_forms": ["NUF", "AS"]},
            {"roles": ["DTSO", "DTPR"], "delegable": True, "org_forms": ["ASA", "AS"]},
            # Holders of a non-delegable grant cannot delegate: its missing limit does not count.
            {"roles": ["KOMP", "BEST", "BOBE"], "delegable": False},
        ]

    policy = compiled(split_api_grant)["delegation:programmeringsgrensesnitt:access"]
    assert policy["rules"]["resource"] == org_form_rule("AS", "ASA", "NUF")
    assert policy["description"].endswith(" may access it for organisations of form AS, ASA, NUF")


def test_one_unlimited_delegable_grant_makes_the_delegation_policy_unlimited():
    def let_komp_delegate_nuf_for_any_form(packages):
        grants = packages[1]["grants"]
        grants[0]["roles"].remove("KOMP")
        grants.append({"roles": ["KOMP"], "delegable": True})

    policies = compiled(let_komp_delegate_nuf_for_any_form)
    policy = policies["delegation:programmeringsgrensesnittNUF:access"]
    assert policy["rules"]["resource"] == {}
    assert "form" not in policy["description"]
    # The grants themselves keep their own limits.
    assert policies["grant:programmeringsgrensesnittNUF:DAGL:access"]["rules"]["resource"] == (
        org_form_rule("NUF")
    )
    assert policies["grant:programmeringsgrensesnittNUF:KOMP:access"]["rules"]["resource"] == {}


def test_unlimited_grant_that_is_not_delegable_leaves_the_delegation_policy_limited():
    def let_komp_access_nuf_for_any_form(packages):
        grants = packages[1]["grants"]
        grants[0]["roles"].remove("KOMP")
        grants.append({"roles": ["KOMP"], "delegable": False})

    policy = compiled(let_komp_access_nuf_for_any_form)[
        "delegation:programmeringsgrensesnittNUF:access"
    ]
    assert policy["rules"]["resource"] == org_form_rule("NUF")


def _fits(policy: dict, delegated: list[str], org_form: str | None) -> bool:
    """Whether py-abac finds `policy` applies to a subject holding `delegated` packages for a
    party of `org_form` (facts given in the request, so no PIP is needed)."""
    resource_attributes = {"party": "910459880"}
    if org_form is not None:
        resource_attributes["org_form"] = org_form
    request = AccessRequest(
        subject={"id": "anyone", "attributes": {"delegated_packages": delegated, "roles": []}},
        resource={"id": policy["targets"]["resource_id"], "attributes": resource_attributes},
        action={"id": policy["targets"]["action_id"], "attributes": {}},
        context={},
    )
    return Policy.from_json(copy.deepcopy(policy)).fits(EvaluationContext(request))


def test_delegation_policy_applies_exactly_to_holders_of_its_package(policies):
    policy = by_uid(policies)["delegation:programmeringsgrensesnitt:access"]
    assert _fits(policy, [API_PACKAGE], "AS")
    assert _fits(policy, [NUF_PACKAGE, API_PACKAGE], "NUF")
    assert not _fits(policy, [], "AS")
    assert not _fits(policy, [NUF_PACKAGE], "AS")
    assert not _fits(policy, [API_PACKAGE.upper()], "AS")


def test_nuf_delegation_policy_applies_only_for_nuf_parties(policies):
    policy = by_uid(policies)["delegation:programmeringsgrensesnittNUF:access"]
    assert _fits(policy, [NUF_PACKAGE], "NUF")
    assert not _fits(policy, [NUF_PACKAGE], "AS")
    assert not _fits(policy, [API_PACKAGE], "NUF")


def test_grant_limited_to_several_forms_accepts_any_of_them():
    source = copy.deepcopy(catalog_module.read_source(POLICY_DIR))
    package = source["packages/integrasjoner.yaml"]["packages"][0]
    package["grants"][0]["org_forms"] = ["AS", "ASA"]
    policies = by_uid(compiler.compile_catalog(catalog_module.parse(source)))
    policy = policies["grant:programmeringsgrensesnitt:LEDE:delegate"]
    assert policy["rules"]["resource"]["$.org_form"]["values"] == [
        {"condition": "Equals", "value": "AS", "case_insensitive": False},
        {"condition": "Equals", "value": "ASA", "case_insensitive": False},
    ]
    assert policy["description"].endswith(" for organisations of form AS, ASA")
    delegation = policies["delegation:programmeringsgrensesnitt:access"]
    assert delegation["rules"]["resource"] == policy["rules"]["resource"]
    assert delegation["description"].endswith(" for organisations of form AS, ASA")


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
    # Key roles are marked in roles.yaml (Catalog.key_roles), not listed in the delegation code.
    assert PROJECT_ROOT / "pdp" / "delegations.py" in modules
    assert PROJECT_ROOT / "pdp" / "attributes.py" in modules
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

"""Compiling resource policies into py-abac documents: one per conjunction of a rule and
action, whose rules py-abac evaluates with XACML's bag semantics."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from py_abac import Policy
from py_abac.context import EvaluationContext
from py_abac.request import AccessRequest

from pdp import catalog as catalog_module
from pdp import compiler
from pdp.catalog import Catalog
from pdp.resource_compiler import compile_resources
from pdp.resource_policies import BOOLEAN_EQUAL, INTEGER_EQUAL, STRING_EQUAL_IGNORE_CASE
from pdp.vocabulary import (
    ACTION_CATEGORY,
    ACTION_ID,
    ENVIRONMENT_CATEGORY,
    PACKAGE_ID,
    RESOURCE_CATEGORY,
    RESOURCE_ID,
    ROLECODE_ID,
    SUBJECT_CATEGORY,
    XML_BOOLEAN,
    XML_INTEGER,
    attribute_key,
    lowercase_attribute_key,
    typed_attribute_key,
)
from tests.conftest import DATA_DIR, POLICY_DIR
from tests.test_resource_policies import action, any_of, designator, match, policy, rule

ROLES = f"$.{attribute_key(ROLECODE_ID)}"
PACKAGES_LOWER = f"$.{lowercase_attribute_key(PACKAGE_ID)}"
ACTION = f"$.{attribute_key(ACTION_ID)}"
RESOURCE = f"$.{attribute_key(RESOURCE_ID)}"


def catalog_with(**policies: str) -> Catalog:
    """The shipped source with these resource policies (resource id -> XML) in place of its own."""
    source = {
        name: document
        for name, document in catalog_module.read_source(POLICY_DIR).items()
        if not name.startswith("resources/")
    }
    source |= {f"resources/{rid}/policy.xml": xml for rid, xml in policies.items()}
    return catalog_module.parse(source)


def documents(**policies: str) -> dict[str, dict[str, Any]]:
    return {document["uid"]: document for document in compile_resources(catalog_with(**policies))}


def fits(document: dict[str, Any], action_id: str, **attributes: dict[str, list[Any]]) -> bool:
    """Whether py-abac finds the document fits a request for its resource and `action_id`
    whose elements carry these attribute bags (`subject=`, `resource=`, `action=`, `context=`)."""
    request = AccessRequest(
        subject={"id": "s", "attributes": attributes.get("subject", {})},
        resource={
            "id": document["targets"]["resource_id"],
            "attributes": attributes.get("resource", {}),
        },
        action={"id": action_id, "attributes": attributes.get("action", {})},
        context=attributes.get("context", {}),
    )
    return Policy.from_json(copy.deepcopy(document)).fits(EvaluationContext(request))


def read_bag(name: str = "read") -> dict[str, list[str]]:
    return {attribute_key(ACTION_ID): [name], lowercase_attribute_key(ACTION_ID): [name.lower()]}


# --- documents ------------------------------------------------------------------------------


def test_a_rule_becomes_one_document_per_conjunction_and_action():
    text = policy(
        rule(any_of(match("dagl"), match("lede")), any_of(action("read"), action("write")))
    )
    assert sorted(documents(**{"ttd-x": text})) == [
        "resource:ttd-x:1:1:read",
        "resource:ttd-x:1:2:write",
        "resource:ttd-x:1:3:read",
        "resource:ttd-x:1:4:write",
    ]


def test_a_document_reads_like_its_conjunction():
    text = policy(rule(any_of(match("dagl")), any_of(action("read")), rule_id="urn:rule:1"))
    assert documents(**{"ttd-x": text})["resource:ttd-x:1:1:read"] == {
        "uid": "resource:ttd-x:1:1:read",
        "description": "Permit rule urn:rule:1 (rule 1, term 1) of resource ttd-x",
        "effect": "allow",
        "priority": 0,
        "targets": {
            "subject_id": "*",
            "resource_id": "urn:altinn:resource:ttd-x",
            "action_id": "read",
        },
        "rules": {
            "subject": {ROLES: {"condition": "AnyIn", "values": ["dagl"]}},
            "resource": {},
            "action": {ACTION: {"condition": "AnyIn", "values": ["read"]}},
            "context": {},
        },
    }


def test_a_deny_rule_compiles_to_deny():
    text = policy(rule(any_of(match()), any_of(action("write")), effect="Deny"))
    [document] = documents(**{"ttd-x": text}).values()
    assert document["effect"] == "deny"


def test_ignore_case_matches_read_the_lower_cased_bag():
    text = policy(
        rule(
            any_of(match("DAGL", STRING_EQUAL_IGNORE_CASE)),
            any_of(
                match(
                    "Read", STRING_EQUAL_IGNORE_CASE, reads=designator(ACTION_ID, ACTION_CATEGORY)
                )
            ),
        )
    )
    [document] = documents(**{"ttd-x": text}).values()
    assert document["targets"]["action_id"] == "read"
    assert document["rules"]["subject"] == {
        f"$.{lowercase_attribute_key(ROLECODE_ID)}": {"condition": "AnyIn", "values": ["dagl"]}
    }
    assert document["rules"]["action"] == {
        f"$.{lowercase_attribute_key(ACTION_ID)}": {"condition": "AnyIn", "values": ["read"]}
    }


def test_an_exact_action_match_is_indexed_lower_cased_but_checked_exactly():
    [document] = documents(
        **{"ttd-x": policy(rule(any_of(match()), any_of(action("Read"))))}
    ).values()
    assert document["targets"]["action_id"] == "read"
    assert document["rules"]["action"] == {ACTION: {"condition": "AnyIn", "values": ["Read"]}}


def test_integer_and_boolean_literals_keep_their_type_in_bags_of_their_own():
    """Integers and booleans are read from bags of their type (Python's `0 == False` must not
    let one match the other)."""
    number = match(
        "3", INTEGER_EQUAL, XML_INTEGER, designator("urn:altinn:n", data_type=XML_INTEGER)
    )
    flag = match(
        "true", BOOLEAN_EQUAL, XML_BOOLEAN, designator("urn:altinn:f", data_type=XML_BOOLEAN)
    )
    [document] = documents(
        **{"ttd-x": policy(rule(any_of(f"{number}\n{flag}"), any_of(action("read"))))}
    ).values()
    assert document["rules"]["subject"] == {
        f"$.{typed_attribute_key('urn:altinn:f', XML_BOOLEAN)}": {
            "condition": "AnyIn",
            "values": [True],
        },
        f"$.{typed_attribute_key('urn:altinn:n', XML_INTEGER)}": {
            "condition": "AnyIn",
            "values": [3],
        },
    }


def test_several_matches_on_one_key_are_all_of():
    both = f"{match('dagl')}\n{match('lede')}\n{match('dagl')}"
    [document] = documents(**{"ttd-x": policy(rule(any_of(both), any_of(action("read"))))}).values()
    assert document["rules"]["subject"] == {
        ROLES: {
            "condition": "AllOf",
            "values": [
                {"condition": "AnyIn", "values": ["dagl"]},
                {"condition": "AnyIn", "values": ["lede"]},
            ],
        }
    }


def test_each_category_is_its_py_abac_element():
    matches = "\n".join(
        match("v", reads=designator(f"urn:altinn:{name}", category))
        for name, category in (
            ("s", SUBJECT_CATEGORY),
            ("r", RESOURCE_CATEGORY),
            ("e", ENVIRONMENT_CATEGORY),
        )
    )
    [document] = documents(
        **{"ttd-x": policy(rule(any_of(matches), any_of(action("read"))))}
    ).values()
    rules = document["rules"]
    assert list(rules["subject"]) == [f"$.{attribute_key('urn:altinn:s')}"]
    assert list(rules["resource"]) == [f"$.{attribute_key('urn:altinn:r')}"]
    assert list(rules["context"]) == [f"$.{attribute_key('urn:altinn:e')}"]


def test_an_access_package_is_compiled_to_its_code_as_published():
    by_urn = match(
        "URN:ALTINN:ACCESSPACKAGE:ProgrammeringsgrensesnittNUF",
        reads=designator(PACKAGE_ID),
    )
    [document] = documents(
        **{"ttd-x": policy(rule(any_of(by_urn), any_of(action("read"))))}
    ).values()
    assert document["rules"]["subject"] == {
        f"$.{attribute_key(PACKAGE_ID)}": {
            "condition": "AnyIn",
            "values": ["programmeringsgrensesnittNUF"],
        }
    }


def test_a_term_naming_another_resource_is_dropped():
    other = match("ttd-y", reads=designator(RESOURCE_ID, RESOURCE_CATEGORY))
    this = match("ttd-x", reads=designator(RESOURCE_ID, RESOURCE_CATEGORY))
    compiled = documents(**{"ttd-x": policy(rule(any_of(other, this), any_of(action("read"))))})
    assert list(compiled) == ["resource:ttd-x:1:2:read"]
    assert compiled["resource:ttd-x:1:2:read"]["rules"]["resource"] == {
        RESOURCE: {"condition": "AnyIn", "values": ["ttd-x"]}
    }


def test_a_term_without_an_action_is_compiled_for_every_action_the_policy_names():
    text = policy(
        rule(any_of(match()), any_of(action("read"), action("write"))),
        rule(any_of(match("lede"))),
    )
    compiled = documents(**{"ttd-x": text})
    assert sorted(uid for uid in compiled if uid.startswith("resource:ttd-x:2:")) == [
        "resource:ttd-x:2:1:read",
        "resource:ttd-x:2:1:write",
    ]
    assert compiled["resource:ttd-x:2:1:write"]["rules"]["action"] == {}


# --- py-abac evaluates them as XACML would --------------------------------------------------


@pytest.fixture(scope="module")
def api_documents(catalog: Catalog) -> dict[str, dict[str, Any]]:
    return {
        d["uid"]: d
        for d in compile_resources(catalog)
        if d["uid"].startswith("resource:ttd-example-api:")
    }


def test_the_shipped_api_policy_compiles_to_three_documents(api_documents):
    assert sorted(api_documents) == [
        "resource:ttd-example-api:1:1:read",
        "resource:ttd-example-api:1:2:write",
        "resource:ttd-example-api:2:1:read",
    ]


def test_any_value_of_a_bag_satisfies_a_match(api_documents):
    document = api_documents["resource:ttd-example-api:1:1:read"]
    subject = {lowercase_attribute_key(PACKAGE_ID): ["regnskapsforer", "programmeringsgrensesnitt"]}
    resource = {attribute_key(RESOURCE_ID): ["ttd-example-api"]}
    assert fits(document, "read", subject=subject, resource=resource, action=read_bag())


def test_no_value_or_no_bag_satisfies_no_match(api_documents):
    document = api_documents["resource:ttd-example-api:1:1:read"]
    resource = {attribute_key(RESOURCE_ID): ["ttd-example-api"]}
    others = {lowercase_attribute_key(PACKAGE_ID): ["regnskapsforer"]}
    assert not fits(document, "read", subject=others, resource=resource, action=read_bag())
    assert not fits(document, "read", subject={}, resource=resource, action=read_bag())


def test_the_action_is_checked_by_the_document_itself(api_documents):
    document = api_documents["resource:ttd-example-api:1:1:read"]
    subject = {lowercase_attribute_key(PACKAGE_ID): ["programmeringsgrensesnitt"]}
    resource = {attribute_key(RESOURCE_ID): ["ttd-example-api"]}
    assert not fits(document, "read", subject=subject, resource=resource, action=read_bag("write"))


def test_a_role_matched_ignoring_case_fits_the_lower_cased_bag(api_documents):
    document = api_documents["resource:ttd-example-api:2:1:read"]
    resource = {attribute_key(RESOURCE_ID): ["ttd-example-api"]}
    subject = {lowercase_attribute_key(ROLECODE_ID): ["dagl"]}
    assert fits(document, "read", subject=subject, resource=resource, action=read_bag())


def test_every_compiled_altinn_policy_loads_in_py_abac_unchanged():
    """The 20 Altinn test policies, compiled against the full Altinn catalog (it knows
    `ansettelsesforhold`)."""
    source = catalog_module.read_source(POLICY_DIR / "altinn-catalog")
    altinn = DATA_DIR / "altinn-policies"
    for path in sorted(altinn.glob("ResourceRegistry/*/policy.xml")):
        source[f"resources/{path.parent.name}/policy.xml"] = path.read_bytes().decode("utf-8-sig")
    for path in sorted(altinn.glob("AltinnApps/*/*/policy.xml")):
        rid = f"app_{path.parent.parent.name}_{path.parent.name}"
        source[f"resources/{rid}/policy.xml"] = path.read_bytes().decode("utf-8-sig")
    compiled = compile_resources(catalog_module.parse(source))
    assert len({d["targets"]["resource_id"] for d in compiled}) == 20
    for document in compiled:
        assert Policy.from_json(copy.deepcopy(document)).to_json() == document


def test_compile_catalog_includes_resource_documents_sorted_and_deterministic(catalog: Catalog):
    first = compiler.compile_catalog(catalog)
    second = compiler.compile_catalog(catalog_module.load(POLICY_DIR))
    uids = [document["uid"] for document in first]
    assert uids == sorted(uids) and len(set(uids)) == len(uids)
    assert sum(uid.startswith("resource:") for uid in uids) == 6
    assert compiler.policies_json(first) == compiler.policies_json(second)

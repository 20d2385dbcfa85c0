"""What the engine knows of a target's policies: candidates, the attributes they read, and
whether those alone decide it (so one evaluation may stand for requests alike in them)."""

from __future__ import annotations

from typing import Any

import pytest
from py_abac import Policy

from pdp import compiler
from pdp.engine.targets import Target, TargetIndex
from pdp.errors import PdpError
from pdp.repository import PolicySet

API = "urn:altinn:accesspackage:programmeringsgrensesnitt"
API_NUF = "urn:altinn:accesspackage:programmeringsgrensesnittNUF"
ODD = "urn:altinn:accesspackage:odd"


def index(catalog, *extra_policies: dict[str, Any]) -> TargetIndex:
    return TargetIndex(PolicySet(1, catalog, [*compiler.compile_catalog(catalog), *extra_policies]))


def policy(uid: str, **fields: Any) -> dict[str, Any]:
    return {
        "uid": uid,
        "description": uid,
        "effect": "allow",
        "targets": {"resource_id": ODD, "action_id": "access"},
        "rules": {},
        **fields,
    }


@pytest.mark.parametrize(
    ("package", "action", "paths"),
    [
        (API, "access", {("subject", "$.roles"), ("subject", "$.delegated_packages")}),
        (API, "delegate", {("subject", "$.roles")}),
        (
            API_NUF.upper(),
            "access",
            {
                ("subject", "$.roles"),
                ("subject", "$.delegated_packages"),
                ("resource", "$.org_form"),
            },
        ),
        (API, "read", set()),
    ],
)
def test_a_targets_attribute_paths_are_those_its_policies_rules_name(
    catalog, package, action, paths
):
    assert set(index(catalog).policies(Target(package, action)).attribute_paths) == paths


def test_compiled_grants_are_decided_by_their_attributes_alone(catalog):
    targets = index(catalog)
    for package, action in targets.policy_set.targets:
        assert targets.policies(Target(package, action)).decided_by_attributes


def test_a_target_with_no_policies_has_no_candidates_and_is_evaluated_every_time(catalog):
    known = index(catalog).policies(Target(API, "read"))
    assert (known.candidates, known.decided_by_attributes) == ((), False)


def test_the_candidates_are_the_targets_parsed_policies_once(catalog):
    targets = index(catalog)
    first = targets.policies(Target(API, "access"))
    assert all(isinstance(candidate, Policy) for candidate in first.candidates)
    assert {candidate.uid for candidate in first.candidates} == {
        document["uid"] for document in targets.policy_set.documents(API, "access")
    }
    assert targets.policies(Target(API, "access")) is first


@pytest.mark.parametrize(
    "odd",
    [
        policy("for-one-person", targets={"subject_id": "urn:altinn:person:identifier-no:1"}),
        policy(
            "compares-attributes",
            rules={
                "resource": {
                    "$.party": {"condition": "IsInAttribute", "ace": "subject", "path": "$.roles"}
                }
            },
        ),
    ],
    ids=["one subject", "condition naming another attribute"],
)
def test_a_policy_for_one_subject_or_comparing_attributes_is_not_decided_by_them_alone(
    catalog, odd
):
    odd["targets"] = {"resource_id": ODD, "action_id": "access", **odd["targets"]}
    plain = policy("plain")
    assert index(catalog, plain).policies(Target(ODD, "access")).decided_by_attributes
    mixed = index(catalog, plain, odd).policies(Target(ODD, "access"))
    assert not mixed.decided_by_attributes


def test_a_target_whose_policy_cannot_be_parsed_fails_alone_and_every_time(catalog):
    spoilt = policy("spoilt", effect="?")
    targets = index(catalog, spoilt)
    for _ in range(2):
        with pytest.raises(PdpError, match="spoilt"):
            targets.policies(Target(ODD, "access"))
    assert targets.policies(Target(API, "access")).candidates

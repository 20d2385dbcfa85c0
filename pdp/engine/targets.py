"""Targets, and what the engine needs to know of each target's policies.

A request is resolved once into a `Target`: what it asks about, as the active policy set names
it (an access package's published URN, or `urn:altinn:resource:<id>` for a service resource,
and an action).
For each target of a policy set the engine works out once, when first asked, its candidate
policies and what deciding them reads (`TargetPolicies`): the facts to read ahead for a batch,
and whether those facts' values alone decide it, so that one evaluation can stand for every
request alike in them (`pdp.engine.caches.EvaluationCache`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from py_abac.policy import Policy

from pdp.repository import PolicySet

#: An (access control element, attribute path) pair a policy reads, e.g. ("subject", "$.roles").
AttributePath = tuple[str, str]


@dataclass(frozen=True)
class Target:
    """What a decision is about, resolved: the published URN of the package or the service
    resource's URN (py-abac's resource id), and the action. Shared by the engine and its caches
    as their key."""

    resource: str
    action: str


@dataclass(frozen=True)
class TargetPolicies:
    """A target's candidate policies in one policy set, and what deciding them reads."""

    candidates: tuple[Policy, ...]
    #: The attribute paths the candidates' rules name, sorted: what deciding the target asks
    #: the PIP, unless a condition names others.
    attribute_paths: tuple[AttributePath, ...]
    #: Whether the values at `attribute_paths` alone decide which candidates fit: none
    #: restricts the subject by id, and no condition compares with another attribute. (Then
    #: requests alike in those values are decided alike, whoever asks for which party.)
    decided_by_attributes: bool


class TargetIndex:
    """`TargetPolicies` for the targets of one policy set, each worked out when first asked
    for (parsing its policies then) and kept as long as the policy set is."""

    def __init__(self, policy_set: PolicySet):
        self.policy_set = policy_set
        self._known: dict[Target, TargetPolicies] = {}

    def policies(self, target: Target) -> TargetPolicies:
        """The target's policies; PdpError if one of them cannot be parsed (not kept: the
        next request for the target fails alike, and no other target is touched)."""
        known = self._known.get(target)
        if known is None:
            known = self._known.setdefault(target, self._work_out(target))
        return known

    def _work_out(self, target: Target) -> TargetPolicies:
        candidates = self.policy_set.candidates(target.resource, target.action)
        documents = self.policy_set.documents(target.resource, target.action)
        return TargetPolicies(
            candidates,
            tuple(sorted({path for document in documents for path in _rule_paths(document)})),
            bool(documents) and all(_decided_by_rule_paths(d) for d in documents),
        )


def _rule_paths(document: dict[str, Any]) -> Iterator[AttributePath]:
    """The attribute paths a policy document's rules name, with their element."""
    rules = document.get("rules")
    if not isinstance(rules, dict):
        return
    for ace, rule in rules.items():
        for part in rule if isinstance(rule, list) else [rule]:
            if isinstance(part, dict):
                yield from ((ace, path) for path in part)


def _decided_by_rule_paths(document: dict[str, Any]) -> bool:
    """Whether a policy document fits any subject id, and its conditions read nothing but the
    attributes its rules name (no condition with an `ace`: one comparing with another
    attribute)."""
    targets, rules = document.get("targets"), document.get("rules")
    if not isinstance(targets, dict) or targets.get("subject_id", "*") != "*":
        return False
    if not isinstance(rules, dict):
        return False
    parts = [
        part for rule in rules.values() for part in (rule if isinstance(rule, list) else [rule])
    ]
    return all(isinstance(part, dict) and not _names_an_attribute(part) for part in parts)


def _names_an_attribute(condition: Any) -> bool:
    if isinstance(condition, dict):
        return "ace" in condition or any(_names_an_attribute(v) for v in condition.values())
    if isinstance(condition, list):
        return any(_names_an_attribute(item) for item in condition)
    return False

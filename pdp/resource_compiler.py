"""Compile service resources' XACML policies into py-abac policy documents.

py-abac rules are conjunctions per access control element, so each XACML rule (its target
ANDed with the policy's) is first brought to disjunctive normal form (`ResourcePolicy.terms`);
each conjunction ("term") becomes one py-abac document per action it is indexed under:

- uid `resource:<resource-id>:<rule number>:<term number>:<action>`; the description names the
  RuleId; effect `allow` for Permit, `deny` for Deny;
- targets: `resource_id` = `urn:altinn:resource:<resource-id>`, `action_id` = the action the
  term matches, lower-cased (the repository's index needs literal targets; the engine looks
  resource requests up by their action lower-cased). A term matching no action is compiled
  for every action the policy names (`pdp.resource_policies.check` warns about it);
- rules: XACML bag semantics, a match holds when any value of the attribute's bag equals the
  literal. `string-equal`, `anyURI-equal`, `integer-equal` and `boolean-equal` become
  `AnyIn [literal]` on the attribute's key (`vocabulary.attribute_key`), typed as the policy
  says; `string-equal-ignore-case` becomes `AnyIn [literal lower-cased]` on the companion key
  holding the bag lower-cased (`vocabulary.lowercase_attribute_key`). Several matches on one
  key are `AllOf`. The action's own match stays in the rules, so a document is exact on its
  own, whatever the index does.

An access package is compiled to its code as published (a policy may name it by URN, former
URN or code, in any case): the PIP's bag for `urn:altinn:accesspackage` holds codes as
published. A term naming another resource (`ResourcePolicy.terms` marks it) is dropped: it
can never apply here.

What py-abac cannot carry (rule order and effect for combining, MustBePresent, obligations and
advice) stays in the Catalog's `ResourcePolicy`; `pdp.combining` decides with it.
"""

from __future__ import annotations

from typing import Any

from pdp.catalog import Catalog
from pdp.resource_policies import Match, ResourcePolicy, Rule, Term, term_actions
from pdp.vocabulary import (
    ACE_BY_CATEGORY,
    DENY,
    PACKAGE_ID,
    ascii_lower,
    attribute_path,
    lowercase_attribute_key,
    typed_attribute_key,
)

RESOURCE_UID_PREFIX = "resource:"


def compile_resources(catalog: Catalog) -> list[dict[str, Any]]:
    """The py-abac documents for every resource policy of `catalog` (unsorted)."""
    return [
        _document(catalog, policy, term, action)
        for policy in catalog.resources
        for rule in policy.rules
        for term in policy.terms(rule)
        if term.excluded_by is None
        for action in term_actions(policy, term)
    ]


def _document(catalog: Catalog, policy: ResourcePolicy, term: Term, action: str) -> dict[str, Any]:
    rule = term.rule
    rules: dict[str, dict[str, list[dict[str, Any]]]] = {ace: {} for ace in _ACES}
    for match in term.matches:
        ace = ACE_BY_CATEGORY[match.designator.category]
        conditions = rules[ace].setdefault(compiled_path(match), [])
        condition = {"condition": "AnyIn", "values": [compiled_literal(catalog, match)]}
        if condition not in conditions:
            conditions.append(condition)
    return {
        "uid": f"{RESOURCE_UID_PREFIX}{policy.resource_id}:{rule.number}:{term.number}:{action}",
        "description": _description(policy, rule, term),
        "effect": "deny" if rule.effect == DENY else "allow",
        "priority": 0,
        "targets": {"subject_id": "*", "resource_id": policy.resource_urn, "action_id": action},
        "rules": {
            ace: {
                path: found[0] if len(found) == 1 else {"condition": "AllOf", "values": found}
                for path, found in sorted(paths.items())
            }
            for ace, paths in rules.items()
        },
    }


_ACES = ("subject", "resource", "action", "context")


def compiled_path(match: Match) -> str:
    """The attribute path a compiled document reads a match's attribute by."""
    attribute_id = match.designator.attribute_id
    if match.ignore_case:
        return attribute_path(lowercase_attribute_key(attribute_id))
    return attribute_path(typed_attribute_key(attribute_id, match.designator.data_type))


def compiled_literal(catalog: Catalog, match: Match) -> Any:
    """The value a compiled document compares a match's attribute with."""
    value = match.value
    if match.designator.attribute_id == PACKAGE_ID:
        package = catalog.package_named(str(value))
        # `check` refused unknown packages; a known one is compiled to its code as published.
        value = package.code if package is not None else value
    return ascii_lower(value) if match.ignore_case and isinstance(value, str) else value


def _description(policy: ResourcePolicy, rule: Rule, term: Term) -> str:
    return (
        f"{rule.effect} rule {rule.rule_id} (rule {rule.number}, term {term.number}) "
        f"of resource {policy.resource_id}"
    )

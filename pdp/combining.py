"""XACML 3.0 rule combining and obligations for a resource policy: pure, no py-abac, no I/O.

py-abac answers only whether a compiled document fits a request. The engine reads from that,
per rule of a `ResourcePolicy`, whether the rule applies (some term of it fits), does not, or
is indeterminate (e.g. a MustBePresent attribute is missing); this module combines those as the
policy's algorithm says (XACML 3.0 Annex C) and picks the obligations and advice to return.

The applicability given for a rule includes its policy's target, as the compiled documents do
(each term is the rule's target ANDed with the policy's). That gives XACML's Table 7 result: a
policy whose target does not match is NotApplicable; one whose target is Indeterminate is
Indeterminate with the extension of the rules it would otherwise have applied.

A rule that applies evaluates to its effect, one that does not to NotApplicable, an
indeterminate one to Indeterminate{D} (Deny rule) or {P} (Permit rule). Legacy algorithms
(XACML 1.0/1.1 URNs) decide as their 3.0 counterparts but know no extended Indeterminate, so
theirs is always {DP} (Annex C.10-C.13 give the same decisions otherwise).

Obligations and advice: those of the rules that decided (their effect is the decision), in
rule order, then the policy's own; each only if its FulfillOn (AppliesTo) is the decision.
Which rules decided follows the algorithms' pseudo-code: deny-overrides stops at the first
Deny, so a Deny brings that rule's obligations, a Permit those of every permitting rule;
permit-overrides the reverse; first-applicable the one rule that applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from pdp.resource_policies import (
    DENY_OVERRIDES,
    FIRST_APPLICABLE,
    Expression,
    ResourcePolicy,
    Rule,
)
from pdp.vocabulary import DENY, INDETERMINATE, NOT_APPLICABLE, PERMIT


class Applies(Enum):
    """Whether a rule (its policy's target included) applies to a request."""

    YES = "yes"
    NO = "no"
    INDETERMINATE = "indeterminate"


#: The extended readings of Indeterminate: it could have been Deny, Permit, or either.
D, P, DP = "D", "P", "DP"


@dataclass(frozen=True)
class Combined:
    """A policy's decision; `extended` is D, P or DP when it is Indeterminate, else None.
    `rules` are the rules that decided it (for Indeterminate: the indeterminate ones)."""

    decision: str
    extended: str | None
    rules: tuple[Rule, ...]
    obligations: tuple[Expression, ...]
    advice: tuple[Expression, ...]


@dataclass(frozen=True)
class _Outcome:
    decision: str
    extended: str | None = None


def combine(policy: ResourcePolicy, applies: Sequence[Applies]) -> Combined:
    """Combine the rules of `policy`, given whether each applies (one per rule, in order)."""
    if len(applies) != len(policy.rules):
        raise ValueError(f"{len(policy.rules)} rules, but {len(applies)} applicabilities given")
    outcomes = [_rule_outcome(rule, a) for rule, a in zip(policy.rules, applies, strict=True)]
    family = policy.algorithm.family
    if family == FIRST_APPLICABLE:
        decision, deciding = _first_applicable(outcomes)
    else:
        overriding = DENY if family == DENY_OVERRIDES else PERMIT
        decision, deciding = _overrides(outcomes, overriding)
    if decision.decision == INDETERMINATE and policy.algorithm.legacy:
        decision = _Outcome(INDETERMINATE, DP)
    rules = tuple(policy.rules[index] for index in deciding)
    if decision.decision not in (PERMIT, DENY):
        return Combined(decision.decision, decision.extended, rules, (), ())
    return Combined(
        decision.decision,
        None,
        rules,
        _applying(decision.decision, [rule.obligations for rule in rules], policy.obligations),
        _applying(decision.decision, [rule.advice for rule in rules], policy.advice),
    )


def _rule_outcome(rule: Rule, applies: Applies) -> _Outcome:
    if applies is Applies.YES:
        return _Outcome(rule.effect)
    if applies is Applies.NO:
        return _Outcome(NOT_APPLICABLE)
    return _Outcome(INDETERMINATE, D if rule.effect == DENY else P)


def _overrides(outcomes: list[_Outcome], overriding: str) -> tuple[_Outcome, list[int]]:
    """deny-overrides (`overriding` Deny, Annex C.2) or permit-overrides (Permit, C.3).

    A rule is never Indeterminate{DP} (only a policy is), so the rules' errors are D or P."""
    other = PERMIT if overriding == DENY else DENY
    strong, weak = (D, P) if overriding == DENY else (P, D)
    for index, outcome in enumerate(outcomes):
        if outcome.decision == overriding:
            return _Outcome(overriding), [index]
    others = [i for i, outcome in enumerate(outcomes) if outcome.decision == other]
    errors = {o.extended for o in outcomes if o.decision == INDETERMINATE}
    indeterminate = [i for i, outcome in enumerate(outcomes) if outcome.decision == INDETERMINATE]
    if strong in errors and (weak in errors or others):
        return _Outcome(INDETERMINATE, DP), indeterminate
    if strong in errors:
        return _Outcome(INDETERMINATE, strong), indeterminate
    if others:
        return _Outcome(other), others
    if weak in errors:
        return _Outcome(INDETERMINATE, weak), indeterminate
    return _Outcome(NOT_APPLICABLE), []


def _first_applicable(outcomes: list[_Outcome]) -> tuple[_Outcome, list[int]]:
    """Annex C.8: the first rule that does not say NotApplicable decides."""
    for index, outcome in enumerate(outcomes):
        if outcome.decision != NOT_APPLICABLE:
            return outcome, [index]
    return _Outcome(NOT_APPLICABLE), []


def _applying(
    decision: str, of_rules: list[tuple[Expression, ...]], of_policy: tuple[Expression, ...]
) -> tuple[Expression, ...]:
    expressions = [e for group in (*of_rules, of_policy) for e in group]
    return tuple(expression for expression in expressions if expression.effect == decision)

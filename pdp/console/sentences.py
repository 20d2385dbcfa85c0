"""A service resource policy's rules as sentences a service owner can check at a glance:
"DAGL (Daglig leder), or holders of Programmeringsgrensesnitt, may read and write; requires
authentication level 3".

Read from the same model the compiler reads (`pdp.resource_policies`): each rule's disjunctive
normal form (`ResourcePolicy.terms`, the policy's target included), the actions each term is
indexed under (`term_actions`), and the obligations that come with the rule's effect. Terms that
name another resource can never apply and are left out, as the compiler leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass

from pdp.catalog import Catalog
from pdp.resource_policies import (
    Expression,
    Match,
    ResourcePolicy,
    Rule,
    app_of,
    is_action,
    term_actions,
)
from pdp.vocabulary import (
    ACE_BY_CATEGORY,
    APP_ID,
    CCR_ROLE_ID,
    MINIMUM_AUTHENTICATION_LEVEL,
    ORG_ID,
    PACKAGE_ID,
    PERMIT,
    RESOURCE_CATEGORY,
    RESOURCE_ID,
    ROLECODE_ID,
    SUBJECT_CATEGORY,
)


@dataclass(frozen=True)
class RuleSentence:
    """One rule of a policy, said in words."""

    rule: Rule
    #: "holders of Programmeringsgrensesnitt may read and write"; several clauses joined by "; ".
    text: str
    #: What the PEP must do when the rule's effect is the decision ("requires ...").
    requirements: tuple[str, ...]


def rule_sentences(policy: ResourcePolicy, catalog: Catalog) -> tuple[RuleSentence, ...]:
    """Every rule of `policy`, in order, as a sentence."""
    return tuple(
        RuleSentence(rule, _rule_text(policy, rule, catalog), _requirements(policy, rule))
        for rule in policy.rules
    )


def _rule_text(policy: ResourcePolicy, rule: Rule, catalog: Catalog) -> str:
    actions_by_who: dict[str, set[str]] = {}
    for term in policy.terms(rule):
        if term.excluded_by is not None:
            continue
        who = _who(term.matches, policy, catalog)
        actions_by_who.setdefault(who, set()).update(term_actions(policy, term))
    if not actions_by_who:
        return "never applies: every alternative of its target names another resource"
    whos_by_actions: dict[tuple[str, ...], list[str]] = {}
    for who, actions in actions_by_who.items():
        whos_by_actions.setdefault(tuple(sorted(actions)), []).append(who)
    verb = "may" if rule.effect == PERMIT else "may not"
    return "; ".join(
        f"{', or '.join(whos)} {verb} {_and(list(actions)) if actions else 'do anything'}"
        for actions, whos in whos_by_actions.items()
    )


def _who(matches: tuple[Match, ...], policy: ResourcePolicy, catalog: Catalog) -> str:
    """Who a term applies to, with any further condition it sets."""
    subjects, conditions = [], []
    for match in matches:
        if is_action(match) or _names_this_resource(match, policy):
            continue
        if match.designator.category == SUBJECT_CATEGORY:
            subjects.append(_subject(match, catalog))
        else:
            category = ACE_BY_CATEGORY.get(match.designator.category, "request")
            conditions.append(f"{category} {match.designator.attribute_id} is {match.value!r}")
    who = " who are also ".join(subjects) if subjects else "anyone"
    return f"{who} (when {' and '.join(conditions)})" if conditions else who


def _subject(match: Match, catalog: Catalog) -> str:
    attribute, value = match.designator.attribute_id, str(match.value)
    if attribute in (ROLECODE_ID, CCR_ROLE_ID):
        code = catalog.role_code_for(attribute, value)
        return f"{code} ({catalog.role(code).name})" if code else f"holders of role {value!r}"
    if attribute == PACKAGE_ID:
        package = catalog.package_named(value)
        return f"holders of {package.name}" if package else f"holders of package {value!r}"
    return f"subjects whose {attribute} is {value!r}"


def _names_this_resource(match: Match, policy: ResourcePolicy) -> bool:
    """Whether a match only says which resource the policy is about."""
    if match.designator.category != RESOURCE_CATEGORY:
        return False
    own = {RESOURCE_ID: policy.resource_id}
    app = app_of(policy.resource_id)
    if app is not None:
        own |= {ORG_ID: app[0], APP_ID: app[1]}
    wanted = own.get(match.designator.attribute_id)
    value = str(match.value).lower() if match.ignore_case else str(match.value)
    return wanted is not None and value == wanted


def _requirements(policy: ResourcePolicy, rule: Rule) -> tuple[str, ...]:
    """The obligations that come with a decision this rule makes (the policy's for its effect,
    then the rule's own)."""
    return tuple(
        _requirement(expression)
        for expression in (*policy.obligations, *rule.obligations)
        if expression.effect == rule.effect
    )


def _requirement(obligation: Expression) -> str:
    for assignment in obligation.assignments:
        if assignment.category == MINIMUM_AUTHENTICATION_LEVEL:
            return f"requires authentication level {assignment.value}"
    values = ", ".join(f"{a.attribute_id} = {a.value}" for a in obligation.assignments)
    return f"obligation {obligation.id}" + (f" ({values})" if values else "")


def _and(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"

"""What a new policy source changes in the rules, against the source in force.

Pure: two Catalogs in, a SourceDiff out. A package the new source lists under a former URN
(an alias) is matched to its new URN, so a rename shows as one rename, not as every grant of
the package removed and added again.

Resource policies are compared by what their rules say, not by how they are written: each
compiled conjunction (`ResourceRule`: resource, effect, action and its matches as text) of the
old policies against those of the new, so renaming a RuleId or regrouping a target changes no
rule. A resource whose combining, rule order, effects, obligations or advice changed is named
as changed (order decides under first-applicable, and orders the obligations).
"""

from __future__ import annotations

from dataclasses import dataclass

from pdp.catalog import Catalog
from pdp.resource_policies import Match, ResourcePolicy, is_action, term_actions
from pdp.vocabulary import ACCESS, ACE_BY_CATEGORY, DELEGATE, ascii_lower


@dataclass(frozen=True, order=True)
class GrantRule:
    """One thing a grant allows: holders of `role` may do `action` with `package`, at
    organisations of `org_forms` (empty: any form)."""

    package: str
    role: str
    action: str
    org_forms: tuple[str, ...]


@dataclass(frozen=True, order=True)
class ResourceRule:
    """One conjunction of a resource policy's rule: `effect` for `action` on `resource` when
    every one of `matches` holds (each as text: `subject urn:altinn:rolecode = 'dagl'`)."""

    resource: str
    action: str
    effect: str
    matches: tuple[str, ...]

    def __str__(self) -> str:
        when = f" if {' and '.join(self.matches)}" if self.matches else ""
        return f"{self.resource}: {self.effect} {self.action}{when}"


@dataclass(frozen=True, order=True)
class Rename:
    former: str
    current: str


@dataclass(frozen=True)
class SourceDiff:
    packages_added: tuple[str, ...]
    packages_removed: tuple[str, ...]
    packages_renamed: tuple[Rename, ...]
    grants_added: tuple[GrantRule, ...]
    grants_removed: tuple[GrantRule, ...]
    resources_added: tuple[str, ...] = ()
    resources_removed: tuple[str, ...] = ()
    #: Resources in both whose combining algorithm, obligations or advice differ.
    resources_changed: tuple[str, ...] = ()
    resource_rules_added: tuple[ResourceRule, ...] = ()
    resource_rules_removed: tuple[ResourceRule, ...] = ()

    @property
    def resources_unchanged(self) -> bool:
        return not (
            self.resources_added
            or self.resources_removed
            or self.resources_changed
            or self.resource_rules_added
            or self.resource_rules_removed
        )

    @property
    def unchanged(self) -> bool:
        return self.resources_unchanged and not (
            self.packages_added
            or self.packages_removed
            or self.packages_renamed
            or self.grants_added
            or self.grants_removed
        )


def grant_rules(catalog: Catalog) -> set[GrantRule]:
    """Every (package, role, action, org-form limit) the catalog's grants allow."""
    return {
        GrantRule(grant.package, grant.role, action, tuple(sorted(grant.org_forms)))
        for grant in catalog.grants
        for action in ((ACCESS, DELEGATE) if grant.delegable else (ACCESS,))
    }


def diff(old: Catalog | None, new: Catalog) -> SourceDiff:
    """The packages and grant rules `new` adds, removes and renames against `old` (None: an
    empty repository, so everything is added)."""
    old_urns = {package.urn for package in old.packages} if old else set()
    new_urns = {package.urn for package in new.packages}
    current = {
        ascii_lower(name): package.urn
        for package in new.packages
        for name in (package.urn, *package.aliases)
    }
    renamed = {
        urn: current[ascii_lower(urn)]
        for urn in old_urns - new_urns
        if ascii_lower(urn) in current and current[ascii_lower(urn)] not in old_urns
    }
    before = {
        GrantRule(renamed.get(rule.package, rule.package), rule.role, rule.action, rule.org_forms)
        for rule in (grant_rules(old) if old else set())
    }
    after = grant_rules(new)
    old_resources = {p.resource_id: p for p in old.resources} if old else {}
    new_resources = {p.resource_id: p for p in new.resources}
    rules_before = resource_rules(old) if old else set()
    rules_after = resource_rules(new)
    return SourceDiff(
        packages_added=tuple(sorted(new_urns - old_urns - set(renamed.values()))),
        packages_removed=tuple(sorted(old_urns - new_urns - set(renamed))),
        packages_renamed=tuple(sorted(Rename(f, c) for f, c in renamed.items())),
        grants_added=tuple(sorted(after - before)),
        grants_removed=tuple(sorted(before - after)),
        resources_added=tuple(sorted(new_resources.keys() - old_resources.keys())),
        resources_removed=tuple(sorted(old_resources.keys() - new_resources.keys())),
        resources_changed=tuple(
            sorted(
                resource
                for resource in new_resources.keys() & old_resources.keys()
                if _returns(old_resources[resource]) != _returns(new_resources[resource])
            )
        ),
        resource_rules_added=tuple(sorted(rules_after - rules_before)),
        resource_rules_removed=tuple(sorted(rules_before - rules_after)),
    )


def resource_rules(catalog: Catalog) -> set[ResourceRule]:
    """Every conjunction the catalog's resource policies compile to, per action; a match on
    the action itself is left out of `matches` when the action says it all."""
    return {
        ResourceRule(
            policy.resource_id,
            action,
            term.rule.effect,
            tuple(
                sorted(
                    {
                        _match_text(match)
                        for match in term.matches
                        if not (is_action(match) and _names(match, action))
                    }
                )
            ),
        )
        for policy in catalog.resources
        for rule in policy.rules
        for term in policy.terms(rule)
        if term.excluded_by is None
        for action in term_actions(policy, term)
    }


def _names(match: Match, action: str) -> bool:
    """Whether an action match says no more than the rule's `action` (lower-cased) does."""
    return match.value == action or (match.ignore_case and ascii_lower(str(match.value)) == action)


def _match_text(match: Match) -> str:
    designator = match.designator
    operator = "= (any case)" if match.ignore_case else "="
    ace = ACE_BY_CATEGORY[designator.category]
    return f"{ace} {designator.attribute_id} {operator} {match.value!r}"


def _returns(policy: ResourcePolicy) -> tuple[object, ...]:
    """What of a policy besides its rules' matches shapes its answers."""
    return (
        policy.algorithm.family,
        policy.algorithm.legacy,
        policy.obligations,
        policy.advice,
        tuple((rule.effect, rule.obligations, rule.advice) for rule in policy.rules),
    )

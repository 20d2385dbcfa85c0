"""Who would gain or lose which package for which party if a policy set replaced the active one.

Before a rule change reaches thousands of organisations, its author should see whom it
touches. This evaluates both policy sets with py-abac, exactly as decisions are made, for every
subject the register and the delegations make relevant: each role holder for their
organisation, each delegation recipient for its party, and each person holding a key role in
an organisation that received a delegation.

Decisions depend only on the subject's roles for the party, the packages delegated to them
there, and the party's organisation form, so subjects are grouped by those facts and each
distinct group is evaluated once per policy set: the work grows with the variety of the
register, not its size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from py_abac.request import AccessRequest

from pdp.attributes import delegated_packages
from pdp.delegations import Delegation, Given
from pdp.engine import evaluate
from pdp.register import RoleAssignment
from pdp.repository import PolicySet
from pdp.subjects import ORGANIZATION, PERSON, Subject
from pdp.vocabulary import (
    DELEGATED_PACKAGES_KEY,
    ORG_FORM_KEY,
    PARTY_KEY,
    PERMIT,
    RESOURCE_URN_PREFIX,
    ROLES_KEY,
)

GAINED = "gained"
LOST = "lost"

#: Compiled policies never look at the subject's id; the evaluation of a group of subjects
#: therefore names none of them.
_ANY_SUBJECT = "urn:pdp:impact:any-subject"
_ANY_PARTY = "urn:pdp:impact:any-party"


@dataclass(frozen=True, order=True)
class AccessChange:
    """`subject` gains or loses permission to do `action` with `package` for `party`."""

    subject_urn: str
    party: str
    package: str
    action: str
    change: str


@dataclass(frozen=True)
class Impact:
    """Every access change, sorted by subject, party, package and action."""

    changes: tuple[AccessChange, ...]

    @property
    def gained(self) -> int:
        return sum(change.change == GAINED for change in self.changes)

    @property
    def lost(self) -> int:
        return len(self.changes) - self.gained

    @property
    def subjects(self) -> int:
        return len({change.subject_urn for change in self.changes})

    @property
    def parties(self) -> int:
        return len({change.party for change in self.changes})

    def by_package(self) -> dict[str, dict[str, int]]:
        """Per package: how many (subject, party, action) permissions are gained and lost."""
        counts = Counter((change.package, change.change) for change in self.changes)
        packages = sorted({package for package, _ in counts})
        return {
            package: {GAINED: counts[(package, GAINED)], LOST: counts[(package, LOST)]}
            for package in packages
        }


@dataclass(frozen=True, slots=True)
class HoldingFacts:
    """What a package decision for one subject and party depends on: the subject's ER roles
    there, the packages delegated to it there (directly or through a key role), and the
    party's organisation form. Subjects alike in these are decided alike."""

    roles: frozenset[str]
    delegated: frozenset[str]
    org_form: str | None


def impact(
    old: PolicySet | None,
    new: PolicySet,
    assignments: Iterable[RoleAssignment],
    delegations: Iterable[Delegation],
    org_forms: dict[str, str],
) -> Impact:
    """The access changes from `old` (None: nothing in force) to `new` for the register
    described by `assignments`, the active `delegations` and the parties' `org_forms`.

    Packages are compared by their URN in `new`, so a renamed package is the same package.
    """
    assignments, delegations = list(assignments), list(delegations)
    facts_new = holding_facts(new, assignments, delegations, org_forms)
    facts_old = holding_facts(old, assignments, delegations, org_forms) if old else {}
    permitted_new = Permissions(new)
    permitted_old = Permissions(old) if old else None
    changes: list[AccessChange] = []
    for subject, party in sorted(facts_new.keys() | facts_old.keys(), key=_pair_order):
        after = permitted_new(facts_new.get((subject, party)))
        before: frozenset[tuple[str, str]] = frozenset()
        if permitted_old is not None:
            before = frozenset(
                (new.package_urn(package) or package, action)
                for package, action in permitted_old(facts_old.get((subject, party)))
            )
        changes += [
            AccessChange(subject.urn, party, package, action, change)
            for change, targets in ((GAINED, after - before), (LOST, before - after))
            for package, action in targets
        ]
    return Impact(tuple(sorted(changes)))


def _pair_order(pair: tuple[Subject, str]) -> tuple[str, str]:
    return pair[0].urn, pair[1]


def holding_facts(
    policy_set: PolicySet,
    assignments: list[RoleAssignment],
    delegations: Sequence[Delegation | Given],
    org_forms: dict[str, str],
) -> dict[tuple[Subject, str], HoldingFacts]:
    """The facts of every (subject, party) the register makes relevant, as the PIP would
    read them under `policy_set` (whose key roles and package names apply).

    Given a slice of the register (the assignments and delegations that concern some subjects
    or some parties, with the key-role assignments of the recipient organisations), the facts
    of those subjects or parties are exact: `pdp.reverse` asks it so."""
    # Keyed by plain strings (kind, identifier, party), which hash in C: a party's slice may
    # hold tens of thousands of delegations.
    subjects: dict[tuple[str, str], Subject] = {}
    roles: dict[tuple[str, str, str], set[str]] = {}
    key_holders: dict[str, list[tuple[str, str]]] = {}
    key_roles = policy_set.catalog.key_roles
    for assignment in assignments:
        holder = assignment.holder
        who = (holder.kind, holder.identifier)
        subjects.setdefault(who, holder)
        roles.setdefault((*who, assignment.organization), set()).add(assignment.role)
        if assignment.role in key_roles and holder.kind == PERSON:
            key_holders.setdefault(assignment.organization, []).append(who)
    delegated: dict[tuple[str, str, str], set[str]] = {}
    named: dict[str, set[str]] = {}  # each package name resolved once
    for delegation in delegations:
        packages = named.get(delegation.package)
        if packages is None:
            packages = named[delegation.package] = delegated_packages(
                policy_set, [delegation.package]
            )
        recipient = delegation.recipient
        who = (recipient.kind, recipient.identifier)
        subjects.setdefault(who, recipient)
        receivers = [who]
        if recipient.kind == ORGANIZATION:
            receivers += key_holders.get(recipient.identifier, ())
        for receiver in set(receivers):
            delegated.setdefault((*receiver, delegation.party), set()).update(packages)
    alike: dict[HoldingFacts, HoldingFacts] = {}  # one object for facts alike
    found: dict[tuple[Subject, str], HoldingFacts] = {}
    for key in roles.keys() | delegated.keys():
        kind, identifier, party = key
        facts = HoldingFacts(
            frozenset(roles.get(key, ())), frozenset(delegated.get(key, ())), org_forms.get(party)
        )
        found[(subjects[(kind, identifier)], party)] = alike.setdefault(facts, facts)
    return found


#: How many distinct facts a `Permissions` remembers before it starts afresh.
_PERMITTED_KEPT = 100_000


class Permissions:
    """The (package, action) pairs a policy set permits for given facts, each facts once.

    Evaluated by the engine's own `evaluate` on the compiled grant and delegation policies,
    with the facts in the request where a decision has its PIP supply them.

    Service resources' policies are left out: they decide on attributes (access packages,
    roles as Altinn names them) that these facts do not carry, so their impact is not computed
    here yet; `pdp diff` lists their rule changes."""

    def __init__(self, policy_set: PolicySet):
        self._policy_set = policy_set
        self._permitted: dict[HoldingFacts | None, frozenset[tuple[str, str]]] = {None: frozenset()}

    def __call__(self, facts: HoldingFacts | None) -> frozenset[tuple[str, str]]:
        if facts not in self._permitted:
            if len(self._permitted) > _PERMITTED_KEPT:  # bounded: as many as facts vary
                self._permitted = {None: frozenset()}
            self._permitted[facts] = frozenset(
                target
                for target in self._policy_set.targets
                if not target[0].startswith(RESOURCE_URN_PREFIX) and self._permits(facts, *target)
            )
        return self._permitted[facts]

    def _permits(self, facts: HoldingFacts, package: str, action: str) -> bool:
        resource = {PARTY_KEY: _ANY_PARTY}
        if facts.org_form is not None:
            resource[ORG_FORM_KEY] = facts.org_form
        request = AccessRequest(
            subject={
                "id": _ANY_SUBJECT,
                "attributes": {
                    ROLES_KEY: sorted(facts.roles),
                    DELEGATED_PACKAGES_KEY: sorted(facts.delegated),
                },
            },
            resource={"id": package, "attributes": resource},
            action={"id": action, "attributes": {}},
            context={},
        )
        return evaluate(self._policy_set, request, []).decision == PERMIT

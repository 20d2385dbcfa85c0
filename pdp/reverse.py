"""Decisions asked the other way: for whom may a subject act (authorized parties), and who may
act for a party (holders), each with how.

Both read a slice of the register and the delegations through indexed queries, never the
whole of either: for a subject, its own role assignments (by holder), the delegations to it or
to an organisation in which it holds a key role (by recipient); for a party, the roles held in
it (by organisation), the delegations for it (by party) and the key-role holders of the
organisations those went to (by organisation). On that slice, `pdp.impact`'s `holding_facts`
works out each (subject, party)'s facts exactly as the PIP reads them, and its `Permissions`
decides the packages with the engine's own evaluation of the compiled grant and delegation
policies: the policies decide what a subject holds, never a table here. Service resources are
asked of the decision engine itself, request by request, as `/authorize` asks them.

The results are plain data, for the API, the command line and pages alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pdp.attributes import delegated_packages
from pdp.delegations import Delegation, DelegationStore, Given
from pdp.engine import Result
from pdp.engine.request import Request
from pdp.identities import Identifier
from pdp.impact import HoldingFacts, Permissions, holding_facts
from pdp.register import Organization, Register, RoleAssignment
from pdp.repository import PolicySet
from pdp.subjects import ORGANIZATION, PERSON, SYSTEM_USER, Subject
from pdp.vocabulary import (
    ACCESS,
    ORGANIZATION_ID,
    PACKAGE_URN_PREFIX,
    PERMIT,
    PERSON_ID,
    SYSTEM_USER_UUID_ID,
)
from pdp.xacml.items import resource_request

#: How a subject holds something for a party.
ROLE = "role"
DELEGATION = "delegation"
KEY_ROLE = "key_role"

#: Decides a batch of requests as `/authorize` does (the engine's `decide_all`).
Decide = Callable[[Sequence[Request]], list[Result]]

_SUBJECT_IDS = {PERSON: PERSON_ID, ORGANIZATION: ORGANIZATION_ID, SYSTEM_USER: SYSTEM_USER_UUID_ID}


@dataclass(frozen=True)
class Way:
    """One way a subject holds a package (or relates to a party): an ER `role` it holds there
    (ROLE); a `delegation` to it (DELEGATION); or a delegation to organisation `via`, in which
    it holds key role `role` (KEY_ROLE)."""

    kind: str
    role: str | None = None
    delegation: Delegation | None = None
    via: str | None = None

    def data(self) -> dict[str, Any]:
        found: dict[str, Any] = {"how": self.kind}
        if self.role is not None:
            found["role"] = self.role
        if self.via is not None:
            found["via"] = self.via
        if self.delegation is not None:
            found["delegation"] = delegation_data(self.delegation)
        return found


@dataclass(frozen=True)
class PartyAccess:
    """A party a subject may act for, and what it holds there: ER role codes, package URNs
    (`access`, as the grant and delegation policies decide) and service resource ids whose
    policy permits it some action."""

    party: Organization
    roles: tuple[str, ...]
    packages: tuple[str, ...]
    resources: tuple[str, ...]

    def altinn(self, *, roles: bool, packages: bool, resources: bool) -> dict[str, Any]:
        """As Altinn's `AuthorizedPartyExternal` has it (what is not asked for is empty;
        package codes, not URNs; no subunits until the register knows main units)."""
        party = self.party
        return {
            "partyUuid": party.party_uuid,
            "name": party.name,
            "organizationNumber": party.organization_number,
            "parentId": None,
            "personId": None,
            "dateOfBirth": None,
            "partyId": party.party_id,
            "type": "Organization",
            "unitType": party.org_form,
            "isDeleted": False,
            "onlyHierarchyElementWithNoAccess": False,
            "authorizedAccessPackages": [
                urn.removeprefix(PACKAGE_URN_PREFIX) for urn in self.packages
            ]
            if packages
            else [],
            "authorizedResources": list(self.resources) if resources else [],
            "authorizedRoles": list(self.roles) if roles else [],
            "authorizedInstances": [],
            "subunits": [],
        }


@dataclass(frozen=True)
class Holder:
    """Someone who may act for a party (`action` on a package, or on a resource), and how."""

    subject: Subject
    ways: tuple[Way, ...]

    def data(self) -> dict[str, Any]:
        return {"subject": subject_data(self.subject), "ways": [way.data() for way in self.ways]}


def subject_data(subject: Subject) -> dict[str, str]:
    return {"kind": subject.kind, "identifier": subject.identifier, "urn": subject.urn}


def delegation_data(delegation: Delegation) -> dict[str, Any]:
    """A delegation as reverse queries and explanations show it."""
    return {
        "id": delegation.id,
        "party": delegation.party,
        "package": delegation.package,
        "delegator": delegation.delegator,
        "recipient": delegation.recipient.urn,
        "created_at": delegation.created_at.isoformat(),
        "revoked_at": None if delegation.revoked_at is None else delegation.revoked_at.isoformat(),
        "revoked_by": delegation.revoked_by,
    }


@dataclass(frozen=True)
class HolderPage:
    items: list[Holder]
    total: int


@dataclass(frozen=True)
class SubjectSlice:  # not slotted: `_roles_by_party` is cached on the instance
    """What the register and the delegations say about one subject, read by index: its role
    assignments anywhere, and the delegations (not revoked) to it or to an organisation in
    which it holds a key role."""

    subject: Subject
    assignments: tuple[RoleAssignment, ...]
    delegations: tuple[Delegation, ...]

    @classmethod
    def read(
        cls,
        register: Register,
        delegations: DelegationStore,
        policy_set: PolicySet,
        subject: Subject,
    ) -> SubjectSlice:
        own = register.assignments_of([subject]) if subject.kind != SYSTEM_USER else []
        read = cls(subject, tuple(own), ())
        recipients = [
            subject,
            *(Subject(ORGANIZATION, o) for o in read.key_organizations(policy_set)),
        ]
        return cls(subject, tuple(own), tuple(delegations.active_to(recipients)))

    def key_organizations(self, policy_set: PolicySet) -> set[str]:
        """The organisations in which the subject, a person, holds a key role: delegations
        to them reach it."""
        if self.subject.kind != PERSON:
            return set()
        key_roles = policy_set.catalog.key_roles
        return {a.organization for a in self.assignments if a.role in key_roles}

    def parties(self) -> set[str]:
        """Every party the subject holds a role in or received a delegation for."""
        return {a.organization for a in self.assignments} | {d.party for d in self.delegations}

    def roles_at(self, party: str) -> tuple[str, ...]:
        return self._roles_by_party.get(party, ())

    @cached_property
    def _roles_by_party(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, set[str]] = {}
        for assignment in self.assignments:
            found.setdefault(assignment.organization, set()).add(assignment.role)
        return {party: tuple(sorted(roles)) for party, roles in found.items()}

    def facts(self, policy_set: PolicySet, org_forms: dict[str, str]) -> dict[str, HoldingFacts]:
        """The subject's facts at each of its parties, as the PIP reads them."""
        return {
            party: facts
            for (holder, party), facts in holding_facts(
                policy_set, list(self.assignments), list(self.delegations), org_forms
            ).items()
            if holder == self.subject
        }


def authorized_parties(
    register: Register,
    delegations: DelegationStore,
    policy_set: PolicySet,
    decide: Decide,
    subject: Subject,
    *,
    resources: bool = True,
    any_of_resources: Sequence[str] = (),
    parties: Iterable[str] | None = None,
) -> list[PartyAccess]:
    """The parties `subject` may act for, by organisation number: those where it holds an ER
    role, a package, or (with `resources`) some action on a service resource.

    `any_of_resources` keeps only parties where one of these resources is permitted (and
    decides those even without `resources`); `parties`, when given, keeps only these. The
    packages listed are exactly those `/authorize` permits for `access`; the resources those
    whose policy permits one of its actions.
    """
    read = SubjectSlice.read(register, delegations, policy_set, subject)
    candidates = read.parties()
    if parties is not None:
        candidates &= set(parties)
    known = register.organizations_in(candidates)
    org_forms = {number: organization.org_form for number, organization in known.items()}
    facts = read.facts(policy_set, org_forms)
    permissions = permissions_of(policy_set)
    asked = tuple(any_of_resources) or (_resource_ids(policy_set) if resources else ())
    permitted = _resources_permitted(policy_set, decide, subject, sorted(known), asked)
    found = []
    for number in sorted(known):
        packages = sorted(p for p, a in permissions(facts.get(number)) if a == ACCESS)
        held = permitted.get(number, ())
        roles = read.roles_at(number)
        if any_of_resources and not held:
            continue
        if roles or packages or held:
            found.append(PartyAccess(known[number], roles, tuple(packages), held))
    return found


def holders(
    register: Register,
    delegations: DelegationStore,
    policy_set: PolicySet,
    decide: Decide,
    party: str,
    *,
    package: str | None = None,
    resource: str | None = None,
    action: str = ACCESS,
    limit: int = 100,
    offset: int = 0,
) -> HolderPage:
    """Everyone who may perform `action` on `package` (a published URN) or on service
    `resource` for organisation `party`, ordered by subject, one page at a time, each with how.

    The candidates are everyone the register and the delegations relate to the party: its
    role holders, the recipients of its delegations and the key-role holders of recipient
    organisations. Packages are decided by the compiled policies on their facts; a resource's
    holders are those of them its policy permits, each asked of the engine.
    """
    related = _PartySlice.read(register, delegations, policy_set, party)
    facts = {
        subject: holding
        for (subject, at), holding in holding_facts(
            policy_set, related.assignments, related.delegations, related.org_forms
        ).items()
        if at == party
    }
    permissions = permissions_of(policy_set)
    if package is not None:
        chosen = sorted(
            (s for s, f in facts.items() if (package, action) in permissions(f)),
            key=lambda s: s.urn,
        )
    elif resource is not None:
        subjects = sorted(facts, key=lambda s: s.urn)
        results = decide(
            [
                resource_request(
                    Identifier(_SUBJECT_IDS[s.kind], s.identifier),
                    Identifier(ORGANIZATION_ID, party),
                    resource,
                    action,
                )
                for s in subjects
            ]
        )
        chosen = [s for s, r in zip(subjects, results, strict=True) if r.decision == PERMIT]
    else:
        raise ValueError("holders of what: give a package or a resource")
    page = chosen[offset : offset + limit]
    org_form = related.org_forms.get(party)
    # How: the page's holders' own delegations, read in full by recipient (the party's
    # may be tens of thousands; a page's are few).
    key_roles = policy_set.catalog.key_roles
    recipients = {*page} | {
        Subject(ORGANIZATION, a.organization)
        for a in related.assignments
        if a.holder in page and a.holder.kind == PERSON and a.role in key_roles
    }
    given = [d for d in delegations.active_to(recipients) if d.party == party]
    provenance = Provenance(policy_set, permissions, related.assignments, given)
    target = None if package is None else (package, action)
    return HolderPage(
        [Holder(s, provenance.ways(s, party, org_form, target)) for s in page],
        len(chosen),
    )


#: The permissions of the policy sets asked about lately: a policy set never changes, so its
#: entry is never stale; a few are kept (the active one, and one being replaced).
_PERMISSIONS: dict[int, tuple[PolicySet, Permissions]] = {}
_PERMISSIONS_KEPT = 4


def permissions_of(policy_set: PolicySet) -> Permissions:
    """The `Permissions` of `policy_set`, kept while it is among the last few asked about, so
    the facts of people alike are evaluated once per policy set, not once per question."""
    kept = _PERMISSIONS.get(id(policy_set))
    if kept is not None and kept[0] is policy_set:
        return kept[1]
    if len(_PERMISSIONS) >= _PERMISSIONS_KEPT:
        _PERMISSIONS.pop(next(iter(_PERMISSIONS)))
    permissions = Permissions(policy_set)
    _PERMISSIONS[id(policy_set)] = (policy_set, permissions)
    return permissions


class Provenance:
    """How subjects hold what they hold, on one slice of the register and the delegations:
    each role, delegation and key role that alone would give a target, as the policies
    decide (`Permissions`, each distinct set of facts evaluated once). The slice is indexed
    by holder and by recipient once, so telling how costs no more per subject than the
    subject's own roles and delegations."""

    def __init__(
        self,
        policy_set: PolicySet,
        permissions: Permissions,
        assignments: Iterable[RoleAssignment],
        delegations: Iterable[Delegation],
    ):
        self._policy_set = policy_set
        self._permissions = permissions
        self._key_roles = policy_set.catalog.key_roles
        self._roles: dict[Subject, list[RoleAssignment]] = {}
        for assignment in sorted(assignments, key=lambda a: a.role):
            self._roles.setdefault(assignment.holder, []).append(assignment)
        self._given: dict[Subject, list[Delegation]] = {}
        for delegation in sorted(delegations, key=lambda d: (d.created_at, d.id)):
            self._given.setdefault(delegation.recipient, []).append(delegation)
        self._packages: dict[str, frozenset[str]] = {}

    def ways(
        self,
        subject: Subject,
        party: str,
        org_form: str | None,
        target: tuple[str, str] | None,
    ) -> tuple[Way, ...]:
        """How `subject` holds `target` (package URN, action) for `party`: each role of it
        there, each delegation to it and each delegation to an organisation in which it holds
        a key role, that alone would give it. With no target: every such role and delegation,
        whatever it gives."""

        def gives(facts: HoldingFacts) -> bool:
            return target is None or target in self._permissions(facts)

        held = self._roles.get(subject, [])
        ways = [
            Way(ROLE, role=a.role)
            for a in held
            if a.organization == party
            and gives(HoldingFacts(frozenset({a.role}), frozenset(), org_form))
        ]
        key_in: dict[str, str] = {}
        if subject.kind == PERSON:
            for a in held:
                if a.role in self._key_roles:
                    key_in.setdefault(a.organization, a.role)
        given = [(d, None) for d in self._given.get(subject, [])] + [
            (d, organization)
            for organization in sorted(key_in)
            for d in self._given.get(Subject(ORGANIZATION, organization), [])
        ]
        for delegation, via in sorted(given, key=lambda pair: (pair[0].created_at, pair[0].id)):
            if delegation.party != party:
                continue
            packages = self._delegated(delegation.package)
            if target is not None and target[0] not in packages:
                continue
            if not gives(HoldingFacts(frozenset(), packages, org_form)):
                continue
            if via is None:
                ways.append(Way(DELEGATION, delegation=delegation))
            else:
                ways.append(Way(KEY_ROLE, role=key_in[via], delegation=delegation, via=via))
        return tuple(ways)

    def _delegated(self, package: str) -> frozenset[str]:
        if package not in self._packages:
            self._packages[package] = frozenset(delegated_packages(self._policy_set, [package]))
        return self._packages[package]


@dataclass(frozen=True)
class _PartySlice:
    """What the register and the delegations say about one party, read by index."""

    assignments: list[RoleAssignment]
    delegations: list[Given]
    org_forms: dict[str, str]

    @classmethod
    def read(
        cls, register: Register, delegations: DelegationStore, policy_set: PolicySet, party: str
    ) -> _PartySlice:
        given = delegations.given_for(party)
        recipients = {d.recipient.identifier for d in given if d.recipient.kind == ORGANIZATION}
        key_roles = policy_set.catalog.key_roles
        assignments = register.assignments_in([party])
        assignments += [
            a
            for a in register.assignments_in(recipients - {party})
            if a.role in key_roles and a.holder.kind == PERSON
        ]
        known = register.organizations_in([party])
        return cls(assignments, given, {n: o.org_form for n, o in known.items()})


def _resource_ids(policy_set: PolicySet) -> tuple[str, ...]:
    return tuple(sorted(policy.resource_id for policy in policy_set.catalog.resources))


def _resources_permitted(
    policy_set: PolicySet,
    decide: Decide,
    subject: Subject,
    parties: list[str],
    resources: Sequence[str],
) -> dict[str, tuple[str, ...]]:
    """Per party, the resources (of `resources`) whose policy permits `subject` one of its
    actions there, each asked of the engine as `/authorize` asks it."""
    by_id = {policy.resource_id: policy for policy in policy_set.catalog.resources}
    asked = [
        (party, resource_id, action)
        for party in parties
        for resource_id in resources
        if resource_id in by_id
        for action in by_id[resource_id].actions()
    ]
    if not asked:
        return {}
    who = Identifier(_SUBJECT_IDS[subject.kind], subject.identifier)
    results = decide(
        [
            resource_request(who, Identifier(ORGANIZATION_ID, party), resource_id, action)
            for party, resource_id, action in asked
        ]
    )
    permitted: dict[str, set[str]] = {}
    for (party, resource_id, _), result in zip(asked, results, strict=True):
        if result.decision == PERMIT:
            permitted.setdefault(party, set()).add(resource_id)
    return {party: tuple(sorted(ids)) for party, ids in permitted.items()}

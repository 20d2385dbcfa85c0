"""Why a decision is what it is: the engine's own trace of it, told step by step.

`explain` has the engine decide the request on its one decision path with a `Trace`
(`pdp.engine.trace`), so the decision explained is the decision `/authorize` gives; then each
step is told in data and one sentence: the policy-set version; for a package, each candidate
grant or delegation policy (fitted, or which of its conditions failed: the role it needs, the
organisation form it is limited to); every role and package the subject holds for the party
and where each comes from (the register's ER role, a delegation with its delegator and date,
a key role in a recipient organisation); for a service resource, each rule of its policy and
how it applied; and for NotApplicable the nearest misses (the role held at another party, a
delegation revoked). The facts told beyond the trace are read as `pdp.reverse` reads them, by
index, and never change the decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pdp.combining import Applies
from pdp.delegations import DelegationStore
from pdp.engine import DecisionEngine, Result
from pdp.engine.request import Request
from pdp.engine.trace import PackageStep, ResourceStep, Trace
from pdp.impact import HoldingFacts
from pdp.register import Register
from pdp.repository import PolicySet
from pdp.resource_policies import ResourcePolicy, Rule, is_action
from pdp.reverse import (
    DELEGATION,
    KEY_ROLE,
    ROLE,
    Provenance,
    SubjectSlice,
    Way,
    delegation_data,
    permissions_of,
)
from pdp.subjects import ORGANIZATION, Subject
from pdp.vocabulary import CCR_ROLE_ID, NOT_APPLICABLE, PACKAGE_ID, PERMIT, ROLECODE_ID

#: How many parties a near miss names at most.
_NEAR_MISSES = 5


@dataclass(frozen=True)
class Step:
    """One step of an explanation: what kind, one readable sentence, and its data."""

    kind: str
    sentence: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Explanation:
    """A decision, exactly as the engine made it, and the steps that explain it."""

    result: Result
    steps: tuple[Step, ...]

    def data(self) -> dict[str, Any]:
        """The decision as `/api/v1/decision` words it, and the steps."""
        result = self.result
        found: dict[str, Any] = {
            "decision": result.decision,
            "status": result.status,
            "policies": [policy.uid for policy in result.policies],
            "version": result.version,
        }
        if result.message:
            found["message"] = result.message
        found["steps"] = [
            {"kind": step.kind, "sentence": step.sentence, "data": step.data} for step in self.steps
        ]
        return found


def explain(
    engine: DecisionEngine,
    register: Register,
    delegations: DelegationStore,
    policy_set: PolicySet,
    request: Request,
) -> Explanation:
    """The decision for `request` and why (see the module's docstring)."""
    result, trace = engine.explain(request)
    return Explanation(
        result, tuple(_Teller(register, delegations, policy_set).tell(result, trace))
    )


class _Teller:
    """Turns a trace into steps; reads each subject's slice of the register once."""

    def __init__(self, register: Register, delegations: DelegationStore, policy_set: PolicySet):
        self._register = register
        self._delegations = delegations
        self._policy_set = policy_set
        self._permissions = permissions_of(policy_set)
        self._slices: dict[Subject, SubjectSlice] = {}

    def tell(self, result: Result, trace: Trace) -> list[Step]:
        steps = []
        if trace.version is not None:
            steps.append(
                Step(
                    "version",
                    f"Decided under policy-set version {trace.version}.",
                    {"version": trace.version},
                )
            )
        for each in trace.steps:
            if isinstance(each, PackageStep):
                steps += self._package(each)
            else:
                steps += self._resource(each, trace)
        data = {"decision": result.decision, "status": result.status}
        sentence = f"The decision is {result.decision}"
        if result.message:
            data["message"] = result.message
            sentence += f": {result.message}"
        steps.append(Step("decision", sentence + ".", data))
        return steps

    def _provenance(self, subject: Subject) -> Provenance:
        read = self._slice(subject)
        return Provenance(self._policy_set, self._permissions, read.assignments, read.delegations)

    def _slice(self, subject: Subject) -> SubjectSlice:
        if subject not in self._slices:
            self._slices[subject] = SubjectSlice.read(
                self._register, self._delegations, self._policy_set, subject
            )
        return self._slices[subject]

    # --- a package decision ---------------------------------------------------------------

    def _package(self, step: PackageStep) -> list[Step]:
        who, party, package = step.subject, step.party, step.package
        steps = [self._org_form(party, step.org_form)]
        if step.stated_roles is not None:
            steps.append(
                Step(
                    "stated_roles",
                    f"The request states the roles {_list(step.stated_roles)} for {party}; "
                    "they are used instead of the register's.",
                    {"roles": list(step.stated_roles)},
                )
            )
        steps += self._holdings(step)
        fitting = {policy.uid for policy in step.fitting}
        for policy in step.candidates:
            steps.append(self._policy(policy.uid, policy.uid in fitting, step))
        if not step.candidates:
            steps.append(
                Step(
                    "policy",
                    f"No policy targets {package} for action {step.action}.",
                    {"package": package, "action": step.action},
                )
            )
        if step.result.decision == NOT_APPLICABLE and step.stated_roles is None:
            steps += self._near_misses(who, party, package, step.action)
        steps.append(
            Step(
                "package_decision",
                f"So {who.urn} {'may' if step.result.decision == PERMIT else 'may not'} "
                f"{step.action} {package} for {party} ({step.result.decision}).",
                {
                    "subject": who.urn,
                    "party": party,
                    "package": package,
                    "action": step.action,
                    "decision": step.result.decision,
                    "policies": [policy.uid for policy in step.result.policies],
                },
            )
        )
        return steps

    def _org_form(self, party: str, org_form: str | None) -> Step:
        if org_form is None:
            return Step(
                "org_form",
                f"{party} is not in the register: no one holds anything for it.",
                {"party": party, "org_form": None},
            )
        return Step(
            "org_form",
            f"{party} is an organisation of form {org_form} in the register.",
            {"party": party, "org_form": org_form},
        )

    def _holdings(self, step: PackageStep) -> list[Step]:
        """Every role and delegated package the subject holds for the party, and whence."""
        if step.stated_roles is not None:
            return []
        ways = self._provenance(step.subject).ways(step.subject, step.party, step.org_form, None)
        steps = [_way_step(step.subject, step.party, way) for way in ways]
        if not ways:
            steps.append(
                Step(
                    "holding",
                    f"{step.subject.urn} holds no ER role for {step.party} in the register and "
                    "has no delegation for it, directly or through a key role.",
                    {"subject": step.subject.urn, "party": step.party},
                )
            )
        return steps

    def _policy(self, uid: str, fitted: bool, step: PackageStep) -> Step:
        """A candidate grant or delegation policy: fitted, or the condition that failed."""
        kind, _, *rest = uid.split(":")
        catalog = self._policy_set.catalog
        package = catalog.package(step.package)
        data: dict[str, Any] = {"policy": uid, "matched": fitted}
        if kind == "grant":
            role, action = rest
            grant = next(
                (
                    g
                    for g in package.grants
                    if g.role == role and (action != "delegate" or g.delegable)
                ),
                None,
            )
            forms = grant.org_forms if grant is not None else ()
            data.update(role=role, org_forms=list(forms))
            needs = f"needs ER role {role}" + (
                f" and a party of form {_list(forms)}" if forms else ""
            )
            if fitted:
                return Step("policy", f"Grant policy {uid} {needs}: it matched.", data)
            why = []
            if role not in step.roles:
                why.append(f"the subject does not hold {role} for {step.party}")
            if forms and step.org_form not in forms:
                why.append(f"{step.party} is of form {step.org_form or 'unknown'}")
            return Step(
                "policy", f"Grant policy {uid} {needs}: {'; '.join(why) or 'no match'}.", data
            )
        delegable = [g for g in package.grants if g.delegable]
        forms = (
            tuple(sorted({f for g in delegable for f in g.org_forms}))
            if delegable and all(g.org_forms for g in delegable)
            else ()
        )
        data.update(org_forms=list(forms))
        needs = f"needs a delegation of {step.package}" + (
            f" and a party of form {_list(forms)}" if forms else ""
        )
        if fitted:
            return Step("policy", f"Delegation policy {uid} {needs}: it matched.", data)
        why = []
        if step.package not in step.delegated:
            why.append(f"nothing delegates it to the subject for {step.party}")
        if forms and step.org_form not in forms:
            why.append(f"{step.party} is of form {step.org_form or 'unknown'}")
        return Step(
            "policy", f"Delegation policy {uid} {needs}: {'; '.join(why) or 'no match'}.", data
        )

    def _near_misses(self, subject: Subject, party: str, package: str, action: str) -> list[Step]:
        """Where the subject would have held the package: a role that grants it held at
        other parties; a delegation of it for this party revoked; a delegation of it for
        another party."""
        read = self._slice(subject)
        steps = []
        granting = {
            code
            for code in {a.role for a in read.assignments}
            if any(
                (package, action)
                in self._permissions(HoldingFacts(frozenset({code}), frozenset(), form))
                for form in self._org_forms_of_package(package)
            )
        }
        elsewhere = sorted(
            {
                (a.role, a.organization)
                for a in read.assignments
                if a.role in granting and a.organization != party
            }
        )
        if elsewhere:
            shown = elsewhere[:_NEAR_MISSES]
            steps.append(
                Step(
                    "near_miss",
                    f"{subject.urn} holds "
                    + ", ".join(f"{role} at {org}" for role, org in shown)
                    + (" and more" if len(elsewhere) > len(shown) else "")
                    + f", which would give {package} there, but not at {party}.",
                    {"held_elsewhere": [{"role": r, "party": o} for r, o in shown]},
                )
            )
        key_organizations = read.key_organizations(self._policy_set)
        recipients = [subject, *(Subject(ORGANIZATION, o) for o in key_organizations)]
        for delegation in self._delegations.revoked_to(recipients, party)[:_NEAR_MISSES]:
            if self._policy_set.package_urn(delegation.package) != package:
                continue
            steps.append(
                Step(
                    "near_miss",
                    f"Delegation {delegation.id} of {package} for {party} to "
                    f"{delegation.recipient.urn} was revoked on {_date(delegation.revoked_at)} "
                    f"by {delegation.revoked_by}.",
                    {"revoked_delegation": delegation_data(delegation)},
                )
            )
        other = sorted(
            {
                d.party
                for d in read.delegations
                if d.party != party and self._policy_set.package_urn(d.package) == package
            }
        )
        if other:
            steps.append(
                Step(
                    "near_miss",
                    f"{package} was delegated to {subject.urn} (or an organisation it holds a key "
                    f"role in) for {_list(other[:_NEAR_MISSES])}, not for {party}.",
                    {"delegated_elsewhere": other[:_NEAR_MISSES]},
                )
            )
        return steps

    def _org_forms_of_package(self, package: str) -> set[str | None]:
        """Forms to try a role at: no form, and each form a grant of the package names."""
        grants = self._policy_set.catalog.package(package).grants
        return {None, *(f for g in grants for f in g.org_forms)}

    # --- a service resource decision ------------------------------------------------------

    def _resource(self, step: ResourceStep, trace: Trace) -> list[Step]:
        policy = step.policy
        request = step.request
        steps = [
            Step(
                "resource_policy",
                f"Resource {policy.resource_id} has policy {policy.policy_id} "
                f"(rules combined {policy.algorithm.family}); asked for action {request.action}.",
                {
                    "resource": policy.resource_id,
                    "policy": policy.policy_id,
                    "algorithm": policy.algorithm.urn,
                    "action": request.action,
                },
            )
        ]
        who = step.subject.subject if step.subject is not None else None
        party = step.party.subject if step.party is not None else None
        if who is None:
            steps.append(
                Step("subject", "The register knows no one by the subject's identifiers.", {})
            )
        roles: list[str] = []
        if party is not None and party.kind == ORGANIZATION and who is not None:
            steps.append(self._org_form(party.identifier, self._org_form_of(party.identifier)))
            roles = list(self._slice(who).roles_at(party.identifier))
            org_form = self._org_form_of(party.identifier)
            ways = self._provenance(who).ways(who, party.identifier, org_form, None)
            steps += [_way_step(who, party.identifier, way) for way in ways]
        held = sorted(
            self._policy_set.catalog.package(s.package).code
            for s in trace.steps
            if isinstance(s, PackageStep) and s.result.decision == PERMIT
        )
        for rule, applies in step.rules:
            steps.append(_rule_step(policy, rule, applies, held, roles))
        return steps

    def _org_form_of(self, number: str) -> str | None:
        known = self._register.organizations_in([number])
        return known[number].org_form if number in known else None


def _rule_step(
    policy: ResourcePolicy, rule: Rule, applies: Applies, held: list[str], roles: list[str]
) -> Step:
    """How one rule applied, with what it asks of the subject and what the subject holds."""
    matches = [m for any_of in (*policy.target, *rule.target) for all_of in any_of for m in all_of]
    packages = sorted({str(m.value) for m in matches if m.designator.attribute_id == PACKAGE_ID})
    wanted_roles = sorted(
        {str(m.value) for m in matches if m.designator.attribute_id in (ROLECODE_ID, CCR_ROLE_ID)}
    )
    actions = sorted({str(m.value).lower() for m in matches if is_action(m)})
    data = {
        "rule": rule.number,
        "rule_id": rule.rule_id,
        "effect": rule.effect,
        "applies": applies.value,
        "packages": packages,
        "roles": wanted_roles,
        "actions": actions,
    }
    name = f"Rule {rule.number} ({rule.rule_id}, {rule.effect})"
    if applies == Applies.YES:
        return Step("rule", f"{name} applies.", data)
    if applies == Applies.INDETERMINATE:
        return Step("rule", f"{name} is Indeterminate: an attribute it must have is missing.", data)
    needs = []
    if packages:
        needs.append(f"package {' or '.join(packages)}")
    if wanted_roles:
        needs.append(f"role {' or '.join(wanted_roles)}")
    wanted = " or ".join(needs) or "attributes the request does not give"
    has = f"packages {_list(held)}" if held else "no package the policy names"
    has += f" and roles {_list(roles)}" if roles else " and no role"
    on = f" for action {' or '.join(actions)}" if actions else ""
    return Step(
        "rule", f"{name} does not apply: it needs {wanted}{on}; the subject holds {has}.", data
    )


def _way_step(subject: Subject, party: str, way: Way) -> Step:
    data: dict[str, Any] = {"subject": subject.urn, "party": party, "how": way.kind}
    if way.kind == ROLE:
        data["role"] = way.role
        return Step(
            "holding",
            f"{subject.urn} holds ER role {way.role} for {party} in the register.",
            data,
        )
    delegation = way.delegation
    assert delegation is not None
    data["delegation"] = delegation_data(delegation)
    given = (
        f"delegation {delegation.id} of {delegation.package} from {delegation.delegator} "
        f"on {_date(delegation.created_at)}"
    )
    if way.kind == DELEGATION:
        return Step("holding", f"{subject.urn} holds {given} for {party}.", data)
    assert way.kind == KEY_ROLE
    data.update(role=way.role, via=way.via)
    return Step(
        "holding",
        f"{subject.urn} holds key role {way.role} in {way.via}, which received {given} "
        f"for {party}.",
        data,
    )


def _date(moment: Any) -> str:
    return moment.date().isoformat() if moment is not None else "an unknown date"


def _list(items: Any) -> str:
    items = list(items)
    return ", ".join(str(i) for i in items) if items else "none"

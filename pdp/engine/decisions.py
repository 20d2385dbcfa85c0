"""`DecisionEngine`: a batch of decision requests in, a Result for each out.

For each request: resolve it once into a `Target` (the package's published URN and the action)
in the active policy set, read the facts every request of the batch needs at once (the PIP,
`pdp.attributes`), evaluate the target's candidate policies with py-abac and combine them
deny-overrides (`pdp.engine.evaluation`). py-abac only answers yes or no, so the four XACML
decisions and their status are made here:

- Permit: an allow policy fits and no deny policy does;
- Deny: a deny policy fits (grants compile to none; service resources' Deny rules do);
- NotApplicable: no policy fits (no granting role, unknown package, unknown party);
- Indeterminate: the request cannot be evaluated (syntax-error) or evaluation failed
  (processing-error). Never Permit on an error.

A service resource request (`ResourceRequest`) is resolved into the resource's policy and the
compiled documents of its rules for the action, and decided by `pdp.engine.resources` under
the policy's own combining algorithm; the packages its rules ask for are package decisions of
this same engine, with the same facts and caches.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from py_abac.context import EvaluationContext
from py_abac.policy import Policy
from py_abac.provider.base import AttributeProvider
from py_abac.request import AccessRequest

from pdp.attributes import Facts
from pdp.bounded import BoundedMap
from pdp.catalog import package_urn_form
from pdp.changes import ChangeLog
from pdp.delegations import DelegationStore
from pdp.engine.caches import EngineCaches, EvaluationKey
from pdp.engine.evaluation import combine
from pdp.engine.request import DecisionRequest, Request, ResourceRequest, RoleClaim, Unreadable
from pdp.engine.resources import ResolvedResource, ResourceIndex, decide_resource
from pdp.engine.result import Result, processing_error
from pdp.engine.targets import AttributePath, Target, TargetIndex, TargetPolicies
from pdp.engine.trace import PackageStep, Trace
from pdp.errors import NoActivePolicySet, RequestSyntaxError
from pdp.register import Register
from pdp.repository import ActivePolicySet, PolicySet
from pdp.subjects import Subject
from pdp.vocabulary import (
    ACCESS,
    ACTIONS,
    INDETERMINATE,
    NOT_APPLICABLE,
    ORG_FORM_PATH,
    PACKAGE_URN_PREFIX,
    PARTY_KEY,
    RESOURCE_URN_PREFIX,
    ROLES_KEY,
    ROLES_PATH,
    STATUS_PROCESSING_ERROR,
    STATUS_STATED_ROLES_REFUSED,
    STATUS_SYNTAX_ERROR,
    ascii_lower,
)

LOG = logging.getLogger(__name__)

_ROLES = ("subject", ROLES_PATH)
_ORG_FORM = ("resource", ORG_FORM_PATH)


@dataclass(frozen=True)
class _Resolved:
    """A request resolved in the active policy set, ready to be evaluated."""

    request: DecisionRequest
    target: Target
    policies: TargetPolicies
    #: The role codes of the request's stated roles; None when it states none.
    stated_roles: list[str] | None

    def attribute_paths(self) -> frozenset[AttributePath]:
        """What evaluating it asks the PIP: its policies' attributes, less the roles it states
        (but then the party's organisation form, to check the party exists)."""
        paths = frozenset(self.policies.attribute_paths)
        if self.stated_roles is None:
            return paths
        return (paths - {_ROLES}) | {_ORG_FORM}


class DecisionEngine:
    """Decides requests against the active policy set, the register and the delegations.

    With `cache_size` above 0 it keeps three caches (`pdp.engine.caches`) of up to
    `cache_size` entries each: decisions per request and facts per subject and party until the
    change log's stamp moves (any publish, activation, register import or delegation change,
    on this machine at once and elsewhere within the refresh interval), and evaluations per
    target and attribute values until another policy set is active. With `cache_size` 0 every
    request is evaluated, every batch reading its facts afresh (once per subject and party).
    """

    def __init__(
        self,
        policy_sets: ActivePolicySet,
        register: Register,
        delegations: DelegationStore,
        changes: ChangeLog,
        cache_size: int = 0,
    ):
        self._policy_sets = policy_sets
        self._register = register
        self._delegations = delegations
        self._changes = changes
        self._caches = EngineCaches.of_size(cache_size) if cache_size else None
        #: The targets and service resources of the policy set last decided under.
        self._indexes: tuple[TargetIndex, ResourceIndex] | None = None

    def decide(self, request: Request) -> Result:
        return self.decide_all([request])[0]

    def explain(self, request: Request) -> tuple[Result, Trace]:
        """Decide `request` as `decide_all` does without a cache, noting each step on a
        `Trace` (`pdp.engine.trace`): the same path, so the same decision."""
        trace = Trace()
        try:
            policy_set = self._policy_sets.current(self._changes.stamp())
        except NoActivePolicySet as error:
            return processing_error(str(error), None), trace
        except Exception:
            LOG.exception("could not load the active policy set")
            return processing_error("the policy repository is unavailable", None), trace
        trace.version = policy_set.version
        (result,) = self._decide_fresh(policy_set, [request], trace)
        return result, trace

    def decide_all(self, requests: Sequence[Request]) -> list[Result]:
        """Decide each request in order, all under one policy-set version.

        An `Unreadable` in the list (a request the context handler could not read) gives its
        own Indeterminate result, so one bad request in a MultiRequests spoils nothing else.
        The facts the requests need are read first, for all of them at once.
        """
        try:
            stamp = self._changes.stamp()
            policy_set = self._policy_sets.current(stamp)
        except NoActivePolicySet as error:
            return [processing_error(str(error), None) for _ in requests]
        except Exception:
            LOG.exception("could not load the active policy set")
            return [
                processing_error("the policy repository is unavailable", None) for _ in requests
            ]
        caches = self._caches
        if caches is None:
            return self._decide_fresh(policy_set, requests, None)
        decisions = caches.decisions.kept_for(policy_set, stamp)
        remembered = [
            None if isinstance(request, Unreadable) else decisions.get(request)
            for request in requests
        ]
        if None not in remembered:
            return cast(list[Result], remembered)
        kept_facts = caches.facts.kept_for(policy_set, stamp)
        facts = Facts(self._register, self._delegations, policy_set, kept_facts)
        evaluations = caches.evaluations.kept_for(policy_set)
        missing = [r for r, known in zip(requests, remembered, strict=True) if known is None]
        resolved = iter(self._resolve_all(policy_set, facts, missing))
        results = []
        for request, known in zip(requests, remembered, strict=True):
            if known is not None:
                results.append(known)
                continue
            resolution = next(resolved)
            # Asked again: the same request earlier in this batch may have been decided since.
            readable = not isinstance(request, Unreadable)
            result = decisions.get(request) if readable else None
            if result is None:
                result = self._decide(policy_set, resolution, facts, evaluations)
                if readable:
                    decisions.remember(request, result, self._changes.stamp())
            results.append(result)
        return results

    def _decide_fresh(
        self, policy_set: PolicySet, requests: Sequence[Request], trace: Trace | None
    ) -> list[Result]:
        """Decide `requests` with no cache, the facts read for this batch alone."""
        facts = Facts(self._register, self._delegations, policy_set)
        resolved = self._resolve_all(policy_set, facts, requests)
        return [self._decide(policy_set, each, facts, None, trace) for each in resolved]

    def _resolve_all(
        self,
        policy_set: PolicySet,
        facts: Facts,
        requests: Sequence[Request],
    ) -> list[_Resolved | ResolvedResource | Result]:
        """Resolve each request once, and have `facts` read, for all of them at once, what
        evaluating them will ask the PIP."""
        targets = self._indexes_of(policy_set)[0]
        resolved = [self._resolve(policy_set, targets, request) for request in requests]
        facts.read_ahead(
            (each.request.subject, each.request.party, each.attribute_paths())
            for each in resolved
            if isinstance(each, _Resolved)
        )
        return resolved

    def _indexes_of(self, policy_set: PolicySet) -> tuple[TargetIndex, ResourceIndex]:
        """The target and resource indexes of `policy_set`, made when it is first decided
        under (both swapped in one assignment)."""
        indexes = self._indexes
        if indexes is None or indexes[0].policy_set is not policy_set:
            indexes = self._indexes = (TargetIndex(policy_set), ResourceIndex(policy_set.catalog))
        return indexes

    def _resolve(
        self,
        policy_set: PolicySet,
        targets: TargetIndex,
        request: Request,
    ) -> _Resolved | ResolvedResource | Result:
        """The request's target and policies, or the Result it gets without evaluation: a
        syntax error, NotApplicable for a package or resource the policy set does not know,
        or a processing error when the target's policies cannot be read."""
        version = policy_set.version
        if isinstance(request, Unreadable):
            return Result(INDETERMINATE, request.status, request.message, version=version)
        if isinstance(request, ResourceRequest):
            return self._resolve_resource(policy_set, targets, request)
        try:
            if request.action not in ACTIONS:
                raise RequestSyntaxError(
                    f"unknown action {request.action!r}; supported: {', '.join(ACTIONS)}"
                )
            stated_roles = None
            if request.role_claims is not None:
                if request.roles_refused is not None:
                    return _roles_refused(request.roles_refused, version)
                stated_roles = _resolve_roles(policy_set, request.role_claims)
            if package_urn_form(request.package) is None:
                raise RequestSyntaxError(
                    f"{request.package!r} is neither an access package URN "
                    f"({PACKAGE_URN_PREFIX}<code>) nor a package code"
                )
            package_urn = policy_set.package_urn(request.package)
            if package_urn is None:
                return Result(
                    NOT_APPLICABLE,
                    message=f"no policy applies to package {request.package!r}",
                    version=version,
                )
            target = Target(package_urn, request.action)
            return _Resolved(request, target, targets.policies(target), stated_roles)
        except RequestSyntaxError as error:
            return Result(INDETERMINATE, STATUS_SYNTAX_ERROR, str(error), version=version)
        except Exception:
            LOG.exception("could not resolve %r", request)
            return processing_error("evaluation failed inside the PDP", version)

    def _resolve_resource(
        self, policy_set: PolicySet, targets: TargetIndex, request: ResourceRequest
    ) -> ResolvedResource | Result:
        """The resource's policy and its rules' documents for the action; NotApplicable for a
        resource the policy set has no policy for."""
        resource = self._indexes_of(policy_set)[1].get(request.resource)
        if resource is None:
            return Result(
                NOT_APPLICABLE,
                message=f"no policy for resource {request.resource!r}",
                version=policy_set.version,
            )
        try:
            target = Target(f"{RESOURCE_URN_PREFIX}{request.resource}", ascii_lower(request.action))
            return ResolvedResource(request, resource, targets.policies(target).candidates)
        except Exception:
            LOG.exception("could not resolve %r", request)
            return processing_error("evaluation failed inside the PDP", policy_set.version)

    def _decide(
        self,
        policy_set: PolicySet,
        resolved: _Resolved | ResolvedResource | Result,
        facts: Facts,
        evaluations: BoundedMap[EvaluationKey, Result] | None,
        trace: Trace | None = None,
    ) -> Result:
        """The Result of one request not answered from the cache (each step noted on `trace`
        when one is given)."""
        if isinstance(resolved, Result):
            return resolved
        try:
            if isinstance(resolved, ResolvedResource):

                def held(subject: Subject, party: str, package_urn: str) -> Result:
                    asked = DecisionRequest(subject, party, package_urn, ACCESS)
                    return self._decide(
                        policy_set,
                        self._resolve(policy_set, self._indexes_of(policy_set)[0], asked),
                        facts,
                        evaluations,
                        trace,
                    )

                return decide_resource(
                    resolved, facts, policy_set.catalog, held, policy_set.version, trace
                )
            return self._evaluate(policy_set, resolved, facts, evaluations, trace)
        except Exception:
            LOG.exception("decision failed for %r", resolved.request)
            return processing_error("evaluation failed inside the PDP", policy_set.version)

    def _evaluate(
        self,
        policy_set: PolicySet,
        resolved: _Resolved,
        facts: Facts,
        evaluations: BoundedMap[EvaluationKey, Result] | None,
        trace: Trace | None = None,
    ) -> Result:
        request, target = resolved.request, resolved.target
        subject_attributes: dict[str, Any] = {}
        if resolved.stated_roles is not None:
            if facts.org_form(request.party) is None:
                # Stated roles stand in for the register's, but only for a party it knows:
                # roles "held" in an organisation that does not exist prove nothing.
                result = Result(
                    NOT_APPLICABLE,
                    message=f"party {request.party} is not in the register",
                    version=policy_set.version,
                    package=target.resource,
                )
                if trace is not None:
                    trace.steps.append(_package_step(resolved, facts, (), result))
                return result
            subject_attributes[ROLES_KEY] = resolved.stated_roles
        access_request = AccessRequest(
            subject={"id": request.subject.urn, "attributes": subject_attributes},
            resource={"id": target.resource, "attributes": {PARTY_KEY: request.party}},
            action={"id": target.action, "attributes": {}},
            context={},
        )
        provider = facts.provider(request.subject)
        if trace is None:
            result = _evaluated(policy_set, resolved, access_request, provider, evaluations)
            return replace(result, package=target.resource)
        # Traced: every candidate is fitted here, none taken from the evaluations kept.
        fitted: list[Policy] = []
        result = _evaluated(policy_set, resolved, access_request, provider, None, fitted)
        result = replace(result, package=target.resource)
        trace.steps.append(_package_step(resolved, facts, tuple(fitted), result))
        return result


def _package_step(
    resolved: _Resolved, facts: Facts, fitting: tuple[Policy, ...], result: Result
) -> PackageStep:
    """A package decision as a trace notes it, with the facts the PIP holds for it (read
    already, or read now from the same facts: they are what the decision was made on)."""
    request = resolved.request
    stated = resolved.stated_roles
    roles = facts.roles(request.subject, request.party) if stated is None else frozenset(stated)
    return PackageStep(
        subject=request.subject,
        party=request.party,
        package=resolved.target.resource,
        action=resolved.target.action,
        stated_roles=None if stated is None else tuple(stated),
        roles=roles,
        delegated=frozenset(facts.delegated(request.subject, request.party)),
        org_form=facts.org_form(request.party),
        candidates=tuple(resolved.policies.candidates),
        fitting=fitting,
        result=result,
    )


def _evaluated(
    policy_set: PolicySet,
    resolved: _Resolved,
    request: AccessRequest,
    provider: AttributeProvider,
    evaluations: BoundedMap[EvaluationKey, Result] | None,
    fitted: list[Policy] | None = None,
) -> Result:
    """The target's candidates evaluated for `request` (those that fit added to `fitted`, if
    given); or, with `evaluations` to keep them in,
    when the target is decided by the values of the attributes its policies name, the
    evaluation of an earlier request alike in those values (people holding the same roles
    asking for the same package are decided alike)."""
    policies = resolved.policies
    if evaluations is None or not policies.decided_by_attributes:
        return combine(
            policies.candidates, EvaluationContext(request, [provider]), policy_set.version, fitted
        )
    context = EvaluationContext(request, [provider])
    try:
        key = (
            resolved.target,
            *(
                _hashable(context.get_attribute_value(ace, path))
                for ace, path in policies.attribute_paths
            ),
        )
    except Exception:  # a fact the evaluation might not even ask for could not be read
        context = EvaluationContext(request, [provider])
        return combine(policies.candidates, context, policy_set.version)
    result = evaluations.get(key)
    if result is None:
        result = combine(policies.candidates, context, policy_set.version)
        evaluations.keep(key, result)
    return result


def _hashable(value: Any) -> Any:
    """An attribute value as part of a key: lists as tuples (TypeError for what is neither)."""
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    hash(value)
    return value


def _roles_refused(reason: str, version: int) -> Result:
    """Indeterminate for a request that states roles its caller may not state: never decided
    on the register's roles instead, which would hide from the caller that its word was not
    taken."""
    return Result(
        INDETERMINATE,
        STATUS_PROCESSING_ERROR,
        f"the request states the subject's roles, but {reason}",
        version=version,
        minor_status=STATUS_STATED_ROLES_REFUSED,
    )


def _resolve_roles(policy_set: PolicySet, claims: Sequence[RoleClaim]) -> list[str]:
    """Role codes for the claimed roles; an unknown role is a syntax error, not a silent no."""
    codes = set()
    for claim in claims:
        code = policy_set.catalog.role_code_for(claim.attribute_id, claim.value)
        if code is None:
            raise RequestSyntaxError(f"{claim.attribute_id}: unknown role {claim.value!r}")
        codes.add(code)
    return sorted(codes)

"""The PDP engine: a decision request in, an XACML decision out.

For each request: find the candidate policies for the (package, action) target in the active
policy set, evaluate them with py-abac (`Policy.fits`, reading roles and organisation form from
the register through the attribute provider), and combine the result deny-overrides. py-abac only
answers yes or no, so the four XACML decisions and their status are made here:

- Permit: an allow policy fits and no deny policy does;
- Deny: a deny policy fits (the compiler emits none today; the combining is ready for them);
- NotApplicable: no policy fits (no granting role, unknown package, unknown party);
- Indeterminate: the request cannot be evaluated (syntax-error) or evaluation failed
  (processing-error). Never Permit on an error.

The engine knows nothing of HTTP or of the XACML wire format; `pdp.xacml` and `pdp.api` do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from py_abac.context import EvaluationContext
from py_abac.policy import Policy
from py_abac.provider.base import AttributeProvider
from py_abac.request import AccessRequest

from pdp.attributes import Facts
from pdp.catalog import package_urn_form
from pdp.changes import ChangeLog
from pdp.delegations import DelegationStore
from pdp.errors import NoActivePolicySet, RequestSyntaxError
from pdp.register import Register
from pdp.repository import ActivePolicySet, PolicySet
from pdp.subjects import Subject
from pdp.vocabulary import (
    ACTIONS,
    DENY,
    INDETERMINATE,
    NOT_APPLICABLE,
    ORG_FORM_PATH,
    PACKAGE_URN_PREFIX,
    PARTY_KEY,
    PERMIT,
    ROLES_KEY,
    ROLES_PATH,
    STATUS_OK,
    STATUS_PROCESSING_ERROR,
    STATUS_SYNTAX_ERROR,
)

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoleClaim:
    """A role the caller says the subject holds for the party, as the request named it."""

    attribute_id: str
    value: str


@dataclass(frozen=True)
class DecisionRequest:
    """May `subject` perform `action` on access package `package` on behalf of `party`?

    `package` is a package URN or bare code as the caller wrote it. `role_claims`, when not
    None, are the subject's roles for the party as the caller states them, used instead of the
    register's.
    """

    subject: Subject
    party: str
    package: str
    action: str
    role_claims: tuple[RoleClaim, ...] | None = None


@dataclass(frozen=True)
class Result:
    """A decision, why it was made (the deciding policies), and under which version."""

    decision: str
    status: str = STATUS_OK
    message: str | None = None
    policies: tuple[Policy, ...] = field(default=())
    version: int | None = None
    #: The package's URN in the deciding version, when it names a known package (a request
    #: may have named it by a former URN, by code, or in another case).
    package: str | None = None


class Engine:
    """Decides requests against the active policy set, the register and the delegations.

    With `cache_size` above 0, decisions are remembered per request (subject, party, package
    as named, action, stated roles), and the register's and delegations' facts per subject and
    party (`pdp.attributes.Facts`, up to `cache_size` of each kind), until the change log's
    stamp moves: any publish, activation, register import or delegation change, on this
    machine at once and elsewhere within the refresh interval. A remembered decision is the
    one evaluation gave; failures to evaluate (processing errors) are never remembered. The
    py-abac evaluations themselves are remembered per target and the attribute values its
    policies read (until another policy set is active), where those values alone decide it.
    With `cache_size` 0 every request is evaluated, every batch reading its facts afresh (once
    per subject and party).
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
        self._cache_size = cache_size
        self._cache: dict[DecisionRequest, Result] = {}
        self._facts: Facts | None = None
        self._evaluations: dict[tuple[Any, ...], Result] = {}
        self._evaluations_of: PolicySet | None = None
        self._cache_basis: tuple[PolicySet, int] | None = None
        self._cache_lock = threading.Lock()

    def decide(self, request: DecisionRequest | RequestSyntaxError) -> Result:
        return self.decide_all([request])[0]

    def decide_all(self, requests: Sequence[DecisionRequest | RequestSyntaxError]) -> list[Result]:
        """Decide each request in order, all under one policy-set version.

        A RequestSyntaxError in the list (a request the context handler could not read) gives
        its own Indeterminate result, so one bad request in a MultiRequests spoils nothing else.
        The facts the requests need are read first, for all of them at once.
        """
        try:
            stamp = self._changes.stamp()
            policy_set = self._policy_sets.current(stamp)
        except NoActivePolicySet as error:
            return [_processing_error(str(error), None) for _ in requests]
        except Exception:
            LOG.exception("could not load the active policy set")
            return [
                _processing_error("the policy repository is unavailable", None) for _ in requests
            ]
        if not self._cache_size:
            facts = Facts(self._register, self._delegations, policy_set)
            _read_ahead(policy_set, facts, requests)
            return [self._decide(policy_set, request, facts) for request in requests]
        cache, facts = self._caches_for(policy_set, stamp)
        remembered = [
            cache.get(request) if isinstance(request, DecisionRequest) else None
            for request in requests
        ]
        if None not in remembered:
            return cast(list[Result], remembered)
        _read_ahead(
            policy_set,
            facts,
            [r for r, known in zip(requests, remembered, strict=True) if known is None],
        )
        results = []
        for request, known in zip(requests, remembered, strict=True):
            # Asked again: the same request earlier in this batch may have been decided since.
            result = known or (cache.get(request) if isinstance(request, DecisionRequest) else None)
            if result is None:
                result = self._decide(policy_set, request, facts)
                if result.status != STATUS_PROCESSING_ERROR:
                    self._remember(cache, request, result, stamp)
            results.append(result)
        return results

    def _caches_for(
        self, policy_set: PolicySet, stamp: int
    ) -> tuple[dict[DecisionRequest, Result], Facts]:
        """The decisions and facts remembered under this policy set and stamp (new, empty ones
        when either moved)."""
        basis, facts = self._cache_basis, self._facts
        if basis is None or facts is None or basis[0] is not policy_set or basis[1] != stamp:
            facts = Facts(self._register, self._delegations, policy_set, self._cache_size)
            self._cache, self._facts = {}, facts
            self._cache_basis = (policy_set, stamp)
        return self._cache, facts

    def _remember(
        self,
        cache: dict[DecisionRequest, Result],
        request: DecisionRequest | RequestSyntaxError,
        result: Result,
        stamp: int,
    ) -> None:
        # An unreadable request is its own error object, never asked for again; a write
        # announced while this decision was evaluated may have changed its facts.
        if not isinstance(request, DecisionRequest) or self._changes.stamp() != stamp:
            return
        with self._cache_lock:  # threads of one process evict from the same cache
            if len(cache) >= self._cache_size:
                del cache[next(iter(cache))]  # the oldest
            cache[request] = result

    def _decide(
        self, policy_set: PolicySet, request: DecisionRequest | RequestSyntaxError, facts: Facts
    ) -> Result:
        version = policy_set.version
        if isinstance(request, RequestSyntaxError):
            return Result(INDETERMINATE, STATUS_SYNTAX_ERROR, str(request), version=version)
        try:
            return self._evaluate(policy_set, request, facts)
        except RequestSyntaxError as error:
            return Result(INDETERMINATE, STATUS_SYNTAX_ERROR, str(error), version=version)
        except Exception:
            LOG.exception("decision failed for %r", request)
            return _processing_error("evaluation failed inside the PDP", version)

    def _evaluate(self, policy_set: PolicySet, request: DecisionRequest, facts: Facts) -> Result:
        if request.action not in ACTIONS:
            raise RequestSyntaxError(
                f"unknown action {request.action!r}; supported: {', '.join(ACTIONS)}"
            )
        subject_attributes = {}
        if request.role_claims is not None:
            subject_attributes[ROLES_KEY] = _resolve_roles(policy_set, request.role_claims)
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
                version=policy_set.version,
            )
        if request.role_claims is not None and facts.org_form(request.party) is None:
            # Stated roles stand in for the register's, but only for a party it knows: roles
            # "held" in an organisation that does not exist prove nothing.
            return Result(
                NOT_APPLICABLE,
                message=f"party {request.party} is not in the register",
                version=policy_set.version,
                package=package_urn,
            )
        access_request = AccessRequest(
            subject={"id": request.subject.urn, "attributes": subject_attributes},
            resource={"id": package_urn, "attributes": {PARTY_KEY: request.party}},
            action={"id": request.action, "attributes": {}},
            context={},
        )
        provider = facts.provider(request.subject)
        target = (package_urn, request.action)
        result = self._evaluated(policy_set, target, access_request, provider)
        return replace(result, package=package_urn)

    def _evaluated(
        self,
        policy_set: PolicySet,
        target: tuple[str, str],
        request: AccessRequest,
        provider: AttributeProvider,
    ) -> Result:
        """`evaluate` the request for `target` (package URN, action); or, in a caching engine,
        when the target is decided by the values of the attributes its policies name, give the
        evaluation of an earlier request alike in those values (people holding the same roles
        asking for the same package are decided alike)."""
        if not self._cache_size or not policy_set.decided_by_attribute_paths(*target):
            return evaluate(policy_set, request, [provider])
        context = EvaluationContext(request, [provider])
        try:
            key = (
                *target,
                *(
                    _hashable(context.get_attribute_value(ace, path))
                    for ace, path in sorted(policy_set.attribute_paths(*target))
                ),
            )
        except Exception:  # a fact the evaluation might not even ask for could not be read
            return evaluate(policy_set, request, [provider])
        evaluations = self._evaluations_for(policy_set)
        result = evaluations.get(key)
        if result is None:
            result = _evaluate_in(policy_set, context)
            with self._cache_lock:
                if len(evaluations) >= self._cache_size:
                    del evaluations[next(iter(evaluations))]  # the oldest
                evaluations[key] = result
        return result

    def _evaluations_for(self, policy_set: PolicySet) -> dict[tuple[Any, ...], Result]:
        """The evaluations remembered under this policy set: facts are their inputs, so only
        another policy set makes them stale."""
        if self._evaluations_of is not policy_set:
            self._evaluations, self._evaluations_of = {}, policy_set
        return self._evaluations


def _read_ahead(
    policy_set: PolicySet, facts: Facts, requests: Sequence[DecisionRequest | RequestSyntaxError]
) -> None:
    """Have `facts` read, for all `requests` at once, what evaluating them will ask the PIP:
    the attributes their targets' policies name, less the roles a request states itself."""
    wanted: list[tuple[Subject, str, frozenset[tuple[str, str]]]] = []
    for request in requests:
        if not isinstance(request, DecisionRequest) or request.action not in ACTIONS:
            continue
        package_urn = policy_set.package_urn(request.package)
        if package_urn is None:
            continue
        paths = policy_set.attribute_paths(package_urn, request.action)
        if request.role_claims is not None:
            paths = (paths - {("subject", ROLES_PATH)}) | {("resource", ORG_FORM_PATH)}
        wanted.append((request.subject, request.party, paths))
    facts.read_ahead(wanted)


def evaluate(
    policy_set: PolicySet, request: AccessRequest, providers: Sequence[AttributeProvider]
) -> Result:
    """Decide a py-abac request naming a published package URN: its candidate policies are
    evaluated, with attributes the request lacks asked of `providers`, and combined
    deny-overrides."""
    return _evaluate_in(policy_set, EvaluationContext(request, providers))


def _evaluate_in(policy_set: PolicySet, context: EvaluationContext) -> Result:
    candidates = policy_set.get_for_target(
        context.subject_id, context.resource_id, context.action_id
    )
    fitting = [policy for policy in candidates if policy.fits(context)]
    denying = tuple(policy for policy in fitting if not policy.is_allowed)
    if denying:
        return Result(DENY, policies=denying, version=policy_set.version)
    if fitting:
        return Result(PERMIT, policies=tuple(fitting), version=policy_set.version)
    return Result(NOT_APPLICABLE, version=policy_set.version)


def _hashable(value: Any) -> Any:
    """An attribute value as part of a key: lists as tuples (TypeError for what is neither)."""
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    hash(value)
    return value


def _resolve_roles(policy_set: PolicySet, claims: Sequence[RoleClaim]) -> list[str]:
    """Role codes for the claimed roles; an unknown role is a syntax error, not a silent no."""
    codes = set()
    for claim in claims:
        code = policy_set.catalog.role_code_for(claim.attribute_id, claim.value)
        if code is None:
            raise RequestSyntaxError(f"{claim.attribute_id}: unknown role {claim.value!r}")
        codes.add(code)
    return sorted(codes)


def _processing_error(message: str, version: int | None) -> Result:
    return Result(INDETERMINATE, STATUS_PROCESSING_ERROR, message, version=version)

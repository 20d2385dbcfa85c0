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

from py_abac.context import EvaluationContext
from py_abac.policy import Policy
from py_abac.provider.base import AttributeProvider
from py_abac.request import AccessRequest

from pdp.attributes import PipAttributeProvider
from pdp.catalog import PACKAGE_URN_PREFIX, package_urn_form
from pdp.changes import ChangeLog
from pdp.compiler import ACTIONS, PARTY_ATTRIBUTE, ROLES_ATTRIBUTE
from pdp.delegations import DelegationStore
from pdp.errors import NoActivePolicySet, RequestSyntaxError
from pdp.register import Register
from pdp.repository import ActivePolicySet, PolicySet
from pdp.subjects import Subject

LOG = logging.getLogger(__name__)

PERMIT = "Permit"
DENY = "Deny"
NOT_APPLICABLE = "NotApplicable"
INDETERMINATE = "Indeterminate"
DECISIONS = (PERMIT, DENY, NOT_APPLICABLE, INDETERMINATE)

STATUS_OK = "urn:oasis:names:tc:xacml:1.0:status:ok"
STATUS_SYNTAX_ERROR = "urn:oasis:names:tc:xacml:1.0:status:syntax-error"
STATUS_PROCESSING_ERROR = "urn:oasis:names:tc:xacml:1.0:status:processing-error"


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
    as named, action, stated roles) until the change log's stamp moves: any publish,
    activation, register import or delegation change, on this machine at once and elsewhere
    within the refresh interval. A remembered decision is the one evaluation gave; failures to
    evaluate (processing errors) are never remembered.
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
        self._cache_basis: tuple[PolicySet, int] | None = None
        self._cache_lock = threading.Lock()

    def decide(self, request: DecisionRequest | RequestSyntaxError) -> Result:
        return self.decide_all([request])[0]

    def decide_all(self, requests: Sequence[DecisionRequest | RequestSyntaxError]) -> list[Result]:
        """Decide each request in order, all under one policy-set version.

        A RequestSyntaxError in the list (a request the context handler could not read) gives
        its own Indeterminate result, so one bad request in a MultiRequests spoils nothing else.
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
            return [self._decide(policy_set, request) for request in requests]
        cache = self._cache_for(policy_set, stamp)
        results = []
        for request in requests:
            result = cache.get(request) if isinstance(request, DecisionRequest) else None
            if result is None:
                result = self._decide(policy_set, request)
                if result.status != STATUS_PROCESSING_ERROR:
                    self._remember(cache, request, result, stamp)
            results.append(result)
        return results

    def _cache_for(self, policy_set: PolicySet, stamp: int) -> dict[DecisionRequest, Result]:
        """The decisions remembered under this policy set and stamp (a new, empty cache when
        either moved)."""
        basis = self._cache_basis
        if basis is None or basis[0] is not policy_set or basis[1] != stamp:
            self._cache = {}
            self._cache_basis = (policy_set, stamp)
        return self._cache

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
        self, policy_set: PolicySet, request: DecisionRequest | RequestSyntaxError
    ) -> Result:
        version = policy_set.version
        if isinstance(request, RequestSyntaxError):
            return Result(INDETERMINATE, STATUS_SYNTAX_ERROR, str(request), version=version)
        try:
            return self._evaluate(policy_set, request)
        except RequestSyntaxError as error:
            return Result(INDETERMINATE, STATUS_SYNTAX_ERROR, str(error), version=version)
        except Exception:
            LOG.exception("decision failed for %r", request)
            return _processing_error("evaluation failed inside the PDP", version)

    def _evaluate(self, policy_set: PolicySet, request: DecisionRequest) -> Result:
        if request.action not in ACTIONS:
            raise RequestSyntaxError(
                f"unknown action {request.action!r}; supported: {', '.join(ACTIONS)}"
            )
        subject_attributes = {}
        if request.role_claims is not None:
            subject_attributes[ROLES_ATTRIBUTE] = _resolve_roles(policy_set, request.role_claims)
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
        access_request = AccessRequest(
            subject={"id": request.subject.urn, "attributes": subject_attributes},
            resource={"id": package_urn, "attributes": {PARTY_ATTRIBUTE: request.party}},
            action={"id": request.action, "attributes": {}},
            context={},
        )
        provider = PipAttributeProvider(
            self._register, self._delegations, policy_set, request.subject
        )
        return replace(evaluate(policy_set, access_request, [provider]), package=package_urn)


def evaluate(
    policy_set: PolicySet, request: AccessRequest, providers: Sequence[AttributeProvider]
) -> Result:
    """Decide a py-abac request naming a published package URN: its candidate policies are
    evaluated, with attributes the request lacks asked of `providers`, and combined
    deny-overrides."""
    context = EvaluationContext(request, providers)
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

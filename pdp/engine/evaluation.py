"""Evaluating candidate policies with py-abac and combining them deny-overrides.

py-abac only answers whether one policy fits, so the decision is made here: Deny when a deny
policy fits, Permit when an allow policy fits and no deny policy does, NotApplicable when none
fits. The deciding policies travel with the result, as its reasons.
"""

from __future__ import annotations

from collections.abc import Sequence

from py_abac.context import EvaluationContext
from py_abac.policy import Policy
from py_abac.provider.base import AttributeProvider
from py_abac.request import AccessRequest

from pdp.engine.result import Result
from pdp.repository import PolicySet
from pdp.vocabulary import DENY, NOT_APPLICABLE, PERMIT


def evaluate(
    policy_set: PolicySet, request: AccessRequest, providers: Sequence[AttributeProvider]
) -> Result:
    """Decide a py-abac request naming a published package URN: its candidate policies are
    evaluated, with attributes the request lacks asked of `providers`, and combined
    deny-overrides."""
    context = EvaluationContext(request, providers)
    candidates = policy_set.candidates(context.resource_id, context.action_id)
    return combine(candidates, context, policy_set.version)


def combine(
    candidates: Sequence[Policy],
    context: EvaluationContext,
    version: int,
    fitted: list[Policy] | None = None,
) -> Result:
    """The candidates that fit `context`, combined deny-overrides, as a Result of `version`;
    those that fit are also added to `fitted` when one is given (`pdp.engine.trace`)."""
    fitting = [policy for policy in candidates if policy.fits(context)]
    if fitted is not None:
        fitted += fitting
    denying = tuple(policy for policy in fitting if not policy.is_allowed)
    if denying:
        return Result(DENY, policies=denying, version=version)
    if fitting:
        return Result(PERMIT, policies=tuple(fitting), version=version)
    return Result(NOT_APPLICABLE, version=version)

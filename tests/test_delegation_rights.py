"""Who may delegate or revoke: the PDP decides (action `delegate`), nobody delegates to
themselves, and a delegator may always revoke their own delegation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from pdp.delegation_rights import (
    DelegationRefused,
    DelegationRights,
    DelegationUndecided,
    InvalidDelegation,
)
from pdp.delegations import Delegation
from pdp.engine import DecisionRequest, Result
from pdp.subjects import PERSON, Subject
from pdp.vocabulary import DELEGATE, INDETERMINATE, NOT_APPLICABLE, PERMIT, STATUS_PROCESSING_ERROR

PARTY = "910459880"
PACKAGE = "urn:altinn:accesspackage:maskinlesbarehendelser"
MANAGER = Subject(PERSON, "02056260016")
ELENA = Subject(PERSON, "01025161013")


@dataclass
class AnsweringEngine:
    """An engine that answers every request with `decision`, and remembers what it was asked."""

    decision: str
    asked: list[DecisionRequest] = field(default_factory=list)

    def decide(self, request: DecisionRequest) -> Result:
        self.asked.append(request)
        if self.decision == INDETERMINATE:
            return Result(INDETERMINATE, STATUS_PROCESSING_ERROR, "the database is down")
        return Result(self.decision)


def rights(decision: str) -> tuple[DelegationRights, AnsweringEngine]:
    engine = AnsweringEngine(decision)
    return DelegationRights(engine), engine  # type: ignore[arg-type]


def delegation_by(delegator: Subject) -> Delegation:
    return Delegation(
        "d-1", PARTY, PACKAGE, delegator.identifier, ELENA, datetime.now(UTC), None, None
    )


def test_the_pdp_is_asked_whether_the_delegator_may_delegate_the_package_for_the_party():
    permitted, engine = rights(PERMIT)
    permitted.check_delegate(MANAGER, ELENA, PARTY, PACKAGE)
    assert engine.asked == [DecisionRequest(MANAGER, PARTY, PACKAGE, DELEGATE)]


def test_a_delegator_the_pdp_does_not_permit_is_refused_with_the_decision():
    refused, _ = rights(NOT_APPLICABLE)
    with pytest.raises(DelegationRefused, match="NotApplicable"):
        refused.check_delegate(MANAGER, ELENA, PARTY, PACKAGE)


def test_an_undecided_pdp_refuses_without_guessing():
    undecided, _ = rights(INDETERMINATE)
    with pytest.raises(DelegationUndecided, match="the database is down"):
        undecided.check_delegate(MANAGER, ELENA, PARTY, PACKAGE)


def test_nobody_delegates_to_themselves_and_the_pdp_is_not_asked():
    permitted, engine = rights(PERMIT)
    with pytest.raises(InvalidDelegation) as refused:
        permitted.check_delegate(MANAGER, MANAGER, PARTY, PACKAGE)
    assert refused.value.fields == {"recipient": ["a delegator cannot delegate to themselves"]}
    assert engine.asked == []


def test_a_delegator_may_revoke_their_own_delegation_without_asking_the_pdp():
    refused, engine = rights(NOT_APPLICABLE)
    refused.check_revoke(MANAGER, delegation_by(MANAGER))
    assert engine.asked == []


def test_anyone_else_revokes_only_if_the_pdp_permits_them_to_delegate_it():
    refused, engine = rights(NOT_APPLICABLE)
    with pytest.raises(DelegationRefused):
        refused.check_revoke(ELENA, delegation_by(MANAGER))
    assert engine.asked == [DecisionRequest(ELENA, PARTY, PACKAGE, DELEGATE)]
    permitted, _ = rights(PERMIT)
    permitted.check_revoke(ELENA, delegation_by(MANAGER))

"""Making and revoking delegations, with the PDP itself deciding who may.

A delegator may delegate a package for a party when the PDP permits them action `delegate` on
that package for that party: the compiled grant policies are the only rule set, there is no
second one in code. A delegation may be revoked by its delegator, or by anyone the PDP permits
to delegate that package for that party.
"""

from __future__ import annotations

from dataclasses import dataclass

from pdp.delegations import (
    Delegation,
    DelegationNotFound,
    DelegationStore,
    RecipientRefused,
)
from pdp.engine import DecisionEngine, DecisionRequest
from pdp.errors import PdpError
from pdp.repository import ActivePolicySet
from pdp.subjects import Subject
from pdp.vocabulary import DELEGATE, INDETERMINATE, PERMIT


class InvalidDelegation(PdpError):
    """A delegation request with a field that cannot be right; `field` names it."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


class DelegationRefused(PdpError):
    """The PDP does not permit this person to delegate (or revoke) the package for the party."""


class DelegationUndecided(PdpError):
    """The PDP could not decide whether the delegation is allowed; nothing was changed."""


@dataclass(frozen=True)
class DelegationService:
    engine: DecisionEngine
    store: DelegationStore
    policy_sets: ActivePolicySet

    def delegate(
        self, party: str, package: str, delegator: Subject, recipient: Subject
    ) -> Delegation:
        """Record that `delegator` gives `package` for `party` to `recipient`, if allowed.

        A system user as recipient must be one that `party` owns (InvalidDelegation naming the
        recipient otherwise); that is asked only once the delegator is known to be permitted,
        so that who owns which system user is not told to whoever asks.
        """
        package_urn, *former_urns = self.package_names(package)
        if recipient == delegator:
            raise InvalidDelegation("recipient", "a delegator cannot delegate to themselves")
        self._require_delegate_permit(delegator, party, package_urn)
        try:
            return self.store.add(
                party, package_urn, delegator.identifier, recipient, tuple(former_urns)
            )
        except RecipientRefused as error:
            raise InvalidDelegation("recipient", str(error)) from None

    def revoke(self, delegation_id: str, actor: Subject) -> Delegation:
        """Revoke a delegation on behalf of `actor`: its delegator, or a permitted delegator."""
        delegation = self.store.get(delegation_id)
        if delegation is None:
            raise DelegationNotFound(f"no delegation {delegation_id}")
        if actor.identifier != delegation.delegator:
            self._require_delegate_permit(actor, delegation.party, delegation.package)
        return self.store.revoke(delegation_id, actor.identifier)

    def package_names(self, package: str) -> tuple[str, ...]:
        """Every URN a package named by URN, former URN or code has had, the current one
        first: the delegations of it are stored under any of them."""
        policy_set = self.policy_sets.current()
        urn = policy_set.package_urn(package)
        if urn is None:
            raise InvalidDelegation("package", f"unknown access package {package!r}")
        return (urn, *policy_set.catalog.package(urn).aliases)

    def _require_delegate_permit(self, person: Subject, party: str, package_urn: str) -> None:
        result = self.engine.decide(DecisionRequest(person, party, package_urn, DELEGATE))
        if result.decision == PERMIT:
            return
        if result.decision == INDETERMINATE:
            raise DelegationUndecided(f"the PDP could not decide: {result.message}")
        raise DelegationRefused(
            f"{person.urn} may not delegate {package_urn} for {party}: no delegable grant "
            f"applies to them there (decision {result.decision})"
        )

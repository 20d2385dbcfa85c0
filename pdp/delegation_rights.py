"""Who may delegate a package for a party, or revoke a delegation: the PDP itself decides.

A delegator may delegate a package for a party when the PDP permits them action `delegate` on
that package for that party: the compiled grant policies are the only rule set, there is no
second one in code. A delegation may be revoked by its delegator, or by anyone the PDP permits
to delegate that package for that party. Nobody delegates to themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from pdp.delegations import Delegation
from pdp.engine import DecisionEngine, DecisionRequest
from pdp.errors import InvalidFields, PdpError
from pdp.subjects import Subject
from pdp.vocabulary import DELEGATE, INDETERMINATE, PERMIT


class InvalidDelegation(InvalidFields):
    """A delegation request with a field that cannot be right; `field` names it."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message, {field: [message]})


class DelegationRefused(PdpError):
    """The PDP does not permit this person to delegate (or revoke) the package for the party."""


class DelegationUndecided(PdpError):
    """The PDP could not decide whether the delegation is allowed; nothing was changed."""


@dataclass(frozen=True)
class DelegationRights:
    """Asks the engine whether a person may delegate, before anything is written."""

    engine: DecisionEngine

    def check_delegate(
        self, delegator: Subject, recipient: Subject, party: str, package_urn: str
    ) -> None:
        """Raise unless `delegator` may give `package_urn` for `party` to `recipient`."""
        if recipient == delegator:
            raise InvalidDelegation("recipient", "a delegator cannot delegate to themselves")
        self._require_delegate_permit(delegator, party, package_urn)

    def check_revoke(self, actor: Subject, delegation: Delegation) -> None:
        """Raise unless `actor` is the delegation's delegator or may delegate it themselves."""
        if actor.identifier != delegation.delegator:
            self._require_delegate_permit(actor, delegation.party, delegation.package)

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

"""What the engine answers: one of the four XACML decisions, with its status and reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

from py_abac.policy import Policy

from pdp.resource_policies import Expression
from pdp.vocabulary import INDETERMINATE, STATUS_OK, STATUS_PROCESSING_ERROR


@dataclass(frozen=True)
class Result:
    """A decision, why it was made (the deciding policies), and under which version.

    For a service resource, the deciding policies are its policy's rules that decided and the
    grant or delegation policies that gave the subject a package the rules asked for; on Permit
    or Deny, `obligations` and `advice` are the policy's that apply to the decision.
    """

    decision: str
    status: str = STATUS_OK
    message: str | None = None
    policies: tuple[Policy, ...] = field(default=())
    version: int | None = None
    #: The package's URN in the deciding version, when it names a known package (a request
    #: may have named it by a former URN, by code, or in another case).
    package: str | None = None
    obligations: tuple[Expression, ...] = ()
    advice: tuple[Expression, ...] = ()
    #: A minor status code under `status` that says more precisely why (XACML's nested
    #: StatusCode), e.g. `urn:pdp:status:stated-roles-refused`; None for most results.
    minor_status: str | None = None


def processing_error(message: str, version: int | None) -> Result:
    """Indeterminate: the PDP failed to evaluate (never Permit on an error)."""
    return Result(INDETERMINATE, STATUS_PROCESSING_ERROR, message, version=version)

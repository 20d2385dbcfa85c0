"""`Trace`: what the engine did while deciding one request, recorded as it did it.

An explanation must never disagree with the decision it explains, so it is not worked out
beside the decision: the engine takes its one path and, when handed a `Trace`, notes each step
on it (the package decisions with the facts the PIP supplied and the candidate policies that
fitted, the service resource's rules and how each applied). On the normal path the trace is
None and nothing is noted: one `is None` test per decision and per combined candidate list.
`pdp.explain` turns a trace into readable steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from py_abac.policy import Policy

from pdp.combining import Applies
from pdp.engine.request import ResourceRequest
from pdp.engine.result import Result
from pdp.identities import Identified
from pdp.resource_policies import ResourcePolicy, Rule
from pdp.subjects import Subject


@dataclass(frozen=True)
class PackageStep:
    """One package decision: who, for which party, the facts it was decided on, the
    candidate policies and those of them that fitted, and its result."""

    subject: Subject
    party: str
    package: str
    action: str
    #: The role codes the request stated in place of the register's; None when it stated none.
    stated_roles: tuple[str, ...] | None
    roles: frozenset[str]
    delegated: frozenset[str]
    org_form: str | None
    candidates: tuple[Policy, ...]
    fitting: tuple[Policy, ...]
    result: Result


@dataclass(frozen=True)
class ResourceStep:
    """One service resource decision: who and for whom as the register named them, how each
    rule of the policy applied, what the PIP supplied (role codes and package codes, by the
    attribute key the rules read; only what a rule asked for), and its result."""

    request: ResourceRequest
    policy: ResourcePolicy
    subject: Identified | None
    party: Identified | None
    rules: tuple[tuple[Rule, Applies], ...]
    supplied: dict[str, list[str] | None]
    result: Result


@dataclass
class Trace:
    """The steps of one decision, in the order the engine took them (a resource decision's
    package decisions come before the resource step that asked for them)."""

    steps: list[PackageStep | ResourceStep] = field(default_factory=list)
    #: The policy-set version decided under; None when there was none to decide under.
    version: int | None = None

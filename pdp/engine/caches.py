"""The engine's caches: each names what it keeps, how much, and what makes it stale.

- `DecisionCache`: a Result per request (a package request: subject, party, package as named,
  action, stated roles; a resource request: every identifier and attribute it gives); stale
  when the change stamp moves, or another policy set is active.
- `FactsCache`: roles and delegated packages per (subject, party), organisation forms per
  party; stale when the change stamp moves, or another policy set is active.
- `EvaluationCache`: a Result per target and the values of the attributes its policies read;
  stale only when another policy set is active.

Each is bounded (`pdp.bounded.BoundedMap`: the oldest entry goes first) and may be shared by
the threads of one process. The change stamp (`pdp.changes.ChangeLog.stamp`) is handed in by
the engine with every use, never read here, so a cache answers for one stamp at a time and
nothing else decides when it is stale. When the stamp or the policy set moves, the whole cache
starts afresh: every write may change any decision.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pdp.attributes import KnownFacts
from pdp.bounded import BoundedMap
from pdp.engine.request import DecisionRequest
from pdp.engine.result import Result
from pdp.repository import PolicySet
from pdp.vocabulary import STATUS_PROCESSING_ERROR

_Kept = TypeVar("_Kept")

#: A target and the values of the attributes its policies read (`TargetPolicies`).
EvaluationKey = tuple[Any, ...]


class _StaleWhenStampMoves(ABC, Generic[_Kept]):
    """What a cache keeps under one policy set and change stamp, made afresh when another is
    asked for. Both and what is kept under them are swapped in one assignment, so a thread
    never pairs one stamp with what was kept under another."""

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"a cache holds at least one entry, not {size}")
        self.size = size
        self._current: tuple[PolicySet, int, _Kept] | None = None

    def kept_for(self, policy_set: PolicySet, stamp: int) -> _Kept:
        """What is kept under `policy_set` and `stamp` (the caller's reading of the change
        log); empty when either moved since the last call."""
        current = self._current
        if current is None or current[0] is not policy_set or current[1] != stamp:
            current = self._current = (policy_set, stamp, self._fresh(stamp))
        return current[2]

    @abstractmethod
    def _fresh(self, stamp: int) -> _Kept:
        """An empty store for `stamp`."""


class KeptDecisions:
    """The decisions remembered under one policy set and change stamp."""

    def __init__(self, stamp: int, size: int):
        self.stamp = stamp
        self._results: BoundedMap[DecisionRequest, Result] = BoundedMap(size)
        #: The Result remembered for a request, or None (the map's own `get`: the hot path).
        self.get = self._results.get

    def remember(self, request: DecisionRequest, result: Result, stamp_now: int) -> None:
        """Keep `result` for `request`, unless it is a failure to evaluate (the next request
        should try again), or a write was announced while it was evaluated (`stamp_now` is not
        this store's stamp: the write may have changed the facts it was evaluated on)."""
        if result.status == STATUS_PROCESSING_ERROR or stamp_now != self.stamp:
            return
        self._results.keep(request, result)


class DecisionCache(_StaleWhenStampMoves[KeptDecisions]):
    """Results per request, at most `size`; stale when the change stamp moves or another
    policy set is active."""

    def _fresh(self, stamp: int) -> KeptDecisions:
        return KeptDecisions(stamp, self.size)


class FactsCache(_StaleWhenStampMoves[KnownFacts]):
    """The register's and the delegations' facts, at most `size` of each kind; stale when the
    change stamp moves (a register import or a delegation change) or another policy set is
    active (delegated packages are read with its key roles)."""

    def _fresh(self, stamp: int) -> KnownFacts:
        return KnownFacts(self.size)


class EvaluationCache:
    """Results per target and attribute values, at most `size`; stale only when another
    policy set is active. Facts are the inputs of an evaluation, not part of it, so a write
    to the register or the delegations leaves these true."""

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"a cache holds at least one entry, not {size}")
        self.size = size
        self._current: tuple[PolicySet, BoundedMap[EvaluationKey, Result]] | None = None

    def kept_for(self, policy_set: PolicySet) -> BoundedMap[EvaluationKey, Result]:
        """The evaluations kept under `policy_set`; empty when it is not the last one's."""
        current = self._current
        if current is None or current[0] is not policy_set:
            current = self._current = (policy_set, BoundedMap(self.size))
        return current[1]


@dataclass(frozen=True)
class EngineCaches:
    """The three caches of a caching engine, each of `size` entries (of each kind, for facts)."""

    decisions: DecisionCache
    facts: FactsCache
    evaluations: EvaluationCache

    @classmethod
    def of_size(cls, size: int) -> EngineCaches:
        return cls(DecisionCache(size), FactsCache(size), EvaluationCache(size))

"""Timing decisions: every contender gets the same prepared stream, in interleaved rounds.

Each call is timed on its own with `perf_counter_ns`, so medians and tails are per decision,
not averages that hide them. Rounds alternate the contenders' order, so drift (frequency
scaling, a noisy neighbour) lands on all of them alike; a warm-up pass before the first round
fills caches, connection pools and the active policy set.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.workload import Ask


@dataclass(frozen=True)
class Contender:
    """An engine under test: `prepare` turns an Ask into its native input outside the timing;
    `decide` is what is timed and answers Permit (True) or not; `check` is `decide` with
    stricter checks, used once per Ask to compare answers before any timing."""

    name: str
    prepare: Callable[[Ask], Any]
    decide: Callable[[Any], bool]
    check: Callable[[Any], bool] | None = None


def answers(contender: Contender, asks: Sequence[Ask]) -> list[bool]:
    """The contender's answer to every Ask (untimed)."""
    check = contender.check or contender.decide
    return [check(contender.prepare(ask)) for ask in asks]


def time_rounds(
    contenders: Sequence[Contender], asks: Sequence[Ask], rounds: int, warmup: int
) -> dict[str, list[list[int]]]:
    """Nanoseconds per decision, one list per round, for each contender."""
    prepared = {c.name: [c.prepare(ask) for ask in asks] for c in contenders}
    for c in contenders:
        _one_pass(c.decide, prepared[c.name][:warmup])
    samples: dict[str, list[list[int]]] = {c.name: [] for c in contenders}
    for round_ in range(rounds):
        shift = round_ % len(contenders)
        for c in [*contenders[shift:], *contenders[:shift]]:
            gc.collect()
            samples[c.name].append(_one_pass(c.decide, prepared[c.name]))
    return samples


def timer_overhead_ns(calls: int = 20_000) -> float:
    """Median cost of timing a call that does nothing: the floor under every figure."""
    times = sorted(_one_pass(lambda _: False, [None] * calls))
    return times[len(times) // 2]


def _one_pass(decide: Callable[[Any], bool], prepared: Sequence[Any]) -> list[int]:
    clock = time.perf_counter_ns
    times = [0] * len(prepared)
    for index, item in enumerate(prepared):
        started = clock()
        decide(item)
        times[index] = clock() - started
    return times

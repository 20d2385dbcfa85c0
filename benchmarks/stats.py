"""Turning rounds of samples into the figures the tables print.

Every figure is the median over rounds (after warm-up) of a per-round statistic, and its
spread is the min-max of the per-round medians: one number says how fast, the other how much
to trust it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """Per-sample statistics over rounds, in the unit the caller scaled them to."""

    median: float
    p99: float
    low: float
    high: float
    rounds: int
    samples: int

    @property
    def spread(self) -> str:
        return f"{number(self.low)}-{number(self.high)}"


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank `q`-th percentile (0 < q <= 100) of `values`."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def summarise(rounds: Sequence[Sequence[float]], scale: float = 1.0) -> Summary:
    """Median of round medians, median of round p99s, min-max of round medians; each value
    multiplied by `scale` (1e-3 turns nanoseconds into microseconds)."""
    medians = [statistics.median(r) * scale for r in rounds]
    p99s = [percentile(r, 99) * scale for r in rounds]
    return Summary(
        median=statistics.median(medians),
        p99=statistics.median(p99s),
        low=min(medians),
        high=max(medians),
        rounds=len(rounds),
        samples=sum(len(r) for r in rounds),
    )


def median_spread(values: Sequence[float]) -> tuple[float, float, float]:
    """Median, min and max of per-round values (throughputs, durations)."""
    return statistics.median(values), min(values), max(values)


def number(value: float) -> str:
    """Three significant figures, with thousands separators for large values."""
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def ratio(value: float, reference: float) -> str:
    """`value / reference` as `1.23x`; below 1, also how many times slower the reference is."""
    if reference <= 0 or value <= 0:
        return "n/a"
    quotient = value / reference
    if quotient >= 1:
        return f"{number(quotient)}x"
    return f"{number(quotient)}x (ours {number(1 / quotient)}x slower)"


def plural(count: int, noun: str) -> str:
    """`1 round`, `3 rounds`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"

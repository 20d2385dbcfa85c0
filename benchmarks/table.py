"""Markdown tables and the yes/no of a target, as the report prints them."""

from __future__ import annotations

from collections.abc import Sequence


def markdown(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub Markdown table with columns padded to line up in a terminal too."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *[line(row) for row in cells[1:]]])


def met(ok: bool | None) -> str:
    """`yes`, `**no**`, or empty when there is no target."""
    if ok is None:
        return ""
    return "yes" if ok else "**no**"


def throughput_target(
    series_index: int,
    decisions_per_request: int,
    *,
    share: float,
    p99_ms: float,
    decisions: float,
    errors: int,
    targets: tuple[float, float, int],
) -> tuple[str, bool | None]:
    """The target of an HTTP series and whether it is met: none for the floor (the first
    series), a share of the floor and a p99 for single decisions, decisions per second for
    MultiRequests. `targets` is (floor share, p99 in ms, MultiRequests decisions/s)."""
    floor_share, p99_target, multi_target = targets
    if series_index == 0:
        return "", None
    if decisions_per_request == 1:
        return (
            f"≥ {floor_share:.0%} of floor, p99 ≤ {p99_target:g} ms",
            share >= floor_share and p99_ms <= p99_target and errors == 0,
        )
    return f"≥ {multi_target:,} decisions/s", decisions >= multi_target and errors == 0

"""Part 9, reading: turning an XACML JSON body into decision requests, in process.

What a server does with a body before it decides: `orjson.loads` and then
`pdp.xacml.reader.read` (the walk over the document, with the limits enforced, and the decision
requests it makes, identifiers checked). Timed for the bodies the `wrk` part sends: one single
request, a MultiRequests of 100 whose references each pick their own three categories, and a
MultiRequests of 100 as Altinn's PEPs send them (one subject, each resource and action given
once). `orjson.loads` alone, on the same bodies in the same rounds, is the floor: what reading
costs before any of ours. As in a server worker (`gunicorn.conf.py`), what this process built
before timing is frozen out of the garbage collector's sight.
"""

from __future__ import annotations

import gc
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from benchmarks.http import MULTI_SIZE, prepare
from benchmarks.report import Part
from benchmarks.stats import Summary, number, plural, summarise
from benchmarks.table import markdown, met
from pdp.config import Settings as PdpSettings
from pdp.engine.request import Unreadable
from pdp.identifiers import CHECKED
from pdp.limits import Limits
from pdp.vocabulary import PERMIT
from pdp.xacml import reader

#: Reading a MultiRequests of 100, in ms (median).
MULTI_TARGET_MS = 0.3


@dataclass(frozen=True)
class Settings:
    organizations: int
    calls: int
    rounds: int
    warmup: int


QUICK = Settings(organizations=200, calls=50, rounds=3, warmup=10)
FULL = Settings(organizations=1000, calls=300, rounds=7, warmup=50)


def run(settings: Settings) -> Part:
    with tempfile.TemporaryDirectory(prefix="pdp-bench-reading-") as directory:
        bodies = prepare(settings.organizations, Path(directory) / "bench.sqlite3")
    limits = Limits.from_settings(PdpSettings(database_url="sqlite://"))
    shapes = {
        "single request (Permit)": bodies.singles[bodies.expected.index(PERMIT)],
        f"MultiRequests of {MULTI_SIZE}, each its own categories": bodies.multis[0],
        f"MultiRequests of {MULTI_SIZE}, one subject (a PEP's shape)": bodies.one_subject,
    }
    for name, body in shapes.items():  # each body reads into as many requests as it asks
        parsed, _ = reader.read(orjson.loads(body), limits, CHECKED)
        expected = MULTI_SIZE if name.startswith("MultiRequests") else 1
        if len(parsed.items) != expected or any(
            isinstance(item.request, Unreadable) for item in parsed.items
        ):
            raise AssertionError(f"a benchmark body did not read into {expected} requests")
    gc.collect()
    gc.freeze()
    try:
        timed = _rounds(shapes, limits, settings)
    finally:
        gc.unfreeze()
    rows = []
    for name, body in shapes.items():
        floor, ours = timed[name]
        multi = name.startswith("MultiRequests")
        target = f"≤ {MULTI_TARGET_MS:g} ms" if multi else ""
        ok = ours.median / 1000 <= MULTI_TARGET_MS if multi else None
        rows.append(
            [
                name,
                f"{len(body):,}",
                number(floor.median),
                number(ours.median),
                ours.spread,
                number(ours.median - floor.median),
                target,
                met(ok),
            ]
        )
    headers = [
        "body",
        "bytes",
        "orjson.loads µs (floor)",
        "loads + read µs",
        "spread µs",
        "ours beyond the floor µs",
        "target",
        "met?",
    ]
    notes = [
        f"In process, {plural(settings.rounds, 'round')} of {settings.calls} calls per body "
        f"after {settings.warmup} warm-up calls, floor and ours interleaved; medians of round "
        "medians, spread = min-max of round medians (µs). The bodies are the wrk part's "
        f"({settings.organizations:,} organisations); each was checked to read into as many "
        "decision requests as it asks, none unreadable.",
        "read = `pdp.xacml.reader.read` with the default limits and identifier checks: the "
        "walk (limits, members counted) and the decision requests made from it.",
    ]
    return Part("reading", markdown(headers, rows), notes)


def _rounds(
    shapes: dict[str, bytes], limits: Limits, settings: Settings
) -> dict[str, tuple[Summary, Summary]]:
    """Per body: the floor's and ours' per-call times (µs) over the rounds."""
    samples: dict[str, tuple[list[list[float]], list[list[float]]]] = {
        name: ([], []) for name in shapes
    }
    for round_number in range(settings.rounds + 1):
        for name, body in shapes.items():
            floor: list[float] = []
            ours: list[float] = []
            calls = settings.warmup if round_number == 0 else settings.calls
            for _ in range(calls):
                started = time.perf_counter_ns()
                orjson.loads(body)
                floor.append(time.perf_counter_ns() - started)
                started = time.perf_counter_ns()
                reader.read(orjson.loads(body), limits, CHECKED)
                ours.append(time.perf_counter_ns() - started)
            if round_number:  # round 0 warms up
                samples[name][0].append(floor)
                samples[name][1].append(ours)
    return {
        name: (summarise(floor, 1e-3), summarise(ours, 1e-3))
        for name, (floor, ours) in samples.items()
    }

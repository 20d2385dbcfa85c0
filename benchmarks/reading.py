"""Part 9, reading: turning an XACML JSON body into decision requests, in process.

What a server does with a body before it decides: `orjson.loads` and then
`pdp.xacml.reader.read` (the walk over the document, with the limits enforced, and the decision
requests it makes, identifiers checked). Timed for the bodies the `wrk` part sends: one single
request, a MultiRequests of 100 whose references each pick their own three categories, and a
MultiRequests of 100 as Altinn's PEPs send them (one subject, each resource and action given
once). Two floors, on the same bodies in the same rounds: `orjson.loads` alone, what reading
costs before any of ours; and `orjson.loads` followed by a minimal visit of the parsed body in
Python (`least_visit`: every category's attribute values gathered by AttributeId, and each
reference's categories picked by Id), with no check of any kind: about the least a reader
written in Python can do, since any reader must look at every attribute and every reference.
As in a server worker (`gunicorn.conf.py`), what this process built before timing is frozen
out of the garbage collector's sight.
"""

from __future__ import annotations

import gc
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
        if (
            len(parsed.items) != expected
            or len(least_visit(orjson.loads(body))) != expected
            or any(isinstance(item.request, Unreadable) for item in parsed.items)
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
        floor, least, ours = timed[name]
        multi = name.startswith("MultiRequests")
        target = f"≤ {MULTI_TARGET_MS:g} ms" if multi else ""
        ok = ours.median / 1000 <= MULTI_TARGET_MS if multi else None
        rows.append(
            [
                name,
                f"{len(body):,}",
                number(floor.median),
                number(least.median),
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
        "loads + least visit µs (about Python's floor)",
        "loads + read µs",
        "spread µs",
        "ours beyond orjson µs",
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
        "least visit = `least_visit`: every category's attribute values gathered by "
        "AttributeId and each reference's categories picked, with no check, no limit, no "
        "case folding and no decision request made: about the least a reader written in "
        "Python can do (any reader must look at every attribute and every reference).",
    ]
    return Part("reading", markdown(headers, rows), notes)


def least_visit(document: Any) -> list[tuple[dict[str, Any], ...]]:
    """The least a reader of a well-formed request in canonical spelling must do: each
    category's attribute values by AttributeId, and for each reference (or the one request
    without MultiRequests) the categories it picks. No check of any kind."""
    request = document["Request"]
    by_id: dict[Any, dict[str, Any]] = {}
    every: list[dict[str, Any]] = []
    for name in _SHORTHAND:
        categories = request.get(name, ())
        for category in [categories] if type(categories) is dict else categories:
            values = {}
            for attribute in category["Attribute"]:
                values[attribute["AttributeId"]] = attribute["Value"]
            by_id[category.get("Id")] = values
            every.append(values)
    multi = request.get("MultiRequests")
    if multi is None:
        return [tuple(every)]
    return [
        tuple(by_id[reference_id] for reference_id in reference["ReferenceId"])
        for reference in multi["RequestReference"]
    ]


_SHORTHAND = ("AccessSubject", "Resource", "Action", "Environment")


def _rounds(
    shapes: dict[str, bytes], limits: Limits, settings: Settings
) -> dict[str, tuple[Summary, Summary, Summary]]:
    """Per body: the two floors' and ours' per-call times (µs) over the rounds."""
    samples: dict[str, tuple[list[list[float]], ...]] = {name: ([], [], []) for name in shapes}
    for round_number in range(settings.rounds + 1):
        for name, body in shapes.items():
            floor: list[float] = []
            least: list[float] = []
            ours: list[float] = []
            calls = settings.warmup if round_number == 0 else settings.calls
            for _ in range(calls):
                started = time.perf_counter_ns()
                orjson.loads(body)
                floor.append(time.perf_counter_ns() - started)
                started = time.perf_counter_ns()
                least_visit(orjson.loads(body))
                least.append(time.perf_counter_ns() - started)
                started = time.perf_counter_ns()
                reader.read(orjson.loads(body), limits, CHECKED)
                ours.append(time.perf_counter_ns() - started)
            if round_number:  # round 0 warms up
                for samples_of, taken in zip(samples[name], (floor, least, ours), strict=True):
                    samples_of.append(taken)
    return {
        name: (summarise(floor, 1e-3), summarise(least, 1e-3), summarise(ours, 1e-3))
        for name, (floor, least, ours) in samples.items()
    }

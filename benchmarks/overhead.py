"""Part 6, overhead: what thread safety and the metrics cost one decision, in one process.

Measured in a child process whose `PROMETHEUS_MULTIPROC_DIR` is set, as under gunicorn with the
shipped `gunicorn.conf.py`, so every metric is written to its memory-mapped file as in
production. On the latency part's workload (SQLite, warm caches), interleaved round by round:

- `decide, nothing counted`: `pdp.engine.decide` with the cache counts switched off (a no-op
  `CacheCounts`): the engine as it was before the metrics;
- `decide + cache counts`: the engine as shipped (hits and misses counted under a lock);
- `decide + every metric of a call`: that, plus what a decision call records
  (`metrics.record_decisions`: a decision counted, the latency and batch size observed), with
  the process's metrics writer handing them to the memory-mapped files every 0.5 s as it
  does in a worker;
- thread safety: the shipped policies hold no condition py-abac writes to while evaluating, so
  loading them through `pdp.reentrant` changes nothing (checked here: no wrapped condition in
  the policy set); a policy with an attribute condition pays a copy of it per evaluation,
  timed as `fits` of one such policy as py-abac loads it and as `pdp.reentrant` does.

Usage (the child): `python -m benchmarks.overhead '<json settings>'`; prints one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks import harness, ours, workload
from benchmarks.report import Part
from benchmarks.stats import summarise
from benchmarks.table import markdown, met

#: What the metrics may add to a warm decision, in µs (median).
METRICS_TARGET_US = 2.0

NOTHING = "decide, nothing counted"
COUNTS = "decide + cache counts"
METRICS = "decide + every metric of a call"
PLAIN = "attribute condition: py-abac's policy"
REENTRANT = "attribute condition: pdp.reentrant"


@dataclass(frozen=True)
class Settings:
    organizations: int
    asks: int
    rounds: int
    warmup: int


QUICK = Settings(organizations=200, asks=300, rounds=3, warmup=300)
FULL = Settings(organizations=1000, asks=2000, rounds=7, warmup=2000)


def run(settings: Settings) -> Part:
    with tempfile.TemporaryDirectory(prefix="pdp-bench-overhead-") as tmp:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": tmp}
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.overhead", json.dumps(asdict(settings))],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=ours.ROOT,
        )
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    summaries = {name: summarise(rounds, 1e-3) for name, rounds in measured["samples"].items()}
    base = summaries[NOTHING].median
    rows = []
    for name, summary in summaries.items():
        if name in (PLAIN, REENTRANT):
            added = summary.median - summaries[PLAIN].median
        else:
            added = summary.median - base
        target, ok = "", None
        if name == METRICS:
            target, ok = f"adds ≤ {METRICS_TARGET_US:g} µs", added <= METRICS_TARGET_US
        rows.append(
            [
                name,
                f"{summary.median:.2f}",
                f"{summary.p99:.2f}",
                summary.spread,
                f"{added:+.2f}",
                target,
                met(ok),
            ]
        )
    headers = ["what", "median µs", "p99 µs", "spread µs", "added µs", "target", "met?"]
    notes = [
        f"{measured['asks']} warm package decisions on SQLite ({settings.organizations:,} "
        f"organisations), {settings.rounds} rounds interleaved after a warm-up of "
        f"{settings.warmup}, in one process with PROMETHEUS_MULTIPROC_DIR set (metrics in "
        "memory-mapped files, as under gunicorn); added = median over the first row's "
        "(the attribute-condition rows: over py-abac's own policy).",
        f"thread safety on the shipped policies: {measured['wrapped']} of "
        f"{measured['policies']} loaded policies hold a condition evaluated per call, so "
        "deciding under them costs nothing more; the active policy set and its stamp are "
        "swapped in one assignment, as before in cost.",
    ]
    return Part("overhead", markdown(headers, rows), notes)


def _measure(settings: Settings) -> dict[str, Any]:
    """In the child: time the contenders; their answers must agree."""
    from py_abac import Policy
    from py_abac.context import EvaluationContext
    from py_abac.request import AccessRequest

    from pdp import catalog as catalog_module
    from pdp.api import metrics
    from pdp.cache_counts import CacheCounts
    from pdp.reentrant import per_call_conditions, reentrant

    class _NoCounts(CacheCounts):
        def add(self, cache: str, hits: int, misses: int) -> None:
            return None

    catalog = catalog_module.load(ours.POLICY_DIR)
    load = workload.build(catalog, settings.organizations, settings.asks)
    with tempfile.TemporaryDirectory(prefix="pdp-bench-overhead-db-") as tmp:
        pdp = ours.open_pdp(Path(tmp) / "bench.sqlite3")
        try:
            ours.fill(pdp, load)
            mine = ours.contender(pdp)
            metrics.install(pdp)  # as the app does: the writer thread hands over its counts
            engine = pdp.engine
            counted = engine.cache_counts
            uncounted = _NoCounts()

            # Each times the engine as `pdp.api.common.decide_and_log` does (it did before
            # the metrics too), so that the rows differ by what is counted and nothing else.
            def nothing(request: Any) -> bool:
                engine.cache_counts = uncounted
                try:
                    return counting(request)
                finally:
                    engine.cache_counts = counted

            def counting(request: Any) -> bool:
                started = time.perf_counter()
                result = engine.decide(request)
                time.perf_counter() - started
                return result.decision == "Permit"

            def with_metrics(request: Any) -> bool:
                started = time.perf_counter()
                result = engine.decide(request)
                metrics.record_decisions("authorize", [result], time.perf_counter() - started)
                return result.decision == "Permit"

            policy_set = pdp.active_policy_set()
            loaded = [
                policy
                for resource, action in policy_set.targets
                for policy in policy_set.candidates(resource, action)
            ]
            wrapped = sum(bool(per_call_conditions(policy)) for policy in loaded)
            document = {
                "uid": "bench:party-in-roles",
                "effect": "allow",
                "targets": {"resource_id": "r", "action_id": "a"},
                "rules": {
                    "resource": {
                        "$.party": {
                            "condition": "IsInAttribute",
                            "ace": "subject",
                            "path": "$.roles",
                        }
                    }
                },
            }
            plain = Policy.from_json(document)
            safe = reentrant(Policy.from_json(document))

            def attribute_request(ask: workload.Ask) -> AccessRequest:
                return AccessRequest(
                    subject={"id": ask.subject_id, "attributes": {"roles": [ask.party]}},
                    resource={"id": "r", "attributes": {"party": ask.party}},
                    action={"id": "a", "attributes": {}},
                    context={},
                )

            contenders = [
                harness.Contender(NOTHING, mine.prepare, nothing),
                harness.Contender(COUNTS, mine.prepare, counting),
                harness.Contender(METRICS, mine.prepare, with_metrics),
                harness.Contender(
                    PLAIN, attribute_request, lambda r: plain.fits(EvaluationContext(r, []))
                ),
                harness.Contender(
                    REENTRANT, attribute_request, lambda r: safe.fits(EvaluationContext(r, []))
                ),
            ]
            answers = [harness.answers(c, load.stream) for c in contenders]
            if answers[0] != answers[1] or answers[0] != answers[2] or answers[3] != answers[4]:
                raise AssertionError("the contenders' answers differ")
            samples = harness.time_rounds(contenders, load.stream, settings.rounds, settings.warmup)
        finally:
            pdp.close()
    return {
        "samples": samples,
        "asks": len(load.stream),
        "policies": len(loaded),
        "wrapped": wrapped,
    }


if __name__ == "__main__":
    print(json.dumps(_measure(Settings(**json.loads(sys.argv[1])))))

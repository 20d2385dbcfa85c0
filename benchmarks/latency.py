"""Part 1, latency: one warm decision in process, ours against the peers on the same stream.

Ours is the real thing: `pdp.engine.decide` on a `Pdp` over a SQLite file filled through its
own API (so it pays its PIP queries, as in production). The peers enforce the same rules from
dicts (`benchmarks.peers`). Before anything is timed, every engine's answer to every request
is compared with a direct evaluation of the rules; a disagreement stops the run, since a fast
wrong answer is no figure.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks import harness, ours, peers, workload
from benchmarks.report import Part
from benchmarks.stats import Summary, number, plural, ratio, summarise
from benchmarks.table import markdown, met
from pdp import catalog as catalog_module
from pdp import compiler

MEDIAN_TARGET_US = 3.0
P99_TARGET_US = 20.0
#: How many times faster than each peer ours should be (peer median / ours median).
SPEEDUP_TARGETS = {
    "vakt Guard": 2.0,
    "cedarpy is_authorized": 20.0,
    "py-abac MemoryStorage": 20.0,
}


@dataclass(frozen=True)
class Settings:
    organizations: int
    asks: int
    rounds: int
    warmup: int


QUICK = Settings(organizations=200, asks=300, rounds=3, warmup=100)
FULL = Settings(organizations=1000, asks=2000, rounds=7, warmup=500)


def run(settings: Settings) -> Part:
    catalog = catalog_module.load(ours.POLICY_DIR)
    documents = peers.package_documents(compiler.compile_catalog(catalog))
    rules = peers.rules_from_compiled(documents)
    load = workload.build(catalog, settings.organizations, settings.asks)
    expected = peers.reference_answers(rules, load.facts, load.stream)
    with tempfile.TemporaryDirectory(prefix="pdp-bench-latency-") as tmp:
        pdp = ours.open_pdp(Path(tmp) / "bench.sqlite3")
        try:
            ours.fill(pdp, load)
            mine = ours.contender(pdp)
            contenders = [
                mine,
                peers.vakt_guard(rules, load.facts),
                peers.cedar(rules, load.facts),
                peers.raw_py_abac(documents, load.facts),
                peers.dict_floor(dict(zip(load.stream, expected, strict=True))),
            ]
            for contender in contenders:
                got = harness.answers(contender, load.stream)
                wrong = sum(a != b for a, b in zip(got, expected, strict=True))
                if wrong:
                    raise AssertionError(f"{contender.name}: {wrong} answers differ from the rules")
            overhead = harness.timer_overhead_ns()
            samples = harness.time_rounds(contenders, load.stream, settings.rounds, settings.warmup)
        finally:
            pdp.close()
    summaries = {name: summarise(rounds, 1e-3) for name, rounds in samples.items()}
    permits = sum(expected)
    notes = [
        f"{len(load.stream)} requests ({permits} Permit, {len(load.stream) - permits} "
        f"NotApplicable; {len(catalog.grants)} grants, {len(documents)} compiled policies), "
        f"{len(load.register['organizations']):,} organisations, "
        f"{len(load.delegations)} delegations; {plural(settings.rounds, 'round')} after a "
        f"warm-up of {settings.warmup}; every engine's answers checked against the rules first.",
        "median = median of round medians; p99 = median of round p99s; spread = min-max of "
        "round medians; ratio = peer median / ours median (above 1x: ours is faster).",
        f"timing one call costs {overhead / 1000:.3f} µs (perf_counter_ns), included in "
        "every figure.",
    ]
    return Part("latency", _table(summaries, mine.name), notes)


def _table(summaries: dict[str, Summary], ours_name: str) -> str:
    mine = summaries[ours_name]
    rows = []
    for name, summary in summaries.items():
        if name == ours_name:
            target = f"median ≤ {MEDIAN_TARGET_US:g} µs, p99 ≤ {P99_TARGET_US:g} µs"
            ok = summary.median <= MEDIAN_TARGET_US and summary.p99 <= P99_TARGET_US
        elif name in SPEEDUP_TARGETS:
            target = f"ours ≥ {SPEEDUP_TARGETS[name]:g}x faster"
            ok = summary.median / mine.median >= SPEEDUP_TARGETS[name]
        else:
            target, ok = "", None
        rows.append(
            [
                name,
                number(summary.median),
                number(summary.p99),
                summary.spread,
                "1x" if name == ours_name else ratio(summary.median, mine.median),
                target,
                met(ok),
            ]
        )
    headers = ["engine", "median µs", "p99 µs", "spread µs", "ratio vs ours", "target", "met?"]
    return markdown(headers, rows)

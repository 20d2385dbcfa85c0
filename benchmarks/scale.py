"""Part 2, scale: does a decision stay as fast as the data grows, and what does it cost to get
there?

Three axes, each case in its own database, measured in fresh processes
(`benchmarks.scale_child`) so that its peak RSS is its own; the cases are measured round by
round, interleaved, because this kind of machine drifts by a third between processes:
- delegations: 1,000 organisations and 0 to 10^6 filler delegations (bulk-inserted; their
  recipients are persons no request names, so the answers stay the same);
- organisations: 10^2 to 10^5 in the register (imported through `Register.import_document`),
  10^3 filler delegations each;
- catalog: the full Altinn catalog (`policies/altinn-catalog`) instead of Integrasjoner, skipped
  with a note when that directory is missing or does not load.

Every case also carries the workload's own delegations (at most `workload.CORE_DELEGATIONS`),
which the stream asks about. Growth is the median (and p99) over the smallest case of its axis.
Then: the policy pipeline (load, compile, publish, load the active set) per catalog, and the
server start time (spawning gunicorn until `/health` answers) on the largest database.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import ours, pipeline
from benchmarks.report import Part
from benchmarks.stats import Summary, median_spread, number, plural, summarise
from benchmarks.table import markdown, met
from pdp import catalog as catalog_module
from pdp.errors import PdpError
from tests.e2e import launcher

INTEGRASJONER = ours.POLICY_DIR
FULL_CATALOG = ours.POLICY_DIR / "altinn-catalog"

GROWTH_TARGET = 1.3
RSS_TARGET_MB = 400
RSS_TARGET_AT = 10**6
PIPELINE_TARGET_S = 2.0
START_TARGET_S = 1.0


@dataclass(frozen=True)
class Settings:
    asks: int
    rounds: int
    warmup: int
    base_organizations: int
    fillers: tuple[int, ...]
    organization_sizes: tuple[int, ...]
    organization_axis_filler: int
    pipeline_rounds: int
    server_starts: int


QUICK = Settings(
    asks=300,
    rounds=1,
    warmup=50,
    base_organizations=1000,
    fillers=(0, 10**3, 10**4),
    organization_sizes=(100, 1000),
    organization_axis_filler=10**3,
    pipeline_rounds=1,
    server_starts=1,
)
FULL = Settings(
    asks=2000,
    rounds=3,
    warmup=300,
    base_organizations=1000,
    fillers=(0, 10**3, 10**4, 10**5, 10**6),
    organization_sizes=(100, 1000, 10**4, 10**5),
    organization_axis_filler=10**3,
    pipeline_rounds=3,
    server_starts=3,
)


@dataclass(frozen=True)
class Case:
    axis: str
    catalog: str
    organizations: int
    filler: int
    core_delegations: int
    latency: Summary
    peak_rss_mb: float
    build_seconds: float
    mismatches: int


@dataclass(frozen=True)
class _Spec:
    """A case to build: which axis, catalog and sizes; `db` and `stream` under the run's tmp."""

    axis: str
    catalog: str
    policies: Path
    organizations: int
    filler: int
    db: Path
    stream: Path


def run(settings: Settings) -> Part:
    full_catalog, full_note = _full_catalog()
    notes = [] if full_note is None else [full_note]
    with tempfile.TemporaryDirectory(prefix="pdp-bench-scale-") as tmp:
        specs = _specs(settings, Path(tmp), full_catalog)
        built = {spec: _child("build", _build_spec(spec, settings)) for spec in _distinct(specs)}
        measured = _measure_interleaved(settings, list(built))
        cases = [
            _case(spec, settings, built[_same(spec, built)], measured[_same(spec, built)])
            for spec in specs
        ]
        largest = max(
            (spec for spec in specs if spec.catalog == "Integrasjoner"),
            key=lambda spec: (spec.filler, spec.organizations),
        )
        start_dbs = {f"Integrasjoner, {_size_label(_case_of(largest, cases))}": largest.db}
        if full_catalog:
            full = next(spec for spec in specs if spec.axis == "catalog")
            start_dbs[f"full Altinn catalog, {_size_label(_case_of(full, cases))}"] = full.db
        starts = {
            name: _server_starts(db, settings.server_starts) for name, db in start_dbs.items()
        }
    catalogs = {"Integrasjoner": INTEGRASJONER}
    if full_catalog:
        catalogs["full Altinn catalog"] = FULL_CATALOG
    pipelines = {
        name: pipeline.measure(path, settings.pipeline_rounds) for name, path in catalogs.items()
    }
    mismatches = sum(case.mismatches for case in cases)
    notes += [
        f"{settings.asks} requests per case; {plural(settings.rounds, 'round')}, each case's "
        f"round in a fresh process after a warm-up of {settings.warmup}, cases interleaved "
        "round by round; spread = min-max of round medians; peak RSS = the largest of a "
        "case's processes.",
        "delegations = filler rows + the workload's own (which the stream asks about); "
        "build s = time to fill that case's database (publish, register import, delegations, "
        "filler).",
        f"answers checked against a direct evaluation of the rules in every process: "
        f"{mismatches} mismatches.",
    ]
    tables = [
        "### decision latency by size (ours, in process)",
        _latency_table(cases),
        "### policy pipeline: source to decision-ready set (seconds)",
        _pipeline_table(pipelines),
        "### server start: spawning gunicorn -w 2 until /health answers 200 (seconds)",
        _start_table(starts),
    ]
    return Part("scale", "\n\n".join(tables), notes)


def _full_catalog() -> tuple[bool, str | None]:
    if not FULL_CATALOG.is_dir():
        return False, f"full catalog skipped: {FULL_CATALOG} does not exist yet."
    try:
        catalog_module.load(FULL_CATALOG)
    except PdpError as error:
        return False, f"full catalog skipped: {FULL_CATALOG} does not load: {error}"
    return True, None


def _specs(settings: Settings, tmp: Path, full_catalog: bool) -> list[_Spec]:
    """The cases in table order; the organisation axis's case at the base size is the same
    database as the delegation axis's case with equal filler (built once)."""

    def spec(axis: str, catalog: str, policies: Path, organizations: int, filler: int) -> _Spec:
        stem = tmp / f"{catalog.split()[0].lower()}-{organizations}-{filler}"
        return _Spec(
            axis,
            catalog,
            policies,
            organizations,
            filler,
            stem.with_suffix(".sqlite3"),
            stem.with_suffix(".json"),
        )

    base, axis_filler = settings.base_organizations, settings.organization_axis_filler
    specs = [spec("delegations", "Integrasjoner", INTEGRASJONER, base, f) for f in settings.fillers]
    specs += [
        spec("organisations", "Integrasjoner", INTEGRASJONER, n, axis_filler)
        for n in settings.organization_sizes
    ]
    if full_catalog:
        specs.append(spec("catalog", "full Altinn catalog", FULL_CATALOG, base, axis_filler))
    return specs


def _distinct(specs: list[_Spec]) -> list[_Spec]:
    seen: dict[Path, _Spec] = {}
    for spec in specs:
        seen.setdefault(spec.db, spec)
    return list(seen.values())


def _same(spec: _Spec, built: dict[_Spec, Any]) -> _Spec:
    return next(other for other in built if other.db == spec.db)


def _build_spec(spec: _Spec, settings: Settings) -> dict[str, Any]:
    return {
        "db": str(spec.db),
        "stream": str(spec.stream),
        "policies": str(spec.policies),
        "orgs": spec.organizations,
        "asks": settings.asks,
        "filler_from": 0,
        "filler_to": spec.filler,
        "filler_total": spec.filler,
    }


def _measure_interleaved(
    settings: Settings, specs: list[_Spec]
) -> dict[_Spec, list[dict[str, Any]]]:
    """One fresh process per case and round, cases interleaved, so that the machine's drift
    between processes lands on every case alike."""
    results: dict[_Spec, list[dict[str, Any]]] = {spec: [] for spec in specs}
    for _ in range(settings.rounds):
        for spec in specs:
            results[spec].append(
                _child(
                    "measure",
                    {
                        "db": str(spec.db),
                        "stream": str(spec.stream),
                        "rounds": 1,
                        "warmup": settings.warmup,
                    },
                )
            )
    return results


def _case(
    spec: _Spec, settings: Settings, built: dict[str, Any], measured: list[dict[str, Any]]
) -> Case:
    return Case(
        axis=spec.axis,
        catalog=spec.catalog,
        organizations=spec.organizations,
        filler=spec.filler,
        core_delegations=built["core_delegations"],
        latency=summarise([r for m in measured for r in m["rounds_ns"]], 1e-3),
        peak_rss_mb=max(m["peak_rss_mb"] for m in measured),
        build_seconds=sum(built["seconds"].values()),
        mismatches=sum(m["mismatches"] for m in measured),
    )


def _case_of(spec: _Spec, cases: list[Case]) -> Case:
    return next(
        c
        for c in cases
        if (c.axis, c.organizations, c.filler) == (spec.axis, spec.organizations, spec.filler)
    )


def _child(command: str, spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale_child", command, json.dumps(spec)],
        cwd=ours.ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scale child {command} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _server_starts(db: Path, times: int) -> list[float]:
    seconds = []
    for _ in range(times):
        env = ours.server_env(ours.database_url(db))
        server = launcher.start(launcher.PDP_APP, env, cwd=ours.ROOT)
        try:
            seconds.append(server.start_seconds)
        finally:
            launcher.stop(server)
    return seconds


def _size_label(case: Case) -> str:
    return (
        f"{case.organizations:,} organisations, {case.filler + case.core_delegations:,} delegations"
    )


def _latency_table(cases: list[Case]) -> str:
    rows = []
    for case in cases:
        baseline = _baseline(case, cases)
        growth = case.latency.median / baseline.latency.median
        growth_p99 = case.latency.p99 / baseline.latency.p99
        targets, ok = [], True
        if case is not baseline:
            targets.append(f"growth ≤ {GROWTH_TARGET}x")
            ok = growth <= GROWTH_TARGET
        if case.axis == "delegations" and case.filler >= RSS_TARGET_AT:
            targets.append(f"RSS ≤ {RSS_TARGET_MB} MB")
            ok = ok and case.peak_rss_mb <= RSS_TARGET_MB
        rows.append(
            [
                case.axis,
                case.catalog,
                f"{case.organizations:,}",
                f"{case.filler:,} + {case.core_delegations}",
                number(case.latency.median),
                number(case.latency.p99),
                case.latency.spread,
                "baseline" if case is baseline else f"{growth:.2f}x / {growth_p99:.2f}x",
                f"{case.peak_rss_mb:.0f}",
                f"{case.build_seconds:.1f}",
                ", ".join(targets),
                met(ok if targets else None),
            ]
        )
    headers = [
        "axis",
        "catalog",
        "organisations",
        "delegations",
        "median µs",
        "p99 µs",
        "spread",
        "growth median / p99",
        "peak RSS MB",
        "build s",
        "target",
        "met?",
    ]
    return markdown(headers, rows)


def _baseline(case: Case, cases: list[Case]) -> Case:
    """The smallest case of the same axis; for the full catalog, Integrasjoner at equal size."""
    if case.axis == "catalog":
        return next(
            c
            for c in cases
            if c.catalog == "Integrasjoner"
            and c.organizations == case.organizations
            and c.filler == case.filler
        )
    same_axis = [c for c in cases if c.axis == case.axis]
    return min(same_axis, key=lambda c: (c.organizations, c.filler))


def _pipeline_table(pipelines: dict[str, pipeline.PipelineTimes]) -> str:
    rows = []
    for name, times in pipelines.items():
        total, low, high = median_spread(times.totals)
        rows.append(
            [
                name,
                times.packages,
                times.policies,
                *(f"{times.median(step):.3f}" for step in pipeline.STEPS),
                f"{total:.3f} ({low:.3f}-{high:.3f})",
                f"≤ {PIPELINE_TARGET_S:g} s",
                met(total <= PIPELINE_TARGET_S),
            ]
        )
    headers = [
        "catalog",
        "packages",
        "policies",
        *pipeline.STEPS,
        "load + compile + publish (spread)",
        "target",
        "met?",
    ]
    return markdown(headers, rows)


def _start_table(starts: dict[str, list[float]]) -> str:
    rows = []
    for name, seconds in starts.items():
        median, low, high = median_spread(seconds)
        rows.append(
            [
                name,
                len(seconds),
                f"{median:.3f}",
                f"{low:.3f}-{high:.3f}",
                f"≤ {START_TARGET_S:g} s",
                met(median <= START_TARGET_S),
            ]
        )
    return markdown(["database", "starts", "median s", "spread", "target", "met?"], rows)

"""Part 3, http: the real server under gunicorn, next to a constant-answer floor.

Setup, the same for both servers: the production configuration, `gunicorn -c gunicorn.conf.py
--workers 2 --bind 127.0.0.1:<free port>` (`tests.e2e.launcher`: worker class
`pdp.serving.ReadAheadWorker`, threads from the configuration, connections kept alive); the
PDP as `'pdp.api:create_app()'` with `PDP_DATABASE_URL` pointing at a SQLite file prepared
here (the workload's catalog, register and delegations) and authentication disabled
(`ours.server_env`), the floor as `'benchmarks.floor_app:create_app()'`.

Load: a second process per connection (`benchmarks.loadgen`), 2 concurrent connections on
loopback, a bounded number of requests each, per-request latency recorded. Rounds interleave
floor, single decisions and MultiRequests of 100, after a warm-up of each. Before any timing,
a sample of responses is checked against the in-process engine's decisions.

On a 2-core machine the load generator and the servers share the cores: the floor pays the
same, which is why the PDP is reported as a share of it.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from benchmarks import floor_app, loadgen, ours, workload
from benchmarks.report import Part
from benchmarks.stats import median_spread, number, percentile, plural
from benchmarks.table import markdown, met, throughput_target
from pdp import catalog as catalog_module
from tests.e2e import launcher

AUTHORIZE = "/authorization/api/v1/authorize"
CONNECTIONS = 2
MULTI_SIZE = 100

FLOOR_SHARE_TARGET = 0.75
P99_TARGET_MS = 2.0
MULTI_TARGET = 50_000


@dataclass(frozen=True)
class Settings:
    organizations: int
    single_per_connection: int
    multi_per_connection: int
    rounds: int
    warmup: int


QUICK = Settings(
    organizations=200, single_per_connection=150, multi_per_connection=4, rounds=2, warmup=40
)
FULL = Settings(
    organizations=1000, single_per_connection=1000, multi_per_connection=30, rounds=3, warmup=200
)


@dataclass(frozen=True)
class Bodies:
    """The workload's request stream as HTTP bodies, and the in-process engine's decision for
    each request: what every HTTP answer is checked against."""

    singles: list[bytes]
    #: MultiRequests of `MULTI_SIZE`: consecutive slices of the stream.
    multis: list[bytes]
    expected: list[str]
    #: One MultiRequests of `MULTI_SIZE` in the shape Altinn's PEPs send (one subject, shared
    #: categories: `workload.xacml_one_subject_body`), and the engine's decisions for it.
    one_subject: bytes
    one_subject_expected: list[str]


@dataclass
class _Series:
    """One load shape against one server, over the rounds."""

    name: str
    port: int
    bodies: list[bytes]
    per_connection: int
    decisions_per_request: int
    runs: list[loadgen.LoadRun] = field(default_factory=list)


def run(settings: Settings) -> Part:
    with tempfile.TemporaryDirectory(prefix="pdp-bench-http-") as directory:
        database = Path(directory) / "bench.sqlite3"
        bodies = prepare(settings.organizations, database)
        env = ours.server_env(ours.database_url(database))
        started: list[launcher.Server] = []
        try:
            started.append(launcher.start(floor_app.APP, os.environ, cwd=ours.ROOT))
            started.append(launcher.start(launcher.PDP_APP, env, cwd=ours.ROOT))
            floor, pdp_server = started
            mismatches = _check(pdp_server.port, bodies)
            each = settings.single_per_connection
            series = [
                _Series("floor: constant JSON (Flask)", floor.port, bodies.singles, each, 1),
                _Series("ours: single decision", pdp_server.port, bodies.singles, each, 1),
                _Series(
                    f"ours: MultiRequests of {MULTI_SIZE}",
                    pdp_server.port,
                    bodies.multis,
                    settings.multi_per_connection,
                    MULTI_SIZE,
                ),
            ]
            _load(settings, series)
        finally:
            for server in started:
                launcher.stop(server)
    return _report(series, mismatches, settings)


def prepare(organizations: int, database: Path) -> Bodies:
    """Fill the SQLite file `database` with the workload for `organizations`; its request
    stream as bodies, with the in-process engine's decisions."""
    catalog = catalog_module.load(ours.POLICY_DIR)
    load = workload.build(catalog, organizations, asks=2000)
    one_subject = _one_subject_asks(load.stream)
    pdp = ours.open_pdp(database)
    try:
        ours.fill(pdp, load)
        prepare = ours.contender(pdp).prepare
        expected = [pdp.engine.decide(prepare(ask)).decision for ask in load.stream]
        one_subject_expected = [pdp.engine.decide(prepare(ask)).decision for ask in one_subject]
    finally:
        pdp.close()
    singles = [_encode(workload.xacml_body(ask)) for ask in load.stream]
    multis = [
        _encode(workload.xacml_multi_body(load.stream[i : i + MULTI_SIZE]))
        for i in range(0, len(load.stream), MULTI_SIZE)
    ]
    return Bodies(
        singles,
        multis,
        expected,
        _encode(workload.xacml_one_subject_body(one_subject)),
        one_subject_expected,
    )


def _one_subject_asks(stream: list[workload.Ask]) -> list[workload.Ask]:
    """`MULTI_SIZE` asks of one subject, as a PEP asks them for one user: the stream's most
    frequent subject, its own asks in the stream (some of them hers to do) and then the
    stream's first asks, asked by her."""
    counts = Counter((ask.subject_kind, ask.subject_id) for ask in stream)
    (kind, subject_id), _ = counts.most_common(1)[0]
    own = [ask for ask in stream if (ask.subject_kind, ask.subject_id) == (kind, subject_id)]
    others = [
        replace(ask, subject_kind=kind, subject_id=subject_id)
        for ask in stream[: max(0, MULTI_SIZE - len(own))]
    ]
    return (own + others)[:MULTI_SIZE]


def _load(settings: Settings, series: list[_Series]) -> None:
    """Warm every series up, then run the rounds, series interleaved."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(CONNECTIONS, mp_context=context) as pool:
        loadgen.warm(pool, CONNECTIONS)
        for s in series:
            warm = max(1, settings.warmup // s.decisions_per_request)
            loadgen.run(pool, s.port, AUTHORIZE, s.bodies, CONNECTIONS, warm)
        for _ in range(settings.rounds):
            for s in series:
                result = loadgen.run(
                    pool, s.port, AUTHORIZE, s.bodies, CONNECTIONS, s.per_connection
                )
                s.runs.append(result)


def _check(port: int, bodies: Bodies) -> int:
    """How many sampled HTTP answers differ from the in-process engine (0 expected)."""
    import http.client

    singles, expected = bodies.singles, bodies.expected
    mismatches = 0
    connection = http.client.HTTPConnection(loadgen.HOST, port, timeout=30)
    try:
        for index in range(0, len(singles), max(1, len(singles) // 100)):
            connection.request(
                "POST", AUTHORIZE, singles[index], {"Content-Type": "application/json"}
            )
            answer = json.loads(connection.getresponse().read())
            mismatches += answer["Response"][0]["Decision"] != expected[index]
        connection.request(
            "POST", AUTHORIZE, bodies.multis[0], {"Content-Type": "application/json"}
        )
        answer = json.loads(connection.getresponse().read())
        decisions = [result["Decision"] for result in answer["Response"]]
        mismatches += sum(a != b for a, b in zip(decisions, expected[:MULTI_SIZE], strict=True))
    finally:
        connection.close()
    return mismatches


def _report(series: list[_Series], mismatches: int, settings: Settings) -> Part:
    floor_rate = statistics.median(r.per_second for r in series[0].runs)
    rows = []
    for index, s in enumerate(series):
        rate, low, high = median_spread([r.per_second for r in s.runs])
        p50 = statistics.median(percentile(r.latencies_ns, 50) / 1e6 for r in s.runs)
        p99 = statistics.median(percentile(r.latencies_ns, 99) / 1e6 for r in s.runs)
        errors = sum(r.errors for r in s.runs)
        decisions = rate * s.decisions_per_request
        share = decisions / floor_rate
        target, ok = throughput_target(
            index,
            s.decisions_per_request,
            share=share,
            p99_ms=p99,
            decisions=decisions,
            errors=errors,
            targets=(FLOOR_SHARE_TARGET, P99_TARGET_MS, MULTI_TARGET),
        )
        rows.append(
            [
                s.name,
                f"{sum(r.requests for r in s.runs):,}",
                number(rate),
                f"{number(low)}-{number(high)}",
                number(decisions),
                number(p50),
                number(p99),
                errors,
                "" if index == 0 else f"{share:.0%}",
                target,
                met(ok),
            ]
        )
    headers = [
        "server / load",
        "requests",
        "req/s",
        "req/s spread",
        "decisions/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "decisions/s % of floor",
        "target",
        "met?",
    ]
    notes = [
        f"gunicorn -c gunicorn.conf.py --workers 2 (ReadAheadWorker, threads, keep-alive) "
        f"on 127.0.0.1, both servers; {CONNECTIONS} connections, "
        f"each its own process; {plural(settings.rounds, 'round')}; p50/p99 per request over "
        "each round, median over rounds; spread = min-max of round req/s; % of floor = "
        "decisions/s over the floor's req/s.",
        f"HTTP answers checked against the in-process engine before timing: "
        f"{mismatches} mismatches.",
    ]
    return Part("http", markdown(headers, rows), notes)


def _encode(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()

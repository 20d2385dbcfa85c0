"""Part 4, wrk: the server set up as in production, loaded by wrk, next to the Flask floor.

Why a second HTTP part: the `http` part's load generator is Python, and on a 2-core machine it
takes CPU from the servers, which hides part of what the PDP costs beyond the floor. wrk is a
small C program with an event loop; it leaves the cores to the servers.

Setup, the same for both servers: gunicorn with the production configuration
(`gunicorn.conf.py`: worker class `pdp.serving.ReadAheadWorker`, threads, connections kept
alive) and 2 workers on 127.0.0.1 (`tests.e2e.launcher`). The PDP runs as in production: bearer
tokens checked (`PDP_JWKS_FILE` with a generated ES256 key, `PDP_JWT_ISSUER`,
`PDP_JWT_AUDIENCE`), the decision log written to a file (`PDP_DECISION_LOG`), on a SQLite file
holding the shared workload. Every request carries the same token with scope
`altinn:authorization/authorize`, so after the first request each worker finds it in its token
cache, as it would for a PEP that reuses its token; the floor (`benchmarks.floor_app`) gets the
same requests and ignores the token. A third server, `benchmarks.decision_alone_app`, is the
floor's app doing only what every decision must (the token checked, the body read, the decision
made and rendered, with the PDP's own parts): a bound, with no target of its own, on how much of
the floor a single decision leaves for everything else the production shape does (the decision
log, metrics, request ids, the duplicate-member and content checks, flask-smorest).

Load: wrk with 2 threads and 2 connections; a Lua script POSTs one body with `Content-Type:
application/json` and the `Authorization` header on every request and prints requests,
duration, errors and latency percentiles when done. Five series, each warmed up once, then
interleaved round by round: floor, the decision alone and single decisions (one Permit
request), and two
MultiRequests of 100 (mixed Permit and NotApplicable): one whose references each pick their own
three categories (the target's, the most reading per decision), and one in the shape Altinn's
PEPs send (one subject; each resource and action given once and picked by the references).
Before any timing, each body's answer is checked once: the decisions the in-process engine
gives, and 401 without the token.

wrk's latency runs from writing a request to the end of its answer; wrk keeps its connections
alive, as the configuration lets it.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import decision_alone_app, floor_app, ours
from benchmarks.http import AUTHORIZE, MULTI_SIZE, Bodies, prepare
from benchmarks.report import Part, load_average
from benchmarks.stats import median_spread, number, plural
from benchmarks.table import markdown, met, throughput_target
from pdp.api.auth import SCOPE_AUTHORIZE
from pdp.vocabulary import PERMIT
from tests.e2e import launcher
from tests.security.tokens import AUDIENCE, ISSUER, Issuer

THREADS = CONNECTIONS = 2
INSTALL = "apt-get update && apt-get install -y wrk"

FLOOR_SHARE_TARGET = 0.80
P99_TARGET_MS = 2.0
MULTI_TARGET = 100_000

#: Marks the line the Lua script's `done` prints, among whatever else wrk prints.
_RESULT = "pdp-wrk-result"
#: wrk loads the script in every thread; `done` runs once, with the totals.
_SCRIPT = """\
wrk.method = "POST"
local file = assert(io.open({body_path}, "rb"))
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = {authorization}

function done(summary, latency, requests)
  local e = summary.errors
  print(table.concat({{"{marker}", summary.requests, summary.duration, e.connect, e.read,
    e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)}}, " "))
end
"""
_ERROR_KINDS = ("connect", "read", "write", "status", "timeout")


@dataclass(frozen=True)
class Settings:
    organizations: int
    rounds: int
    seconds: int
    warmup_seconds: int


QUICK = Settings(organizations=200, rounds=2, seconds=2, warmup_seconds=1)
FULL = Settings(organizations=1000, rounds=5, seconds=10, warmup_seconds=3)


@dataclass(frozen=True)
class WrkRun:
    """What one wrk run printed: requests, seconds, errors by kind, latency percentiles."""

    requests: int
    seconds: float
    errors: dict[str, int]
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


@dataclass
class _Series:
    """One body against one server, over the rounds."""

    name: str
    port: int
    script: Path
    decisions_per_request: int
    #: A bound to compare with (the decision alone), not a target's series.
    bound: bool = False
    runs: list[WrkRun] = field(default_factory=list)


def run(settings: Settings) -> Part:
    wrk = shutil.which("wrk")
    if wrk is None:
        return Part(
            "wrk",
            "",
            [
                f"skipped: wrk is not installed. Install it with `{INSTALL}` (Debian, Ubuntu; "
                "`brew install wrk` on macOS), then run `python -m benchmarks --only wrk`."
            ],
        )
    with tempfile.TemporaryDirectory(prefix="pdp-bench-wrk-") as name:
        directory = Path(name)
        database = directory / "bench.sqlite3"
        bodies = prepare(settings.organizations, database)
        single = bodies.expected.index(PERMIT)
        issuer = Issuer()
        token = issuer.token(SCOPE_AUTHORIZE, algorithm="ES256", lifetime=24 * 3600)
        decision_log = directory / "decisions.log"
        env = ours.production_env(
            ours.database_url(database),
            issuer.write_jwks(directory / "jwks.json"),
            ISSUER,
            AUDIENCE,
            decision_log,
        )
        authorization = f"Bearer {token}"
        single_script = _script(directory, "single", bodies.singles[single], authorization)
        multi_script = _script(directory, "multi", bodies.multis[0], authorization)
        one_subject_script = _script(directory, "one-subject", bodies.one_subject, authorization)
        load_before = load_average()
        started: list[launcher.Server] = []
        try:
            started.append(launcher.start(floor_app.APP, os.environ, cwd=ours.ROOT))
            started.append(launcher.start(launcher.PDP_APP, env, cwd=ours.ROOT))
            started.append(launcher.start(decision_alone_app.APP, env, cwd=ours.ROOT))
            floor, pdp_server, alone = started
            problems = [
                *_check(floor.port, bodies.singles[single], authorization, None),
                *_check(alone.port, bodies.singles[single], authorization, [PERMIT]),
                *_check(pdp_server.port, bodies.singles[single], authorization, [PERMIT]),
                *_check(
                    pdp_server.port,
                    bodies.multis[0],
                    authorization,
                    bodies.expected[:MULTI_SIZE],
                ),
                *_check(
                    pdp_server.port,
                    bodies.one_subject,
                    authorization,
                    bodies.one_subject_expected,
                ),
            ]
            series = [
                _Series("floor: constant JSON (Flask)", floor.port, single_script, 1),
                _Series(
                    "bound: the decision alone (Permit; no log, metrics, ...)",
                    alone.port,
                    single_script,
                    1,
                    bound=True,
                ),
                _Series("ours: single decision (Permit)", pdp_server.port, single_script, 1),
                _Series(
                    f"ours: MultiRequests of {MULTI_SIZE}, each its own categories",
                    pdp_server.port,
                    multi_script,
                    MULTI_SIZE,
                ),
                _Series(
                    f"ours: MultiRequests of {MULTI_SIZE}, one subject (a PEP's shape)",
                    pdp_server.port,
                    one_subject_script,
                    MULTI_SIZE,
                ),
            ]
            if not problems:
                _load(wrk, settings, series)
        finally:
            for server in started:
                launcher.stop(server)
        logged = _lines(decision_log)
    if problems:
        return Part("wrk", "", ["not timed: answers differ from what was expected", *problems])
    notes = _notes(wrk, settings, series, logged, load_before, bodies)
    return Part("wrk", _table(series), notes)


def _script(directory: Path, name: str, body: bytes, authorization: str) -> Path:
    """A Lua script for wrk that POSTs `body` with the JSON content type and `authorization`."""
    body_path = directory / f"{name}.json"
    body_path.write_bytes(body)
    script = directory / f"{name}.lua"
    script.write_text(
        _SCRIPT.format(
            body_path=json.dumps(str(body_path)),
            authorization=json.dumps(authorization),
            marker=_RESULT,
        ),
        encoding="utf-8",
    )
    return script


def _check(port: int, body: bytes, authorization: str, expected: list[str] | None) -> list[str]:
    """What is wrong with the answer to `body` on the server at `port`: 200 with the
    `expected` decisions (None: any JSON XACML answer, the floor's), and for the PDP 401
    without the token, which shows that tokens are checked."""
    headers = {"Content-Type": "application/json", "Authorization": authorization}
    status, answer = _post(port, body, headers)
    if status != 200:
        return [f"port {port}: HTTP {status} with the token"]
    decisions = [result["Decision"] for result in json.loads(answer)["Response"]]
    if expected is None:
        return []
    problems = []
    if decisions != expected:
        wrong = sum(a != b for a, b in zip(decisions, expected, strict=False))
        problems.append(
            f"port {port}: {wrong} of {len(expected)} decisions differ from the engine's"
            + ("" if len(decisions) == len(expected) else f", {len(decisions)} answered")
        )
    status, _ = _post(port, body, {"Content-Type": "application/json"})
    if status != 401:
        problems.append(f"port {port}: HTTP {status} without a token, 401 expected")
    return problems


def _post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(launcher.HOST, port, timeout=30)
    try:
        connection.request("POST", AUTHORIZE, body, headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _load(wrk: str, settings: Settings, series: list[_Series]) -> None:
    """Warm every series up once, then run the rounds, series interleaved."""
    for s in series:
        _wrk(wrk, s, settings.warmup_seconds)
    for _ in range(settings.rounds):
        for s in series:
            s.runs.append(_wrk(wrk, s, settings.seconds))


def _wrk(wrk: str, series: _Series, seconds: int) -> WrkRun:
    """One wrk run of `seconds` against the series' server; RuntimeError if wrk fails."""
    command = [
        wrk,
        *("--threads", str(THREADS), "--connections", str(CONNECTIONS)),
        *("--duration", f"{seconds}s", "--timeout", "5s", "--script", str(series.script)),
        f"http://{launcher.HOST}:{series.port}{AUTHORIZE}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    lines = [line for line in done.stdout.splitlines() if line.startswith(_RESULT)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    fields = [float(value) for value in lines[-1].split()[1:]]
    requests, microseconds, *errors, p50, p99 = fields
    return WrkRun(
        requests=int(requests),
        seconds=microseconds / 1e6,
        errors=dict(zip(_ERROR_KINDS, map(int, errors), strict=True)),
        p50_ms=p50 / 1000,
        p99_ms=p99 / 1000,
    )


def _table(series: list[_Series]) -> str:
    floor_rate = statistics.median(r.per_second for r in series[0].runs)
    rows = []
    for index, s in enumerate(series):
        rate, low, high = median_spread([r.per_second for r in s.runs])
        p50 = statistics.median(r.p50_ms for r in s.runs)
        p99 = statistics.median(r.p99_ms for r in s.runs)
        errors = sum(sum(r.errors.values()) for r in s.runs)
        decisions = rate * s.decisions_per_request
        share = decisions / floor_rate
        target, ok = throughput_target(
            0 if s.bound else index,
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
                f"{number(max(r.p99_ms for r in s.runs))}",
                _errors(s.runs),
                "" if index == 0 or s.decisions_per_request != 1 else f"{share:.0%}",
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
        "worst p99 ms",
        "errors",
        "% of floor",
        "target",
        "met?",
    ]
    return markdown(headers, rows)


def _errors(runs: list[WrkRun]) -> str:
    """`0`, or the total and its kinds as wrk counts them (`3 (status 2, timeout 1)`)."""
    totals = {kind: sum(r.errors[kind] for r in runs) for kind in _ERROR_KINDS}
    total = sum(totals.values())
    if not total:
        return "0"
    return f"{total} ({', '.join(f'{k} {n}' for k, n in totals.items() if n)})"


def _notes(
    wrk: str,
    settings: Settings,
    series: list[_Series],
    logged: int,
    load_before: str,
    bodies: Bodies,
) -> list[str]:
    version = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    # "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer"
    named = version.stdout.split(" [", 1)[0].strip() or "wrk"
    permits = bodies.expected[:MULTI_SIZE].count(PERMIT)
    one_subject_permits = bodies.one_subject_expected.count(PERMIT)
    shared = json.loads(bodies.one_subject)["Request"]
    floor, alone, singles, multis, one_subject = series
    return [
        f"{named}: {THREADS} threads, "
        f"{CONNECTIONS} connections; {plural(settings.rounds, 'round')} of "
        f"{settings.seconds} s per series, interleaved, after {settings.warmup_seconds} s of "
        "warm-up each; req/s, p50 and p99 are medians over rounds (p50/p99 from wrk, writing "
        "the request to the end of the answer); spread = min-max of round req/s; % of floor = "
        "single decisions' req/s over the floor's.",
        "gunicorn -c gunicorn.conf.py --workers 2 (ReadAheadWorker, threads, keep-alive) on "
        "127.0.0.1, every server. Ours: bearer "
        f"token (ES256, scope {SCOPE_AUTHORIZE}) checked on every request, the same token "
        "each time (the token cache is hit); decision log to a file; SQLite; "
        f"{settings.organizations:,} organisations. The floor gets the same requests. The "
        "decision alone (`benchmarks.decision_alone_app`): the same token checked, the body "
        "read, decided and rendered by the PDP's own parts, and nothing else.",
        f"Bodies: one Permit request; one MultiRequests of {MULTI_SIZE} whose references "
        f"each pick their own three categories ({permits} Permit, {MULTI_SIZE - permits} "
        f"NotApplicable); one MultiRequests of {MULTI_SIZE} as Altinn's PEPs send them, one "
        f"subject and the {len(shared['Resource'])} resources and {len(shared['Action'])} "
        f"actions its references pick ({one_subject_permits} Permit, "
        f"{MULTI_SIZE - one_subject_permits} NotApplicable). Each answer checked once "
        "before timing against the in-process engine, and 401 without the token: all as "
        f"expected. The decision log holds {logged:,} lines at the end.",
        "Round by round, req/s (floor / the decision alone / single / MultiRequests / "
        "one-subject MultiRequests), then the decision alone's and single's share of the floor "
        "in the same round, less disturbed by other work on a shared machine than the medians: "
        + "; ".join(
            f"{number(f.per_second)} / {number(a.per_second)} / {number(s.per_second)} / "
            f"{number(m.per_second)} / {number(o.per_second)}, "
            f"{a.per_second / f.per_second:.0%} and {s.per_second / f.per_second:.0%}"
            for f, a, s, m, o in zip(
                floor.runs, alone.runs, singles.runs, multis.runs, one_subject.runs, strict=True
            )
        )
        + ".",
        f"Load average before: {load_before}; after: {load_average()} (2 CPUs, shared).",
    ]


def _lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as lines:
        return sum(1 for _ in lines)

"""`python -m benchmarks.soak`: the real server for ten minutes at 80% of its measured maximum
rate, under a mix of decisions and delegation writes; errors, p99 over time and memory.

Why: the other benchmarks run for seconds. A leak, a cache that only grows, a lock queue that
builds up, or a worker that stops seeing other workers' writes shows over minutes of mixed
reads and writes, not in a burst.

Setup, as the http benchmark: gunicorn with 2 sync workers on 127.0.0.1, on a fresh SQLite
database in a temporary directory (or `--database-url`, an empty database, e.g. PostgreSQL)
holding the shared workload (1,000 organisations). The server runs with `PDP_AUTH_DISABLED=true`:
it only listens on loopback and the load generator holds no tokens.

The mix, per request (`MIX`): single XACML decisions (`/authorization/api/v1/authorize`),
py-abac-shaped decisions (`/api/v1/decision`), MultiRequests of `MULTI_SIZE`, and delegation
writes: a new delegation from a role holder the PDP permits to delegate to a person never used
before (so 201, never 409), or the revocation of the connection's oldest live one by its
delegator. Every answer is checked: its status, and each decision against the in-process
engine's answer for the same request (the writes only concern fresh recipients, so those never
change). After each write, the connection's next single decision asks about the recipient:
Permit after a delegation, NotApplicable after its revocation, whichever worker answers; this
checks that every worker sees a write at once.

Phase 1 measures the maximum rate of the mix: closed loop, 2 connections (each its own process,
as `loadgen`), for `--probe-seconds`, the first fifth discounted as warm-up; it also warms the
server up before memory is measured. Phase 2 sends the same mix open loop at 80% of it (or
`--rate`, to compare runs at one rate) for `--minutes`: request k of a connection is due at a
fixed time; one that falls behind sends at once until it catches up, and stops at the end
whatever is left (reported as not sent).

Reported per window (a twentieth of the run by default): requests, writes, errors, p50 and p99
from sending to the last byte of the answer, p99 from when the request was due (including the
wait behind the connection's previous request: what a caller at that rate sees), and the
workers' RSS. Memory is VmRSS of gunicorn's master and each worker after server start, at the
start of phase 2 (warm), and at the end. Targets: 0 errors, RSS growth < 10% in every process.

Bounded: each phase stops at its deadline, each request times out after `TIMEOUT` seconds, the
server is stopped at the end, on Ctrl-C and on SIGTERM. Exit status 0 when it ran, whatever
the verdict (figures, not a test); 1 when it could not.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import multiprocessing
import os
import queue
import random
import signal
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy.engine import make_url

from benchmarks import ours, workload
from benchmarks.ids import iter_person_numbers
from benchmarks.report import header
from benchmarks.stats import number, percentile, plural
from benchmarks.table import markdown, met
from pdp import catalog as catalog_module
from pdp.config import Settings
from pdp.engine import DecisionRequest
from pdp.service import Pdp
from pdp.subjects import Subject
from pdp.vocabulary import PERMIT
from tests.e2e import launcher

AUTHORIZE = "/authorization/api/v1/authorize"
DECISION = "/api/v1/decision"
DELEGATIONS = "/api/v1/delegations"
HOST = launcher.HOST

CONNECTIONS = 2
ORGANIZATIONS = 1000
ASKS = 2000
MULTI_SIZE = 20
#: Share of requests of each kind; "write" creates a delegation or revokes one.
MIX = (("authorize", 0.55), ("decision", 0.37), ("multi", 0.03), ("write", 0.05))
#: Share of writes that revoke the connection's oldest live delegation (when it has one).
REVOKE_SHARE = 0.5
LOAD_SHARE = 0.8
RSS_GROWTH_TARGET = 0.10
TIMEOUT = 10.0
#: How long the request kinds' seeded sequence is before it repeats.
PLAN_LENGTH = 10_000
#: Delegation recipients come from this range of `benchmarks.ids` (disjoint from the
#: workload's pools), `_LANE_RANGE` numbers per connection so no two ever pick the same person.
_RECIPIENTS, _LANE_RANGE = 24_000_000, 1_000_000

_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Mix:
    """What the connections send, prepared once: the stream's bodies, the decisions the
    in-process engine gave them, and who the PDP permits to delegate what for whom."""

    authorize: list[bytes]
    decision: list[bytes]
    expected: list[str]
    multis: list[bytes]
    multi_expected: list[list[str]]
    #: (party, delegator, package) for which the PDP permits action `delegate`.
    grantors: list[tuple[str, str, str]]
    kinds: list[str]


@dataclass(frozen=True)
class Lane:
    """One connection's part in a phase; `interval` 0 is closed loop (send when answered).
    `index` picks the connection's recipients and random choices: 0 for the preflight, then
    1, 2, ... across both phases, so that no recipient is ever used twice."""

    index: int
    port: int
    mix: Mix
    seconds: float
    interval: float
    offset: float
    window_seconds: float
    windows: int


@dataclass
class Window:
    """What one or all connections saw for requests due in one window."""

    #: Nanoseconds from sending to the last byte of the answer, by what was sent.
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    #: Nanoseconds from when each request was due to the last byte of its answer.
    from_due_ns: list[int] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return len(self.from_due_ns)

    @property
    def writes(self) -> int:
        return len(self.by_kind.get("create", ())) + len(self.by_kind.get("revoke", ()))

    @property
    def latencies_ns(self) -> list[int]:
        return [ns for values in self.by_kind.values() for ns in values]

    def merge(self, other: Window) -> None:
        for kind, values in other.by_kind.items():
            self.by_kind.setdefault(kind, []).extend(values)
        self.from_due_ns += other.from_due_ns
        self.errors += other.errors


@dataclass(frozen=True)
class LaneEnd:
    unsent: int
    created: int
    revoked: int


@dataclass
class Phase:
    windows: list[Window]
    ends: list[LaneEnd]

    @property
    def unsent(self) -> int:
        return sum(end.unsent for end in self.ends)


# --- one connection, in its own process ---------------------------------------------------


class Client:
    """One connection's requests and the checks of their answers."""

    def __init__(self, lane: Lane):
        self.mix = lane.mix
        self.rng = random.Random(lane.index)
        self.recipients = iter_person_numbers(_RECIPIENTS + lane.index * _LANE_RANGE)
        self.connection = http.client.HTTPConnection(HOST, lane.port, timeout=TIMEOUT)
        self.cursor = self.rng.randrange(len(self.mix.expected))
        #: (id, party, package, delegator, recipient) of the live delegations it made.
        self.live: deque[tuple[str, str, str, str, str]] = deque()
        #: The next single decision instead of the stream's: a body and the decision due.
        self.follow_up: tuple[bytes, str] | None = None
        self.created = self.revoked = 0

    def send(self, kind: str) -> tuple[str, str | None]:
        """Send a request of `kind` (a MIX kind, or one of `create`, `revoke`); what was sent
        (`create` or `revoke` for a write, `after write` for the follow-up decision) and an
        error label or None."""
        if kind == "write":
            kind = "revoke" if self.live and self.rng.random() < REVOKE_SHARE else "create"
        elif kind in ("authorize", "decision") and self.follow_up:
            kind = "after write"
        try:
            return kind, self._send(kind)
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            return kind, f"{kind}: {type(error).__name__}"
        except (ValueError, KeyError, TypeError):
            return kind, f"{kind}: an answer that is not the JSON expected"

    def _send(self, kind: str) -> str | None:
        if kind == "create":
            return self._create()
        if kind == "revoke":
            return self._revoke()
        if kind == "after write" and self.follow_up:
            (body, expected), self.follow_up = self.follow_up, None
            return self._decide(kind, AUTHORIZE, body, [expected])
        if kind == "multi":
            index = self.rng.randrange(len(self.mix.multis))
            return self._decide(
                kind, AUTHORIZE, self.mix.multis[index], self.mix.multi_expected[index]
            )
        index = self.cursor = (self.cursor + 1) % len(self.mix.expected)
        bodies = self.mix.authorize if kind == "authorize" else self.mix.decision
        path = AUTHORIZE if kind == "authorize" else DECISION
        return self._decide(kind, path, bodies[index], [self.mix.expected[index]])

    def _create(self) -> str | None:
        party, delegator, package = self.rng.choice(self.mix.grantors)
        recipient = next(self.recipients)
        body = {
            "party": party,
            "package": package,
            "delegator": delegator,
            "recipient": {"person": recipient},
        }
        status, data = self._request("POST", DELEGATIONS, _encode(body))
        if status != 201:
            return f"create: HTTP {status}"
        self.live.append((json.loads(data)["id"], party, package, delegator, recipient))
        self.follow_up = (_ask_body(recipient, party, package), PERMIT)
        self.created += 1
        return None

    def _revoke(self) -> str | None:
        identifier, party, package, delegator, recipient = self.live.popleft()
        path = f"{DELEGATIONS}/{identifier}?revoked_by={delegator}"
        status, _ = self._request("DELETE", path, None)
        if status != 200:
            return f"revoke: HTTP {status}"
        self.follow_up = (_ask_body(recipient, party, package), "NotApplicable")
        self.revoked += 1
        return None

    def _decide(self, kind: str, path: str, body: bytes, expected: list[str]) -> str | None:
        status, data = self._request("POST", path, body)
        if status != 200:
            return f"{kind}: HTTP {status}"
        answer = json.loads(data)
        if path == DECISION:
            decisions = [answer["decision"]]
        else:
            decisions = [result["Decision"] for result in answer["Response"]]
        wrong = [(a, b) for a, b in zip(decisions, expected, strict=True) if a != b]
        return f"{kind}: {wrong[0][0]} instead of {wrong[0][1]}" if wrong else None

    def _request(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        self.connection.request(method, path, body, _JSON if body else {})
        response = self.connection.getresponse()
        return response.status, response.read()


def drive(lane: Lane, go: Any, results: Any) -> None:
    """A lane's process: say it is ready, wait for the common start time, run, report."""
    try:
        client = Client(lane)
        results.put(("ready", lane.index, None))
        _run(lane, client, go.get(timeout=120), results)
    except BaseException:
        results.put(("failed", lane.index, traceback.format_exc()))


def _run(lane: Lane, client: Client, start: float, results: Any) -> None:
    """Send until the phase ends, reporting each window as soon as the next one begins."""
    stop = start + lane.seconds
    kinds = lane.mix.kinds
    first = random.Random(lane.index).randrange(len(kinds))
    current, window, sent = 0, Window(), 0
    clock = time.monotonic
    while True:
        now = clock()
        due = start + lane.offset + sent * lane.interval if lane.interval else now
        if due >= stop or now >= stop:
            break
        index = min(int((due - start) // lane.window_seconds), lane.windows - 1)
        while current < index:
            results.put(("window", current, window))
            current, window = current + 1, Window()
        if due > now:
            time.sleep(due - now)
        began = time.monotonic_ns()
        kind, error = client.send(kinds[(first + sent) % len(kinds)])
        ended = time.monotonic_ns()
        window.by_kind.setdefault(kind, []).append(ended - began)
        window.from_due_ns.append(ended - int(due * 1e9))
        if error:
            window.errors[error] += 1
        sent += 1
    while current < lane.windows:
        results.put(("window", current, window))
        current, window = current + 1, Window()
    scheduled = math.ceil((lane.seconds - lane.offset) / lane.interval) if lane.interval else sent
    results.put(("end", lane.index, LaneEnd(scheduled - sent, client.created, client.revoked)))


# --- the driver ---------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.soak",
        description="The real server at 80% of its measured maximum rate of mixed decisions "
        "and delegation writes, on loopback: errors, p99 over time, RSS growth.",
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="soak length (default 10)")
    parser.add_argument(
        "--probe-seconds", type=float, default=20.0, help="maximum-rate phase (default 20)"
    )
    parser.add_argument(
        "--rate", type=float, help="soak at this many requests/s instead of 80%% of phase 1's"
    )
    parser.add_argument("--windows", type=int, default=20, help="report rows (default 20)")
    parser.add_argument(
        "--database-url", help="an empty database to use instead of a temporary SQLite file"
    )
    arguments = parser.parse_args(argv)
    if arguments.minutes <= 0 or arguments.probe_seconds < 1 or arguments.windows < 1:
        parser.error("--minutes must be > 0, --probe-seconds >= 1, --windows >= 1")
    if arguments.rate is not None and arguments.rate <= 0:
        parser.error("--rate must be > 0")
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with tempfile.TemporaryDirectory(prefix="pdp-soak-") as directory:
        try:
            return _soak(arguments, argv, Path(directory))
        except KeyboardInterrupt:
            print("interrupted: server stopped", file=sys.stderr)
            return 130
        except (RuntimeError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1


def _soak(arguments: argparse.Namespace, argv: list[str], directory: Path) -> int:
    url = arguments.database_url or ours.database_url(directory / "soak.sqlite3")
    print(header(argv, module="benchmarks.soak", title="pdp soak"), flush=True)
    mix, delegations = _prepare(url)
    log = directory / "gunicorn.log"
    server = launcher.start(launcher.PDP_APP, ours.server_env(url), cwd=ours.ROOT, log=log)
    try:
        idle = _rss(server.process.pid)
        _preflight(server.port, mix)
        print(_setup(url, mix, delegations, server), flush=True)
        probe = _phase(server.port, mix, 1, arguments.probe_seconds, None, 5, lambda *_: None)
        maximum = _probe_rate(probe, arguments.probe_seconds)
        rate = arguments.rate or LOAD_SHARE * maximum
        print("\n" + _probe_section(probe, arguments.probe_seconds, maximum, rate), flush=True)
        seconds = arguments.minutes * 60
        before = _rss(server.process.pid)
        rows: list[tuple[Window, dict[int, int]]] = []

        def progress(index: int, window: Window) -> None:
            rss = _rss(server.process.pid)
            rows.append((window, rss))
            print(
                f"window {index + 1}/{arguments.windows}: {window.requests} requests, "
                f"{window.errors.total()} errors, p99 {_ms(window.latencies_ns, 99)} ms, "
                f"RSS {_workers_mib(rss, server.process.pid)} MiB",
                file=sys.stderr,
                flush=True,
            )

        soak = _phase(server.port, mix, 1 + CONNECTIONS, seconds, rate, arguments.windows, progress)
        after = _rss(server.process.pid)
        totals = _delegation_totals(server.port)
    finally:
        launcher.stop(server)
    sections = [
        _soak_section(rows, seconds / arguments.windows, rate, soak, server.process.pid),
        _memory_section(server.process.pid, idle, before, after),
        _errors_section(probe, soak, log),
        _verdict(probe, soak, before, after, delegations, totals),
    ]
    print("\n" + "\n\n".join(sections))
    return 0


def _exit_on_sigterm(_signal: int, _frame: object) -> NoReturn:
    """SIGTERM unwinds like Ctrl-C, so that the server and the connections are stopped."""
    raise KeyboardInterrupt


def _prepare(url: str) -> tuple[Mix, int]:
    """Fill the database with the workload; the mix and how many delegations it holds."""
    catalog = catalog_module.load(ours.POLICY_DIR)
    load = workload.build(catalog, ORGANIZATIONS, asks=ASKS)
    pdp = Pdp.from_settings(Settings(database_url=url, policy_refresh_seconds=1.0))
    try:
        if pdp.repository.active_version() is not None:
            raise ValueError(f"{_shown(url)} is not empty: the soak needs a fresh database")
        ours.fill(pdp, load)
        decide = pdp.engine.decide
        prepare = ours.contender(pdp).prepare
        expected = [decide(prepare(ask)).decision for ask in load.stream]
        grantors = _grantors(pdp, load)
    finally:
        pdp.close()
    rng = random.Random(5)
    names, weights = zip(*MIX, strict=True)
    starts = range(0, len(load.stream), MULTI_SIZE)
    mix = Mix(
        authorize=[_encode(workload.xacml_body(ask)) for ask in load.stream],
        decision=[_encode(_decision_body(ask)) for ask in load.stream],
        expected=expected,
        multis=[
            _encode(workload.xacml_multi_body(load.stream[i : i + MULTI_SIZE])) for i in starts
        ],
        multi_expected=[expected[i : i + MULTI_SIZE] for i in starts],
        grantors=grantors,
        kinds=rng.choices(names, weights, k=PLAN_LENGTH),
    )
    return mix, len(load.delegations)


def _grantors(pdp: Pdp, load: workload.Workload) -> list[tuple[str, str, str]]:
    """Every (party, person, package) for which the PDP permits the register's role holders
    action `delegate`: asking the PDP itself keeps the writes valid whatever the catalog says
    (a NUF-only package, say), so a write that fails is the server's fault."""
    grantors = []
    for org in load.register["organizations"]:
        party = org["organization_number"]
        for role in org["roles"]:
            if "person" not in role:
                continue
            for package in load.catalog.packages:
                if not package.delegable:
                    continue
                request = DecisionRequest(
                    Subject("person", role["person"]), party, package.urn, "delegate"
                )
                if pdp.engine.decide(request).decision == PERMIT:
                    grantors.append((party, role["person"], package.urn))
    return grantors


def _preflight(port: int, mix: Mix) -> None:
    """One request of each kind, so that a broken server stops the run before it starts."""
    client = Client(
        Lane(0, port, mix, seconds=0, interval=0, offset=0, window_seconds=1, windows=1)
    )
    for kind in ("authorize", "decision", "multi", "create", "authorize", "revoke", "decision"):
        if error := client.send(kind)[1]:
            raise RuntimeError(f"the server is not answering as expected ({error})")
    client.connection.close()


def _phase(
    port: int,
    mix: Mix,
    first_lane: int,
    seconds: float,
    rate: float | None,
    windows: int,
    on_window: Callable[[int, Window], None],
) -> Phase:
    """Run `CONNECTIONS` lanes for `seconds`, paced at `rate` requests/s in all (None: closed
    loop); `on_window` sees each window once every lane has reported it."""
    context = multiprocessing.get_context("spawn")
    results, go = context.Queue(), context.Queue()
    lanes = [
        Lane(
            index=first_lane + n,
            port=port,
            mix=mix,
            seconds=seconds,
            interval=CONNECTIONS / rate if rate else 0.0,
            offset=n / rate if rate else 0.0,
            window_seconds=seconds / windows,
            windows=windows,
        )
        for n in range(CONNECTIONS)
    ]
    processes = [context.Process(target=drive, args=(lane, go, results)) for lane in lanes]
    for process in processes:
        process.start()
    try:
        ready = time.monotonic() + 60
        for _ in lanes:
            _receive(results, processes, ready)
        start = time.monotonic() + 0.2
        for _ in lanes:
            go.put(start)
        phase = Phase([Window() for _ in range(windows)], [])
        reported = [0] * windows
        ends: dict[int, LaneEnd] = {}
        deadline = start + seconds + TIMEOUT + 30
        while len(ends) < len(lanes):
            kind, index, payload = _receive(results, processes, deadline)
            if kind == "end":
                ends[index] = payload
                continue
            phase.windows[index].merge(payload)
            reported[index] += 1
            if reported[index] == len(lanes):
                on_window(index, phase.windows[index])
        phase.ends = [ends[lane.index] for lane in lanes]
        return phase
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()


def _receive(results: Any, processes: list[Any], deadline: float) -> tuple[str, int, Any]:
    """The next message from the lanes; RuntimeError when a lane failed or died, or the
    deadline passed."""
    while True:
        try:
            message = results.get(timeout=max(0.0, min(1.0, deadline - time.monotonic())))
        except queue.Empty:
            if time.monotonic() >= deadline:
                raise RuntimeError("the connections did not finish in time") from None
            if any(process.exitcode not in (None, 0) for process in processes):
                raise RuntimeError("a connection process died") from None
            continue
        if message[0] == "failed":
            raise RuntimeError(f"connection {message[1]} failed:\n{message[2]}")
        return message


def _probe_rate(probe: Phase, seconds: float) -> float:
    """Requests/s over the probe, its first window (of five) being the warm-up."""
    measured = probe.windows[1:]
    return sum(w.requests for w in measured) / (seconds * len(measured) / len(probe.windows))


def _delegation_totals(port: int) -> tuple[int, int]:
    """How many delegations the database holds at the end: in all, and not revoked."""
    connection = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
    totals = []
    try:
        for revoked in ("true", "false"):
            connection.request("GET", f"{DELEGATIONS}?include_revoked={revoked}&limit=1")
            totals.append(json.loads(connection.getresponse().read())["total"])
    finally:
        connection.close()
    return totals[0], totals[1]


# --- memory -------------------------------------------------------------------------------


def _rss(master: int) -> dict[int, int]:
    """VmRSS in KiB of gunicorn's master and each of its workers, by pid."""
    pids = [master, *_children(master)]
    return {pid: kib for pid in pids if (kib := _vm_rss(pid)) is not None}


def _children(parent: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return sorted(children)


def _vm_rss(pid: int) -> int | None:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    return next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), None)


def _growth(before: dict[int, int], after: dict[int, int]) -> dict[int, float | None]:
    """Relative RSS growth per process present at the start; None when it is gone."""
    return {pid: (after[pid] / kib - 1 if pid in after else None) for pid, kib in before.items()}


# --- the report ---------------------------------------------------------------------------


def _setup(url: str, mix: Mix, delegations: int, server: launcher.Server) -> str:
    shares = ", ".join(f"{name} {share:.0%}" for name, share in MIX)
    return "\n".join(
        [
            "",
            "## setup",
            "",
            f"- server: gunicorn --workers 2 --worker-class sync on 127.0.0.1:{server.port}, "
            f"PDP_AUTH_DISABLED=true, database {_shown(url)}; started in "
            f"{server.start_seconds:.2f} s",
            f"- data: {ORGANIZATIONS:,} organisations, {delegations} delegations, a stream of "
            f"{len(mix.expected):,} requests ({mix.expected.count(PERMIT) / len(mix.expected):.0%}"
            f" Permit), {len(mix.grantors):,} (party, delegator, package) the PDP lets delegate",
            f"- mix: {shares}; authorize = one XACML decision, decision = /api/v1/decision, "
            f"multi = MultiRequests of {MULTI_SIZE}, write = a new delegation or "
            f"({REVOKE_SHARE:.0%}) the revocation of the connection's oldest live one",
            f"- {CONNECTIONS} connections, each its own process; every answer checked "
            "(status, each decision against the in-process engine, the recipient's decision "
            "right after each write)",
            f"- load average before phase 1: {_load_average()} (the machine is shared: "
            "compare with 2 CPUs)",
        ]
    )


def _probe_section(probe: Phase, seconds: float, maximum: float, rate: float) -> str:
    measured = Window()
    for window in probe.windows[1:]:
        measured.merge(window)
    headers = ["requests", "seconds", "req/s", "writes", "errors", "p50 ms", "p99 ms"]
    row = [
        f"{measured.requests:,}",
        number(seconds * 4 / 5),
        number(maximum),
        measured.writes,
        measured.errors.total() + probe.windows[0].errors.total(),
        _ms(measured.latencies_ns, 50),
        _ms(measured.latencies_ns, 99),
    ]
    return "\n\n".join(
        [
            "## phase 1: maximum rate",
            markdown(headers, [row]),
            f"- closed loop, {CONNECTIONS} connections, {number(seconds)} s, the first fifth "
            f"not counted (warm-up; its errors are). Soak rate: **{number(rate)} requests/s** "
            f"({rate / maximum:.0%} of it).",
        ]
    )


def _soak_section(
    rows: list[tuple[Window, dict[int, int]]],
    window_seconds: float,
    rate: float,
    soak: Phase,
    master: int,
) -> str:
    headers = [
        "window",
        "requests",
        "req/s",
        "writes",
        "errors",
        "p50 ms",
        "p99 ms",
        "p99 from due ms",
        "worker RSS MiB",
    ]
    table = []
    for index, (window, rss) in enumerate(rows):
        table.append(
            [
                f"{_clock(index * window_seconds)}-{_clock((index + 1) * window_seconds)}",
                f"{window.requests:,}",
                number(window.requests / window_seconds),
                window.writes,
                window.errors.total(),
                _ms(window.latencies_ns, 50),
                _ms(window.latencies_ns, 99),
                _ms(window.from_due_ns, 99),
                _workers_mib(rss, master),
            ]
        )
    created = sum(end.created for end in soak.ends)
    revoked = sum(end.revoked for end in soak.ends)
    notes = [
        f"open loop at {number(rate)} requests/s in all, {CONNECTIONS} connections; "
        f"{created:,} delegations created, {revoked:,} revoked; "
        f"{plural(soak.unsent, 'request')} due but not sent (behind schedule at the end); "
        f"load average at the end: {_load_average()}.",
        "Rows are by when requests were due. p50/p99: sending to the last byte of the answer; "
        "p99 from due: from when the request was due, including the wait behind the "
        "connection's previous request (it grows when the server falls behind the rate).",
    ]
    return "\n\n".join(
        [
            "## phase 2: soak",
            markdown(headers, table),
            "\n".join(f"- {note}" for note in notes),
            _kinds_table(soak),
        ]
    )


def _kinds_table(soak: Phase) -> str:
    """Latency by what was sent, over the whole soak: where the time goes."""
    whole = Window()
    for window in soak.windows:
        whole.merge(window)
    rows = [
        [
            kind,
            f"{len(values):,}",
            f"{len(values) / whole.requests:.1%}",
            _ms(values, 50),
            _ms(values, 99),
            number(max(values) / 1e6),
        ]
        for kind, values in sorted(whole.by_kind.items(), key=lambda item: -len(item[1]))
    ]
    return markdown(["sent", "requests", "share", "p50 ms", "p99 ms", "max ms"], rows)


def _memory_section(
    master: int, idle: dict[int, int], before: dict[int, int], after: dict[int, int]
) -> str:
    growth = _growth(before, after)
    rows = []
    for pid in before:
        change = growth[pid]
        rows.append(
            [
                "master" if pid == master else "worker",
                pid,
                _mib(idle.get(pid)),
                _mib(before[pid]),
                _mib(after[pid]) if pid in after else "gone",
                "gone" if change is None else f"{change:+.1%}",
            ]
        )
    headers = ["process", "pid", "after start", "soak start", "soak end", "growth"]
    return "\n\n".join(
        [
            "## memory (VmRSS, MiB)",
            markdown(headers, rows),
            "- soak start is after phase 1, the server warm; growth is soak start to soak end.",
        ]
    )


def _errors_section(probe: Phase, soak: Phase, log: Path) -> str:
    errors: Counter[str] = Counter()
    for window in [*probe.windows, *soak.windows]:
        errors += window.errors
    parts = ["## errors"]
    if errors:
        parts.append(markdown(["error", "count"], errors.most_common()))
    else:
        parts.append("None.")
    lines = log.read_text(errors="replace").splitlines()
    if lines:
        tail = "\n".join(lines[-20:])
        parts.append(f"gunicorn wrote {len(lines)} lines, the last ones:\n\n```\n{tail}\n```")
    return "\n\n".join(parts)


def _verdict(
    probe: Phase,
    soak: Phase,
    before: dict[int, int],
    after: dict[int, int],
    delegations: int,
    totals: tuple[int, int],
) -> str:
    errors = sum(w.errors.total() for w in [*probe.windows, *soak.windows])
    growth = _growth(before, after)
    worst = max(growth.values(), key=lambda g: math.inf if g is None else g)
    shown = "a process is gone" if worst is None else f"largest {worst:+.1%}"
    rss_ok = worst is not None and worst < RSS_GROWTH_TARGET
    p99s = [percentile(w.latencies_ns, 99) / 1e6 for w in soak.windows if w.latencies_ns]
    rows = [
        ["errors, both phases", "0", errors, met(errors == 0)],
        ["RSS growth, each process", f"< {RSS_GROWTH_TARGET:.0%}", shown, met(rss_ok)],
        [
            "p99 per window",
            "",
            f"{number(min(p99s))}-{number(max(p99s))} ms, median {number(statistics.median(p99s))}",
            "",
        ],
        ["requests due but not sent", "", f"{soak.unsent:,}", ""],
        [
            "delegations in the database",
            "",
            f"{delegations} at start, {totals[0]:,} at end ({totals[1]:,} not revoked)",
            "",
        ],
    ]
    ok = errors == 0 and rss_ok
    line = (
        f"**verdict: {'targets met' if ok else 'target missed'}** "
        f"(errors {errors}, RSS growth {shown})"
    )
    return "\n\n".join(["## verdict", markdown(["what", "target", "measured", "met?"], rows), line])


def _load_average() -> str:
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def _ms(values_ns: list[int], q: float) -> str:
    return number(percentile(values_ns, q) / 1e6) if values_ns else "-"


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f}"


def _workers_mib(rss: dict[int, int], master: int) -> str:
    return ", ".join(_mib(kib) for pid, kib in rss.items() if pid != master)


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _decision_body(ask: workload.Ask) -> dict[str, Any]:
    """The request in py-abac's shape (`POST /api/v1/decision`)."""
    return {
        "subject": {"id": ask.subject_urn, "attributes": {}},
        "resource": {"id": ask.package, "attributes": {"party": ask.party}},
        "action": {"id": ask.action, "attributes": {}},
        "context": {},
    }


def _ask_body(recipient: str, party: str, package: str) -> bytes:
    return _encode(workload.xacml_body(workload.Ask("person", recipient, party, package, "access")))


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

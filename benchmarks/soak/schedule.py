"""When the soak sends: `CONNECTIONS` connections, each in its own process (no shared GIL with
the other or with the driver), closed loop to measure the maximum rate, open loop at a fixed
rate to soak.

Open loop: request k of a connection is due at a fixed time (the connections offset from each
other by one interval of the total rate); one that falls behind sends at once until it catches
up, and stops at the phase's end whatever is left (reported as not sent). The kinds follow the
mix's seeded plan, from a different place for each connection. Each connection reports a
window as soon as the next one begins, so the driver can print progress while the run goes on.
"""

from __future__ import annotations

import math
import multiprocessing
import queue
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.soak.client import TIMEOUT, Client
from benchmarks.soak.mix import Mix
from benchmarks.soak.sampling import Window

CONNECTIONS = 2


@dataclass(frozen=True)
class Lane:
    """One connection's part in a phase; `interval` 0 is closed loop (send when answered).
    `index` numbers the connection's client: 1, 2, ... across both phases (0 is the
    preflight's), so that no recipient is ever used twice."""

    index: int
    port: int
    mix: Mix
    seconds: float
    interval: float
    offset: float
    window_seconds: float
    windows: int


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


def run_phase(
    port: int,
    mix: Mix,
    first_lane: int,
    seconds: float,
    rate: float | None,
    windows: int,
    on_window: Callable[[int, Window], None],
) -> Phase:
    """Run `CONNECTIONS` lanes for `seconds`, paced at `rate` requests/s in all (None: closed
    loop); `on_window` sees each window once every lane has reported it. RuntimeError when a
    lane fails, dies or does not finish in time."""
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


def probe_rate(probe: Phase, seconds: float) -> float:
    """Requests/s over the probe, its first window (of five) being the warm-up."""
    measured = probe.windows[1:]
    return sum(w.requests for w in measured) / (seconds * len(measured) / len(probe.windows))


def drive(lane: Lane, go: Any, results: Any) -> None:
    """A lane's process: say it is ready, wait for the common start time, run, report."""
    try:
        client = Client(lane.mix, lane.index, lane.port)
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
        window.record(kind, began, int(due * 1e9), time.monotonic_ns(), error)
        sent += 1
    while current < lane.windows:
        results.put(("window", current, window))
        current, window = current + 1, Window()
    scheduled = math.ceil((lane.seconds - lane.offset) / lane.interval) if lane.interval else sent
    results.put(("end", lane.index, LaneEnd(scheduled - sent, client.created, client.revoked)))


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

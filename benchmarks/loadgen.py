"""A bounded HTTP load generator in plain Python, so it runs wherever `pip install` ran.

Each connection is driven by its own process (no shared GIL with the other connection or with
the benchmark driver), sends a fixed number of POSTs one after another on an
`http.client.HTTPConnection`, and records each request's latency. The connection is kept
alive (the shipped gunicorn configuration keeps idle connections 5 s), for the floor server
measured the same way too.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

HOST = "127.0.0.1"
_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class ConnectionRun:
    """What one connection saw: per-request nanoseconds, errors, and when it ran."""

    latencies_ns: list[int]
    errors: int
    started: float
    finished: float


@dataclass(frozen=True)
class LoadRun:
    """All connections of one run: requests/s over the run's wall time, latencies, errors."""

    requests: int
    seconds: float
    latencies_ns: list[int]
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def drive(port: int, path: str, bodies: Sequence[bytes], count: int, first: int) -> ConnectionRun:
    """Send `count` POSTs to `path`, cycling through `bodies` from index `first`."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    clock = time.perf_counter_ns
    latencies, errors = [], 0
    started = time.monotonic()
    for index in range(first, first + count):
        body = bodies[index % len(bodies)]
        began = clock()
        try:
            connection.request("POST", path, body, _HEADERS)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
        latencies.append(clock() - began)
    finished = time.monotonic()
    connection.close()
    return ConnectionRun(latencies, errors, started, finished)


def run(
    pool: ProcessPoolExecutor,
    port: int,
    path: str,
    bodies: Sequence[bytes],
    connections: int,
    per_connection: int,
) -> LoadRun:
    """`connections` concurrent connections from the pool's processes, `per_connection`
    requests each; throughput is measured from the first start to the last finish."""
    spacing = max(1, len(bodies) // connections)
    futures = [
        pool.submit(drive, port, path, bodies, per_connection, n * spacing)
        for n in range(connections)
    ]
    runs = [future.result() for future in futures]
    latencies = [ns for r in runs for ns in r.latencies_ns]
    seconds = max(r.finished for r in runs) - min(r.started for r in runs)
    return LoadRun(len(latencies), seconds, latencies, sum(r.errors for r in runs))


def warm(pool: ProcessPoolExecutor, processes: int) -> None:
    """Start the pool's processes before anything is timed."""
    for future in [pool.submit(time.monotonic) for _ in range(processes)]:
        future.result()

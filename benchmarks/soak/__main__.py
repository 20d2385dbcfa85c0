"""`python -m benchmarks.soak`: the command line; see the package's docstring for what the
soak does and why."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

from benchmarks import ours
from benchmarks.report import header
from benchmarks.soak.client import delegation_totals, preflight
from benchmarks.soak.mix import prepare
from benchmarks.soak.report import (
    errors_section,
    memory_section,
    ms,
    probe_section,
    setup_section,
    soak_section,
    verdict,
    workers_mib,
)
from benchmarks.soak.sampling import Window, rss
from benchmarks.soak.schedule import CONNECTIONS, probe_rate, run_phase
from tests.e2e import launcher

#: The soak's rate, as a share of the maximum measured in phase 1.
LOAD_SHARE = 0.8


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
    mix, delegations = prepare(url)
    log = directory / "gunicorn.log"
    server = launcher.start(launcher.PDP_APP, ours.server_env(url), cwd=ours.ROOT, log=log)
    try:
        idle = rss(server.process.pid)
        preflight(server.port, mix)
        print(setup_section(url, mix, delegations, server), flush=True)
        probe = run_phase(server.port, mix, 1, arguments.probe_seconds, None, 5, lambda *_: None)
        maximum = probe_rate(probe, arguments.probe_seconds)
        rate = arguments.rate or LOAD_SHARE * maximum
        print("\n" + probe_section(probe, arguments.probe_seconds, maximum, rate), flush=True)
        seconds = arguments.minutes * 60
        before = rss(server.process.pid)
        rows: list[tuple[Window, dict[int, int]]] = []

        def progress(index: int, window: Window) -> None:
            memory = rss(server.process.pid)
            rows.append((window, memory))
            print(
                f"window {index + 1}/{arguments.windows}: {window.requests} requests, "
                f"{window.errors.total()} errors, p99 {ms(window.latencies_ns, 99)} ms, "
                f"RSS {workers_mib(memory, server.process.pid)} MiB",
                file=sys.stderr,
                flush=True,
            )

        soak = run_phase(
            server.port, mix, 1 + CONNECTIONS, seconds, rate, arguments.windows, progress
        )
        after = rss(server.process.pid)
        totals = delegation_totals(server.port)
    finally:
        launcher.stop(server)
    sections = [
        soak_section(rows, seconds / arguments.windows, rate, soak, server.process.pid),
        memory_section(server.process.pid, idle, before, after),
        errors_section(probe, soak, log),
        verdict(probe, soak, before, after, delegations, totals),
    ]
    print("\n" + "\n\n".join(sections))
    return 0


def _exit_on_sigterm(_signal: int, _frame: object) -> NoReturn:
    """SIGTERM unwinds like Ctrl-C, so that the server and the connections are stopped."""
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

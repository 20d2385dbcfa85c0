"""`python -m benchmarks`: run the benchmarks and print a Markdown report.

Run from the project root with the `bench` extra installed (`pip install -e '.[bench]'`):

    python -m benchmarks                  # everything: a few minutes
    python -m benchmarks --quick          # small sizes, to check that it all runs
    python -m benchmarks --only latency   # one part: latency, resources, reverse, scale, http,
                                          # wrk, overhead, propagation (needs PostgreSQL),
                                          # reading
    python -m benchmarks --national       # a register the size of Norway, on its own (~30 min)

These are figures to read, not tests: nothing fails when a target is missed, the table says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable

from benchmarks import (
    http,
    latency,
    national,
    overhead,
    propagation,
    reading,
    resources,
    reverse,
    scale,
    wrk,
)
from benchmarks.report import Part, header, render

PARTS: dict[str, tuple[Callable[[object], Part], object, object]] = {
    "latency": (latency.run, latency.QUICK, latency.FULL),
    "resources": (resources.run, resources.QUICK, resources.FULL),
    "reverse": (reverse.run, reverse.QUICK, reverse.FULL),
    "scale": (scale.run, scale.QUICK, scale.FULL),
    "http": (http.run, http.QUICK, http.FULL),
    "wrk": (wrk.run, wrk.QUICK, wrk.FULL),
    "overhead": (overhead.run, overhead.QUICK, overhead.FULL),
    "propagation": (propagation.run, propagation.QUICK, propagation.FULL),
    "reading": (reading.run, reading.QUICK, reading.FULL),
}
PEERS = ("vakt", "cedarpy")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for smoke-checking")
    parser.add_argument(
        "--only", action="append", choices=list(PARTS), help="run only this part (may repeat)"
    )
    parser.add_argument(
        "--national",
        action="store_true",
        help="only the national-scale register part (SQLite and PostgreSQL), not run otherwise",
    )
    arguments = parser.parse_args(argv)
    if arguments.national:
        return _national(argv, arguments.quick)
    chosen = [name for name in PARTS if not arguments.only or name in arguments.only]
    missing = [name for name in PEERS if importlib.util.find_spec(name) is None]
    if "latency" in chosen and missing:
        print(
            f"error: {', '.join(missing)} not installed; pip install -e '.[bench]'",
            file=sys.stderr,
        )
        return 1
    print(header(argv), flush=True)
    durations = []
    for name in chosen:
        run, quick, full = PARTS[name]
        started = time.perf_counter()
        part = run(quick if arguments.quick else full)
        part.seconds = time.perf_counter() - started
        durations.append(f"{name} {part.seconds:.1f} s")
        print("\n" + render(part), flush=True)
    print(f"\n_total: {', '.join(durations)}_")
    return 0


def _national(argv: list[str], quick: bool) -> int:
    print(header(argv), flush=True)
    started = time.perf_counter()
    part = national.run(national.QUICK if quick else national.FULL)
    part.seconds = time.perf_counter() - started
    print("\n" + render(part), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

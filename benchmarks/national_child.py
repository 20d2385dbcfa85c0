"""The measured half of the national benchmark, run in a fresh process by `benchmarks.national`.

`measure` opens a filled database the way a server worker does and times decisions about role
holders of the register: warm (the decision and facts caches on, each request decided once
before timing) and cold (no caches: every decision reads its facts from the database). Then it
decides `distinct` different requests, more than the caches hold, and reports the process's
RSS before and after: what a worker's memory does as a national register's requests pass
through it. Its own peak RSS is its own, never the generator's.

Usage: `python -m benchmarks.national_child measure '<json spec>'`; prints one JSON line.
"""

from __future__ import annotations

import json
import resource
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks import harness, ours
from benchmarks.workload import Ask
from pdp.config import Settings
from pdp.service import Pdp


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    stream = json.loads(Path(spec["asks_file"]).read_text())
    asks = [Ask(*ask) for ask in stream["asks"]]
    settings = Settings(database_url=spec["url"], policy_refresh_seconds=3600.0)
    results: dict[str, Any] = {}
    for name, cache in (("warm", settings.decision_cache), ("cold", 0)):
        pdp = Pdp.from_settings(replace(settings, decision_cache=cache))
        contender = ours.contender(pdp)
        permits = harness.answers(contender, asks)
        rounds = harness.time_rounds([contender], asks, spec["rounds"], len(asks))
        results[name] = rounds[contender.name]
        results[f"{name}_permits"] = sum(permits)
        if name == "warm":
            before = _rss_mb()
            many = [Ask(*ask) for ask in stream["distinct"]]
            for ask in many:
                contender.decide(contender.prepare(ask))
            results["rss_before_mb"], results["rss_after_mb"] = before, _rss_mb()
            results["cache_bound"] = settings.decision_cache
            results["distinct"] = len(many)
        pdp.close()
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def main(argv: list[str]) -> None:
    command, spec = argv[0], json.loads(argv[1])
    print(json.dumps({"measure": measure}[command](spec)))


if __name__ == "__main__":
    main(sys.argv[1:])

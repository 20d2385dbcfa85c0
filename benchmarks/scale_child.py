"""The two halves of a scale case, each run in a fresh process by `benchmarks.scale`.

`build` fills (or grows) a SQLite database and writes the request stream with the answers a
direct evaluation of the rules gives; `measure` opens the database the way a server process
would, checks the PDP's answers against those, times the stream, and reports the process's
peak RSS. Keeping them apart means the measured process never held the workload generator's
data, so its RSS is that of a deciding PDP.

Usage: `python -m benchmarks.scale_child build|measure '<json spec>'`; prints one JSON line.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import Any

from benchmarks import harness, ours, peers, workload
from pdp import catalog as catalog_module
from pdp import compiler


def build(spec: dict[str, Any]) -> dict[str, Any]:
    """Fill `db` with the workload if it does not exist yet, then add filler delegations
    `filler_from`..`filler_to` of `filler_total`."""
    catalog = catalog_module.load(spec["policies"])
    load = workload.build(catalog, spec["orgs"], spec["asks"])
    database = Path(spec["db"])
    fresh = not database.exists()
    pdp = ours.open_pdp(database)
    seconds: dict[str, float] = {}
    if fresh:
        seconds = ours.fill(pdp, load)
        rules = peers.rules_from_compiled(
            peers.package_documents(compiler.compile_catalog(catalog))
        )
        expected = peers.reference_answers(rules, load.facts, load.stream)
        stream = [
            {"ask": [a.subject_kind, a.subject_id, a.party, a.package, a.action], "permit": ok}
            for a, ok in zip(load.stream, expected, strict=True)
        ]
        Path(spec["stream"]).write_text(json.dumps(stream))
    seconds["filler insert"] = ours.add_filler(
        pdp, load, spec["filler_from"], spec["filler_to"], spec["filler_total"]
    )
    pdp.close()
    return {"seconds": seconds, "core_delegations": len(load.delegations)}


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Per-decision nanoseconds by round, answer mismatches, and peak RSS of this process."""
    stream = json.loads(Path(spec["stream"]).read_text())
    asks = [workload.Ask(*entry["ask"]) for entry in stream]
    pdp = ours.open_pdp(Path(spec["db"]))
    contender = ours.contender(pdp)
    answers = harness.answers(contender, asks)
    mismatches = sum(a != e["permit"] for a, e in zip(answers, stream, strict=True))
    rounds = harness.time_rounds([contender], asks, spec["rounds"], spec["warmup"])
    pdp.close()
    return {
        "rounds_ns": rounds[contender.name],
        "mismatches": mismatches,
        "permits": sum(answers),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str]) -> None:
    command, spec = argv[0], json.loads(argv[1])
    result = {"build": build, "measure": measure}[command](spec)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])

"""How long a policy source takes from YAML to a decision-ready policy set.

The steps an operator waits for on `pdp compile`: read and validate the source
(`catalog.load`), compile it (`compiler.compile_catalog`), publish it into the repository
(`Pdp.publish` minus the compile: `PolicyRepository.store_version`, which also parses every policy),
and what each server process then does once: load the active version into an indexed
`PolicySet`. Each round publishes into a fresh SQLite file.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import ours
from pdp import catalog as catalog_module
from pdp import compiler

STEPS = ("load + validate", "compile", "publish", "load active set")


@dataclass(frozen=True)
class PipelineTimes:
    """Seconds per step, one list per step over the rounds, and the policy count."""

    policies: int
    packages: int
    seconds: dict[str, list[float]]

    def median(self, step: str) -> float:
        return statistics.median(self.seconds[step])

    @property
    def totals(self) -> list[float]:
        """Load + compile + publish per round (what the ≤ 2 s target is about)."""
        return [
            sum(self.seconds[step][i] for step in STEPS[:3])
            for i in range(len(self.seconds[STEPS[0]]))
        ]


def measure(directory: Path, rounds: int) -> PipelineTimes:
    seconds: dict[str, list[float]] = {step: [] for step in STEPS}
    policies = packages = 0
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="pdp-bench-pipeline-") as tmp:
            started = time.perf_counter()
            catalog = catalog_module.load(directory)
            loaded = time.perf_counter()
            documents = compiler.compile_catalog(catalog)
            compiled = time.perf_counter()
            pdp = ours.open_pdp(Path(tmp) / "bench.sqlite3")
            opened = time.perf_counter()
            pdp.repository.store_version(catalog, documents)
            published = time.perf_counter()
            pdp.policy_sets.current()
            activated = time.perf_counter()
            pdp.close()
        for step, value in zip(
            STEPS,
            (loaded - started, compiled - loaded, published - opened, activated - published),
            strict=True,
        ):
            seconds[step].append(value)
        policies, packages = len(documents), len(catalog.packages)
    return PipelineTimes(policies, packages, seconds)

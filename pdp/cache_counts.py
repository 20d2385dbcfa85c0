"""`CacheCounts`: how often each of the engine's caches answered, for the metrics.

Its own module because both the engine (`pdp.engine`) and the PIP (`pdp.attributes`) count
into it, and the metrics (`pdp.api.metrics`) take the counts out.
"""

from __future__ import annotations

import threading

#: The caches `CacheCounts` counts lookups of.
DECISIONS, FACTS, EVALUATIONS = "decisions", "facts", "evaluations"


class CacheCounts:
    """Hits and misses of each cache since they were last taken, for the metrics
    (`pdp.api.metrics`): added by the threads that decide, taken by whoever reports them.

    A decision is a hit when it was remembered; a fact is a hit when it was known, a miss when
    it had to be read from the database (a fact read ahead for a batch is a miss then, and a
    hit when the decision asks for it); an evaluation is a hit when one of an earlier request
    alike in the attributes read was kept.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, bool], int] = {}

    def add(self, cache: str, hits: int, misses: int) -> None:
        with self._lock:
            counts = self._counts
            if hits:
                counts[cache, True] = counts.get((cache, True), 0) + hits
            if misses:
                counts[cache, False] = counts.get((cache, False), 0) + misses

    def take(self) -> dict[tuple[str, bool], int]:
        """The counts per (cache, hit) since the last call, and zero from now on."""
        with self._lock:
            taken, self._counts = self._counts, {}
        return taken

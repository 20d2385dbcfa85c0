"""`GET /metrics`: Prometheus metrics of every worker of the server, and what records them.

Under gunicorn each worker is a process of its own, so the metrics use `prometheus_client`'s
multiprocess mode: every process writes its values to memory-mapped files in
`PROMETHEUS_MULTIPROC_DIR`, and the worker that answers `/metrics` adds up all of them. The
shipped `gunicorn.conf.py` makes and empties that directory and marks dead workers. Without
the variable (`pdp serve`, tests), the metrics are this process's own.

No label names a person or an organisation: endpoints, decisions, statuses, cache names,
error kinds and refusal reasons are each one of a few fixed words.

What the hot path pays: a decision call adds its results, latency and size to plain dicts
under one lock (`_Pending`), well under a microsecond; the engine counts its cache hits alike
(`pdp.cache_counts`). A writer thread in each process hands all of it to `prometheus_client`
every `FLUSH_SECONDS`, one increment per label set that moved (an increment of a memory-mapped
value costs about 3 µs, an observation 5 µs: paid per decision, they would double a warm
decision's cost), and `/metrics` hands over its own process's at once. So a scrape shows the
other workers' counts as of at most `FLUSH_SECONDS` ago. Rare events (a dropped log line, a
database error, a refused token) are counted where they happen.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine, event

from pdp.api.auth import SCOPE_ADMIN, AuthenticationFailed, InsufficientScope
from pdp.api.security import requires
from pdp.engine.result import Result
from pdp.service import Pdp

#: The scope a token needs to read `/metrics` (a Prometheus server's token), or `pdp:admin`.
SCOPE_METRICS = "pdp:metrics"

DECISIONS = Counter(
    "pdp_decisions",
    "Decisions made, one per result (each of a MultiRequests counts)",
    ["endpoint", "decision", "status"],
)
DECISION_SECONDS = Histogram(
    "pdp_decision_seconds",
    "Seconds the engine took to decide one call (a request or a whole MultiRequests), "
    "reading and rendering excluded",
    ["endpoint"],
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
BATCH_SIZE = Histogram(
    "pdp_decision_batch_size",
    "Requests decided per call: 1 for a single request, the number of references for a "
    "MultiRequests",
    ["endpoint"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
CACHE_LOOKUPS = Counter(
    "pdp_cache_lookups",
    "Lookups in the engine's caches (decisions, facts, evaluations), by outcome",
    ["cache", "outcome"],
)
POLICY_SET_VERSION = Gauge(
    "pdp_policy_set_version",
    "The policy-set version this worker last decided under",
    multiprocess_mode="liveall",
)
CHANGE_PROPAGATION_SECONDS = Histogram(
    "pdp_change_propagation_seconds",
    "Seconds from a change's announcement on this machine's change file to this worker's "
    "first decision after it (an idle worker sees a change at its next decision)",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300),
)
DECISION_LOG_DROPPED = Counter(
    "pdp_decision_log_dropped_lines",
    "Decision-log lines not written because the writer fell behind or its sink failed",
)
DATABASE_ERRORS = Counter(
    "pdp_database_errors",
    "Errors the database driver raised, by kind (the DB-API exception class)",
    ["kind"],
)
TOKEN_REFUSALS = Counter(
    "pdp_token_refusals",
    "Requests refused for their bearer token, by reason",
    ["reason"],
)

LOG = logging.getLogger(__name__)

blp = Blueprint("metrics", __name__, description="Prometheus metrics of every worker")

#: How often each process hands what it counted to `prometheus_client`.
FLUSH_SECONDS = 0.5


@blp.route("/metrics")
@requires(SCOPE_METRICS, SCOPE_ADMIN)
@blp.response(200, content_type=CONTENT_TYPE_LATEST)
def metrics() -> Response:
    """Every worker's metrics, added up (Prometheus text format); other workers' counts as of
    at most `FLUSH_SECONDS` ago."""
    flush()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _Pending:
    """What this process counted since the last flush, in plain memory: decisions per
    (endpoint, decision, status); per histogram and endpoint its bucket counts and sum; the
    policy-set version last decided under; and the PDPs whose engine counts to hand over."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.decisions: dict[tuple[str, str, str], int] = {}
        self.histograms: dict[tuple[Histogram, str], list[float]] = {}
        self.version: int | None = None
        self.flushed_version: int | None = None
        self.sources: weakref.WeakValueDictionary[int, Pdp] = weakref.WeakValueDictionary()
        #: Whether this process's writer thread runs (False again in a forked child).
        self.writing = False
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self.lock = threading.Lock()
        self.writing = False

    def observe(self, histogram: Histogram, endpoint: str, value: float) -> None:
        """Count `value` in its bucket (the caller holds the lock); the last slot is the sum."""
        bounds = _BOUNDS[histogram]
        counts = self.histograms.get((histogram, endpoint))
        if counts is None:
            counts = self.histograms[histogram, endpoint] = [0.0] * (len(bounds) + 1)
        counts[bisect_left(bounds, value)] += 1
        counts[-1] += value


#: Each histogram's upper bounds, as it was made (+Inf last).
_BOUNDS = {h: h._upper_bounds for h in (DECISION_SECONDS, BATCH_SIZE)}
_pending = _Pending()


def record_decisions(endpoint: str, results: Sequence[Result], seconds: float) -> None:
    """Count one call's results, its latency and size, and the version it decided under."""
    pending = _pending
    if not pending.writing:
        _start_writer()
    with pending.lock:
        decisions = pending.decisions
        for result in results:
            key = (endpoint, result.decision, result.status)
            decisions[key] = decisions.get(key, 0) + 1
        pending.observe(DECISION_SECONDS, endpoint, seconds)
        pending.observe(BATCH_SIZE, endpoint, len(results))
        if results and results[0].version is not None:
            pending.version = results[0].version


def flush() -> None:
    """Hand everything this process counted to `prometheus_client`."""
    pending = _pending
    with pending.lock:
        decisions, pending.decisions = pending.decisions, {}
        histograms, pending.histograms = pending.histograms, {}
        version = pending.version
        sources = list(pending.sources.values())
    for (endpoint, decision, status), count in decisions.items():
        DECISIONS.labels(endpoint, decision, status.rsplit(":", 1)[-1]).inc(count)
    for (histogram, endpoint), counts in histograms.items():
        child = histogram.labels(endpoint)
        # Histogram.observe for many observations at once: it keeps one count per bucket
        # (not cumulative) and the sum.
        for bucket, count in zip(child._buckets, counts, strict=False):
            if count:
                bucket.inc(count)
        child._sum.inc(counts[-1])
    if version is not None and version != pending.flushed_version:
        pending.flushed_version = version
        POLICY_SET_VERSION.set(version)
    for pdp in sources:
        for (cache, hit), count in pdp.engine.cache_counts.take().items():
            CACHE_LOOKUPS.labels(cache, "hit" if hit else "miss").inc(count)
        for lag in pdp.changes.take_lags():
            CHANGE_PROPAGATION_SECONDS.observe(lag)


def _start_writer() -> None:
    """Start this process's writer thread (again in a forked worker: threads do not fork)."""
    pending = _pending
    with pending.lock:
        if pending.writing:
            return
        pending.writing = True
    threading.Thread(target=_write_forever, name="metrics", daemon=True).start()


def _write_forever() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        try:
            flush()
        except Exception:  # metrics must never stop a worker; say so and go on
            LOG.warning("could not hand the metrics over", exc_info=True)


def record_refusal(error: AuthenticationFailed | InsufficientScope) -> None:
    TOKEN_REFUSALS.labels(refusal_reason(error)).inc()


#: Words in a refusal's description, and the reason they name (the first that is found).
_REASONS = (
    ("expired", "expired"),
    ("not valid yet", "not-yet-valid"),
    ("(aud)", "audience"),
    ("(iss)", "issuer"),
    ("signature", "signature"),
    ("well-formed", "malformed"),
    ("key", "key"),
    ("claim", "claims"),
)


def refusal_reason(error: AuthenticationFailed | InsufficientScope) -> str:
    """One of a few fixed words: `missing` (no token), `insufficient-scope`, or what is
    wrong with the token as its refusal says (`expired`, `audience`, ...; `invalid` for any
    other)."""
    if isinstance(error, InsufficientScope):
        return "insufficient-scope"
    if error.error is None:
        return "missing"
    description = error.description
    return next((reason for words, reason in _REASONS if words in description), "invalid")


def count_decision_log_drops(lines: int) -> None:
    DECISION_LOG_DROPPED.inc(lines)


def watch_database(engine: Engine) -> None:
    """Count every error the database driver raises on `engine`."""
    event.listen(engine, "handle_error", _database_error)


def _database_error(context: Any) -> None:
    """Count an error by its DB-API class as SQLAlchemy wraps it (`OperationalError`,
    `ProgrammingError`, ...): the same few kinds whatever the driver, where the driver's own
    classes (psycopg's `UndefinedTable`, say) would be many."""
    wrapped = context.sqlalchemy_exception
    kind = wrapped if wrapped is not None else context.original_exception
    DATABASE_ERRORS.labels(type(kind).__name__).inc()


def install(pdp: Pdp) -> None:
    """Count the database's errors, and hand over the engine's cache counts and the change
    log's lags with every flush, for as long as `pdp` lives."""
    watch_database(pdp.database)
    with _pending.lock:
        _pending.sources[id(pdp)] = pdp
    _start_writer()

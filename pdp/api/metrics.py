"""`GET /metrics`: Prometheus metrics of every worker of the server, and what records them.

Under gunicorn each worker is a process of its own, so the metrics use `prometheus_client`'s
multiprocess mode: every process writes its values to memory-mapped files in
`PROMETHEUS_MULTIPROC_DIR`, and the worker that answers `/metrics` adds up all of them. The
shipped `gunicorn.conf.py` makes and empties that directory and marks dead workers. Without
the variable (`pdp serve`, tests), the metrics are this process's own.

No label names a person or an organisation: endpoints, decisions, statuses, cache names,
error kinds and refusal reasons are each one of a few fixed words.

What the hot path pays: a decision call adds its results to one counter per (decision,
status) it gave, observes one latency and one batch size, and the request's end hands over
the cache counts the engine kept in plain memory (`pdp.cache_counts`) and the change lags the
change log saw, one increment per cache outcome that moved.
"""

from __future__ import annotations

import os
from collections import Counter as Tally
from collections.abc import Sequence
from typing import Any

from flask import Flask, Response
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

blp = Blueprint("metrics", __name__, description="Prometheus metrics of every worker")

#: (endpoint, decision, status) -> its counter, so that a decision skips `labels()`' lock.
_decision_counters: dict[tuple[str, str, str], Any] = {}
_last_version: list[int | None] = [None]


@blp.route("/metrics")
@requires(SCOPE_METRICS, SCOPE_ADMIN)
@blp.response(200, content_type=CONTENT_TYPE_LATEST)
def metrics() -> Response:
    """Every worker's metrics, added up (Prometheus text format)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def record_decisions(endpoint: str, results: Sequence[Result], seconds: float) -> None:
    """Count one call's results, its latency and size, and the version it decided under."""
    for (decision, status), count in Tally((r.decision, r.status) for r in results).items():
        key = (endpoint, decision, status)
        counter = _decision_counters.get(key)
        if counter is None:
            short = status.rsplit(":", 1)[-1]
            counter = _decision_counters.setdefault(
                key, DECISIONS.labels(endpoint, decision, short)
            )
        counter.inc(count)
    DECISION_SECONDS.labels(endpoint).observe(seconds)
    BATCH_SIZE.labels(endpoint).observe(len(results))
    version = results[0].version if results else None
    if version is not None and version != _last_version[0]:
        _last_version[0] = version
        POLICY_SET_VERSION.set(version)


def record_engine(pdp: Pdp) -> None:
    """Hand over what the engine and the change log counted in plain memory since the last
    call (at the end of every request)."""
    for (cache, hit), count in pdp.engine.cache_counts.take().items():
        CACHE_LOOKUPS.labels(cache, "hit" if hit else "miss").inc(count)
    for lag in pdp.changes.take_lags():
        CHANGE_PROPAGATION_SECONDS.observe(lag)


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
    DATABASE_ERRORS.labels(type(context.original_exception).__name__).inc()


def install(app: Flask, pdp: Pdp) -> None:
    """Count the database's errors and hand over the engine's counts after every request."""
    watch_database(pdp.database)

    @app.teardown_request
    def _record_engine(_error: BaseException | None) -> None:
        record_engine(pdp)

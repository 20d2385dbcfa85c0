"""gunicorn settings for pdp, made to face clients directly (no proxy in front):

    gunicorn -c gunicorn.conf.py 'pdp.api:create_app()'

- Workers: one process per CPU (`PDP_WORKERS`): deciding is CPU work in Python, and a process
  is what uses a core. Threads: `PDP_THREADS` per worker (8), so a decision waiting on the
  database does not hold up the next one.
- Worker class `pdp.serving.ReadAheadWorker`: gunicorn's threaded worker whose event loop reads
  each request whole before a thread sees it, so a client sending its headers or body slowly
  costs a buffer, not a thread. A request's head must arrive within
  `PDP_HEADER_TIMEOUT_SECONDS` (10) and its body within `PDP_BODY_TIMEOUT_SECONDS` (30), else
  `408`. Idle kept-alive connections close after 5 s; at most 1000 connections per worker (a
  full worker goes on serving the ones it holds and accepts again once one closes).
  A worker holding more connections than a sibling leaves new ones to it, so a client's few
  kept-alive connections are served by several workers.
- Garbage collection: once a worker has built the app (policies, catalog, modules: about
  125,000 objects), `gc.freeze()` takes them out of the collector's sight, so its full
  collections scan only what requests made since. A MultiRequests of 100 allocates thousands of
  objects that live until it is answered and so trigger those collections: in process, 2.8 ms
  of CPU per such request before, 2.1 ms after; single decisions the same either way.
- Metrics: `prometheus_client`'s multiprocess mode (`pdp.api.metrics`). Its directory is
  `PROMETHEUS_MULTIPROC_DIR` when set, else a temporary one made here; it is emptied when the
  server starts (counts of an earlier run would add up with this one's), a dead worker's live
  gauges are dropped (`child_exit`), and a directory made here is removed on exit.

Every setting here can still be overridden on the command line (`--workers 2`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

bind = os.environ.get("PDP_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("PDP_WORKERS") or os.cpu_count() or 1)
threads = int(os.environ.get("PDP_THREADS") or 8)
worker_class = "pdp.serving.ReadAheadWorker"
worker_connections = 1000
keepalive = 5
# A worker that does not report to the master for this long (a thread stuck in a loop) is
# restarted; requests read ahead never count against it.
timeout = 30
graceful_timeout = 30
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

_made_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _made_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="pdp-metrics-")
_METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def on_starting(server):
    """Empty the metrics directory: this server's counts start at zero."""
    _METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for path in _METRICS_DIR.glob("*.db"):
        path.unlink()


def child_exit(server, worker):
    """Drop a dead worker's live gauges; its counters and histograms stay counted."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(_METRICS_DIR))


def on_exit(server):
    if _made_metrics_dir:
        shutil.rmtree(_METRICS_DIR, ignore_errors=True)


def post_worker_init(worker):
    """Take what the app built at start out of the garbage collector's sight."""
    import gc

    gc.collect()  # what is garbage now is not kept for ever
    gc.freeze()

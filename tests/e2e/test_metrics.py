"""/metrics of a real server with two gunicorn workers: every worker's counts, added up
(`prometheus_client` in multiprocess mode, set up by `gunicorn.conf.py`)."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pdp.api.metrics import FLUSH_SECONDS
from tests.conftest import EXAMPLES_DIR
from tests.e2e import launcher
from tests.e2e.servers import prepared_database, started_server

AUTHORIZE = "/authorization/api/v1/authorize"
PERMIT = (EXAMPLES_DIR / "requests" / "permit.json").read_bytes()
MULTI = (EXAMPLES_DIR / "requests" / "multi.json").read_bytes()  # 3 Permit, 1 NotApplicable
CALLS = 60


@pytest.fixture(scope="module")
def metrics_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prometheus")


@pytest.fixture(scope="module")
def server(tmp_path_factory, metrics_dir: Path) -> Iterator[launcher.Server]:
    workdir = tmp_path_factory.mktemp("metrics")
    env = prepared_database(workdir) | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    (metrics_dir / "stale.db").write_bytes(b"from an earlier run")  # emptied at start
    started = started_server(env, workdir, workers=2)
    try:
        yield started
    finally:
        launcher.stop(started)


def _request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    """One request on a connection of its own, so that calls spread over the workers."""
    connection = http.client.HTTPConnection(launcher.HOST, port, timeout=10)
    try:
        headers = {"Content-Type": "application/json", "Connection": "close"}
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _samples(port: int) -> list:
    status, text = _request(port, "GET", "/metrics")
    assert status == 200
    return [
        sample
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    ]


def _total(samples: list, name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def _deciding_workers(samples: list) -> set[str]:
    """The workers (pids) that have decided under version 1 (0 until a worker's first)."""
    return {s.labels["pid"] for s in samples if s.name == "pdp_policy_set_version" and s.value}


def test_counts_add_up_across_both_workers(server, metrics_dir):
    assert not (metrics_dir / "stale.db").exists()
    before = _samples(server.port)
    calls = 0
    # Connections go to whichever worker accepts first: call until both have decided.
    while calls < 20 * CALLS and (
        calls < CALLS or len(_deciding_workers(_samples(server.port))) < 2
    ):
        for _ in range(CALLS // 3):
            status, answer = _request(server.port, "POST", AUTHORIZE, MULTI)
            assert status == 200
            decisions = [r["Decision"] for r in json.loads(answer)["Response"]]
            assert decisions == ["Permit", "Permit", "NotApplicable", "Permit"]
            calls += 1
        time.sleep(2 * FLUSH_SECONDS)
    # Each worker hands its counts over every FLUSH_SECONDS; the one answering at once.
    deadline = time.monotonic() + 10 * FLUSH_SECONDS
    while True:
        after = _samples(server.port)
        counted = _total(after, "pdp_decision_seconds_count") - _total(
            before, "pdp_decision_seconds_count"
        )
        if counted >= calls or time.monotonic() > deadline:
            break
        time.sleep(FLUSH_SECONDS / 5)

    def grew(name: str, **labels: str) -> float:
        return _total(after, name, **labels) - _total(before, name, **labels)

    assert len(_deciding_workers(after)) == 2
    permits = grew("pdp_decisions_total", endpoint="authorize", decision="Permit", status="ok")
    assert permits == 3 * calls
    assert grew("pdp_decisions_total", decision="NotApplicable") == calls
    assert grew("pdp_decision_seconds_count", endpoint="authorize") == calls
    assert grew("pdp_decision_batch_size_sum", endpoint="authorize") == 4 * calls
    lookups = grew("pdp_cache_lookups_total", cache="decisions")
    assert lookups == 4 * calls  # every request of every call, a hit or a miss


def test_the_health_endpoints_answer_on_the_real_server(server):
    status, body = _request(server.port, "GET", "/health/live")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    status, body = _request(server.port, "GET", "/health/ready")
    assert status == 200
    assert json.loads(body)["checks"] == {
        "policy_set": "ok",
        "database": "ok",
        "change_feed": "ok",
    }

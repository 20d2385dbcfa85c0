"""GET /metrics in one process (`pdp.api.metrics`): what each metric counts. The metrics of a
process accumulate over the tests, so each test compares a scrape before with one after.
Adding up across gunicorn workers is tested on a real server (tests/e2e/test_metrics.py)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from pdp.api import create_app
from pdp.changes import ChangeLog
from tests.conftest import EXAMPLES_DIR, REGISTER
from tests.helpers import package_request

AUTHORIZE = "/authorization/api/v1/authorize"
DAGL = REGISTER.as_holders["DAGL"]
PERMIT = json.dumps(
    package_request(DAGL, REGISTER.as_org, "urn:altinn:accesspackage:maskinlesbarehendelser")
).encode()
#: The README's MultiRequests (Permit, Permit, NotApplicable, Permit) about the test register.
MULTI = (
    (EXAMPLES_DIR / "requests" / "multi.json")
    .read_text()
    .replace("02056260016", DAGL)
    .replace("910459880", REGISTER.as_org)
    .replace("30856499983", REGISTER.nuf_holders["DAGL"])
    .replace("316289177", REGISTER.nuf_org)
    .encode()
)


def scrape(client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grew(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def post(client, body: bytes):
    response = client.post(AUTHORIZE, data=body, content_type="application/json")
    assert response.status_code == 200
    return response


def test_decisions_are_counted_per_result_by_endpoint_decision_and_status(client):
    before = scrape(client)
    post(client, MULTI)  # Permit, Permit, NotApplicable, Permit
    post(client, b'{"Request": {}}')  # Indeterminate, processing-error
    decision = {
        "subject": {"id": f"urn:altinn:person:identifier-no:{DAGL}"},
        "resource": {"id": "maskinlesbarehendelser", "attributes": {"party": REGISTER.as_org}},
        "action": {"id": "access"},
    }
    assert client.post("/api/v1/decision", json=decision).status_code == 200
    after = scrape(client)
    total = "pdp_decisions_total"
    assert grew(before, after, total, endpoint="authorize", decision="Permit", status="ok") == 3
    assert (
        grew(before, after, total, endpoint="authorize", decision="NotApplicable", status="ok") == 1
    )
    assert (
        grew(
            before,
            after,
            total,
            endpoint="authorize",
            decision="Indeterminate",
            status="processing-error",
        )
        == 1
    )
    assert grew(before, after, total, endpoint="decision", decision="Permit", status="ok") == 1


def test_latency_and_batch_sizes_are_observed_per_call(client):
    before = scrape(client)
    post(client, MULTI)
    post(client, PERMIT)
    after = scrape(client)
    assert grew(before, after, "pdp_decision_seconds_count", endpoint="authorize") == 2
    assert grew(before, after, "pdp_decision_batch_size_count", endpoint="authorize") == 2
    assert grew(before, after, "pdp_decision_batch_size_sum", endpoint="authorize") == 5
    assert (
        grew(before, after, "pdp_decision_batch_size_bucket", endpoint="authorize", le="1.0") == 1
    )


def test_cache_hits_and_misses_are_counted(client):
    post(client, PERMIT)
    before = scrape(client)
    post(client, PERMIT)
    after = scrape(client)
    hits = grew(before, after, "pdp_cache_lookups_total", cache="decisions", outcome="hit")
    misses = grew(before, after, "pdp_cache_lookups_total", cache="decisions", outcome="miss")
    assert (hits, misses) == (1, 0)


def test_the_active_policy_set_version_is_a_gauge(client):
    post(client, PERMIT)
    assert value(scrape(client), "pdp_policy_set_version") == 1


def test_a_change_announced_on_this_machine_is_seen_with_its_lag(client, app):
    post(client, PERMIT)
    before = scrape(client)
    pdp = app.extensions["pdp"]
    ChangeLog(pdp.database, pdp.changes.path, 60).announce()
    post(client, PERMIT)
    after = scrape(client)
    assert grew(before, after, "pdp_change_propagation_seconds_count") == 1
    assert 0 <= grew(before, after, "pdp_change_propagation_seconds_sum") < 5


def test_database_errors_are_counted_by_their_db_api_kind(client, app):
    database = app.extensions["pdp"].database
    before = scrape(client)
    with database.connect() as connection, contextlib.suppress(Exception):
        connection.execute(text("SELECT * FROM no_such_table"))
    after = scrape(client)
    # A missing table is an OperationalError to SQLite and a ProgrammingError to PostgreSQL.
    kind = "OperationalError" if database.dialect.name == "sqlite" else "ProgrammingError"
    assert grew(before, after, "pdp_database_errors_total", kind=kind) == 1


def test_decision_log_lines_lost_to_a_broken_sink_are_counted(settings, pdp, tmp_path):
    broken = replace(settings, decision_log=str(tmp_path / "no-such-dir" / "decisions.jsonl"))
    app = create_app(broken)
    client = app.test_client()
    before = scrape(client)
    post(client, MULTI)
    post(client, PERMIT)
    app.extensions["pdp.decision_log"].flush()
    after = scrape(client)
    assert grew(before, after, "pdp_decision_log_dropped_lines_total") == 5
    app.extensions["pdp"].close()


def test_no_label_names_a_person_or_an_organisation(client):
    post(client, MULTI)
    text_out = client.get("/metrics").get_data(as_text=True)
    for identifier in (DAGL, REGISTER.as_org, REGISTER.nuf_holders["DAGL"], REGISTER.nuf_org):
        assert identifier not in text_out

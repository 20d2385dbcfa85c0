"""Several hosts on one PostgreSQL: what is written through host A reaches host B's very next
decision, by the database's notifications (`pdp.notifications`); when B's listening connections
are killed, B goes on by polling and listens again.

Two server groups act as the two hosts (`tests.e2e.hosts`): each its own change file and
temporary directory, and a poll of the database only every 2 seconds, so a change that reaches
B's next decision at once reached it by notification.

B's next decision is asked `NEXT_DECISION_AFTER` (50 ms) after A answered, as a caller on another
machine would at the earliest: a notification is sent when the write commits, but it is a
message between processes, and on a busy machine (this one runs many tests at once) B's database
connection can be slower to pass it on than a client one hop away. The propagation benchmark
counts how often B's decision asked at once, with no wait, already follows a change.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from pdp.db import make_engine
from pdp.notifications import APPLICATION_NAME
from tests.conftest import EXAMPLES_DIR
from tests.e2e.hosts import (
    ELENA,
    EVENTS,
    NOT_APPLICABLE,
    PARTY,
    PERMIT,
    Hosts,
    decision,
    delegate,
    propagation,
    revoke,
    send,
    two_hosts,
)
from tests.e2e.servers import ServerProcess
from tests.helpers import drop_schema, new_person, postgresql_url

pytestmark = pytest.mark.skipif(
    not os.environ.get("PDP_TEST_DATABASE_URL"),
    reason="PostgreSQL only: set PDP_TEST_DATABASE_URL",
)

REFRESH_SECONDS = 2.0
NEXT_DECISION_AFTER = 0.05
API = "urn:altinn:accesspackage:programmeringsgrensesnitt"
#: In examples/register.json: Ørjan is a board member (MEDL, which grants nothing) of PARTY;
#: Margrethe the auditor (REVI, which grants nothing) of KARLSTAD OG ULOYBUKT AS.
ORJAN, KARLSTAD, MARGRETHE = "27099450067", "810418672", "01025181049"


@pytest.fixture(scope="module")
def database() -> Iterator[Engine]:
    engine = make_engine(postgresql_url())
    drop_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def hosts(database, tmp_path_factory) -> Iterator[Hosts]:
    workdir = tmp_path_factory.mktemp("hosts")
    url = database.url.render_as_string(hide_password=False)
    with two_hosts(url, workdir, refresh_seconds=REFRESH_SECONDS) as both:
        yield both


def next_decision(host, person: str, package: str = EVENTS, party: str = PARTY) -> str:
    """The first decision asked of `host` after a write through the other host."""
    time.sleep(NEXT_DECISION_AFTER)
    return decision(host, person, package, party)


def test_a_revocation_through_host_a_is_seen_by_host_bs_very_next_decision(hosts):
    recipient = new_person()
    made = delegate(hosts.a, recipient)
    deadline = time.monotonic() + REFRESH_SECONDS * 2
    while decision(hosts.b, recipient) != PERMIT:
        assert time.monotonic() < deadline, "host B never saw the delegation"
    for _ in range(4):
        assert decision(hosts.b, recipient) == PERMIT  # remembered by B's workers

    revoke(hosts.a, made)
    assert next_decision(hosts.b, recipient) == NOT_APPLICABLE


def test_an_import_through_host_a_is_seen_by_host_bs_very_next_decision(hosts):
    """Margrethe becomes styreleder (LEDE) of Karlstad in a register imported through A."""
    register = json.loads((EXAMPLES_DIR / "register.json").read_text(encoding="utf-8"))
    karlstad = next(
        entry for entry in register["organizations"] if entry["organization_number"] == KARLSTAD
    )
    for _ in range(4):
        assert decision(hosts.b, MARGRETHE, API, KARLSTAD) == NOT_APPLICABLE
    changed = copy.deepcopy(karlstad)
    changed["roles"].append({"code": "LEDE", "person": MARGRETHE})
    status, answer = send(hosts.a, "POST", "/api/v1/register/imports", {"organizations": [changed]})
    assert status == 200, answer

    assert next_decision(hosts.b, MARGRETHE, API, KARLSTAD) == PERMIT
    status, answer = send(
        hosts.a, "POST", "/api/v1/register/imports", {"organizations": [karlstad]}
    )
    assert status == 200, answer
    assert next_decision(hosts.b, MARGRETHE, API, KARLSTAD) == NOT_APPLICABLE


def test_a_publish_and_an_activation_through_host_a_are_seen_by_host_bs_very_next_decision(
    hosts,
):
    """A version letting board members (MEDL) use the API is published through A; activating
    the version before it, through A, takes that back."""
    status, active = send(hosts.a, "GET", "/api/v1/policy-sets/active")
    assert status == 200
    before = active["number"]
    for _ in range(4):
        assert decision(hosts.b, ORJAN, API) == NOT_APPLICABLE
    source = copy.deepcopy(active["source"])
    api = next(p for p in source["packages/integrasjoner.yaml"]["packages"] if p["urn"] == API)
    api["grants"].append({"roles": ["MEDL"], "delegable": False})
    status, published = send(
        hosts.a, "POST", "/api/v1/policy-sets", {"source": source}, {"If-Match": f'"{before}"'}
    )
    assert status == 201, published
    assert next_decision(hosts.b, ORJAN, API) == PERMIT

    status, activated = send(
        hosts.a,
        "POST",
        f"/api/v1/policy-sets/{before}/activate",
        headers={"If-Match": f'"{published["version"]}"'},
    )
    assert (status, activated) == (200, {"active": before})
    assert next_decision(hosts.b, ORJAN, API) == NOT_APPLICABLE


def test_many_changes_through_host_a_reach_host_b_well_within_its_polling_interval(hosts):
    """Asked at once, with no wait: B follows every change far sooner than polling could."""
    lags = propagation(hosts, 50)
    slowest = max(lag.seconds for lag in lags)
    assert slowest < REFRESH_SECONDS / 4, f"slowest {slowest * 1000:.0f} ms"


def listeners_of(database: Engine, server) -> list[int]:
    """Backend pids of the listening connections of `server`'s worker processes."""
    workers = ServerProcess(server.process, server.base, None).pids()
    with database.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT pid, application_name FROM pg_stat_activity "
                "WHERE application_name LIKE :prefix"
            ),
            {"prefix": f"{APPLICATION_NAME} %"},
        ).all()
    return sorted(pid for pid, name in rows if int(name.rsplit(":", 1)[1]) in workers)


def test_host_b_polls_while_its_listeners_are_killed_and_then_listens_again(hosts, database):
    killed = listeners_of(database, hosts.b)
    assert len(killed) == 2  # one per worker
    with database.connect() as connection:
        for backend in killed:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})

    # A change at once, while B's workers reconnect: it reaches B, by polling at the latest.
    made = delegate(hosts.a, ELENA)
    deadline = time.monotonic() + REFRESH_SECONDS + 1
    while decision(hosts.b, ELENA) != PERMIT:
        assert time.monotonic() < deadline, "host B missed a change while reconnecting"

    deadline = time.monotonic() + 10
    while len(listening := listeners_of(database, hosts.b)) < 2:
        assert time.monotonic() < deadline, "host B's workers did not listen again"
        time.sleep(0.05)
    assert not set(listening) & set(killed)
    revoke(hosts.a, made)
    assert next_decision(hosts.b, ELENA) == NOT_APPLICABLE

"""Two server processes on one database never lose an update nor make a write twice.

Two gunicorn servers (two workers each) serve one database: SQLite in WAL mode, and PostgreSQL
when PDP_TEST_DATABASE_URL names one (its tables are dropped first). Client threads write through
both at once, and where two writes conflict they are released together at a barrier, so that
they really meet inside the servers:

- the same delegation (party, package, recipient) created through both servers at once is made
  exactly once: one 201, every other a 409, one active row in the database;
- many different delegations created through both at once are all kept, none lost;
- publishes based on the same version through both at once: exactly one wins (201), the others
  get 409 and write nothing, and the winner's source is what is active;
- the same delegation revoked through both at once: exactly one 200, the others 409.

The database's change counter, which every write increments in its own transaction, must have
counted exactly the writes acknowledged: a lost update there would leave some process's cached
decisions stale.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from pdp import catalog as catalog_module
from pdp.db import change_counter, delegations, make_engine
from tests.conftest import POLICY_DIR
from tests.e2e.servers import ServerProcess, killable_server, prepared_database_at
from tests.helpers import drop_schema, new_organization, new_person, postgresql_url

API = "urn:altinn:accesspackage:programmeringsgrensesnitt"
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"
#: In examples/register.json, Paula is daglig leder of ØRSTA OG HEGGEDAL REGNSKAP AS: she may
#: delegate both packages for it.
PARTY, PAULA = "910459880", "02056260016"

#: Requests released together for each contested write: two through each server.
RACERS = 4

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("PDP_TEST_DATABASE_URL") else [])


@dataclass
class Servers:
    first: ServerProcess
    second: ServerProcess
    database: Engine

    def bases(self, racers: int = RACERS) -> list[str]:
        """`racers` base URLs, alternating between the two servers."""
        return [(self.first, self.second)[index % 2].base for index in range(racers)]

    def errors(self) -> str:
        return f"{self.first.errors()}\n{self.second.errors()}"

    def generation(self) -> int:
        """The database's count of writes that can change a decision."""
        with self.database.connect() as connection:
            return connection.execute(select(change_counter.c.generation)).scalar_one()


@pytest.fixture(scope="module", params=BACKENDS)
def servers(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Servers]:
    workdir = tmp_path_factory.mktemp(f"concurrent-writers-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'pdp.sqlite3'}"
    else:
        url = postgresql_url()
        database = make_engine(url)
        drop_schema(database)
        database.dispose()
    env = prepared_database_at(workdir, url)
    database = make_engine(url)
    try:
        with killable_server(env, workdir) as first, killable_server(env, workdir) as second:
            yield Servers(first, second, database)
    finally:
        database.dispose()


def send(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    """One request; (status, JSON answer), for error statuses too."""
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def race(requests: list[tuple[str, str, Any]]) -> list[tuple[int, Any]]:
    """Send each (method, url, body) from a thread of its own, all released together at a
    barrier; their answers in the same order."""
    barrier = threading.Barrier(len(requests))
    answers: list[Any] = [None] * len(requests)

    def run(index: int) -> None:
        barrier.wait()
        try:
            answers[index] = send(*requests[index])
        except (OSError, http.client.HTTPException, ValueError) as error:
            answers[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return answers


def delegation(package: str, recipient: dict[str, str]) -> dict[str, Any]:
    return {"party": PARTY, "package": package, "delegator": PAULA, "recipient": recipient}


def new_recipient(index: int) -> dict[str, str]:
    """A fresh recipient: a person for even `index`, an organisation for odd."""
    return {"person": new_person()} if index % 2 == 0 else {"organization": new_organization()}


def active_rows(servers: Servers, package: str, recipient: dict[str, str]) -> list[str]:
    """Ids of the active delegations of `package` to `recipient` for PARTY, in the database."""
    ((kind, identifier),) = recipient.items()
    with servers.database.connect() as connection:
        return list(
            connection.execute(
                select(delegations.c.id).where(
                    delegations.c.party == PARTY,
                    delegations.c.package == package,
                    delegations.c.recipient_kind == kind,
                    delegations.c.recipient_id == identifier,
                    delegations.c.revoked_at.is_(None),
                )
            ).scalars()
        )


def assert_no_key_held_twice(servers: Servers) -> None:
    """No (party, package, recipient) has more than one active delegation in the database."""
    key = (
        delegations.c.party,
        delegations.c.package,
        delegations.c.recipient_kind,
        delegations.c.recipient_id,
    )
    with servers.database.connect() as connection:
        doubled = connection.execute(
            select(*key, func.count())
            .where(delegations.c.revoked_at.is_(None))
            .group_by(*key)
            .having(func.count() > 1)
        ).all()
    assert doubled == []


def decision(base: str, recipient: dict[str, str], package: str) -> tuple[str, int]:
    ((kind, identifier),) = recipient.items()
    status, answer = send(
        "POST",
        f"{base}/api/v1/decision",
        {
            "subject": {"id": f"urn:altinn:{kind}:identifier-no:{identifier}", "attributes": {}},
            "resource": {"id": package, "attributes": {"party": PARTY}},
            "action": {"id": "access", "attributes": {}},
            "context": {},
        },
    )
    assert status == 200, answer
    return answer["decision"], answer["version"]


def test_the_same_delegation_raced_through_both_servers_is_made_exactly_once(servers):
    """For each of many (package, recipient) keys, four creates (two through each server) are
    released at once. Exactly one gets 201 and the others 409; the database holds exactly that
    one active delegation; and the recipient gets Permit through both servers."""
    generation = servers.generation()
    for index in range(16):
        package, recipient = (EVENTS, API)[index % 2], new_recipient(index // 2)
        body = delegation(package, recipient)
        answers = race([("POST", f"{base}/api/v1/delegations", body) for base in servers.bases()])
        statuses = sorted(status for status, _ in answers)
        assert statuses == [201] + [409] * (RACERS - 1), f"{answers}\n{servers.errors()}"
        (made,) = [answer for status, answer in answers if status == 201]
        assert active_rows(servers, package, recipient) == [made["id"]]
        for base in servers.bases(2):
            assert decision(base, recipient, package)[0] == "Permit"
    assert servers.generation() == generation + 16, "the refused creates counted as writes"
    assert_no_key_held_twice(servers)


def test_many_delegations_made_through_both_servers_at_once_are_all_kept(servers):
    """Eight threads create different delegations through the two servers by turns, 120 in all.
    Every one is acknowledged and every one is there afterwards, by its id, through the other
    server; the database counted exactly 120 writes."""
    generation = servers.generation()
    status, before = send("GET", f"{servers.first.base}/api/v1/delegations?party={PARTY}&limit=1")
    assert status == 200, before
    made: list[tuple[str, int, Any]] = []
    numbers = count()
    lock = threading.Lock()

    def create_fifteen(thread: int) -> None:
        for _ in range(15):
            with lock:
                number = next(numbers)
                body = delegation(EVENTS, new_recipient(number))
            base = servers.bases()[number % 2]
            status, answer = send("POST", f"{base}/api/v1/delegations", body)
            with lock:
                made.append((base, status, answer))

    threads = [threading.Thread(target=create_fifteen, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    refused = [(status, answer) for _, status, answer in made if status != 201]
    assert not refused and len(made) == 120, f"{refused[:3]}\n{servers.errors()}"

    other = {servers.first.base: servers.second.base, servers.second.base: servers.first.base}
    for base, _, answer in made:
        status, stored = send("GET", f"{other[base]}/api/v1/delegations/{answer['id']}")
        assert (status, stored) == (200, answer)
    status, after = send("GET", f"{servers.second.base}/api/v1/delegations?party={PARTY}&limit=1")
    assert after["total"] == before["total"] + 120
    assert servers.generation() == generation + 120
    assert_no_key_held_twice(servers)


def test_publishes_raced_on_the_same_base_version_let_exactly_one_win(servers):
    """Five times, four authors (two through each server) publish different edits, all based
    on the active version, at once. Exactly one gets 201 with the next version number, the
    others 409; exactly one version is added; it is the one active, with the winner's source,
    and both servers decide under it. Nothing is lost or overwritten: after the five rounds
    every version holds the source its author posted."""
    generation = servers.generation()
    status, listing = send("GET", f"{servers.first.base}/api/v1/policy-sets")
    assert status == 200, listing
    winners: dict[int, dict[str, Any]] = {}
    for round_ in range(5):
        base_version = listing["active"]
        bodies = [
            {"source": renamed(f"round {round_} author {author}"), "base_version": base_version}
            for author in range(RACERS)
        ]
        answers = race(
            [
                ("POST", f"{base}/api/v1/policy-sets", body)
                for base, body in zip(servers.bases(), bodies, strict=True)
            ]
        )
        statuses = sorted(status for status, _ in answers)
        assert statuses == [201] + [409] * (RACERS - 1), f"{answers}\n{servers.errors()}"
        (winner,) = [index for index, (status, _) in enumerate(answers) if status == 201]
        assert answers[winner][1]["version"] == base_version + 1
        winners[base_version + 1] = bodies[winner]["source"]

        status, listing = send("GET", f"{servers.second.base}/api/v1/policy-sets")
        assert listing["active"] == base_version + 1
        assert [v["number"] for v in listing["versions"]][-2:] == [base_version, base_version + 1]
        for base in servers.bases(2):
            status, active = send("GET", f"{base}/api/v1/policy-sets/active")
            assert (active["number"], active["source"]) == (
                base_version + 1,
                winners[base_version + 1],
            )
            assert decision(base, {"person": PAULA}, EVENTS) == ("Permit", base_version + 1)
    for number, source in winners.items():
        status, version = send("GET", f"{servers.first.base}/api/v1/policy-sets/{number}")
        assert (status, version["source"]) == (200, source)
    assert servers.generation() == generation + 5, "a refused publish counted as a write"


def renamed(name: str) -> dict[str, Any]:
    """The shipped policy source with the API package renamed: new content to publish."""
    source = catalog_module.read_source(POLICY_DIR)
    package = source["packages/integrasjoner.yaml"]["packages"][0]
    assert package["urn"] == API
    package["name"] = f"Programmeringsgrensesnitt (API) {name}"
    return source


def test_the_same_delegation_revoked_through_both_servers_is_revoked_exactly_once(servers):
    """For each of several delegations, four revocations (two through each server) are
    released at once: exactly one gets 200, the others 409; the database records one
    revocation; and the recipient gets NotApplicable through both servers."""
    made = []
    for index in range(10):
        recipient = new_recipient(index)
        status, answer = send(
            "POST", f"{servers.first.base}/api/v1/delegations", delegation(EVENTS, recipient)
        )
        assert status == 201, answer
        made.append((recipient, answer))
    generation = servers.generation()
    for recipient, answer in made:
        url = f"/api/v1/delegations/{answer['id']}?revoked_by={PAULA}"
        answers = race([("DELETE", f"{base}{url}", None) for base in servers.bases()])
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200] + [409] * (RACERS - 1), f"{answers}\n{servers.errors()}"
        (revoked,) = [answer for status, answer in answers if status == 200]
        assert revoked["revoked_by"] == PAULA and revoked["revoked"] is not None
        assert active_rows(servers, EVENTS, recipient) == []
        for base in servers.bases(2):
            status, stored = send("GET", f"{base}/api/v1/delegations/{answer['id']}")
            assert (status, stored) == (200, revoked)
            assert decision(base, recipient, EVENTS)[0] == "NotApplicable"
    assert servers.generation() == generation + 10, "a refused revocation counted as a write"

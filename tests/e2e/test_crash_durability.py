"""A crash loses nothing that was acknowledged and leaves nothing half-written.

gunicorn (a master and two workers, in a process group of their own) serves a SQLite database in
WAL mode while client threads fire writes at it: a burst of delegation creates, a chain of
publishes, large register imports. Every write is recorded with the answer it got. Then the
master and every worker are killed with SIGKILL in the middle of it all, with no chance to
finish a request, roll back or clean up, and a fresh server is started on the same database
files. It must find:

- every write that was acknowledged (a 2xx answer came back), whole, and in force in decisions;
- every write that was not answered (in flight at the kill) either wholly there or not at all;
  no delegation, policy-set version or register document half-written, and no active version
  other than the last one committed;
- a database that passes `PRAGMA integrity_check`, still in WAL mode.

Each test kills its server twice (KILLS), checking the whole history after every restart, and
the publish and import tests aim the kill at the moment the server starts writing to the
write-ahead log, so that it lands inside the transaction's commit (or a spill of a large import's
pages) and not only in the request's parsing and validation.
"""

from __future__ import annotations

import http.client
import json
import random
import shutil
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from functools import cache
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from pdp import catalog as catalog_module
from pdp import compiler
from tests.conftest import KEY_ROLES, POLICY_DIR, RESOURCE_DOCUMENTS
from tests.e2e.servers import ServerProcess, call, killable_server, prepared_database
from tests.helpers import new_organization, new_person

API = "urn:altinn:accesspackage:programmeringsgrensesnitt"
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"
#: In examples/register.json, at ØRSTA OG HEGGEDAL REGNSKAP AS: Paula is daglig leder (she may
#: delegate), Ørjan a board member (MEDL, which grants nothing in the shipped policies).
PARTY, PAULA, ORJAN = "910459880", "02056260016", "27099450067"

#: Times each test kills its server (each followed by a restart that checks everything so far).
KILLS = 2
#: Policies the shipped source compiles to (version 1, published by `pdp init`).
SHIPPED_POLICIES = 51 + RESOURCE_DOCUMENTS
#: Packages added to each published variant, to make it big.
FILLER_PACKAGES = 60
#: Grant giving board members the API package: every other published variant has it.
MEDL_GRANT = {"roles": ["MEDL"], "delegable": False}
#: Organisations per imported register document: enough that its transaction writes a megabyte
#: or more of pages, so that a kill can land in it.
ORGANISATIONS_PER_IMPORT = 2000


def person_urn(person: str) -> str:
    return f"urn:altinn:person:identifier-no:{person}"


def organization_urn(organization: str) -> str:
    return f"urn:altinn:organization:identifier-no:{organization}"


# --- writes and what became of them ---------------------------------------------------------


@dataclass
class Write:
    """One write request and the answer it got: `status` None when none came (the connection
    died with the server), so the write may or may not have been committed."""

    body: dict[str, Any]
    status: int | None = None
    answer: Any = None

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def answered(self) -> bool:
        return self.status is not None


def attempt(url: str, body: dict[str, Any]) -> tuple[int | None, Any]:
    """POST `body`; (status, JSON answer), or (None, None) if no whole answer came back."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.load(error)
        except (OSError, http.client.HTTPException, ValueError):
            return None, None
    except (OSError, http.client.HTTPException, ValueError):
        return None, None


class Burst:
    """Client threads POSTing writes to one server until it is killed under them.

    `next_body` makes each write's body (called under the burst's lock, with the writes so far).
    A thread stops at its first write that gets no answer: the server is gone.
    """

    def __init__(
        self,
        server: ServerProcess,
        path: str,
        next_body: Callable[[list[Write]], dict[str, Any]],
        threads: int = 1,
    ):
        self.server = server
        self.url = f"{server.base}{path}"
        self.writes: list[Write] = []
        self._next_body = next_body
        self._lock = threading.Condition()
        self._killed = False
        #: Writes refused (an answer not 2xx), or left unanswered while the server was alive.
        self._failed: list[Write] = []
        self._threads = [threading.Thread(target=self._fire, daemon=True) for _ in range(threads)]
        for thread in self._threads:
            thread.start()

    def _fire(self) -> None:
        while True:
            with self._lock:
                write = Write(self._next_body(self.writes))
                self.writes.append(write)
            status, answer = attempt(self.url, write.body)
            with self._lock:
                write.status, write.answer = status, answer
                refused = write.answered and not write.acknowledged
                dropped = not write.answered and not self._killed
                if refused or dropped:
                    self._failed.append(write)
                self._lock.notify_all()
            if status is None:
                return

    def wait_for_acknowledged(self, at_least: int, timeout: float = 60) -> None:
        """Until `at_least` writes are acknowledged; fails at once if one was not."""

        def acknowledged() -> int:
            return sum(write.acknowledged for write in self.writes)

        with self._lock:
            self._lock.wait_for(lambda: self._failed or acknowledged() >= at_least, timeout)
            made = acknowledged()
        self.check_every_answer()
        assert made >= at_least, f"only {made} writes acknowledged in {timeout} s"

    def check_every_answer(self) -> None:
        """Until the kill, every write was acknowledged: no error status, no dropped connection."""
        with self._lock:
            failed = [(write.status, write.answer) for write in self._failed]
        assert not failed, f"writes failed before the kill: {failed[:3]}\n{self.server.errors()}"

    def kill(self) -> None:
        """SIGKILL the server (master and workers) now; wait until every thread noticed."""
        with self._lock:
            self._killed = True
        self.server.kill()
        for thread in self._threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a client thread still waits for the killed server"
        self.check_every_answer()

    def kill_when_writing(self, wal: Path) -> None:
        """Kill the server a moment (0 to 2 ms) after it next writes to the write-ahead log:
        in the commit of a transaction in flight, or while a large one spills its pages."""
        seen = _modified(wal)
        deadline = time.monotonic() + 30
        while _modified(wal) == seen and time.monotonic() < deadline:
            time.sleep(0.0002)
        time.sleep(random.uniform(0, 0.002))
        self.kill()


def _modified(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


# --- checks after a restart -----------------------------------------------------------------


def decide(base: str, subject: str, party: str, package: str) -> tuple[str, int]:
    """(decision, policy-set version) for `subject` using `package` for `party`."""
    body = {
        "subject": {"id": subject, "attributes": {}},
        "resource": {"id": package, "attributes": {"party": party}},
        "action": {"id": "access", "attributes": {}},
        "context": {},
    }
    status, answer, _ = call("POST", f"{base}/api/v1/decision", json.dumps(body).encode())
    assert status == 200, answer
    return answer["decision"], answer["version"]


def database_file(env: dict[str, str]) -> Path:
    return Path(env["PDP_DATABASE_URL"].removeprefix("sqlite:///"))


def query(database: Path, sql: str, *parameters: Any) -> list[tuple]:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute(sql, parameters).fetchall()


def check_database_is_sound(database: Path) -> None:
    assert query(database, "PRAGMA integrity_check") == [("ok",)]
    assert query(database, "PRAGMA journal_mode") == [("wal",)]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A database with the shipped policies and the example register, made once per module."""
    workdir = tmp_path_factory.mktemp("crash-template")
    return workdir, prepared_database(workdir)


@pytest.fixture
def env(template: tuple[Path, dict[str, str]], tmp_path: Path) -> dict[str, str]:
    """A copy of the template database of this test's own, and the environment to serve it."""
    workdir, template_env = template
    for name in ("pdp.sqlite3", "pdp.sqlite3-wal"):
        if (workdir / name).exists():
            shutil.copyfile(workdir / name, tmp_path / name)
    return {**template_env, "PDP_DATABASE_URL": f"sqlite:///{tmp_path / 'pdp.sqlite3'}"}


def crash_cycles(
    tmp_path: Path,
    env: dict[str, str],
    burst_and_kill: Callable[[ServerProcess], Burst],
    check: Callable[[str, list[Write]], None],
) -> list[Write]:
    """KILLS times: a burst of writes, ended by `burst_and_kill` killing the server; then a
    fresh server on the same database files, where `check` looks at every write made so far
    (given the server's base URL). Returns them all."""
    history: list[Write] = []
    for kills in range(KILLS + 1):
        with killable_server(env, tmp_path) as server:
            if kills:
                check(server.base, history)
                check_database_is_sound(database_file(env))
            if kills < KILLS:
                history.extend(burst_and_kill(server).writes)
            else:
                server.kill()  # quicker than a graceful stop, and the database must not mind
    return history


# --- delegations ----------------------------------------------------------------------------


def test_every_acknowledged_delegation_survives_a_kill_during_a_burst_of_creates(env, tmp_path):
    """Four client threads create delegations (Paula gives Maskinlesbare hendelser to a fresh
    organisation each time) as fast as two workers take them; the server is killed at a random
    moment once some are acknowledged, with several creates in flight. After each restart every
    acknowledged delegation is there by its id, as it was answered, and its recipient gets
    Permit; each delegation in flight at the kill is wholly there (and in force) or not at all;
    and no other delegation appeared."""

    def new_delegation(_: list[Write]) -> dict[str, Any]:
        return {
            "party": PARTY,
            "package": EVENTS,
            "delegator": PAULA,
            "recipient": {"organization": new_organization()},
        }

    def burst_and_kill(server: ServerProcess) -> Burst:
        burst = Burst(server, "/api/v1/delegations", new_delegation, threads=4)
        burst.wait_for_acknowledged(20)
        time.sleep(random.uniform(0, 0.05))
        burst.kill()
        return burst

    def check(base: str, history: list[Write]) -> None:
        present = 0
        for write in history:
            recipient = write.body["recipient"]["organization"]
            if write.acknowledged:
                made = write.answer
                status, stored, _ = call("GET", f"{base}/api/v1/delegations/{made['id']}")
                assert (status, stored) == (200, made), "an acknowledged delegation was lost"
            status, found, _ = call(
                "GET", f"{base}/api/v1/delegations?party={PARTY}&recipient={recipient}"
            )
            assert status == 200, found
            assert found["total"] in ((1,) if write.acknowledged else (0, 1)), found
            if found["total"]:
                (stored,) = found["items"]
                assert {key: stored[key] for key in ("party", "package", "delegator")} == {
                    "party": PARTY,
                    "package": EVENTS,
                    "delegator": PAULA,
                }
                assert stored["recipient"] == {"organization": recipient}
                assert stored["revoked"] is None
            expected = "Permit" if found["total"] else "NotApplicable"
            assert decide(base, organization_urn(recipient), PARTY, EVENTS)[0] == expected
            present += found["total"]
        status, everything, _ = call("GET", f"{base}/api/v1/delegations?party={PARTY}&limit=1")
        assert everything["total"] == present, "a delegation nobody asked for appeared"

    history = crash_cycles(tmp_path, env, burst_and_kill, check)
    assert sum(write.acknowledged for write in history) >= KILLS * 20


# --- publishes ------------------------------------------------------------------------------


def source_variant(number: int) -> dict[str, Any]:
    """The shipped source with the API package renamed "... rev `number`", and, for odd
    numbers, also granted to board members (MEDL): each variant is new content, and decisions
    tell the two kinds apart. An area of FILLER_PACKAGES more packages makes each version a
    thousand policies, so that writing it takes long enough for a kill to land in it."""
    variant = catalog_module.read_source(POLICY_DIR)
    package = variant["packages/integrasjoner.yaml"]["packages"][0]
    assert package["urn"] == API
    package["name"] = f"Programmeringsgrensesnitt (API) rev {number}"
    if number % 2:
        package["grants"].append(MEDL_GRANT)
    variant["packages/krasjtest.yaml"] = {
        "area": {"code": "krasjtest", "name": "Krasjtest", "description": "Fyll."},
        "packages": [
            {
                "urn": f"urn:altinn:accesspackage:krasjtest-{index}",
                "name": f"Krasjtest {index}",
                "description": "Fyll.",
                "grants": [{"roles": list(KEY_ROLES), "delegable": True}],
            }
            for index in range(FILLER_PACKAGES)
        ],
    }
    return variant


@cache
def policies_of_variant(medl: bool) -> int:
    """How many policies a variant compiles to (with or without the MEDL grant)."""
    source = source_variant(1 if medl else 2)
    return len(compiler.compile_catalog(catalog_module.parse(source)))


def grants_medl(source: dict[str, Any]) -> bool:
    return MEDL_GRANT in source["packages/integrasjoner.yaml"]["packages"][0]["grants"]


def test_a_kill_during_a_publish_leaves_the_last_committed_version_active_and_whole(env, tmp_path):
    """One author publishes version after version, each based on the one before, and the
    server is killed as it writes one of them to the log. After each restart: every
    acknowledged version is there with exactly the source posted; any other new version is the
    one in flight, whole; every version has all its policies; the active version is the last
    committed (the last acknowledged, or the one in flight right after it); and decisions are
    made under it and follow its rules."""
    database = database_file(env)
    variants = count(1)

    def burst_and_kill(server: ServerProcess) -> Burst:
        status, listing, _ = call("GET", f"{server.base}/api/v1/policy-sets")
        assert status == 200, listing
        active = listing["active"]

        def next_publish(writes: list[Write]) -> dict[str, Any]:
            acknowledged = [write.answer["version"] for write in writes if write.acknowledged]
            return {
                "source": source_variant(next(variants)),
                "message": "crash test",
                "base_version": acknowledged[-1] if acknowledged else active,
            }

        burst = Burst(server, "/api/v1/policy-sets", next_publish)
        burst.wait_for_acknowledged(2)
        burst.kill_when_writing(wal_of(database))
        return burst

    def check(base: str, history: list[Write]) -> None:
        status, listing, _ = call("GET", f"{base}/api/v1/policy-sets")
        assert status == 200, listing
        present = {version["number"] for version in listing["versions"]}
        acknowledged = {w.answer["version"]: w.body["source"] for w in history if w.acknowledged}
        in_flight = [w.body["source"] for w in history if not w.answered]
        assert acknowledged.keys() <= present, "an acknowledged publish was lost"
        policies = {1: SHIPPED_POLICIES}
        for number in sorted(present - {1}):
            status, version, _ = call("GET", f"{base}/api/v1/policy-sets/{number}")
            assert status == 200, version
            posted = [acknowledged[number]] if number in acknowledged else in_flight
            assert version["source"] in posted, f"version {number} is not a source posted"
            policies[number] = policies_of_variant(grants_medl(version["source"]))
        counts = dict(query(database, "SELECT version, count(*) FROM policies GROUP BY version"))
        assert counts == policies, "a version is half-written"

        active, last = listing["active"], max(acknowledged)
        assert active == max(present), "the last version committed is not the active one"
        assert active in (last, last + 1)
        status, current, _ = call("GET", f"{base}/api/v1/policy-sets/active")
        assert (status, current["number"]) == (200, active)
        member = "Permit" if grants_medl(current["source"]) else "NotApplicable"
        assert decide(base, person_urn(PAULA), PARTY, EVENTS) == ("Permit", active)
        assert decide(base, person_urn(ORJAN), PARTY, API) == (member, active)

    history = crash_cycles(tmp_path, env, burst_and_kill, check)
    assert sum(write.acknowledged for write in history) >= KILLS * 2


def wal_of(database: Path) -> Path:
    return database.with_name(f"{database.name}-wal")


# --- register imports -----------------------------------------------------------------------


def register_document() -> dict[str, Any]:
    """ORGANISATIONS_PER_IMPORT new organisations; in each, one person (the same throughout the
    document) is daglig leder, another styreleder, and an organisation the auditor."""
    manager, chair, auditor = new_person(), new_person(), new_organization()
    return {
        "organizations": [
            {
                "organization_number": new_organization(),
                "name": f"KRASJTEST {index} AS",
                "org_form": "AS",
                "roles": [
                    {"code": "DAGL", "person": manager},
                    {"code": "LEDE", "person": chair},
                    {"code": "REVI", "organization": auditor},
                ],
            }
            for index in range(ORGANISATIONS_PER_IMPORT)
        ]
    }


def test_a_kill_during_a_register_import_keeps_each_document_all_or_nothing(env, tmp_path):
    """Large register documents (thousands of new organisations each) are imported one after
    another, and the server is killed as it writes one of them to the log. After each restart
    every acknowledged document is wholly there: all its organisations and roles in the
    database, and its daglig leder gets Permit for the API package at its first, middle, last
    and a few random organisations. The document in flight is wholly there or not at all, and
    decisions at its first and last organisations agree with that."""
    env = {**env, "PDP_MAX_BODY_BYTES": str(16 * 1024 * 1024)}
    database = database_file(env)

    def burst_and_kill(server: ServerProcess) -> Burst:
        burst = Burst(server, "/api/v1/register/imports", lambda _: register_document())
        burst.wait_for_acknowledged(1)
        burst.kill_when_writing(wal_of(database))
        return burst

    def check(base: str, history: list[Write]) -> None:
        for write in history:
            entries = write.body["organizations"]
            numbers = [entry["organization_number"] for entry in entries]
            manager = entries[0]["roles"][0]["person"]
            whole = (len(entries), 3 * len(entries))
            stored = stored_of(database, numbers)
            if write.acknowledged:
                assert write.answer == {
                    "organizations": whole[0],
                    "role_assignments": whole[1],
                    "persons": 0,
                    "system_users": 0,
                }
                assert stored == whole, "an acknowledged import was lost, wholly or in part"
                sample = [0, len(numbers) // 2, len(numbers) - 1]
                sample += random.sample(range(len(numbers)), 3)
            else:
                assert stored in ((0, 0), whole), f"half an import is visible: {stored}"
                sample = [0, len(numbers) - 1]
            expected = "Permit" if stored == whole else "NotApplicable"
            for index in sample:
                decision, _ = decide(base, person_urn(manager), numbers[index], API)
                assert decision == expected, f"organisation {index} of {len(numbers)}"

    history = crash_cycles(tmp_path, env, burst_and_kill, check)
    assert sum(write.acknowledged for write in history) >= KILLS


def stored_of(database: Path, numbers: list[str]) -> tuple[int, int]:
    """(organisations, role assignments) of these organisations in the database."""
    organisations = roles = 0
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        marks = ",".join("?" * len(chunk))
        ((count_,),) = query(
            database,
            f"SELECT count(*) FROM organizations WHERE organization_number IN ({marks})",
            *chunk,
        )
        ((held,),) = query(
            database,
            f"SELECT count(*) FROM role_assignments WHERE organization_number IN ({marks})",
            *chunk,
        )
        organisations, roles = organisations + count_, roles + held
    return organisations, roles

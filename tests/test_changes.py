"""The change log (`pdp.changes`): how every PDP process learns that something changed.

- Processes on one machine meet in a change file: next to a SQLite database file, or in the
  temporary directory under a name made from the database URL without its password. An
  in-memory database has none, since no other process can open it.
- `announce()` bumps the shared counter; every ChangeLog on the same file sees it in its very
  next `stamp()`, and no increment is lost when many threads or processes announce at once.
- `writing()` counts a write in the database counter row inside the writer's own transaction:
  a transaction that rolls back leaves no count and announces nothing.
- Processes elsewhere learn of a write from that counter row, within their refresh interval.
- Each PDP process builds its own change log, with its own refresh interval, and hands it to
  its stores and its engine; nothing in a process shares one through a global.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select

from pdp.changes import ChangeLog, change_file_for
from pdp.db import change_counter, make_engine, organizations
from pdp.service import Pdp
from pdp.subjects import PERSON, Subject
from tests.conftest import REGISTER
from tests.helpers import open_settings

API = "urn:altinn:accesspackage:programmeringsgrensesnitt"

#: Longer than any test: such a log never asks the database again after its first stamp.
NEVER = 3600.0


def generation(database) -> int:
    """The database's change counter."""
    with database.connect() as connection:
        return connection.execute(
            select(change_counter.c.generation).where(change_counter.c.id == 1)
        ).scalar_one()


def counter_in(path: Path) -> int:
    """The value the change file holds, read from the file itself."""
    return int.from_bytes(path.read_bytes()[:8], "little")


@pytest.fixture
def change_path(tmp_path: Path) -> Path:
    return tmp_path / "shared.changes"


# --- where processes meet ------------------------------------------------------------------


def test_a_sqlite_database_file_has_its_change_file_beside_it(tmp_path):
    database = create_engine(f"sqlite:///{tmp_path / 'pdp.sqlite3'}")
    assert change_file_for(database) == tmp_path / "pdp.sqlite3.changes"


def test_a_relative_sqlite_path_is_made_absolute(tmp_path, monkeypatch):
    """Processes started in the same directory meet in the same file, wherever it is named
    from later."""
    monkeypatch.chdir(tmp_path)
    path = change_file_for(create_engine("sqlite:///pdp.sqlite3"))
    assert path == tmp_path / "pdp.sqlite3.changes"
    assert path.is_absolute()


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite:///file::memory:?cache=shared&uri=true"],
)
def test_an_in_memory_database_has_no_change_file(url):
    assert change_file_for(create_engine(url)) is None


def test_a_postgresql_database_meets_in_the_temporary_directory_without_its_password():
    path = change_file_for(create_engine("postgresql+psycopg://pdp:s3cr3t@db.example:5432/pdp"))
    assert path.parent == Path(tempfile.gettempdir())
    assert path.name.startswith("pdp-changes-")
    assert "s3cr3t" not in str(path)


def test_equal_postgresql_urls_share_a_change_file_whatever_the_password():
    def path(url: str) -> Path | None:
        return change_file_for(create_engine(url))

    url = "postgresql+psycopg://pdp:one@db.example:5432/pdp"
    assert path(url) == path(url)
    assert path(url) == path("postgresql+psycopg://pdp:two@db.example:5432/pdp")


@pytest.mark.parametrize(
    "other",
    [
        "postgresql+psycopg://pdp:pw@db.example:5432/other",  # another database
        "postgresql+psycopg://pdp:pw@db2.example:5432/pdp",  # another server
        "postgresql+psycopg://pdp:pw@db.example:5433/pdp",  # another port
        "postgresql+psycopg://admin:pw@db.example:5432/pdp",  # another user
    ],
)
def test_different_postgresql_databases_have_different_change_files(other):
    url = "postgresql+psycopg://pdp:pw@db.example:5432/pdp"
    assert change_file_for(create_engine(url)) != change_file_for(create_engine(other))


def test_a_change_log_of_a_database_meets_others_in_its_change_file(tmp_path):
    first = make_engine(f"sqlite:///{tmp_path / 'pdp.sqlite3'}")
    second = make_engine(f"sqlite:///{tmp_path / 'pdp.sqlite3'}")
    assert ChangeLog.of(first, NEVER).path == change_file_for(first)
    assert ChangeLog.of(first, NEVER).path == ChangeLog.of(second, NEVER).path


def test_each_pdp_keeps_the_refresh_interval_it_was_given(tmp_path):
    """Two PDPs over one database in one process: a write recorded by a process elsewhere
    reaches the eager one at once and the patient one not yet; the first one built does not
    impose its interval on the other."""
    settings = open_settings(f"sqlite:///{tmp_path / 'pdp.sqlite3'}", policy_refresh_seconds=NEVER)
    patient = Pdp.from_settings(settings)
    eager = Pdp.from_settings(replace(settings, policy_refresh_seconds=0))
    try:
        assert patient.changes is not eager.changes
        patient_before, eager_before = patient.changes.stamp(), eager.changes.stamp()
        elsewhere = ChangeLog(patient.database, None, NEVER)
        with elsewhere.writing(patient.database.begin):
            pass
        assert eager.changes.stamp() != eager_before
        assert patient.changes.stamp() == patient_before
    finally:
        patient.close()
        eager.close()


def test_every_store_of_a_pdp_announces_on_the_change_log_it_was_given(tmp_path, catalog):
    """A publish, a register import, a delegation and its revocation each move the stamp of
    the PDP's own change log at once (its refresh interval is far away)."""
    settings = open_settings(f"sqlite:///{tmp_path / 'pdp.sqlite3'}", policy_refresh_seconds=NEVER)
    pdp = Pdp.from_settings(settings)
    try:
        stamps = [pdp.changes.stamp()]
        pdp.publish(catalog)
        stamps.append(pdp.changes.stamp())
        pdp.register.import_document(REGISTER.document, catalog)
        stamps.append(pdp.changes.stamp())
        made = pdp.delegations.add(
            REGISTER.as_org, API, REGISTER.as_holders["DAGL"], Subject(PERSON, REGISTER.stranger)
        )
        stamps.append(pdp.changes.stamp())
        pdp.delegations.revoke(made.id, REGISTER.as_holders["DAGL"])
        stamps.append(pdp.changes.stamp())
        assert len(set(stamps)) == len(stamps)
    finally:
        pdp.close()


# --- the change file -----------------------------------------------------------------------


def test_the_change_file_is_made_on_first_use_and_starts_at_zero(engine, change_path):
    log = ChangeLog(engine, change_path, NEVER)
    assert change_path.stat().st_size == 16
    assert change_path.read_bytes() == bytes(16)  # the counter and no announcement yet
    assert log.path == change_path


def test_a_change_file_an_earlier_version_made_is_grown_and_keeps_its_count(engine, change_path):
    change_path.write_bytes((7).to_bytes(8, "little"))
    log = ChangeLog(engine, change_path, NEVER)
    assert change_path.stat().st_size == 16
    assert log.stamp() == 7
    log.announce()
    assert counter_in(change_path) == 8


def test_each_change_seen_tells_how_long_after_its_announcement(engine, change_path):
    reader = ChangeLog(engine, change_path, NEVER)
    writer = ChangeLog(engine, change_path, NEVER)
    reader.stamp()
    assert reader.take_lags() == []  # what was there before this process looked is no change
    writer.announce()
    time.sleep(0.05)
    reader.stamp()
    reader.stamp()
    (lag,) = reader.take_lags()
    assert 0.05 <= lag < 5
    assert reader.take_lags() == []


def test_opening_the_change_file_again_keeps_its_count(engine, change_path):
    first = ChangeLog(engine, change_path, NEVER)
    for _ in range(3):
        first.announce()
    second = ChangeLog(engine, change_path, NEVER)
    assert counter_in(change_path) == 3
    assert second.stamp() == first.stamp()


def test_an_announce_is_seen_at_once_by_every_log_on_the_same_file(engine, change_path):
    writer = ChangeLog(engine, change_path, NEVER)
    reader = ChangeLog(engine, change_path, NEVER)
    before = reader.stamp()
    writer.announce()
    after = reader.stamp()
    assert after != before
    assert writer.stamp() == after
    reader.announce()
    assert writer.stamp() not in (before, after)


def test_an_announce_on_another_file_is_not_seen(engine, tmp_path):
    here = ChangeLog(engine, tmp_path / "here.changes", NEVER)
    there = ChangeLog(engine, tmp_path / "there.changes", NEVER)
    before = here.stamp()
    there.announce()
    assert here.stamp() == before


def test_without_a_change_file_an_announce_is_seen_by_that_log_only(engine):
    alone = ChangeLog(engine, None, NEVER)
    other = ChangeLog(engine, None, NEVER)
    before, other_before = alone.stamp(), other.stamp()
    alone.announce()
    assert alone.stamp() != before
    assert other.stamp() == other_before


# --- the database counter ------------------------------------------------------------------


def test_a_committed_write_counts_in_the_database_and_is_announced(engine, change_path):
    writer = ChangeLog(engine, change_path, NEVER)
    reader = ChangeLog(engine, change_path, NEVER)
    counted, seen = generation(engine), reader.stamp()
    with writer.writing(engine.begin) as connection:
        connection.execute(
            insert(organizations).values(organization_number="310000005", name="X", org_form="AS")
        )
    assert generation(engine) == counted + 1
    assert reader.stamp() != seen


def test_a_write_that_fails_rolls_back_its_count_and_announces_nothing(engine, change_path):
    writer = ChangeLog(engine, change_path, NEVER)
    reader = ChangeLog(engine, change_path, NEVER)
    counted, seen = generation(engine), reader.stamp()
    with pytest.raises(RuntimeError, match="changed my mind"), writer.writing(engine.begin) as c:
        c.execute(
            insert(organizations).values(organization_number="310000005", name="X", org_form="AS")
        )
        raise RuntimeError("changed my mind")
    assert generation(engine) == counted
    assert reader.stamp() == seen
    assert counter_in(change_path) == 0
    with engine.connect() as connection:
        assert connection.execute(select(organizations)).first() is None


def test_a_process_elsewhere_sees_a_write_only_when_it_next_asks_the_database(engine, tmp_path):
    """No change file reaches another machine: its log learns from the counter row, at most
    once per refresh interval."""
    writer = ChangeLog(engine, tmp_path / "here.changes", NEVER)
    patient = ChangeLog(engine, None, NEVER)
    eager = ChangeLog(engine, None, 0)
    patient_before, eager_before = patient.stamp(), eager.stamp()
    with writer.writing(engine.begin):
        pass
    assert eager.stamp() != eager_before
    assert patient.stamp() == patient_before


def test_every_write_elsewhere_moves_the_stamp_again(engine, tmp_path):
    writer = ChangeLog(engine, tmp_path / "here.changes", NEVER)
    elsewhere = ChangeLog(engine, None, 0)
    stamps = {elsewhere.stamp()}
    for _ in range(3):
        with writer.writing(engine.begin):
            pass
        stamps.add(elsewhere.stamp())
    assert len(stamps) == 4


def test_an_unreachable_database_leaves_the_stamp_as_it_was(tmp_path):
    database = make_engine(f"sqlite:///{tmp_path / 'no such directory' / 'pdp.sqlite3'}")
    log = ChangeLog(database, tmp_path / "here.changes", 0)
    before = log.stamp()
    assert log.stamp() == before
    log.announce()
    assert log.stamp() != before


def test_a_removed_change_file_does_not_fail_a_committed_write(engine, change_path):
    writer = ChangeLog(engine, change_path, NEVER)
    counted = generation(engine)
    change_path.unlink()
    with writer.writing(engine.begin):
        pass
    assert generation(engine) == counted + 1
    newcomer = ChangeLog(engine, change_path, NEVER)
    seen = newcomer.stamp()
    writer.announce()
    assert newcomer.stamp() != seen


# --- concurrent announces ------------------------------------------------------------------


def test_announces_from_many_threads_are_all_counted(engine, change_path):
    """Threads sharing one log, and threads each with their own log on the same file."""
    shared = ChangeLog(engine, change_path, NEVER)
    own = [ChangeLog(engine, change_path, NEVER) for _ in range(4)]
    logs = [shared] * 4 + own
    times = 500

    def announce(log: ChangeLog) -> None:
        for _ in range(times):
            log.announce()

    threads = [threading.Thread(target=announce, args=(log,)) for log in logs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter_in(change_path) == len(logs) * times
    assert ChangeLog(engine, change_path, NEVER).stamp() == len(logs) * times


def _announce_many(path: str, times: int, start: multiprocessing.synchronize.Event) -> None:
    log = ChangeLog(create_engine("sqlite://"), Path(path), NEVER)
    start.wait(10)
    for _ in range(times):
        log.announce()


def test_announces_from_many_processes_are_all_counted(change_path):
    context = multiprocessing.get_context("fork")
    start = context.Event()
    processes, times = 4, 2000
    workers = [
        context.Process(target=_announce_many, args=(str(change_path), times, start))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(30)
    assert [worker.exitcode for worker in workers] == [0] * processes
    assert counter_in(change_path) == processes * times

"""Changes announced across hosts with PostgreSQL's LISTEN/NOTIFY (`pdp.notifications`, and
the change log that uses it).

Each change log here stands for a process on a host of its own: no change file, and an hour
between polls of the database's counter, so only a notification can tell it of a change at once.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, text

from pdp import schema
from pdp.changes import ChangeLog, NothingChanged
from pdp.db import make_engine
from pdp.notifications import APPLICATION_NAME, ChangeListener, connector_for
from tests.helpers import drop_schema, postgresql_url

HOUR = 3600.0

postgresql_only = pytest.mark.skipif(
    not os.environ.get("PDP_TEST_DATABASE_URL"),
    reason="PostgreSQL only: set PDP_TEST_DATABASE_URL",
)


@pytest.fixture
def postgresql() -> Iterator[Engine]:
    engine = make_engine(postgresql_url())
    drop_schema(engine)
    schema.prepare(engine)
    yield engine
    engine.dispose()


def host(engine: Engine, refresh_seconds: float = HOUR) -> ChangeLog:
    """A process on a host of its own, listening."""
    changes = ChangeLog(engine, None, refresh_seconds)
    changes.stamp()  # polled once: the counter as it is now
    changes.listen()
    until(lambda: changes.notifications, "the listener connects")
    return changes


def until(condition: Callable[[], object], what: str, seconds: float = 5.0) -> float:
    """Wait for `condition`; how long it took. Fails naming `what` after `seconds`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            pytest.fail(f"waited {seconds} s for: {what}")
        time.sleep(0.002)
    return time.monotonic() - started


def write(changes: ChangeLog, engine: Engine) -> None:
    """A committed write, counted and announced as every write that can change a decision."""
    with changes.writing(engine.begin):
        pass


def listening_backends(engine: Engine) -> list[int]:
    """The backend pids of this process's listening connections."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE application_name LIKE :name "
                    "AND query LIKE 'LISTEN%'"
                ),
                {"name": f"{APPLICATION_NAME} %:{os.getpid()}"},
            ).scalars()
        )


def test_on_sqlite_nothing_listens_and_polling_tells_other_hosts(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'pdp.sqlite3'}")
    schema.prepare(engine)
    changes = ChangeLog(engine, None, 0)
    changes.listen()
    assert changes.notifications is None
    before = changes.stamp()
    write(ChangeLog(engine, None, 0), engine)
    assert changes.stamp() != before
    engine.dispose()


@postgresql_only
class TestOnPostgresql:
    def test_a_committed_change_reaches_another_host_at_once(self, postgresql):
        a, b = ChangeLog(postgresql, None, HOUR), host(postgresql)
        try:
            before = b.stamp()
            write(a, postgresql)
            lag = until(lambda: b.stamp() != before, "host B's stamp changes")
            assert lag < 1.0
        finally:
            b.close()

    def test_a_notification_not_yet_read_by_the_listening_thread_still_counts(
        self, postgresql, monkeypatch
    ):
        """On a busy host the listening thread may not have run since the notification came:
        the next decision finds it waiting on the connection and reads the counter anyway."""
        reading = threading.Event()
        reading.set()
        connect = connector_for(postgresql)
        monkeypatch.setattr(
            "pdp.changes.connector_for", lambda _engine: lambda: _Stalled(connect(), reading)
        )
        a, b = ChangeLog(postgresql, None, HOUR), host(postgresql)
        try:
            before = b.stamp()
            reading.clear()
            time.sleep(2 * _Stalled.WAIT)  # the thread is between waits, reading nothing
            write(a, postgresql)
            until(b._listener.heard, "the notification waits on the connection")
            assert b.stamp() != before
        finally:
            reading.set()
            b.close()

    def test_writes_rolled_back_or_changing_nothing_are_not_announced(self, postgresql):
        a, b = ChangeLog(postgresql, None, HOUR), host(postgresql)
        try:
            before = b.stamp()
            with pytest.raises(RuntimeError), a.writing(postgresql.begin):
                raise RuntimeError("the write fails")
            with pytest.raises(NothingChanged), a.writing(postgresql.begin):
                raise NothingChanged
            time.sleep(0.3)
            assert b.stamp() == before
        finally:
            b.close()

    def test_a_host_whose_listener_is_killed_polls_and_then_listens_again(
        self, postgresql, monkeypatch
    ):
        """Its connection is terminated, and reconnecting fails for a while (the database
        refuses): changes still arrive, by polling; once it may connect, it listens again."""
        refused = threading.Event()
        connect = connector_for(postgresql)

        def connect_unless_refused():
            if refused.is_set():
                raise OSError("connection refused")
            return connect()

        monkeypatch.setattr("pdp.changes.connector_for", lambda _engine: connect_unless_refused)
        # Listeners of other tests' apps in this process may still be open: only b's count.
        others = set(listening_backends(postgresql))
        a, b = ChangeLog(postgresql, None, HOUR), host(postgresql, refresh_seconds=1.0)
        try:
            (backend,) = set(listening_backends(postgresql)) - others
            refused.set()
            with postgresql.connect() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            until(lambda: not b.notifications, "the listener notices it was cut off", 2.0)

            before = b.stamp()
            write(a, postgresql)
            until(lambda: b.stamp() != before, "the change is seen by polling", 3.0)
            assert not b.notifications

            refused.clear()
            until(lambda: b.notifications, "the listener reconnects", 10.0)
            assert set(listening_backends(postgresql)) - others - {backend}
            before = b.stamp()
            write(a, postgresql)
            assert until(lambda: b.stamp() != before, "the change is heard again") < 0.5
        finally:
            b.close()


class _Stalled:
    """A listening connection whose thread reads notifications only while `reading` is set."""

    WAIT = 0.05

    def __init__(self, connection, reading: threading.Event):
        self._connection = connection
        self._reading = reading

    def __enter__(self):
        self._connection.__enter__()
        return self

    def __exit__(self, *exception):
        return self._connection.__exit__(*exception)

    def execute(self, *arguments):
        return self._connection.execute(*arguments)

    def fileno(self) -> int:
        return self._connection.fileno()

    def notifies(self, timeout: float):
        if not self._reading.is_set():
            time.sleep(self.WAIT)
            return iter(())
        return self._connection.notifies(timeout=self.WAIT)


def test_the_listener_backs_off_while_the_database_is_away():
    """Connection attempts that fail are retried after 0.1, 0.2, 0.4 ... seconds."""
    attempts: list[float] = []

    def refuse():
        attempts.append(time.monotonic())
        raise OSError("connection refused")

    listener = ChangeListener(refuse, lambda: None, backoff=(0.05, 0.2))
    listener.start()
    until(lambda: len(attempts) >= 5, "five attempts")
    listener.stop()
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[3] < 0.4
    assert not listener.listening


def test_only_psycopg_connections_listen(tmp_path):
    assert connector_for(make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")) is None
    assert connector_for(make_engine("postgresql+psycopg://postgres@127.0.0.1/x")) is not None

"""Telling every PDP process that the policies, the register or the delegations changed.

Decisions are cached in each process (see `pdp.engine`), so every write that could change a
decision must reach every process before its next decision. Two channels carry the news:

- the **change file**, an 8-byte counter (and the time it was last bumped) shared through
  `mmap` by every process on this machine (all gunicorn workers, the `pdp` command line). A
  writer bumps it after committing, before it acknowledges the write; a reader compares it
  before every decision, which costs well under a microsecond. So on one machine the very
  next decision sees the change, and knows how long after its announcement (`take_lags`).
- the **change counter row** in the database, incremented in the same transaction as the
  write. On PostgreSQL the same transaction announces the counter's new value with NOTIFY;
  processes that listen (servers: `listen`, see `pdp.notifications`) mark themselves pending
  when it arrives, and their next decision reads the counter before it is made (also when the
  notification is waiting on the connection, not yet read by the listening thread). Every process
  also polls the counter every `PDP_POLICY_REFRESH_SECONDS`: what other machines changed
  reaches it that way when notifications do not (SQLite, a dropped connection).

A process's *stamp* combines both: when it differs from the stamp a cache was filled under,
the cache is stale.

A process builds its one ChangeLog where it builds its parts (`Pdp.from_settings`) and hands it
to every store that announces writes and to the engine that reads the stamp; nothing finds it
through a global, so each process's refresh interval is the one it was given.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import mmap
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, select, text, update

from pdp.db import change_counter
from pdp.notifications import CHANNEL, ChangeListener, connector_for

LOG = logging.getLogger(__name__)

_COUNTER_BYTES = 8
#: The change file: the counter, then the time of the last announcement (nanoseconds since
#: the epoch). A file of 8 bytes, made by an earlier version, is grown to this size.
_FILE_BYTES = 16
#: Lags kept between two `take_lags` at most (the metrics take them at every request).
_LAGS_KEPT = 1000


def change_file_for(engine: Engine) -> Path | None:
    """Where processes using this database meet: next to a SQLite file, else in the temporary
    directory under a name derived from the URL (without its password). None for an
    in-memory SQLite database, which no other process can open."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            return None
        return Path(f"{os.path.abspath(database)}.changes")
    # The driver does not change which database it is (postgresql+psycopg == postgresql).
    where = url.set(drivername=url.get_backend_name(), password=None)
    digest = hashlib.sha256(where.render_as_string(hide_password=True).encode()).hexdigest()
    return Path(tempfile.gettempdir()) / f"pdp-changes-{digest[:24]}"


class NothingChanged(Exception):
    """Raised inside `ChangeLog.writing` by a write that turned out to change nothing."""


class ChangeLog:
    """The change file and the change counter row of one database, for one process."""

    @classmethod
    def of(cls, engine: Engine, refresh_seconds: float) -> ChangeLog:
        """The change log of the database behind `engine`, through its usual change file
        (`change_file_for`), polling the database at most every `refresh_seconds`."""
        return cls(engine, change_file_for(engine), refresh_seconds)

    def __init__(self, engine: Engine, path: Path | None, refresh_seconds: float):
        self._engine = engine
        self._refresh_seconds = refresh_seconds
        self._counter = _SharedCounter(path)
        self._database_generation: int | None = None
        self._remote_changes = 0
        self._polled_at = float("-inf")
        #: A notification arrived: the next `stamp` reads the database's counter first.
        self._pending = False
        self._listener: ChangeListener | None = None
        self._lock = threading.Lock()
        #: The change file's counter when last read, and the propagation lags seen since the
        #: last `take_lags`.
        self._seen: int | None = None
        self._poll_failed = False
        self._lags: list[float] = []

    @property
    def path(self) -> Path | None:
        return self._counter.path

    def stamp(self) -> int:
        """A number that changes whenever a write was announced on this machine, or (within a
        refresh interval, or at once when notified) recorded in the database by a process
        elsewhere."""
        if self._pending or (self._listener is not None and self._listener.heard()):
            self._poll(notified=True)
        elif time.monotonic() - self._polled_at >= self._refresh_seconds:
            self._poll(notified=False)
        announced = self._counter.value()
        if announced != self._seen:
            self._see(announced)
        return announced + self._remote_changes

    def problem(self) -> str | None:
        """Why changes may not reach this process now (None: they do): the change file cannot
        be used, or the database's change counter could not be read at the last poll."""
        self._counter.follow()
        self.stamp()
        return self._counter.problem() or (
            "the database's change counter could not be read" if self._poll_failed else None
        )

    def take_lags(self) -> list[float]:
        """Seconds from the announcement of each change this process saw on the change file
        to the first stamp read after it (its next decision), since the last call."""
        with self._lock:
            lags, self._lags = self._lags, []
        return lags

    def _see(self, announced: int) -> None:
        with self._lock:
            if announced == self._seen:
                return
            first, self._seen = self._seen is None, announced
            at = self._counter.announced_at()
            if not first and at is not None and len(self._lags) < _LAGS_KEPT:
                self._lags.append(max(0.0, time.time() - at))

    @contextmanager
    def writing(
        self, transaction: Callable[[], AbstractContextManager[Connection]]
    ) -> Iterator[Connection]:
        """A write transaction (made by `transaction`) that counts itself in the database and
        is announced on this machine once committed. A write that finds nothing to change
        raises `NothingChanged`: it rolls back, uncounted and unannounced, so no process drops
        its cached decisions for it."""
        with transaction() as connection:
            yield connection
            _record(connection)
        self.announce()

    def listen(self) -> None:
        """Hear of changes made on other hosts at once, where the database announces them
        (PostgreSQL): a thread listens until `close`. Once per process; elsewhere nothing."""
        connect = connector_for(self._engine)
        if connect is not None and self._listener is None:
            self._listener = ChangeListener(connect, self._notified)
            self._listener.start()

    @property
    def notifications(self) -> bool | None:
        """Whether this process hears of changes through notifications right now; None where it
        does not listen for them (SQLite, or not a server), and relies on polling alone."""
        return None if self._listener is None else self._listener.listening

    def close(self) -> None:
        """Stop listening."""
        if self._listener is not None:
            self._listener.stop()

    def _notified(self) -> None:
        """A change was announced: the next decision reads the counter first."""
        self._pending = True

    def announce(self) -> None:
        """Bump the change file: every process on this machine sees it at its next decision.

        Never raises: the write it announces is committed, and the database's counter tells
        every process within the refresh interval even if the file cannot be written.
        """
        try:
            self._counter.bump()
        except OSError as error:
            LOG.warning("could not announce a change in %s: %s", self._counter.path, error)

    def _poll(self, *, notified: bool) -> None:
        """Read the database's counter: when notified, always; else once per interval, however
        many threads find it due at once."""
        with self._lock:
            if not notified and time.monotonic() - self._polled_at < self._refresh_seconds:
                return
            # Cleared before reading: a notification arriving during the read sets it again.
            self._pending = False
            self._counter.follow()
            try:
                with self._engine.connect() as connection:
                    generation = connection.execute(
                        select(change_counter.c.generation).where(change_counter.c.id == 1)
                    ).scalar()
            except Exception:
                # The database is away: decisions will say so; the stamp stays as it was.
                self._poll_failed = True
                self._polled_at = time.monotonic()
                return
            self._poll_failed = False
            if self._database_generation is not None and generation != self._database_generation:
                self._remote_changes += 1
            self._database_generation = generation
            self._polled_at = time.monotonic()


def _record(connection: Connection) -> None:
    """Count a change in the database, in the writer's own transaction (the row is made with
    the schema), and on PostgreSQL announce the new count to listeners, which the database does
    when (and only if) the transaction commits."""
    connection.execute(
        update(change_counter)
        .where(change_counter.c.id == 1)
        .values(generation=change_counter.c.generation + 1)
    )
    if connection.dialect.name == "postgresql":
        connection.execute(_ANNOUNCE)


_ANNOUNCE = text(
    f"SELECT pg_notify('{CHANNEL}', generation::text) FROM change_counter WHERE id = 1"
)


class _SharedCounter:
    """The change file mapped into memory, or a private counter when there is no file (or it
    cannot be opened: then only the database's counter tells this process of changes).

    A change file that was removed or replaced (a cleaner emptying the temporary directory) is
    made again and mapped anew, by the next writer at once and by readers when they poll.
    """

    def __init__(self, path: Path | None):
        self.path = path
        self._map: mmap.mmap | bytearray = bytearray(_FILE_BYTES)
        self._inode: int | None = None
        if path is not None:
            self._remap()

    def value(self) -> int:
        return int.from_bytes(self._map[:_COUNTER_BYTES], "little")

    def announced_at(self) -> float | None:
        """When the last change was announced (seconds since the epoch), if it says."""
        nanoseconds = int.from_bytes(self._map[_COUNTER_BYTES:_FILE_BYTES], "little")
        return nanoseconds / 1e9 if nanoseconds else None

    def bump(self) -> None:
        if self.path is None or self._inode is None:
            self._increment()
            return
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            # Unlocked explicitly: a mapping made from this descriptor shares its lock.
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                if os.fstat(descriptor).st_ino != self._inode:
                    self._map_file(descriptor)
                self._increment()
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)

    def problem(self) -> str | None:
        """Why the change file does not carry changes now, or None (also when there is no
        file, for an in-memory database no other process can open)."""
        if self.path is None:
            return None
        if self._inode is None:
            return f"the change file {self.path} cannot be used"
        try:
            inode = os.stat(self.path).st_ino
        except OSError:
            inode = None
        if inode != self._inode:
            return f"the change file {self.path} was removed or replaced"
        return None

    def follow(self) -> None:
        """Map the change file again if it was removed or replaced since it was mapped."""
        if self.path is None or self._inode is None:
            return
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = None
        if inode != self._inode:
            self._remap()

    def _remap(self) -> None:
        """Open (or make) the change file and map it; on failure keep the current counter."""
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            LOG.warning(
                "change file %s cannot be used (%s); changes made by other processes are "
                "seen when the database is polled",
                self.path,
                error,
            )
            return
        try:
            self._map_file(descriptor)
        finally:
            os.close(descriptor)

    def _increment(self) -> None:
        value = self.value() + 1
        # The time first: a reader that sees the new counter finds its time already there.
        self._map[_COUNTER_BYTES:_FILE_BYTES] = time.time_ns().to_bytes(8, "little")
        self._map[:_COUNTER_BYTES] = value.to_bytes(_COUNTER_BYTES, "little")

    def _map_file(self, descriptor: int) -> None:
        """Map the file open at `descriptor`, first giving a new (empty) one, or one an
        earlier version made, its 16 bytes; the caller may hold the file's lock."""
        if os.fstat(descriptor).st_size < _FILE_BYTES:
            os.ftruncate(descriptor, _FILE_BYTES)  # only ever grows a file, filled with zeros
        self._map = mmap.mmap(descriptor, _FILE_BYTES)
        self._inode = os.fstat(descriptor).st_ino

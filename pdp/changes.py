"""Telling every PDP process that the policies, the register or the delegations changed.

Decisions are cached in each process (see `pdp.engine`), so every write that could change a
decision must reach every process before its next decision. Two channels carry the news:

- the **change file**, an 8-byte counter shared through `mmap` by every process on this
  machine (all gunicorn workers, the `pdp` command line). A writer bumps it after committing,
  before it acknowledges the write; a reader compares it before every decision, which costs
  well under a microsecond. So on one machine the very next decision sees the change.
- the **change counter row** in the database, incremented in the same transaction as the
  write. Processes on other machines see it within `PDP_POLICY_REFRESH_SECONDS`, when they
  poll it.

A process's *stamp* combines both: when it differs from the stamp a cache was filled under,
the cache is stale.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.engine import make_url

from pdp.db import change_counter

_COUNTER_BYTES = 8
_logs: weakref.WeakKeyDictionary[Engine, ChangeLog] = weakref.WeakKeyDictionary()
_logs_lock = threading.Lock()


def change_log(engine: Engine, refresh_seconds: float = 0.5) -> ChangeLog:
    """The one ChangeLog of this process for the database behind `engine`."""
    with _logs_lock:
        log = _logs.get(engine)
        if log is None:
            log = _logs[engine] = ChangeLog(engine, change_file_for(engine), refresh_seconds)
        return log


def change_file_for(engine: Engine) -> Path | None:
    """Where processes using this database meet: next to a SQLite file, else in the temporary
    directory under a name derived from the URL (without its password). None for an
    in-memory SQLite database, which no other process can open."""
    url = make_url(engine.url)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            return None
        return Path(f"{os.path.abspath(database)}.changes")
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()
    return Path(tempfile.gettempdir()) / f"pdp-changes-{digest[:24]}"


class ChangeLog:
    """The change file and the change counter row of one database, for one process."""

    def __init__(self, engine: Engine, path: Path | None, refresh_seconds: float):
        self._engine = engine
        self._path = path
        self._refresh_seconds = refresh_seconds
        self._counter = _open_counter(path)
        self._database_generation: int | None = None
        self._remote_changes = 0
        self._polled_at = float("-inf")
        self._lock = threading.Lock()

    @property
    def path(self) -> Path | None:
        return self._path

    def stamp(self) -> int:
        """A number that changes whenever a write was announced on this machine, or (within a
        refresh interval) recorded in the database by a process elsewhere."""
        if time.monotonic() - self._polled_at >= self._refresh_seconds:
            self._poll_database()
        return int.from_bytes(self._counter[:_COUNTER_BYTES], "little") + self._remote_changes

    @contextmanager
    def writing(
        self, transaction: Callable[[], AbstractContextManager[Connection]]
    ) -> Iterator[Connection]:
        """A write transaction (made by `transaction`) that counts itself in the database and
        is announced on this machine once committed."""
        with transaction() as connection:
            yield connection
            _record(connection)
        self.announce()

    def announce(self) -> None:
        """Bump the change file: every process on this machine sees it at its next decision."""
        if self._path is None:
            self._bump()
            return
        with open(self._path, "rb") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._bump()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _bump(self) -> None:
        value = int.from_bytes(self._counter[:_COUNTER_BYTES], "little") + 1
        self._counter[:_COUNTER_BYTES] = value.to_bytes(_COUNTER_BYTES, "little")

    def _poll_database(self) -> None:
        with self._lock:
            if time.monotonic() - self._polled_at < self._refresh_seconds:
                return
            try:
                with self._engine.connect() as connection:
                    generation = connection.execute(
                        select(change_counter.c.generation).where(change_counter.c.id == 1)
                    ).scalar()
            except Exception:
                # The database is away: decisions will say so; the stamp stays as it was.
                self._polled_at = time.monotonic()
                return
            if self._database_generation is not None and generation != self._database_generation:
                self._remote_changes += 1
            self._database_generation = generation
            self._polled_at = time.monotonic()


def _record(connection: Connection) -> None:
    """Count a change in the database, in the writer's own transaction (the row is made with
    the schema)."""
    connection.execute(
        update(change_counter)
        .where(change_counter.c.id == 1)
        .values(generation=change_counter.c.generation + 1)
    )


def _open_counter(path: Path | None) -> mmap.mmap | bytearray:
    """The shared counter: the change file mapped into memory (made on first use), or a
    private counter when no other process can share the database."""
    if path is None:
        return bytearray(_COUNTER_BYTES)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(descriptor).st_size < _COUNTER_BYTES:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                if os.fstat(descriptor).st_size < _COUNTER_BYTES:
                    os.ftruncate(descriptor, _COUNTER_BYTES)
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        return mmap.mmap(descriptor, _COUNTER_BYTES)
    finally:
        os.close(descriptor)

"""Hearing at once of changes made on other hosts: PostgreSQL's LISTEN/NOTIFY.

Every write that can change a decision is counted in the database's change counter and, on
PostgreSQL, announced on channel `pdp_changes` in the same transaction (`pdp.changes`), so the
database sends the notification only once the write is committed; its payload is the counter's
new value, the change stamp. Each server process listens on a connection of its own, in a
background thread: `ChangeListener`.

A notification does nothing but call `on_change`, which marks the change log pending; the next
decision then reads the counter before it is made, in its own thread, so a decision that starts
after the notification arrived sees the change, and none ever sees half of one.

The connection is dedicated (autocommit, TCP keepalives, named `pdp-changes <host>:<pid>` in
`pg_stat_activity`). When it drops (a database restart or failover, a terminated backend, a
network that went away) the thread logs it and reconnects with exponential backoff; meanwhile
the change log's polling every `PDP_POLICY_REFRESH_SECONDS` carries the changes, and once
listening again it calls `on_change` once more, for what was announced while it was away.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

LOG = logging.getLogger(__name__)

#: The channel every change is announced on.
CHANNEL = "pdp_changes"
#: `application_name` of listening connections begins with this.
APPLICATION_NAME = "pdp-changes"
#: Seconds before the first reconnection attempt; each failure doubles it, up to the second.
BACKOFF_SECONDS = (0.1, 5.0)
#: How long one wait for notifications lasts before the thread looks whether it should stop.
_WAIT_SECONDS = 0.5
#: libpq options unless the URL says otherwise: a connection attempt gives up after 10 s, and a
#: connection whose peer vanished without a word is found dead in ~25 s (TCP keepalives).
_DEFAULTS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}


def connector_for(engine: Engine) -> Callable[[], Any] | None:
    """A function opening a listening connection to the database behind `engine`, or None
    where there are no notifications to hear (SQLite: every process of it shares the change
    file; a PostgreSQL driver other than psycopg 3: polling only)."""
    if engine.dialect.name != "postgresql":
        return None
    if engine.dialect.driver != "psycopg":
        LOG.warning(
            "change notifications need the psycopg driver (postgresql+psycopg://); with %s, "
            "changes made on other hosts are seen when the database is polled",
            engine.dialect.driver,
        )
        return None
    import psycopg

    arguments, options = engine.dialect.create_connect_args(engine.url)
    name = f"{APPLICATION_NAME} {socket.gethostname()}:{os.getpid()}"[:63]

    def connect() -> psycopg.Connection:
        return psycopg.connect(
            *arguments,
            **{**_DEFAULTS, **options, "application_name": name, "autocommit": True},
        )

    return connect


class ChangeListener:
    """LISTEN on `CHANNEL` in a daemon thread, calling `on_change` for every notification and
    after every (re)connection, until `stop`."""

    def __init__(
        self,
        connect: Callable[[], Any],
        on_change: Callable[[], None],
        backoff: tuple[float, float] = BACKOFF_SECONDS,
    ):
        self._connect = connect
        self._on_change = on_change
        self._backoff = backoff
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pdp-changes", daemon=True)
        #: How many times a connection was made and listened on.
        self.connections = 0
        self._socket: int | None = None

    @property
    def listening(self) -> bool:
        """Whether the connection is up and listening now."""
        return self._listening.is_set()

    def heard(self) -> bool:
        """Whether something arrived on the connection that the thread has not read yet: a
        notification, most likely. One `poll(2)` system call, for a decision to check before it
        is made: on a busy machine the thread may not have run since the notification came."""
        descriptor = self._socket
        if descriptor is None:
            return False
        waiting = select.poll()
        waiting.register(descriptor, select.POLLIN)
        try:
            return bool(waiting.poll(0))
        except OSError:
            return False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end; it closes its connection within half a second."""
        self._stopping.set()

    def _run(self) -> None:
        delay = self._backoff[0]
        while not self._stopping.is_set():
            connections = self.connections
            try:
                self._listen()
            except Exception as error:
                if self.connections != connections:
                    delay = self._backoff[0]  # it was listening: a drop starts over
                LOG.warning(
                    "change notifications: %s; changes made on other hosts are seen when the "
                    "database is polled; reconnecting in %.1f s",
                    (str(error).strip() or type(error).__name__).splitlines()[0],
                    delay,
                )
                self._stopping.wait(delay)
                delay = min(delay * 2, self._backoff[1])

    def _listen(self) -> None:
        """Connect, LISTEN, and pass on notifications until stopped or the connection fails."""
        with self._connect() as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self.connections += 1
            self._socket = connection.fileno()
            self._listening.set()
            try:
                self._on_change()  # whatever was announced while not listening
                while not self._stopping.is_set():
                    for _ in connection.notifies(timeout=_WAIT_SECONDS):
                        self._on_change()
            finally:
                self._listening.clear()
                self._socket = None

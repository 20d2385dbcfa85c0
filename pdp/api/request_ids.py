"""Request ids: unique across the processes of a deployment, made without a system call.

Every answer carries one (`X-Request-Id`), and so does every log line about it. `uuid.uuid4()`
reads the kernel's random source on every call, and a system call releases the GIL: while the
decision log's writer thread holds it, the request waits for the next switch interval. An id
here is a random per-process prefix (read once, and again in a forked child) and a counter:
32 hex digits, like a UUID's.
"""

from __future__ import annotations

import itertools
import os


class RequestIds:
    """The ids of one process's requests, in order."""

    def __init__(self) -> None:
        self._start()
        os.register_at_fork(after_in_child=self._start)

    def _start(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"

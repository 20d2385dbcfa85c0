"""`ReadAheadWorker`: gunicorn's threaded worker, reading each request whole before a thread
sees it, so slow clients cost a buffer instead of a thread.

gunicorn's `gthread` worker hands a connection to a thread as soon as its first byte arrives,
and the thread then blocks reading the rest: a client that sends its headers or body a byte at
a time holds the thread until it finishes, and as many such clients as there are threads stop
every other answer (the sync worker is worse: one client per worker). Here the worker's event
loop reads what a connection sends, without blocking, until the request's head and body are
complete (by `Content-Length`, or the terminating chunk of a chunked body), and only then gives
it to a thread, whose parser finds the bytes already there. A request that is not complete
within its deadline (`PDP_HEADER_TIMEOUT_SECONDS` for the head, `PDP_BODY_TIMEOUT_SECONDS` for
head and body, counted from its first byte or from the connection's start) is answered `408`
and closed. A body larger than `PDP_MAX_BODY_BYTES` is not buffered: its request goes to a
thread at once, where the app refuses it from its `Content-Length` (`413`) without reading it.

`Expect: 100-continue` is answered by the loop itself (and the header taken out of the request
the app sees), so a client waiting for it sends its body to the buffer, not to a thread.

Connections are spread over the workers. Every worker waits on the same listening socket and
gthread's would accept whatever it sees, so two connections opened together (a PEP's small pool,
wrk's two) often both land on one worker while another idles, for as long as they are kept
alive. Here the workers publish how many connections each holds (`WorkerLoads`, memory the
master shares with them), and a worker that holds more than a sibling leaves a new connection
to it, looking again every `ACCEPT_RECHECK_SECONDS`; after `MAX_ACCEPT_WAIT_SECONDS` (a sibling
stuck, or too busy to wake) it takes the connection itself. A worker that holds as many as its
least loaded sibling looks once more after `ACCEPT_RECHECK_SECONDS` (a count can lag behind a
close the sibling has not read yet) and then accepts: when every worker is busy, a new
connection waits at most that long.

A worker holding `worker_connections` connections stops listening until one closes, and goes
on reading and answering the ones it holds. (gthread, at that limit, only waits for requests in
progress to finish, and at once when there are none, so its loop spins at full CPU; and it
reads none of its connections: silent connections filling a worker stall every kept-alive
client of that worker until they time out.)

TLS is not read ahead (the bytes would still be encrypted): this worker refuses a `certfile`;
terminate TLS in front of it, or use `gthread` there.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import re
import select
import selectors
import socket
import time
from concurrent import futures
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker

#: Seconds a request's head may take to arrive whole, from its first byte (or the connection's
#: start), unless `PDP_HEADER_TIMEOUT_SECONDS` says otherwise.
HEADER_TIMEOUT_SECONDS = 10.0
#: Seconds a request's head and body may take to arrive whole (`PDP_BODY_TIMEOUT_SECONDS`).
BODY_TIMEOUT_SECONDS = 30.0
#: The body size above which a request is handed over unread (`PDP_MAX_BODY_BYTES`).
MAX_BODY_BYTES = 1024 * 1024
#: The longest head read ahead; a longer one goes to gunicorn's parser, which refuses it.
MAX_HEAD_BYTES = 64 * 1024
#: How often a worker that leaves a new connection to a less loaded sibling looks again.
ACCEPT_RECHECK_SECONDS = 0.001
#: The longest a worker leaves a new connection to a less loaded sibling.
MAX_ACCEPT_WAIT_SECONDS = 0.02
#: Workers whose loads are shared; more (after `TTIN` signals) accept as gthread does.
LOAD_SLOTS = 256
#: How long a worker waits to claim its slot before it takes no part.
CLAIM_TIMEOUT_SECONDS = 1.0
#: The load a worker publishes once it stops accepting (shutting down): more than any other.
LEAVING = 2**31 - 1
#: Seconds the event loop waits for an event when nothing is due sooner (as gthread).
_SELECT_SECONDS = 1.0
#: The same while this worker is full and not listening: a connection closed by a request's
#: thread (which the loop does not hear of) lets it listen again within this time.
_FULL_SELECT_SECONDS = 0.05

_HEAD_END = b"\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\n"
    b'Content-Length: 54\r\n\r\n{"message": "the request did not arrive whole in time"}'
)
_EXPECT_CONTINUE = re.compile(rb"\r\nexpect:[ \t]*100-continue[ \t]*(?=\r\n)", re.IGNORECASE)
#: In a lower-cased head: each Content-Length's value, and whether the body is chunked.
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*([^\r]*)")
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r]*chunked")


@dataclass
class _Reading:
    """A request being read ahead on one connection."""

    started: float
    data: bytearray = field(default_factory=bytearray)
    continued: bool = False


class WorkerLoads:
    """How many connections each worker of a server holds: a table in memory that the master
    makes before it forks the workers, each worker writing its own slot."""

    def __init__(self, slots: int = LOAD_SLOTS):
        self._pids = multiprocessing.RawArray("i", slots)
        self._counts = multiprocessing.RawArray("i", slots)
        self._claiming = multiprocessing.Lock()

    def claim(self, pid: int) -> int | None:
        """A slot for the worker `pid`: a free one, or one whose worker is gone; None if
        every slot is taken."""
        # A worker killed while claiming would hold the lock for ever: then take no part.
        if not self._claiming.acquire(timeout=CLAIM_TIMEOUT_SECONDS):
            return None
        try:
            for slot, owner in enumerate(self._pids):
                if owner in (0, pid) or not _alive(owner):  # pid: reused, its slot is stale
                    self._counts[slot] = 0
                    self._pids[slot] = pid
                    return slot
        finally:
            self._claiming.release()
        return None

    def publish(self, slot: int, count: int) -> None:
        self._counts[slot] = count

    def least_elsewhere(self, slot: int) -> int | None:
        """The fewest connections a live sibling of `slot` holds; None without siblings."""
        fewest = None
        for other, (pid, count) in enumerate(zip(self._pids, self._counts, strict=True)):
            if pid == 0:  # slots are claimed first to last: the rest were never used
                break
            if other != slot and (fewest is None or count < fewest) and _alive(pid):
                fewest = count
        return fewest


class ReadAheadWorker(ThreadWorker):
    """gunicorn's `gthread` worker, each request read whole by the event loop first."""

    #: The loads of this server's workers (made by `check_config`, in the master).
    loads: WorkerLoads | None = None

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        super().check_config(cfg, log)
        if cfg.is_ssl:
            raise RuntimeError("pdp.serving.ReadAheadWorker serves plain HTTP: no certfile")
        cls.loads = WorkerLoads()

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.header_timeout = _seconds("PDP_HEADER_TIMEOUT_SECONDS", HEADER_TIMEOUT_SECONDS)
        self.body_timeout = _seconds("PDP_BODY_TIMEOUT_SECONDS", BODY_TIMEOUT_SECONDS)
        self.max_body_bytes = int(_seconds("PDP_MAX_BODY_BYTES", MAX_BODY_BYTES))
        self._reading: dict[TConn, _Reading] = {}
        #: Each listening socket's accept callback, to register it again after a wait.
        self._acceptors: dict[socket.socket, Any] = {}
        #: This worker's slot in `loads` (None: it does not take part).
        self._slot: int | None = None
        #: Since when (monotonic) this worker has left a waiting connection to a sibling.
        self._waiting_since: float | None = None
        #: When it looks at the listening sockets again, while it leaves them alone.
        self._look_again_at: float | None = None
        #: Whether the listening sockets are registered with the poller.
        self._listening = False

    def run(self) -> None:
        """gthread's event loop, with this worker's load published and accepting paused and
        resumed (`accept`), and finished requests found without building a waiter on every
        turn."""
        if self.loads is not None and self.cfg.workers > 1:
            self._slot = self.loads.claim(os.getpid())
        for sock in self.sockets:
            sock.setblocking(False)
            self._acceptors[sock] = partial(self.accept, sock.getsockname())
        while self.alive:
            self.notify()
            self._publish_load()
            timeout = _SELECT_SECONDS
            if self._look_again_at is not None:
                timeout = self._look_again_at - time.monotonic()
                if timeout <= 0:
                    self._look_again()
            full = self.nr_conns >= self.worker_connections
            if full:
                timeout = min(timeout, _FULL_SELECT_SECONDS)
            self._listen(not full and self._look_again_at is None)
            for key, _ in self.poller.select(min(max(timeout, 0), _SELECT_SECONDS)):
                key.data(key.fileobj)
            for future in [future for future in self.futures if future.done()]:
                self.futures.remove(future)
            if not self.is_parent_alive():
                break
            self.murder_keepalived()
        # As gthread ends: requests in progress get the graceful timeout to finish. Meanwhile
        # this worker takes no connections, so no sibling should leave any to it.
        if self._slot is not None:
            self.loads.publish(self._slot, LEAVING)
        self.tpool.shutdown(False)
        self.poller.close()
        for sock in self.sockets:
            sock.close()
        futures.wait(self.futures, timeout=self.cfg.graceful_timeout)

    def accept(self, server: Any, listener: socket.socket) -> None:
        """Accept as gthread does, unless a sibling holds fewer connections: then leave the
        connection to it for a while (see the module's docstring). A new connection's
        deadlines start now."""
        if self._look_again_at is not None or self.nr_conns >= self.worker_connections:
            return  # waiting already, or full: another listener ready in the same turn waits
        if self._slot is not None and self.nr_conns:
            fewest = self.loads.least_elsewhere(self._slot)
            now = time.monotonic()
            if self._waiting_since is None:
                self._waiting_since = now
            waited = now - self._waiting_since
            if fewest is not None and (
                (fewest < self.nr_conns and waited < MAX_ACCEPT_WAIT_SECONDS)
                or (fewest == self.nr_conns and waited < ACCEPT_RECHECK_SECONDS)
            ):
                self._look_again_at = now + ACCEPT_RECHECK_SECONDS
                self._listen(False)
                return
        self._waiting_since = None
        try:
            sock, client = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        conn = TConn(self.cfg, sock, client, server)
        self.nr_conns += 1
        self._publish_load()
        self._reading[conn] = _Reading(time.monotonic())
        with self._lock:
            self.poller.register(
                conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn)
            )

    def _publish_load(self) -> None:
        """Tell the siblings how many connections this worker holds: on every turn of the
        loop (gthread counts connections in several places) and at once on accepting one."""
        if self._slot is not None:
            self.loads.publish(self._slot, self.nr_conns)

    def _look_again(self) -> None:
        """End a wait: if no connection is waiting any more (a sibling took it), the next one
        is new, and this worker's wait for it starts afresh. (The loop listens again.)"""
        self._look_again_at = None
        waiting, _, _ = select.select(list(self._acceptors), [], [], 0)
        if not waiting:
            self._waiting_since = None

    def _listen(self, listening: bool) -> None:
        """Register the listening sockets with the poller, or take them out of it."""
        if listening == self._listening:
            return
        self._listening = listening
        with self._lock:
            for sock, acceptor in self._acceptors.items():
                if listening:
                    self.poller.register(sock, selectors.EVENT_READ, acceptor)
                else:
                    self.poller.unregister(sock)

    def on_client_socket_readable(self, conn: TConn, client: Any) -> None:
        """Read what the connection sent; hand the request over once it is whole. (gthread
        registers every connection, new or kept alive, with this callback.)"""
        reading = self._reading.get(conn)
        if reading is None:  # a kept-alive connection: its next request starts now
            with self._lock:
                try:
                    self._keep.remove(conn)
                except ValueError:
                    return  # closed for idling meanwhile
            reading = self._reading[conn] = _Reading(time.monotonic())
        try:
            chunk = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(conn)
            return
        reading.data += chunk
        whole = _whole(reading.data, self.max_body_bytes)
        if whole == _WAIT_FOR_CONTINUE and not reading.continued:
            reading.continued = True
            _send_quietly(conn.sock, _CONTINUE)
        if whole is True:
            self._hand_over(conn, reading)

    def _hand_over(self, conn: TConn, reading: _Reading) -> None:
        del self._reading[conn]
        with self._lock:
            self.poller.unregister(conn.sock)
        data = bytes(reading.data)
        if reading.continued:
            data = _EXPECT_CONTINUE.sub(b"", data, count=1)
        conn.init()
        conn.parser.unreader.unread(data)
        self.enqueue_req(conn)

    def murder_keepalived(self) -> None:
        """Close idle kept-alive connections (gthread), and answer 408 to requests that did
        not arrive whole in time."""
        super().murder_keepalived()
        now = time.monotonic()
        for conn, reading in list(self._reading.items()):
            head_done = _HEAD_END in reading.data
            limit = self.body_timeout if head_done else self.header_timeout
            if now - reading.started > limit:
                _send_quietly(conn.sock, _TIMED_OUT)
                self._drop(conn)

    def _drop(self, conn: TConn) -> None:
        self._reading.pop(conn, None)
        with self._lock, contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        self._publish_load()
        conn.close()


#: `_whole`'s answer for a complete head that waits for `100 Continue` before its body.
_WAIT_FOR_CONTINUE = "continue"


def _whole(data: bytes | bytearray, max_body_bytes: int) -> bool | str:
    """Whether `data` holds a whole request (or one a thread must see now: a head too long,
    a body too large to buffer, a framing the parser will refuse); `_WAIT_FOR_CONTINUE` when
    the head is whole and asks for `100 Continue` before its body."""
    end = data.find(_HEAD_END)
    if end < 0:
        return len(data) > MAX_HEAD_BYTES
    head = bytes(data[:end]).lower()
    body = memoryview(data)[end + len(_HEAD_END) :]
    lengths = _CONTENT_LENGTH.findall(head)
    chunked = _CHUNKED.search(head) is not None
    if chunked:
        return lengths != [] or _chunked_whole(body, max_body_bytes)
    if not lengths:
        return True
    if len(lengths) > 1 or not lengths[0].strip().isdigit():
        return True  # the parser refuses it
    length = int(lengths[0].strip())
    if length > max_body_bytes or len(body) >= length:
        return True
    if not body and _EXPECT_CONTINUE.search(bytes(data[: end + 2])):
        return _WAIT_FOR_CONTINUE
    return False


def _chunked_whole(body: memoryview, max_body_bytes: int) -> bool:
    """Whether a chunked body is complete (its last chunk and trailers arrived), too large to
    buffer, or malformed (for the parser to refuse)."""
    if len(body) > max_body_bytes:
        return True
    data = bytes(body)
    at = 0
    while True:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return len(data) - at > 1024  # a size line this long is malformed
        size_text = data[at:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return True
        if size == 0:
            return data.find(_HEAD_END, line_end) >= 0 or data.endswith(b"\r\n\r\n")
        at = line_end + 2 + size + 2
        if at > len(data):
            return False


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    """Send a short answer on a non-blocking socket; a client that cannot take it gets none."""
    with contextlib.suppress(OSError):
        sock.send(data)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: the pid was reused, but it is alive
        pass
    return True


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = float(raw)
    if value <= 0:
        raise ValueError(f"{name} must be above 0, got {raw!r}")
    return value

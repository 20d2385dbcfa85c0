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

TLS is not read ahead (the bytes would still be encrypted): this worker refuses a `certfile`;
terminate TLS in front of it, or use `gthread` there.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import selectors
import socket
import time
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

_HEAD_END = b"\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\n"
    b'Content-Length: 54\r\n\r\n{"message": "the request did not arrive whole in time"}'
)
_EXPECT_CONTINUE = re.compile(rb"\r\nexpect:[ \t]*100-continue[ \t]*(?=\r\n)", re.IGNORECASE)


@dataclass
class _Reading:
    """A request being read ahead on one connection."""

    started: float
    data: bytearray = field(default_factory=bytearray)
    continued: bool = False


class ReadAheadWorker(ThreadWorker):
    """gunicorn's `gthread` worker, each request read whole by the event loop first."""

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        super().check_config(cfg, log)
        if cfg.is_ssl:
            raise RuntimeError("pdp.serving.ReadAheadWorker serves plain HTTP: no certfile")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.header_timeout = _seconds("PDP_HEADER_TIMEOUT_SECONDS", HEADER_TIMEOUT_SECONDS)
        self.body_timeout = _seconds("PDP_BODY_TIMEOUT_SECONDS", BODY_TIMEOUT_SECONDS)
        self.max_body_bytes = int(_seconds("PDP_MAX_BODY_BYTES", MAX_BODY_BYTES))
        self._reading: dict[TConn, _Reading] = {}

    def accept(self, server: Any, listener: socket.socket) -> None:
        """Accept as gthread does; the new connection's deadlines start now."""
        try:
            sock, client = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        conn = TConn(self.cfg, sock, client, server)
        self.nr_conns += 1
        self._reading[conn] = _Reading(time.monotonic())
        with self._lock:
            self.poller.register(
                conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn)
            )

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
    lengths = re.findall(rb"\r\ncontent-length:[ \t]*([^\r]*)", head)
    chunked = re.search(rb"\r\ntransfer-encoding:[^\r]*chunked", head) is not None
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


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = float(raw)
    if value <= 0:
        raise ValueError(f"{name} must be above 0, got {raw!r}")
    return value

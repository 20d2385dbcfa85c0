"""When the read-ahead worker hands a request to a thread (`pdp.serving._whole`): once it is
whole, or at once when a thread must see it now (gunicorn's parser refuses it, or the app
refuses its size from the head alone). How workers see each other's loads (`WorkerLoads`);
that connections are spread by them is `tests/e2e/test_workers.py`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pdp.serving import _WAIT_FOR_CONTINUE, MAX_HEAD_BYTES, WorkerLoads, _whole

LIMIT = 1000
HEAD = b"POST /x HTTP/1.1\r\nHost: h\r\n"


@pytest.mark.parametrize(
    ("data", "whole"),
    [
        (b"GET /health HTTP/1.1\r\nHost: h", False),
        (b"GET /health HTTP/1.1\r\nHost: h\r\n\r\n", True),
        (HEAD + b"Content-Length: 5\r\n\r\nabc", False),
        (HEAD + b"content-length:  5\r\n\r\nabcde", True),
        (HEAD + b"Content-Length: 5000\r\n\r\n", True),  # too large: the app answers 413
        (HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n", True),  # parser refuses
        (HEAD + b"Content-Length: x\r\n\r\n", True),
        (HEAD + b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n", _WAIT_FOR_CONTINUE),
        (HEAD + b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\nab", False),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", False),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n", False),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", True),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n", True),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", True),  # parser refuses
        (HEAD + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", True),
        (b"GET / HTTP/1.1\r\n" + b"X: " + b"a" * MAX_HEAD_BYTES, True),
    ],
)
def test_a_request_is_handed_over_when_whole_or_when_it_must_be(data, whole):
    assert _whole(data, LIMIT) == whole


def _gone_pid() -> int:
    """The pid of a process that has exited."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_worker_sees_the_fewest_connections_a_live_sibling_holds():
    loads = WorkerLoads(slots=4)
    me, sibling = loads.claim(os.getpid()), loads.claim(os.getppid())
    assert loads.least_elsewhere(me) == 0
    loads.publish(me, 3)
    loads.publish(sibling, 2)
    assert loads.least_elsewhere(me) == 2
    assert loads.least_elsewhere(sibling) == 3


def test_a_worker_alone_has_no_sibling_to_leave_connections_to():
    loads = WorkerLoads(slots=4)
    assert loads.least_elsewhere(loads.claim(os.getpid())) is None


def test_a_dead_workers_slot_is_ignored_and_then_claimed_again():
    loads = WorkerLoads(slots=2)
    me, dead = loads.claim(os.getpid()), loads.claim(_gone_pid())
    loads.publish(dead, 0)
    loads.publish(me, 5)
    assert loads.least_elsewhere(me) is None
    assert loads.claim(os.getppid()) == dead
    assert loads.least_elsewhere(me) == 0


def test_when_every_slot_is_taken_a_worker_gets_none():
    loads = WorkerLoads(slots=1)
    loads.claim(os.getpid())
    assert loads.claim(os.getppid()) is None


def test_a_worker_whose_pid_holds_a_stale_slot_takes_that_slot_again():
    loads = WorkerLoads(slots=2)
    first = loads.claim(os.getpid())
    loads.publish(first, 7)
    assert loads.claim(os.getpid()) == first
    assert loads.least_elsewhere(first) is None

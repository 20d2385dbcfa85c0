"""When the read-ahead worker hands a request to a thread (`pdp.serving._whole`): once it is
whole, or at once when a thread must see it now (gunicorn's parser refuses it, or the app
refuses its size from the head alone)."""

from __future__ import annotations

import pytest

from pdp.serving import _WAIT_FOR_CONTINUE, MAX_HEAD_BYTES, _whole

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

"""A WSGI app that answers every request with the pid of the worker that served it: how the
connection-spreading test sees which worker holds a connection."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

#: This app as gunicorn is told to serve it.
APP = "tests.e2e.pid_app:app"


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ["wsgi.input"].read()
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

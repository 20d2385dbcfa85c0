"""A WSGI app that answers every request with the pid of the worker that served it (how the
worker tests see which worker holds a connection), after `?sleep=<seconds>` if asked (a
request still in progress when the server is told to stop); with `?frozen`, how many objects
the worker's garbage collector has been told to leave alone (`gc.freeze`) instead."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

#: This app as gunicorn is told to serve it.
APP = "tests.e2e.pid_app:app"


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ["wsgi.input"].read()
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if "sleep" in query:
        time.sleep(float(query["sleep"][0]))
    answer = gc.get_freeze_count() if "frozen" in query else os.getpid()
    body = str(answer).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

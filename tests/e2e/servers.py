"""Real server processes for end-to-end tests: a database set up with the `pdp` command line,
gunicorn serving the app over loopback, and small HTTP helpers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES_DIR, POLICY_DIR

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepared_database(workdir: Path) -> dict[str, str]:
    """A SQLite database in `workdir` with the shipped policies and the example register; the
    environment that points a server or the CLI at it."""
    env = {
        **os.environ,
        "PDP_DATABASE_URL": f"sqlite:///{workdir / 'pdp.sqlite3'}",
        "PDP_POLICY_DIR": str(POLICY_DIR),
        "PDP_AUTH_DISABLED": "true",
        "PDP_DECISION_LOG": "off",
        "PDP_AUDIT_LOG": "off",
    }
    for command in (["init"], ["register", "import", str(EXAMPLES_DIR / "register.json")]):
        subprocess.run([BIN / "pdp", *command], env=env, cwd=workdir, check=True, timeout=60)
    return env


@contextmanager
def running_server(env: dict[str, str], workdir: Path, workers: int = 2) -> Iterator[str]:
    """gunicorn with `workers` processes on a free loopback port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            BIN / "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "pdp.api:create_app()",
        ],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    pytest.fail(f"server did not start: {process.stderr.read().decode()}")
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def call(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> tuple[int, dict, dict[str, str]]:
    """One HTTP request: status, JSON answer and headers, for error statuses too."""
    all_headers = {"Content-Type": content_type, **(headers or {})}
    request = urllib.request.Request(url, data=body, headers=all_headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error), dict(error.headers)


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    status, answer, _ = call("POST", url, body, content_type=content_type)
    return status, answer

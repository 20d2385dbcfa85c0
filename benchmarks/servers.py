"""Starting and stopping the gunicorn servers the benchmarks talk to, on loopback only.

Every server is started in its own process group so that it, its workers and nothing else
can be stopped at the end, whatever happened in between. `start` measures the time from
spawning gunicorn until the health path first answers 200: the server start time.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    #: Seconds from spawning gunicorn until the health path answered 200.
    start_seconds: float


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start(
    app: str,
    env: Mapping[str, str] | None = None,
    workers: int = 2,
    health_path: str = "/health",
    timeout: float = 30.0,
    log: Path | None = None,
) -> Server:
    """`gunicorn -w <workers> -b 127.0.0.1:<free port> <app>` (sync workers), returned once
    `health_path` answers 200; raises RuntimeError (after stopping it) if it never does, quoting
    what gunicorn wrote. Its standard error goes to the file `log`, or an anonymous one, never to
    a pipe: a long run (the soak) could fill a pipe nobody reads and block the server."""
    port = free_port()
    command = [
        *(sys.executable, "-m", "gunicorn"),
        *("--workers", str(workers), "--worker-class", "sync"),
        *("--bind", f"{HOST}:{port}", "--log-level", "warning"),
        app,
    ]
    started = time.perf_counter()
    with log.open("w+b") if log else tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
        server = Server(process, port, 0.0)
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                break
            if _answers(port, health_path):
                server.start_seconds = time.perf_counter() - started
                return server
            time.sleep(0.005)
        stop(server)
        stderr.seek(0)
        error = stderr.read().decode(errors="replace")
    raise RuntimeError(f"{app} did not answer {health_path} on port {port}: {error[-2000:]}")


def stop(server: Server) -> None:
    """Stop gunicorn gracefully (SIGTERM), then its whole process group by force if needed."""
    process = server.process
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _answers(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=1.0)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        connection.close()

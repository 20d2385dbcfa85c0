"""Starting and stopping a gunicorn server on loopback: the one way the end-to-end tests and the
benchmarks run a real server.

Every server runs in a session of its own, so that its master and workers form one process
group that can be stopped, or killed as a crash would, all at once and nothing else with them.
Its standard error goes to a file (the one given, or an anonymous one), never to a pipe: a long
run (the soak) could fill a pipe nobody reads and block the server. `start` returns once
`/health` answers 200, and says how long that took (the server start time the scale benchmark
reports). It needs nothing of pytest, so the benchmarks can import it too.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

HOST = "127.0.0.1"
#: The production gunicorn configuration (worker class, threads, timeouts, metrics directory),
#: which every server the tests and benchmarks start uses, the constant-answer floor included.
CONFIG = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
#: The app `gunicorn` serves for the PDP, as in production.
PDP_APP = "pdp.api:create_app()"
HEALTH_PATH = "/health"
START_TIMEOUT_SECONDS = 30.0


class ServerDidNotStart(RuntimeError):
    """gunicorn died or `/health` never answered 200 in time; `output` is what it wrote."""

    def __init__(self, app: str, port: int, output: str):
        self.output = output
        super().__init__(f"{app} did not answer {HEALTH_PATH} on port {port}: {output[-2000:]}")


@dataclass(frozen=True)
class Server:
    """A running gunicorn master (its pid is also its process group's id)."""

    process: subprocess.Popen[bytes]
    port: int
    #: Seconds from spawning gunicorn until `/health` first answered 200.
    start_seconds: float
    #: The metrics directory made for this server (removed by `stop`); None when the
    #: environment named one.
    metrics_dir: Path | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start(
    app: str,
    env: Mapping[str, str],
    *,
    cwd: Path,
    workers: int = 2,
    port: int | None = None,
    log: Path | None = None,
    threads: int | None = None,
    also_port: int | None = None,
) -> Server:
    """`gunicorn -c gunicorn.conf.py --workers <workers> --bind 127.0.0.1:<port> <app>` (the
    production configuration, `CONFIG`; `threads` per worker if given, else the
    configuration's) run in `cwd` with exactly the environment `env`, on `port` or a free one
    (and on `also_port` too, if given),
    returned once `/health` answers 200. ServerDidNotStart, after stopping it, if it never
    does. gunicorn logs warnings and errors only, so that its log shows what went wrong and
    nothing routine."""
    port = port or free_port()
    command = [
        *(sys.executable, "-m", "gunicorn"),
        *("--config", str(CONFIG), "--workers", str(workers)),
        *(("--threads", str(threads)) if threads else ()),
        *("--bind", f"{HOST}:{port}", "--log-level", "warning"),
        *(("--bind", f"{HOST}:{also_port}") if also_port else ()),
        app,
    ]
    env = dict(env)
    metrics_dir = None
    if not env.get("PROMETHEUS_MULTIPROC_DIR"):
        # Made here, not by the configuration, so that `stop` removes it even after a kill.
        metrics_dir = Path(tempfile.mkdtemp(prefix="pdp-metrics-"))
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    started = time.perf_counter()
    with log.open("w+b") if log else tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
        server = Server(process, port, 0.0, metrics_dir)
        while time.perf_counter() - started < START_TIMEOUT_SECONDS:
            if process.poll() is not None:
                break
            if _healthy(port):
                return Server(process, port, time.perf_counter() - started, metrics_dir)
            time.sleep(0.005)
        stop(server)
        raise ServerDidNotStart(app, port, _written(stderr))


def stop(server: Server) -> None:
    """Stop gunicorn gracefully (SIGTERM to the master, which stops its workers), then kill
    whatever is left of its process group; nothing if a test killed it already."""
    process = server.process
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if server.metrics_dir is not None:
        shutil.rmtree(server.metrics_dir, ignore_errors=True)


def _healthy(port: int) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=1.0)
    try:
        connection.request("GET", HEALTH_PATH)
        response = connection.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _written(stderr: BinaryIO) -> str:
    stderr.seek(0)
    return stderr.read().decode(errors="replace")

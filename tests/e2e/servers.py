"""Real server processes for end-to-end tests: a database set up with the `pdp` command line,
gunicorn serving the app over loopback (started by `launcher`, as the benchmarks start it), a
server that can be killed as a crash would, and small HTTP helpers."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES_DIR, POLICY_DIR
from tests.e2e import launcher

BIN = Path(sys.executable).parent


def prepared_database(workdir: Path) -> dict[str, str]:
    """A SQLite database in `workdir` with the shipped policies and the example register; the
    environment that points a server or the CLI at it."""
    return prepared_database_at(workdir, f"sqlite:///{workdir / 'pdp.sqlite3'}")


def started_server(
    env: dict[str, str],
    workdir: Path,
    workers: int,
    port: int | None = None,
    log: Path | None = None,
) -> launcher.Server:
    """The PDP under gunicorn (see `launcher.start`) in `workdir`; the test fails, quoting what
    gunicorn wrote, if it does not start."""
    try:
        return launcher.start(
            launcher.PDP_APP, env, cwd=workdir, workers=workers, port=port, log=log
        )
    except launcher.ServerDidNotStart as error:
        pytest.fail(f"server did not start: {error.output}")


@contextmanager
def running_server(env: dict[str, str], workdir: Path, workers: int = 2) -> Iterator[str]:
    """gunicorn with `workers` processes on a free loopback port; yields its base URL."""
    server = started_server(env, workdir, workers)
    try:
        yield server.base
    finally:
        launcher.stop(server)


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


def prepared_database_at(workdir: Path, database_url: str) -> dict[str, str]:
    """The database at `database_url` (SQLite, or an empty PostgreSQL database) with the shipped
    policies published and the example register imported by the `pdp` command line; the
    environment that points a server or the CLI at it."""
    env = {
        **os.environ,
        "PDP_DATABASE_URL": database_url,
        "PDP_POLICY_DIR": str(POLICY_DIR),
        "PDP_AUTH_DISABLED": "true",
        "PDP_DECISION_LOG": "off",
        "PDP_AUDIT_LOG": "off",
    }
    for command in (["init"], ["register", "import", str(EXAMPLES_DIR / "register.json")]):
        subprocess.run([BIN / "pdp", *command], env=env, cwd=workdir, check=True, timeout=60)
    return env


class ServerProcess:
    """A gunicorn server that runs in a session of its own: the master and its workers form
    one process group, so a test can kill all of them at once with SIGKILL, as a crash would,
    giving none of them a chance to finish a request, roll back or clean up."""

    def __init__(self, process: subprocess.Popen, base: str, log: Path):
        self.process = process
        self.base = base
        self.log = log

    def pids(self) -> list[int]:
        """The master and every worker (all of the process group), zombies left out."""
        return [pid for pid, state in _group_members(self.process.pid) if state != "Z"]

    def kill(self) -> None:
        """SIGKILL the master and every worker at the same moment; return once all of them are
        dead (so none holds a database lock or a file) and reaped."""
        members = self.pids()
        adopting = _adopt_orphans(True)
        try:
            with suppress(ProcessLookupError):  # every one of them died already
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            deadline = time.monotonic() + 10
            for pid in members:
                while not _reaped(pid):
                    if time.monotonic() > deadline:
                        pytest.fail(f"server processes survived SIGKILL: {self.pids()}")
                    time.sleep(0.01)
        finally:
            if adopting:
                _adopt_orphans(False)

    def errors(self) -> str:
        """What the server logged about failures (tracebacks, worker deaths), for messages;
        gunicorn logs nothing routine (see `launcher.start`), the PDP warns that
        authentication is off."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(
            line for line in text.splitlines() if "AUTHENTICATION IS DISABLED" not in line
        )


def _group_members(group: int) -> list[tuple[int, str]]:
    """(pid, state) of every process in process group `group`, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == group:
            members.append((int(entry.name), fields[0]))
    return members


def _reaped(pid: int) -> bool:
    """True once `pid` is dead: reaped here if it is a child of this process (as the killed
    master's workers become, see `_adopt_orphans`), else no longer running."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:  # not a child of this process
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return True
        return stat[stat.rindex(")") + 2] == "Z"  # a zombie holds no files or locks


def _adopt_orphans(adopt: bool) -> bool:
    """Make this process the one that orphaned descendants are handed to (Linux's child
    subreaper), so that the workers of a killed master become its children and are reaped here
    rather than left as zombies; True if that worked."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, int(adopt), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


_PR_SET_CHILD_SUBREAPER = 36


@contextmanager
def killable_server(
    env: dict[str, str], workdir: Path, workers: int = 2
) -> Iterator[ServerProcess]:
    """gunicorn with `workers` processes on a free loopback port, in its own process group,
    logging to a file in `workdir`; stopped at the end unless a test killed it first."""
    port = launcher.free_port()
    log = workdir / f"gunicorn-{port}.log"
    server = started_server(env, workdir, workers, port, log)
    try:
        yield ServerProcess(server.process, server.base, log)
    finally:
        launcher.stop(server)

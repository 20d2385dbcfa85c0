"""The decision log and the admin audit log: JSON lines an auditor can read back.

Both write whole lines with one `os.write` on a descriptor opened with `O_APPEND`, so the lines
of several gunicorn workers sharing one file never interleave. National identity numbers are
masked to the birth date (`020562*****`) wherever they appear: a log is read by more people
than the register is.

The decision log's lines are made by the thread that decided and written by a background
thread from a bounded queue, so logging never waits for a disk or a pipe on the decision path;
if the sink falls behind, lines are dropped and counted (`DecisionLog.dropped`) rather than
slowing the answers. The audit log is rare and must not lose anything, so it is written before
the answer leaves.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from pdp.api import metrics
from pdp.api.auth import Caller
from pdp.engine import DecisionRequest, Result
from pdp.engine.request import Request, ResourceRequest
from pdp.identities import Identifier
from pdp.subjects import PERSON, Subject
from pdp.vocabulary import PERSON_ID

OFF = "off"
LOG = logging.getLogger(__name__)
_STANDARD_STREAMS = {"stdout": 1, "stderr": 2}
#: Eleven digits standing alone: a national identity or D-number wherever it appears.
_NATIONAL_IDENTITY_NUMBER = re.compile(r"(?<!\d)(\d{6})\d{5}(?!\d)")
_QUEUE_SIZE = 10_000
#: How often the decision log's writer looks for lines to write, in seconds.
_WRITE_INTERVAL = 0.01


def mask(text: str) -> str:
    """`text` with every national identity number cut to its birth date and `*****`."""
    return _NATIONAL_IDENTITY_NUMBER.sub(r"\1*****", text)


class JsonLinesSink:
    """Appends JSON lines to stdout, stderr or a file (created 0600 if missing)."""

    def __init__(self, target: str):
        self.target = target
        self._descriptor: int | None = _STANDARD_STREAMS.get(target)

    def write(self, entries: Iterable[dict[str, Any]]) -> None:
        self.write_lines(json_lines(entries))

    def write_lines(self, data: bytes) -> None:
        """Append `data`, whole JSON lines, with one write where the target takes it all."""
        if not data:
            return
        if self._descriptor is None:
            self._descriptor = os.open(
                self.target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
            )
        view = memoryview(data)
        while view:
            view = view[os.write(self._descriptor, view) :]


def json_lines(entries: Iterable[dict[str, Any]]) -> bytes:
    """Each entry as one JSON line."""
    return b"".join(orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE) for entry in entries)


def sink_for(target: str) -> JsonLinesSink | None:
    """The sink a `PDP_*_LOG` setting names; None for `off`."""
    return None if target == OFF else JsonLinesSink(target)


def caller_identity(caller: Caller) -> dict[str, Any]:
    """Who called, for a log line: the token's subject, client and (masked) person."""
    if not caller.authenticated:
        return {"authenticated": False}
    return {
        "sub": caller.subject,
        "client_id": caller.client_id,
        "person": mask(caller.person) if caller.person else None,
    }


def _masked_urn(subject: Subject) -> str:
    """The subject's URN with a person's number masked (as `mask` does, without a search)."""
    if subject.kind == PERSON:
        return f"{PERSON_ID}:{subject.identifier[:6]}*****"
    return subject.urn


def _masked_identifier(identifier: Identifier) -> str:
    """`<attribute id>:<value>`, a national identity number masked."""
    value = identifier.value
    if identifier.attribute_id == PERSON_ID:
        value = f"{value[:6]}*****"
    return f"{identifier.attribute_id}:{value}"


@dataclass(frozen=True)
class DecisionBatch:
    """The decisions of one HTTP request, as they are handed to the log."""

    request_id: str
    time: float
    requests: Sequence[Request]
    results: Sequence[Result]
    latency_seconds: float
    caller: Caller

    def entries(self) -> Iterable[dict[str, Any]]:
        stamp = datetime.fromtimestamp(self.time, UTC).isoformat(timespec="microseconds")
        several = len(self.results) > 1
        caller = caller_identity(self.caller)
        for index, (request, result) in enumerate(zip(self.requests, self.results, strict=True)):
            entry: dict[str, Any] = {
                "log": "decision",
                "request_id": f"{self.request_id}/{index}" if several else self.request_id,
                "time": stamp,
                "decision": result.decision,
                "status": result.status,
                "policies": [policy.uid for policy in result.policies],
                "version": result.version,
                "latency_us": round(self.latency_seconds * 1e6, 1),
                "caller": caller,
            }
            if isinstance(request, DecisionRequest):
                entry |= {
                    "subject": _masked_urn(request.subject),
                    "party": request.party,
                    "package": result.package or request.package,
                    "action": request.action,
                }
                if request.role_claims is not None:  # the caller's word, not the register's
                    entry["stated_roles"] = [claim.value for claim in request.role_claims]
            elif isinstance(request, ResourceRequest):
                entry |= {
                    "subject": [_masked_identifier(i) for i in request.subject],
                    "party": None if request.party is None else _masked_identifier(request.party),
                    "resource": request.resource,
                    "action": request.action,
                }
                if result.obligations:
                    entry["obligations"] = [
                        {
                            "id": obligation.id,
                            "assignments": {
                                a.attribute_id: a.value for a in obligation.assignments
                            },
                        }
                        for obligation in result.obligations
                    ]
            if several:
                entry["batch_size"] = len(self.results)
            yield entry


class DecisionLog:
    """One JSON line per decision, written off the decision path.

    The thread that decided makes its batch's lines and appends them to a list: no lock, no
    wake-up. (Made by the writer, the same lines cost twice the CPU: it read each request and
    result from another core's cache, while the request threads wanted the GIL back.) A writer
    thread drains the list every `_WRITE_INTERVAL` seconds and writes what it found at once.
    (A queue that woke the writer on every decision handed it the GIL on every decision too,
    and the request then waited for it back.) When the writer falls `_QUEUE_SIZE` batches
    behind, further batches are dropped and counted; decisions never wait for the log.
    """

    def __init__(self, sink: JsonLinesSink | None):
        self._sink = sink
        #: Each batch's lines, and how many.
        self._pending: deque[tuple[bytes, int]] = deque()
        self._writing = False
        self._writer_pid: int | None = None
        self._start_lock = threading.Lock()
        #: Batches not logged because the sink could not keep up (or failed).
        self.dropped = 0

    @property
    def enabled(self) -> bool:
        return self._sink is not None

    def record(self, batch: DecisionBatch) -> None:
        if self._sink is None:
            return
        if self._writer_pid != os.getpid():  # after a fork the writer thread stayed behind
            self._start_writer()
        lines = len(batch.results)
        if len(self._pending) >= _QUEUE_SIZE:
            self._drop([lines])
            return
        try:
            data = json_lines(batch.entries())
        except Exception:  # a line that cannot be made must not fail the decision
            LOG.exception("could not make the decision log's lines of request %s", batch.request_id)
            self._drop([lines])
            return
        self._pending.append((data, lines))

    def flush(self, timeout: float = 5) -> None:
        """Wait until everything recorded so far is written (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while (self._pending or self._writing) and time.monotonic() < deadline:
            time.sleep(0.001)

    def _start_writer(self) -> None:
        with self._start_lock:
            if self._writer_pid == os.getpid():
                return
            self._pending = deque()
            self._writing = False
            threading.Thread(target=self._write_forever, name="decision-log", daemon=True).start()
            self._writer_pid = os.getpid()

    def _write_forever(self) -> None:
        while True:
            time.sleep(_WRITE_INTERVAL)
            while self._pending:
                self._write_pending()

    def _drop(self, lines: list[int]) -> None:
        """Count batches not logged (each by its number of lines), and their lines
        (`pdp.api.metrics`); under a lock, since request threads and the writer both drop."""
        with self._start_lock:
            self.dropped += len(lines)
        metrics.count_decision_log_drops(sum(lines))

    def _write_pending(self) -> None:
        pending = self._pending
        self._writing = True  # before taking any, so `flush` never sees neither
        batches = []
        while pending and len(batches) < 1024:
            batches.append(pending.popleft())
        try:
            self._sink.write_lines(b"".join(data for data, _ in batches))
        except Exception:  # a full disk must not stop deciding; count what was lost
            self._drop([lines for _, lines in batches])
        finally:
            self._writing = False


class AuditLog:
    """One JSON line per administrative change or attempt, with who asked and the outcome."""

    def __init__(self, sink: JsonLinesSink | None):
        self._sink = sink

    def record(self, action: str, caller: Caller, outcome: int, **details: Any) -> None:
        """Log `action` (e.g. `delegation.create`) by `caller` with HTTP status `outcome`."""
        if self._sink is None:
            return
        entry = {
            "log": "audit",
            "time": datetime.now(UTC).isoformat(timespec="microseconds"),
            "action": action,
            "outcome": outcome,
            "caller": caller_identity(caller),
            **{
                key: mask(value) if isinstance(value, str) else value
                for key, value in details.items()
            },
        }
        self._sink.write([entry])

    def latest(self, count: int) -> list[dict[str, Any]] | None:
        """The last `count` audit lines written to the log's file, newest first (lines of other
        logs sharing the file are skipped); None when the log is not a file (stdout, stderr,
        off), where nothing can be read back."""
        if self._sink is None or self._sink.target in _STANDARD_STREAMS:
            return None
        try:
            with open(self._sink.target, "rb") as file:
                file.seek(0, os.SEEK_END)
                start = max(0, file.tell() - _TAIL_BYTES)
                file.seek(start)
                lines = file.read().splitlines()
        except FileNotFoundError:
            return []
        if start > 0:
            lines = lines[1:]  # the first line read may be cut
        entries = []
        for line in reversed(lines):
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(entry, dict) and entry.get("log") == "audit":
                entries.append(entry)
                if len(entries) == count:
                    break
        return entries


#: How much of the end of an audit log file `AuditLog.latest` reads.
_TAIL_BYTES = 256 * 1024

"""What the soak samples: latencies and errors per window of the run, and the memory of
gunicorn's processes.

Latencies are kept per window (a twentieth of the run by default), so that a p99 that creeps
up over minutes shows as a trend rather than vanishing in one figure for the whole run. Memory
is VmRSS from /proc, of the master and each worker, so that a leak in one worker is not
averaged away.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Window:
    """What one or all connections saw for requests due in one window."""

    #: Nanoseconds from sending to the last byte of the answer, by what was sent.
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    #: Nanoseconds from when each request was due to the last byte of its answer.
    from_due_ns: list[int] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return len(self.from_due_ns)

    @property
    def writes(self) -> int:
        return len(self.by_kind.get("create", ())) + len(self.by_kind.get("revoke", ()))

    @property
    def latencies_ns(self) -> list[int]:
        return [ns for values in self.by_kind.values() for ns in values]

    def record(
        self, kind: str, sent_ns: int, due_ns: int, ended_ns: int, error: str | None
    ) -> None:
        """One request of `kind`: sent at `sent_ns`, due at `due_ns`, answered at `ended_ns`."""
        self.by_kind.setdefault(kind, []).append(ended_ns - sent_ns)
        self.from_due_ns.append(ended_ns - due_ns)
        if error:
            self.errors[error] += 1

    def merge(self, other: Window) -> None:
        for kind, values in other.by_kind.items():
            self.by_kind.setdefault(kind, []).extend(values)
        self.from_due_ns += other.from_due_ns
        self.errors += other.errors


def merged(windows: list[Window]) -> Window:
    """One window holding everything `windows` saw."""
    whole = Window()
    for window in windows:
        whole.merge(window)
    return whole


def rss(master: int) -> dict[int, int]:
    """VmRSS in KiB of gunicorn's master and each of its workers, by pid."""
    pids = [master, *_children(master)]
    return {pid: kib for pid in pids if (kib := _vm_rss(pid)) is not None}


def growth(before: dict[int, int], after: dict[int, int]) -> dict[int, float | None]:
    """Relative RSS growth per process present at the start; None when it is gone."""
    return {pid: (after[pid] / kib - 1 if pid in after else None) for pid, kib in before.items()}


def _children(parent: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return sorted(children)


def _vm_rss(pid: int) -> int | None:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    return next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), None)

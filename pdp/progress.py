"""Progress of a long command (a national register import): a bar on a terminal, lines in a log.

An operator at a terminal wants a bar that moves (`tqdm`, on standard error); a job whose
standard error goes to a file or a pipe wants a plain line now and then that a log keeps
readable, not a bar redrawn with carriage returns. `Progress.for_stream` picks one by whether
the stream is a terminal.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm import tqdm

#: Seconds between plain progress lines.
_LINE_EVERY = 10.0


class Progress:
    """Reports steps of a command and how far each has come; does nothing by default."""

    @staticmethod
    def for_stream(stream: TextIO | None = None) -> Progress:
        """A bar if `stream` (standard error by default) is a terminal, else plain lines."""
        stream = sys.stderr if stream is None else stream
        return BarProgress(stream) if stream.isatty() else LineProgress(stream)

    def start(self, what: str, total: int | None = None, unit: str = "B") -> None:
        """A step begins: `what` it does, out of `total` units (None: unknown)."""

    def advance_to(self, done: int, count: int) -> None:
        """The step has come to `done` units, having handled `count` items."""

    def finish(self, summary: str) -> None:
        """The step is over: `summary` says what it did."""


class LineProgress(Progress):
    """A line per step, and one every `_LINE_EVERY` seconds while it lasts."""

    def __init__(self, stream: TextIO, every: float = _LINE_EVERY):
        self._stream = stream
        self._every = every
        self._what = ""
        self._total: int | None = None
        self._started = self._last = 0.0

    def start(self, what: str, total: int | None = None, unit: str = "B") -> None:
        self._what, self._total = what, total
        self._started = self._last = time.monotonic()
        self._line(f"{what} ...")

    def advance_to(self, done: int, count: int) -> None:
        now = time.monotonic()
        if now - self._last < self._every:
            return
        self._last = now
        share = f" ({100 * done / self._total:.0f}%)" if self._total else ""
        self._line(f"{self._what}: {count:,} entities{share}, {now - self._started:.0f} s")

    def finish(self, summary: str) -> None:
        self._line(f"{self._what}: {summary} ({time.monotonic() - self._started:.1f} s)")

    def _line(self, text: str) -> None:
        print(text, file=self._stream, flush=True)


class BarProgress(Progress):
    """A tqdm bar per step on a terminal, replaced by its summary line when done."""

    def __init__(self, stream: TextIO):
        self._stream = stream
        self._bar: tqdm | None = None
        self._what = ""

    def start(self, what: str, total: int | None = None, unit: str = "B") -> None:
        self._what = what
        self._bar = tqdm(
            total=total,
            desc=what,
            unit=unit,
            unit_scale=True,
            file=self._stream,
            leave=False,
            dynamic_ncols=True,
        )

    def advance_to(self, done: int, count: int) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(f"{count:,} entities", refresh=False)
            self._bar.update(done - self._bar.n)

    def finish(self, summary: str) -> None:
        elapsed = 0.0
        if self._bar is not None:
            elapsed = self._bar.format_dict["elapsed"]
            self._bar.close()
            self._bar = None
        print(f"{self._what}: {summary} ({elapsed:.1f} s)", file=self._stream, flush=True)

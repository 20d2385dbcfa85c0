"""What the run prints: a header naming the run, then one section per part."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

_VERSIONED = ("pdp", "py-abac", "vakt", "cedarpy", "SQLAlchemy", "Flask", "gunicorn")


@dataclass
class Part:
    """One part's result: a Markdown table (or several) and notes under it."""

    name: str
    table: str
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def header(arguments: list[str], module: str = "benchmarks", title: str = "pdp benchmarks") -> str:
    """Date, machine, Python, package versions, and the exact command that ran (`python -m
    <module> <arguments>`)."""
    command = shlex.join([sys.executable, "-m", module, *arguments])
    machine = f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs"
    versions = ", ".join(f"{name} {_version(name)}" for name in _VERSIONED)
    return "\n".join(
        [
            f"# {title}",
            "",
            f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}",
            f"- machine: {machine}",
            f"- python: {platform.python_implementation()} {platform.python_version()}",
            f"- packages: {versions}",
            f"- command: `{command}`",
        ]
    )


def render(part: Part) -> str:
    notes = "\n".join(f"- {note}" for note in part.notes)
    took = f"_{part.name} took {part.seconds:.1f} s_"
    return "\n\n".join(x for x in (f"## {part.name}", part.table, notes, took) if x)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: how busy the shared machine was around a run."""
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"

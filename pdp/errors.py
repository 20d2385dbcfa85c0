"""Errors as values with a message a person can act on.

Each module raises these instead of generic exceptions; the API maps them to HTTP statuses in one
table (`pdp.api.errors`), the command line to `error:` lines and exit status 1 in one place
(`pdp.cli`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


class PdpError(Exception):
    """Base of every error this package raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input: which file (or request part), where inside it, and what."""

    file: str
    path: str
    problem: str

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.path) if part)
        return f"{where}: {self.problem}" if where else self.problem


def problems_from_messages(file: str, messages: Any, path: str = "") -> Iterator[Problem]:
    """Turn marshmallow's nested error messages into Problems with paths like `packages[1].urn`."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                step = path
            elif isinstance(key, int):
                step = f"{path}[{key}]"
            else:
                step = f"{path}.{key}" if path else str(key)
            yield from problems_from_messages(file, value, step)
    elif isinstance(messages, list) and all(isinstance(message, str) for message in messages):
        for message in messages:
            yield Problem(
                file, path, message.replace("Unknown field.", "unknown field").rstrip(".")
            )
    else:
        yield Problem(file, path, str(messages))


class InvalidFields(PdpError):
    """An input refused for fields that cannot be right; `fields` maps each field to its
    problems (nested as marshmallow nests them), so an answer can name every one."""

    def __init__(self, message: str, fields: Mapping[str, Any]):
        self.fields = dict(fields)
        super().__init__(message)


class SourceError(PdpError):
    """A policy source was refused as a whole; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(problem) for problem in problems) or "invalid policy source")


class RegisterImportError(PdpError):
    """A register import was refused as a whole; `problems` names every bad entry by position."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(problem) for problem in problems))


class RequestSyntaxError(PdpError):
    """A decision request that cannot be evaluated as written (XACML syntax-error)."""


class NoActivePolicySet(PdpError):
    """The repository has no published policy-set version yet."""

    def __init__(self) -> None:
        super().__init__("no policy-set version is active; run `pdp init` or `pdp compile`")

"""A register document in a file (plain or gzip'ed JSON), read a section at a time.

A national register file (a million organisations, four million role assignments) is hundreds
of megabytes of JSON; `json.load` would hold all of it, several times over as Python objects.
Here `ijson` reads the file once for its shape (an object whose members are the known sections,
each an array) and once per section, giving one entry at a time to the register import
(`pdp.register.Register.import_sections`), which checks and writes them in parts.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import ijson

from pdp.errors import PdpError, Problem, RegisterImportError
from pdp.register import SECTIONS


def sections_in(path: Path) -> Iterator[tuple[str, Iterable[Any]]]:
    """The file's sections as `pdp.register.sections_of` gives a document's: each section's
    entries are read from the file when asked for. RegisterImportError if the file is not
    such an object; PdpError if it is not JSON."""
    present = _shape(path)
    for section in SECTIONS:
        if section in present:
            yield section, _entries(path, section)
        else:
            yield section, ()


def _shape(path: Path) -> set[str]:
    """The sections the file has, checked to be the known ones, each an array."""
    problems: list[Problem] = []
    present: set[str] = set()
    not_lists: set[str] = set()
    with _opened(path) as stream:
        events = ijson.parse(stream)
        try:
            _, event, _ = next(events)
            if event != "start_map":
                raise RegisterImportError([Problem("", "", "the register must be a JSON object")])
            for prefix, event, value in events:
                if prefix == "" and event == "map_key":
                    present.add(value)
                    if value not in SECTIONS:
                        problems.append(Problem("", value, "unknown field"))
                elif prefix in SECTIONS and event not in ("start_array", "end_array"):
                    not_lists.add(prefix)
        except (ijson.JSONError, StopIteration) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise PdpError(f"{path} is not valid JSON: {reason}") from None
    problems += [Problem("", section, "Not a valid list") for section in sorted(not_lists)]
    if "organizations" not in present:
        problems.append(Problem("", "organizations", "Missing data for required field"))
    if problems:
        raise RegisterImportError(problems)
    return present


def _entries(path: Path, section: str) -> Iterator[Any]:
    with _opened(path) as stream:
        yield from ijson.items(stream, f"{section}.item", use_float=True)


@contextmanager
def _opened(path: Path) -> Iterator[IO[bytes]]:
    with path.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        yield gzip.GzipFile(fileobj=raw) if gzipped else raw

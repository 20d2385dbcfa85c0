"""JSON objects that name a member twice are refused: the parser would silently keep the last.

orjson, like most parsers, reads `{"Value": "a", "Value": "b"}` as `{"Value": "b"}`; a PEP and
this PDP could then read different requests in one body. Finding repeats exactly would need a
second, slower parse of every body, so it is done only when a repeat is possible: every member
name in a JSON text ends with a quote followed (after optional whitespace) by a colon, so the
number of such places in the raw bytes is at least the number of members (more only where a
string holds `\\":`). When it equals the number of members the one walk over the parsed body
counted (`pdp.limits`, `pdp.xacml.reader`), no name was lost to a repeat. Otherwise the body is
parsed again by the standard library, keeping every member, to name the first repeat, if any.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pdp.errors import PdpError
from pdp.limits import Where, path

#: The end of a member name (or `\":` inside a string): a quote, whitespace, a colon.
_NAME_END = re.compile(rb'"[ \t\n\r]*:')


class DuplicateMember(PdpError):
    """A JSON object in a request body names one member more than once."""


def refuse_duplicates(raw: bytes, members: int) -> None:
    """DuplicateMember naming the first object (in document order) that repeats a member
    name, if `raw`, whose parsed form has `members` object members, has one."""
    if len(_NAME_END.findall(raw)) == members:
        return
    document = json.loads(raw, object_pairs_hook=_Members)
    repeat = _first_repeat(document)
    if repeat is not None:
        where, name = repeat
        raise DuplicateMember(
            f"{path(where)}: member {json.dumps(name, ensure_ascii=False)} given twice"
        )


class _Members(list):
    """A JSON object as the list of its (name, value) members, repeats kept."""


def _first_repeat(document: Any) -> tuple[Where, str] | None:
    """Where the first repeated name is (the object, the name), reading the text in order."""
    # (node, where, the names seen so far in the object it is a member of, if it is one)
    pending: list[tuple[Any, Where, set[str] | None]] = [(document, None, None)]
    while pending:
        node, where, seen = pending.pop()
        if seen is not None:
            parent, name = where  # type: ignore[misc]
            if name in seen:
                return parent, name
            seen.add(name)
        if isinstance(node, _Members):
            names: set[str] = set()
            pending.extend((value, (where, name), names) for name, value in reversed(node))
        elif isinstance(node, list):
            pending.extend(
                (node[index], (where, index), None) for index in range(len(node) - 1, -1, -1)
            )
    return None

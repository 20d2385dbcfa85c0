"""Limits on what a request body may hold, checked while the body is read.

The body size is capped while it is received (413, `pdp.api.common.body_bytes`). The JSON
parser (orjson) refuses nesting deeper than 1024 on its own; what is left is checked in the one
walk over the parsed document each body gets: nesting depth, string length (keys and values),
and for XACML the number of MultiRequests references and of attributes in one category. The
XACML reader (`pdp.xacml.reader`) checks them as it reads; every other body gets `check`. Each
refusal names the limit, the place and the setting that raises it; the messages are made here,
once, for both walks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from pdp.config import Settings
from pdp.errors import PdpError
from pdp.vocabulary import ascii_lower

#: Where a node sits: None for the document, else (where its parent sits, key or index).
Where = tuple[Any, str | int] | None


def path(where: Where) -> str:
    """`$.Request.AccessSubject[0]` for ((((None, "Request"), "AccessSubject"), 0)."""
    steps: list[str] = []
    while where is not None:
        where, step = where
        steps.append(f"[{step}]" if isinstance(step, int) else f".{step[:40]}")
    return "$" + "".join(reversed(steps))


class LimitExceeded(PdpError):
    """A request body is larger, deeper or longer than the PDP is configured to read."""


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_string_length: int
    max_multi_requests: int
    max_attributes_per_category: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_depth=settings.max_json_depth,
            max_string_length=settings.max_string_length,
            max_multi_requests=settings.max_multi_requests,
            max_attributes_per_category=settings.max_attributes_per_category,
        )

    def check(self, document: Any) -> int:
        """LimitExceeded for the first limit `document` exceeds; else how many object members
        it holds (which `pdp.duplicate_members` compares with the keys in the raw body)."""
        # Paths are kept as (parent, step) pairs and spelt out only for a message; the loop is
        # written out flat, without recursion, because it runs over every node of every body.
        longest, deepest = self.max_string_length, self.max_depth
        members = 0
        pending: list[tuple[Any, int, Where]] = [(document, 0, None)]
        pop, push = pending.pop, pending.append
        while pending:
            node, depth, where = pop()
            if isinstance(node, str):
                if len(node) > longest:
                    self.too_long(node, where)
            elif isinstance(node, dict):
                if depth >= deepest:
                    self.too_deep(where)
                members += len(node)
                for key, value in node.items():
                    if len(key) > longest:
                        self.too_long(key, where)
                    if isinstance(value, str | dict | list):
                        push((value, depth + 1, (where, key)))
            elif isinstance(node, list):
                if depth >= deepest:
                    self.too_deep(where)
                for index, item in enumerate(node):
                    if isinstance(item, str | dict | list):
                        push((item, depth + 1, (where, index)))
        return members

    def too_long(self, text: str, where: Where) -> NoReturn:
        raise LimitExceeded(
            f"{path(where)}: a string of {len(text)} characters is longer than "
            f"{self.max_string_length} (PDP_MAX_STRING_LENGTH)"
        )

    def too_deep(self, where: Where) -> NoReturn:
        raise LimitExceeded(
            f"{path(where)}: the body nests deeper than {self.max_depth} levels "
            "(PDP_MAX_JSON_DEPTH)"
        )

    def check_xacml_list(self, key: str, items: list[Any], parent: Where) -> None:
        """LimitExceeded if `items`, the member `key` of the object at `parent`, holds more
        MultiRequests references or attributes than allowed. Any member so named counts,
        wherever it is, as it always has."""
        name = ascii_lower(key)
        if name == "requestreference" and len(items) > self.max_multi_requests:
            raise LimitExceeded(
                f"{path((parent, key))}: {len(items)} MultiRequests references, more than "
                f"{self.max_multi_requests} (PDP_MAX_MULTI_REQUESTS)"
            )
        if name == "attribute" and len(items) > self.max_attributes_per_category:
            raise LimitExceeded(
                f"{path((parent, key))}: {len(items)} attributes in one category, more than "
                f"{self.max_attributes_per_category} (PDP_MAX_ATTRIBUTES_PER_CATEGORY)"
            )


#: The limits a PDP runs with when nothing is configured (`Settings()`'s).
DEFAULT_LIMITS = Limits.from_settings(Settings())

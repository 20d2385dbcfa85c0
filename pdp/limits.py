"""Limits on what a request body may hold, checked before anything reads it further.

The body size is capped while it is read (Flask's MAX_CONTENT_LENGTH, 413). The JSON parser
(orjson) refuses nesting deeper than 1024 on its own; what is left is checked here in one walk
over the parsed document, without recursion: nesting depth, string length (keys and values),
and for XACML the number of MultiRequests references and of attributes in one category. Each
refusal names the limit, the place and the setting that raises it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pdp.config import Settings
from pdp.errors import PdpError

#: Where a node sits: None for the document, else (where its parent sits, key or index).
_Where = tuple[Any, str | int] | None


def _path(where: _Where) -> str:
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

    def check(self, document: Any, *, xacml: bool = False) -> None:
        """LimitExceeded for the first limit `document` exceeds; `xacml` adds the XACML ones."""
        # Paths are kept as (parent, step) pairs and spelt out only for a message; the loop is
        # written out flat because it runs over every node of every request.
        longest, deepest = self.max_string_length, self.max_depth
        pending: list[tuple[Any, int, _Where]] = [(document, 0, None)]
        pop, push = pending.pop, pending.append
        while pending:
            node, depth, where = pop()
            if isinstance(node, str):
                if len(node) > longest:
                    self._too_long(node, where)
            elif isinstance(node, dict):
                if depth >= deepest:
                    self._too_deep(where)
                for key, value in node.items():
                    if len(key) > longest:
                        self._too_long(key, where)
                    if isinstance(value, str | dict | list):
                        if xacml and isinstance(value, list):
                            self._check_xacml_list(key, value, where)
                        push((value, depth + 1, (where, key)))
            elif isinstance(node, list):
                if depth >= deepest:
                    self._too_deep(where)
                for index, item in enumerate(node):
                    if isinstance(item, str | dict | list):
                        push((item, depth + 1, (where, index)))

    def _too_long(self, text: str, where: _Where) -> None:
        raise LimitExceeded(
            f"{_path(where)}: a string of {len(text)} characters is longer than "
            f"{self.max_string_length} (PDP_MAX_STRING_LENGTH)"
        )

    def _too_deep(self, where: _Where) -> None:
        raise LimitExceeded(
            f"{_path(where)}: the body nests deeper than {self.max_depth} levels "
            "(PDP_MAX_JSON_DEPTH)"
        )

    def _check_xacml_list(self, key: str, items: list[Any], parent: _Where) -> None:
        name = key.casefold()
        if name == "requestreference" and len(items) > self.max_multi_requests:
            path = _path((parent, key))
            raise LimitExceeded(
                f"{path}: {len(items)} MultiRequests references, more than "
                f"{self.max_multi_requests} (PDP_MAX_MULTI_REQUESTS)"
            )
        if name == "attribute" and len(items) > self.max_attributes_per_category:
            path = _path((parent, key))
            raise LimitExceeded(
                f"{path}: {len(items)} attributes in one category, more than "
                f"{self.max_attributes_per_category} (PDP_MAX_ATTRIBUTES_PER_CATEGORY)"
            )

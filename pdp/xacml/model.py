"""The request model of the context handler: what an XACML JSON request says, once read.

An attribute is kept as the JSON profile names its members (`AttributeId`, `Value`, and
`DataType`, `IncludeInResult` and `Issuer` when given), keys in their canonical casing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from pdp.engine.request import Request


class Category(NamedTuple):
    """One attribute category of the request: the category it is (`CategoryId`, shorthand
    members already resolved), its `Id` for MultiRequests, and its attributes, read once
    however many items pick it: the values of its attributes by folded AttributeId
    (`pdp.vocabulary.ascii_lower`), bags flattened; for each such id, its first attribute without a
    string DataType, if any; and its IncludeInResult attributes. (Categories and items are
    named tuples: every request makes several, and a tuple is made in half the time of a
    frozen dataclass.)"""

    category_id: str
    id: str | None
    attributes: tuple[dict[str, Any], ...]
    values: dict[str, list[Any]]
    mistyped: dict[str, dict[str, Any]]
    echoed: tuple[dict[str, Any], ...]


class Item(NamedTuple):
    """One individual decision request of an XACML request, or why it cannot be decided."""

    request: Request
    #: The result's `Category` entries: the IncludeInResult attributes of its categories.
    echoed: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ParsedRequest:
    """The individual decision requests of an XACML request, in result order."""

    items: tuple[Item, ...]
    return_policy_ids: bool
    #: `CombinedDecision`: answer all items with one result (the XACML multiple decision profile).
    combined: bool = False

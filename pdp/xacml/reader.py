"""Reading the XACML 3.0 JSON profile, as Altinn's PDP speaks it: one walk over the parsed body.

Reading is lenient where real Altinn clients differ and strict where a misreading could matter:
- keys match case-insensitively (clients send both `AttributeId` and `attributeId`), but the
  same key twice in different casings, anywhere in the body, is refused as ambiguous;
- a category may be one object or a list; `Category` entries with a `CategoryId` are accepted
  beside the shorthand `AccessSubject`, `Resource`, `Action`, `Environment`;
- `MultiRequests.RequestReference` picks categories by `Id` (`pdp.xacml.items`);
- members of the wrong JSON type are refused with the messages, and in the order, that the
  marshmallow schema this reader replaced gave (`pdp.xacml.schema` still documents the body);
  flags read as marshmallow's `Boolean` reads them (`"true"`, `1`, ... count).

The walk visits every node of the body once, in document order, and enforces `pdp.limits` as
it goes (members the reader does not use, `XPathVersion`, `Content` or unknown ones, are
walked for the limits too); a limit exceeded raises LimitExceeded, which the API answers with
400. It also counts the object members it saw, which `pdp.duplicate_members` compares with the
raw body. A problem with the request itself becomes an `Unreadable` for the whole
request: a key clash first (the first in document order), else every misfit member.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pdp.engine.request import Unreadable
from pdp.errors import RequestSyntaxError, problems_from_messages
from pdp.identifiers import CHECKED, IdentifierRules
from pdp.limits import DEFAULT_LIMITS, Limits, Where
from pdp.vocabulary import (
    READ_ATTRIBUTE_IDS,
    SHORTHAND_CATEGORIES,
    STRING_TYPES,
    XACML_REQUEST_MEMBERS,
    XML_STRING,
    ascii_lower,
)
from pdp.xacml.items import decision_items
from pdp.xacml.model import Category, Item, ParsedRequest

# marshmallow's messages, which every client got while the schema read requests.
_NULL = ["Field may not be null."]
_MISSING_DATA = ["Missing data for required field."]
_NOT_STRING = ["Not a valid string."]
_NOT_BOOLEAN = ["Not a valid boolean."]
_NOT_LIST = ["Not a valid list."]
_TOO_SHORT = ["Shorter than minimum length 1."]
_NOT_OBJECT = {"_schema": ["Invalid input type."]}

#: What marshmallow's `Boolean` reads as true and as false, beside JSON's own booleans.
TRUTHY = frozenset({"t", "T", "true", "True", "TRUE", "on", "On", "ON", "y", "Y", "yes", "Yes"})
TRUTHY |= {"YES", "1", 1}
FALSY = frozenset({"f", "F", "false", "False", "FALSE", "off", "Off", "OFF", "n", "N", "no", "No"})
FALSY |= {"NO", "0", 0}

KNOWN_KEYS = frozenset(XACML_REQUEST_MEMBERS)
#: Each member name by its lower-cased spelling (ASCII only: `vocabulary.ascii_lower`): the
#: name any spelling of it is read as.
CANONICAL_KEYS = {ascii_lower(key): key for key in XACML_REQUEST_MEMBERS}
_LONGEST_KNOWN_KEY = max(map(len, XACML_REQUEST_MEMBERS))


class _Invalid:
    """A member that cannot be read, and marshmallow's messages saying why."""

    __slots__ = ("messages",)

    def __init__(self, messages: Any):
        self.messages = messages


_ABSENT: Any = object()  # a member the object does not have


@dataclass(frozen=True)
class _Request:
    """The `Request` member, read: flags, categories in reading order, and references."""

    return_policy_ids: bool
    combined: bool
    categories: tuple[Category, ...]
    #: Category entries' positions in `Request.Category` that lack a CategoryId.
    missing_category_id: tuple[int, ...]
    references: tuple[tuple[str, ...], ...] | None


def parse(
    document: Any, limits: Limits = DEFAULT_LIMITS, rules: IdentifierRules = CHECKED
) -> ParsedRequest:
    """Read an XACML JSON request into individual decision requests, in result order,
    identifiers checked under `rules`. Raises LimitExceeded."""
    return read(document, limits, rules)[0]


def read(
    document: Any, limits: Limits, rules: IdentifierRules = CHECKED
) -> tuple[ParsedRequest, int]:
    """`parse`, and how many object members the walk saw (for `pdp.duplicate_members`)."""
    walk = _Walk(limits)
    request = walk.body(document)
    if walk.clash is not None:
        return _refused(walk.clash), walk.members
    if type(request) is _Invalid:
        problems = problems_from_messages("", request.messages)
        return _refused("; ".join(str(problem) for problem in problems)), walk.members
    if request.missing_category_id:
        index = request.missing_category_id[0]
        return _refused(f"Request.Category[{index}]: missing CategoryId"), walk.members
    try:
        items = decision_items(request.categories, request.references, rules)
    except RequestSyntaxError as error:
        return _refused(str(error)), walk.members
    return ParsedRequest(items, request.return_policy_ids, request.combined), walk.members


def _refused(message: str) -> ParsedRequest:
    return ParsedRequest((Item(Unreadable(message)),), return_policy_ids=False)


def _clash_path(where: Where) -> str:
    """Where a key clash is, keys spelt canonically: `$.Request.Resource[0].Attribute[1]`."""
    steps: list[str] = []
    while where is not None:
        where, step = where
        if isinstance(step, int):
            steps.append(f"[{step}]")
        else:
            steps.append(f".{CANONICAL_KEYS.get(ascii_lower(step), step)}")
    return "$" + "".join(reversed(steps))


class _Walk:
    """One walk over a body: the limits enforced, members counted, the first key clash kept.

    Each `_<level>` method reads one object of the profile (already known to be an object) into
    its read form, or an `_Invalid` with marshmallow's messages for it. Every member is walked,
    in document order, whether the level reads it or not.
    """

    def __init__(self, limits: Limits):
        self.limits = limits
        self.longest = limits.max_string_length
        self.deepest = limits.max_depth
        self.members = 0
        self.clash: str | None = None
        self.known_keys_fit = self.longest >= _LONGEST_KNOWN_KEY
        #: A list no longer than this is within every list limit.
        self.short_list = min(limits.max_multi_requests, limits.max_attributes_per_category)

    # --- walking ----------------------------------------------------------------------------

    def enter(self, node: dict[str, Any], depth: int, where: Where) -> set[str] | None:
        """Start on an object: its depth checked, its members counted. The names seen so far
        (none yet), or None when every key is a known name in canonical spelling and within
        the length limit, so that there is nothing to check per key (the usual case)."""
        if depth >= self.deepest:
            self.limits.too_deep(where)
        self.members += len(node)
        if self.known_keys_fit and KNOWN_KEYS.issuperset(node):
            return None
        return set()

    def list_limits(self, key: str, items: list[Any], parent: Where) -> None:
        if len(items) > self.short_list:
            self.limits.check_xacml_list(key, items, parent)

    def name(self, key: str, where: Where, seen: set[str]) -> str:
        """The canonical name of `key`, a member of the object at `where`; a second member of
        that name is a clash."""
        if len(key) > self.longest:
            self.limits.too_long(key, where)
        name = key if key in KNOWN_KEYS else CANONICAL_KEYS.get(ascii_lower(key), key)
        if name in seen:
            if self.clash is None:
                self.clash = f"{_clash_path(where)}: key {name!r} appears more than once"
        else:
            seen.add(name)
        return name

    def string(self, value: Any, where: Where) -> None:
        if len(value) > self.longest:
            self.limits.too_long(value, where)

    def member(self, key: str, value: Any, depth: int, parent: Where) -> Any:
        """Any member, walked: its value, copied with keys in canonical casing if it holds
        objects."""
        kind = type(value)
        if kind is str:
            if len(value) > self.longest:
                self.limits.too_long(value, (parent, key))
            return value
        if kind is list:
            self.list_limits(key, value, parent)
        elif kind is not dict:
            return value
        return self.any(value, depth, (parent, key))

    def any(self, value: Any, depth: int, where: Where) -> Any:
        """`value` walked, anything it holds: a copy with keys in canonical casing (as
        attribute values are echoed and named in messages). Written without recursion: such
        values nest as deep as the limits allow."""
        kind = type(value)
        if kind is str:
            self.string(value, where)
            return value
        if kind is not dict and kind is not list:
            return value
        if kind is list and depth < self.deepest:  # a bag of strings: nothing but lengths
            longest = self.longest
            for item in value:
                if type(item) is str:
                    if len(item) > longest:
                        break
                elif type(item) is dict or type(item) is list:
                    break
            else:
                return list(value)
        top: list[Any] = [None]
        # (node, depth, where, container the copy goes in, its key or index there, the names
        # seen in that container if it is an object)
        pending: list[tuple[Any, int, Where, Any, Any, set[str] | None]] = [
            (value, depth, where, top, 0, None)
        ]
        while pending:
            node, depth, where, into, slot, seen = pending.pop()
            if seen is not None:  # a member of an object: its name first, then its value
                slot = self.name(slot, where[0], seen)  # type: ignore[index]
            kind = type(node)
            if kind is str:
                self.string(node, where)
                into[slot] = node
            elif kind is dict:
                names = self.enter(node, depth, where)
                copy: dict[str, Any] = {}
                into[slot] = copy
                for key, item in reversed(node.items()):
                    if type(item) is list:
                        self.list_limits(key, item, where)
                    pending.append((item, depth + 1, (where, key), copy, key, names))
            elif kind is list:
                if depth >= self.deepest:
                    self.limits.too_deep(where)
                copied = list(node)
                into[slot] = copied
                for index in range(len(node) - 1, -1, -1):
                    pending.append((node[index], depth + 1, (where, index), copied, index, None))
            else:
                into[slot] = node
        return top[0]

    # --- the levels of the profile ----------------------------------------------------------

    def body(self, document: Any) -> _Request | _Invalid:
        if type(document) is not dict:
            self.any(document, 0, None)
            return _Invalid(_NOT_OBJECT)
        names = self.enter(document, 0, None)
        request: Any = _ABSENT
        for key, value in document.items():
            if (key if names is None else self.name(key, None, names)) == "Request":
                request = self.nested(key, value, 1, None, self.request)
            else:
                self.member(key, value, 1, None)
        if request is _ABSENT:
            return _Invalid({"Request": _MISSING_DATA})
        if type(request) is _Invalid:
            return _Invalid({"Request": request.messages})
        return request

    def nested(self, key: str, value: Any, depth: int, parent: Where, level: Any) -> Any:
        """A member that must be one object of `level`."""
        if type(value) is dict:
            return level(value, depth, (parent, key))
        if value is None:
            return _Invalid(_NULL)
        self.member(key, value, depth, parent)
        return _Invalid(_NOT_OBJECT)

    def request(self, node: dict[str, Any], depth: int, where: Where) -> _Request | _Invalid:
        names = self.enter(node, depth, where)
        read: dict[str, Any] = {}
        invalid = False
        for key, value in node.items():
            name = key if names is None else self.name(key, where, names)
            if name in _CATEGORY_MEMBERS:
                category_id = SHORTHAND_CATEGORIES.get(name)
                entry = self.plain_categories(key, value, depth + 1, where, category_id)
                if entry is None:
                    entry = self.one_or_many(
                        key, value, depth + 1, where, self.category, category_id
                    )
                read[name] = entry
            elif name == "MultiRequests":
                entry = read[name] = self.nested(key, value, depth + 1, where, self.multi_requests)
            elif name == "ReturnPolicyIdList" or name == "CombinedDecision":
                entry = read[name] = _boolean(self.member(key, value, depth + 1, where))
            else:
                self.member(key, value, depth + 1, where)
                continue
            invalid = invalid or type(entry) is _Invalid
        if invalid:
            return _Invalid(
                {
                    name: read[name].messages
                    for name in _REQUEST_FIELDS
                    if type(read.get(name)) is _Invalid
                }
            )
        categories: list[Category] = []
        for name in SHORTHAND_CATEGORIES:
            categories.extend(read.get(name, ()))
        missing = []
        for index, category in enumerate(read.get("Category", ())):
            if category.category_id is None:
                missing.append(index)
            else:
                categories.append(category)
        return _Request(
            read.get("ReturnPolicyIdList", False),
            read.get("CombinedDecision", False),
            tuple(categories),
            tuple(missing),
            read.get("MultiRequests"),
        )

    def one_or_many(
        self, key: str, value: Any, depth: int, parent: Where, level: Any, *extra: Any
    ) -> list[Any] | _Invalid:
        """A member that may be one object of `level` or a list of them (`level` is given
        each object, and `extra`)."""
        where = (parent, key)
        if type(value) is dict:
            entry = level(value, depth, where, *extra)
            return _Invalid({0: entry.messages}) if type(entry) is _Invalid else [entry]
        if type(value) is not list:
            return (
                _Invalid(_NULL)
                if value is None
                else _Invalid({0: self.not_object(value, depth, where).messages})
            )
        self.list_limits(key, value, parent)
        if depth >= self.deepest:
            self.limits.too_deep(where)
        read, errors = [], {}
        depth += 1
        for index, item in enumerate(value):
            if type(item) is dict:
                entry = level(item, depth, (where, index), *extra)
            else:
                entry = self.not_object(item, depth, (where, index))
            if type(entry) is _Invalid:
                errors[index] = entry.messages
            else:
                read.append(entry)
        return _Invalid(errors) if errors else read

    def not_object(self, value: Any, depth: int, where: Where) -> _Invalid:
        """Why `value`, where an object must be, is not read (walked all the same)."""
        if value is None:
            return _Invalid(_NULL)
        self.any(value, depth, where)
        return _Invalid(_NOT_OBJECT)

    def category(
        self, node: dict[str, Any], depth: int, where: Where, category_id: str | None
    ) -> Category | _Invalid:
        """A category that is `category_id` (a shorthand member's), or else what its
        `CategoryId` says (None if it names none)."""
        names = self.enter(node, depth, where)
        given_id = identifier = _ABSENT
        attributes = ()
        for key, value in node.items():
            name = key if names is None else self.name(key, where, names)
            if name == "Attribute":
                attributes = self.one_or_many(key, value, depth + 1, where, self.attribute)
                continue
            value = self.member(key, value, depth + 1, where)
            if name == "Id":
                identifier = value
            elif name == "CategoryId":
                given_id = value
        if identifier is not _ABSENT and identifier is not None and type(identifier) is not str:
            identifier = _Invalid(_NOT_STRING)
        if given_id is not _ABSENT:
            given_id = _string(given_id)
        if (
            type(attributes) is _Invalid
            or type(identifier) is _Invalid
            or type(given_id) is _Invalid
        ):
            return _Invalid(
                {
                    name: read.messages
                    for name, read in (
                        ("CategoryId", given_id),
                        ("Id", identifier),
                        ("Attribute", attributes),
                    )
                    if type(read) is _Invalid
                }
            )
        if category_id is None and given_id is not _ABSENT:
            category_id = SHORTHAND_CATEGORIES.get(given_id, given_id)
        return Category(
            category_id,  # type: ignore[arg-type]
            None if identifier is _ABSENT else identifier,
            tuple(attributes),
            *_bags(attributes),
        )

    def plain_categories(
        self, key: str, nodes: Any, depth: int, parent: Where, category_id: str | None
    ) -> list[Category] | None:
        """Member `key`, a category or a list of them at `depth`, as nearly every request gives
        them, read at a glance: each with canonical keys and a list of attributes, each
        attribute a string `AttributeId` and a string `Value` alone, all within the limits.
        None for any other (read then member by member, by `category`, for its messages)."""
        if depth + 3 >= self.deepest or not self.known_keys_fit:
            return None
        if type(nodes) is dict:
            nodes = [nodes]
        elif type(nodes) is list:
            self.list_limits(key, nodes, parent)
        else:
            return None
        short = self.short_list
        longest = self.longest
        members = 0
        read = []
        for node in nodes:
            if type(node) is not dict or not _CATEGORY_KEYS.issuperset(node):
                return None
            attributes = node.get("Attribute")
            if type(attributes) is not list or len(attributes) > short:
                return None
            values: dict[str, list[Any]] = {}
            for attribute in attributes:
                if type(attribute) is not dict or len(attribute) != 2:
                    return None
                attribute_id = attribute.get("AttributeId")
                value = attribute.get("Value")
                if (
                    type(attribute_id) is not str
                    or type(value) is not str
                    or not 0 < len(attribute_id) <= longest
                    or len(value) > longest
                ):
                    return None
                lowered = _LOWERED.get(attribute_id)
                if lowered is None:
                    lowered = ascii_lower(attribute_id)
                bag = values.get(lowered)
                if bag is None:
                    values[lowered] = [value]
                else:
                    bag.append(value)
            given_id = node.get("CategoryId")
            identifier = node.get("Id")
            if (given_id is None and "CategoryId" in node) or not (
                (given_id is None or (type(given_id) is str and len(given_id) <= longest))
                and (identifier is None or (type(identifier) is str and len(identifier) <= longest))
            ):
                return None
            members += len(node) + 2 * len(attributes)
            read.append(
                Category(
                    category_id  # type: ignore[arg-type]
                    if category_id is not None or given_id is None
                    else SHORTHAND_CATEGORIES.get(given_id, given_id),
                    identifier,
                    tuple(attributes),
                    values,
                    _NO_MISTYPED,
                    (),
                )
            )
        self.members += members
        return read

    def attribute(
        self, node: dict[str, Any], depth: int, where: Where
    ) -> dict[str, Any] | _Invalid:
        names = self.enter(node, depth, where)
        attribute_id = value = _ABSENT
        others: dict[str, Any] = {}
        longest = self.longest
        for key, item in node.items():
            name = key if names is None else self.name(key, where, names)
            if type(item) is str:
                if len(item) > longest:
                    self.limits.too_long(item, (where, key))
            else:
                item = self.member(key, item, depth + 1, where)
            if name == "AttributeId":
                attribute_id = item
            elif name == "Value":
                value = item
            elif name in _ATTRIBUTE_FIELDS:
                others[name] = item
        if type(attribute_id) is str and attribute_id and value is not _ABSENT:
            if not others:
                return {"AttributeId": attribute_id, "Value": value, "IncludeInResult": False}
            if others.keys() == {"DataType"} and type(others["DataType"]) is str:
                return {
                    "AttributeId": attribute_id,
                    "Value": value,
                    "DataType": others["DataType"],
                    "IncludeInResult": False,
                }
        return _attribute(attribute_id, value, others)

    def multi_requests(
        self, node: dict[str, Any], depth: int, where: Where
    ) -> tuple[tuple[str, ...], ...] | _Invalid:
        names = self.enter(node, depth, where)
        references: Any = _ABSENT
        for key, value in node.items():
            if (key if names is None else self.name(key, where, names)) == "RequestReference":
                references = self.references(key, value, depth + 1, where)
            else:
                self.member(key, value, depth + 1, where)
        if references is _ABSENT:
            return _Invalid({"RequestReference": _MISSING_DATA})
        if isinstance(references, _Invalid):
            return _Invalid({"RequestReference": references.messages})
        return references

    def references(
        self, key: str, value: Any, depth: int, parent: Where
    ) -> tuple[tuple[str, ...], ...] | _Invalid:
        if value is None:
            return _Invalid(_NULL)
        if type(value) is not list:
            self.member(key, value, depth, parent)
            return _Invalid(_NOT_LIST)
        self.list_limits(key, value, parent)
        plain = self.plain_references(value, depth)
        if plain is not None:
            return plain
        where = (parent, key)
        if depth >= self.deepest:
            self.limits.too_deep(where)
        read, errors = [], {}
        for index, item in enumerate(value):
            item_where = (where, index)
            if type(item) is dict:
                reference = self.reference(item, depth + 1, item_where)
            elif item is None:
                reference = _Invalid(_NULL)
            else:
                self.any(item, depth + 1, item_where)
                reference = _Invalid(_NOT_OBJECT)
            if isinstance(reference, _Invalid):
                errors[index] = reference.messages
            else:
                read.append(reference)
        if errors:
            return _Invalid(errors)
        return tuple(read) if read else _Invalid(_TOO_SHORT)

    def plain_references(self, nodes: list[Any], depth: int) -> tuple[tuple[str, ...], ...] | None:
        """`RequestReference` at `depth` (within the list limits) as every MultiRequests gives
        it, read at a glance: objects of one `ReferenceId`, a list of strings, all within the
        limits. None for any other (read then member by member, by `reference`, for its
        messages)."""
        short, longest = self.short_list, self.longest
        if not nodes or depth + 2 >= self.deepest:
            return None
        read = []
        for node in nodes:
            if type(node) is not dict or len(node) != 1:
                return None
            ids = node.get("ReferenceId")
            if type(ids) is not list or not ids or len(ids) > short:
                return None
            for reference_id in ids:
                if type(reference_id) is not str or len(reference_id) > longest:
                    return None
            read.append(tuple(ids))
        self.members += len(nodes)
        return tuple(read)

    def reference(
        self, node: dict[str, Any], depth: int, where: Where
    ) -> tuple[str, ...] | _Invalid:
        names = self.enter(node, depth, where)
        ids: Any = _ABSENT
        for key, value in node.items():
            if (key if names is None else self.name(key, where, names)) == "ReferenceId":
                ids = self.member(key, value, depth + 1, where)
            else:
                self.member(key, value, depth + 1, where)
        if ids is _ABSENT:
            return _Invalid({"ReferenceId": _MISSING_DATA})
        if ids is None:
            return _Invalid({"ReferenceId": _NULL})
        if type(ids) is not list:
            return _Invalid({"ReferenceId": _NOT_LIST})
        errors = {
            index: _NULL if item is None else _NOT_STRING
            for index, item in enumerate(ids)
            if type(item) is not str
        }
        if errors:
            return _Invalid({"ReferenceId": errors})
        if not ids:
            return _Invalid({"ReferenceId": _TOO_SHORT})
        return tuple(ids)


_CATEGORY_KEYS = frozenset({"Attribute", "Id", "CategoryId"})
#: The ids the context handler reads, by each one's canonical spelling: lower-cased.
_LOWERED = {attribute_id: ascii_lower(attribute_id) for attribute_id in READ_ATTRIBUTE_IDS}
_NO_MISTYPED: dict[str, dict[str, Any]] = {}
_CATEGORY_MEMBERS = frozenset({*SHORTHAND_CATEGORIES, "Category"})
#: The members of `Request` the schema read, in its order (which its messages follow).
_REQUEST_FIELDS = (
    *("ReturnPolicyIdList", "CombinedDecision", "AccessSubject", "Action", "Resource"),
    *("Environment", "Category", "MultiRequests"),
)
_ATTRIBUTE_FIELDS = frozenset({"AttributeId", "Value", "DataType", "IncludeInResult", "Issuer"})


def _attribute(attribute_id: Any, value: Any, others: dict[str, Any]) -> dict[str, Any] | _Invalid:
    """An attribute from its members (`_ABSENT` where not given), as the schema loaded it."""
    attribute: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    if attribute_id is _ABSENT:
        errors["AttributeId"] = _MISSING_DATA
    else:
        attribute_id = _string(attribute_id)
        if attribute_id == "":
            attribute_id = _Invalid(_TOO_SHORT)
        if type(attribute_id) is _Invalid:
            errors["AttributeId"] = attribute_id.messages
        attribute["AttributeId"] = attribute_id
    if value is _ABSENT:
        errors["Value"] = _MISSING_DATA
    else:
        attribute["Value"] = value
    if "DataType" in others:
        attribute["DataType"] = _string(others["DataType"], allow_none=True)
    attribute["IncludeInResult"] = _boolean(others.get("IncludeInResult", False))
    if "Issuer" in others:
        attribute["Issuer"] = _string(others["Issuer"], allow_none=True)
    for name in ("DataType", "IncludeInResult", "Issuer"):
        if type(attribute.get(name)) is _Invalid:
            errors[name] = attribute[name].messages
    return _Invalid(errors) if errors else attribute


def _bags(
    attributes: list[dict[str, Any]],
) -> tuple[dict[str, list[Any]], dict[str, dict[str, Any]], tuple[dict[str, Any], ...]]:
    """Read attributes' values by folded AttributeId, bags flattened; for each folded id, its
    first attribute whose DataType is not a string type; and the IncludeInResult attributes,
    as Altinn's PDP echoes them (with their data type, named in full when left out)."""
    values: dict[str, list[Any]] = {}
    mistyped: dict[str, dict[str, Any]] = {}
    echoed = []
    for attribute in attributes:
        folded = ascii_lower(attribute["AttributeId"])
        data_type = attribute.get("DataType")
        if data_type is not None and data_type not in STRING_TYPES:
            mistyped.setdefault(folded, attribute)
        value = attribute["Value"]
        if type(value) is list:
            values.setdefault(folded, []).extend(value)
        else:
            values.setdefault(folded, []).append(value)
        if attribute.get("IncludeInResult"):
            echoed.append(
                {
                    "AttributeId": attribute["AttributeId"],
                    "Value": value,
                    "DataType": data_type or XML_STRING,
                }
            )
    return values, mistyped, tuple(echoed)


def _string(value: Any, *, allow_none: bool = False) -> Any:
    """`value` if it is a string (or an allowed null), else why not."""
    if type(value) is str:
        return value
    if value is None:
        return None if allow_none else _Invalid(_NULL)
    return _Invalid(_NOT_STRING)


def _boolean(value: Any) -> Any:
    """`value` as a flag, as marshmallow's `Boolean` reads it, else why not."""
    if value is True or value is False:
        return value
    if value is None:
        return _Invalid(_NULL)
    try:
        if value in TRUTHY:
            return True
        if value in FALSY:
            return False
    except TypeError:  # a list or an object
        pass
    return _Invalid(_NOT_BOOLEAN)

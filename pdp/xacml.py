"""The context handler: XACML 3.0 JSON profile in and out, as Altinn's PDP speaks it.

Reading is lenient where real Altinn clients differ and strict where a misreading could matter:
- keys match case-insensitively (clients send both `AttributeId` and `attributeId`), but the
  same key twice in different casings is refused as ambiguous;
- a category may be one object or a list; `Category` entries with a `CategoryId` are accepted
  beside the shorthand `AccessSubject`, `Resource`, `Action`, `Environment`;
- `MultiRequests.RequestReference` picks categories by `Id`; results come back in that order;
- identifiers are checked with their mod-11 check digits before anything is decided.

Anything that cannot be read becomes a `RequestSyntaxError` for that result (or for the whole
request when the request itself is malformed), which the engine answers Indeterminate with
`syntax-error` and a message naming the problem.

Requests are read in two steps, each with a fast path for the well-formed requests PEPs send
and a general one for everything else (whose messages every malformed request gets): the body
is loaded (by hand in `pdp.xacml_fast`, else keys made canonical and `XacmlRequestSchema`), and
its items are read (`_common_items` in one pass, else category by category). Once decisions
are cached, reading a request costs more than deciding it.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from pdp import xacml_fast
from pdp.catalog import package_urn_form
from pdp.engine import DecisionRequest, Result, RoleClaim
from pdp.errors import RequestSyntaxError, problems_from_messages
from pdp.identifiers import InvalidIdentifier, validate_organization_number
from pdp.subjects import ORGANIZATION, PERSON, Subject, subject
from pdp.vocabulary import (
    ACTION_CATEGORY,
    ACTION_ID,
    CCR_ROLE_ID,
    ENVIRONMENT_CATEGORY,
    INDETERMINATE,
    ORGANIZATION_ID,
    PACKAGE_ID,
    PERSON_ID,
    RESOURCE_CATEGORY,
    ROLECODE_ID,
    STATUS_OK,
    STATUS_PROCESSING_ERROR,
    STRING_TYPES,
    SUBJECT_CATEGORY,
    XML_STRING,
)

#: Advice on a result whose request named a package by a former URN: the URN it has now.
PACKAGE_RENAMED_ADVICE = "urn:pdp:advice:package-renamed"

#: Shorthand category members of `Request`, and the category each stands for.
_SHORTHAND_CATEGORIES = {
    "AccessSubject": SUBJECT_CATEGORY,
    "Resource": RESOURCE_CATEGORY,
    "Action": ACTION_CATEGORY,
    "Environment": ENVIRONMENT_CATEGORY,
}
_CATEGORY_NAMES = {
    SUBJECT_CATEGORY: "AccessSubject",
    RESOURCE_CATEGORY: "Resource",
    ACTION_CATEGORY: "Action",
    ENVIRONMENT_CATEGORY: "Environment",
}
_KNOWN_KEYS = (
    *("Request", "ReturnPolicyIdList", "CombinedDecision", "XPathVersion", "MultiRequests"),
    *("AccessSubject", "Action", "Resource", "Environment", "Category", "CategoryId", "Id"),
    *("Attribute", "AttributeId", "Value", "DataType", "IncludeInResult", "Issuer", "Content"),
    *("RequestReference", "ReferenceId"),
)
_CANONICAL_KEYS = {key.casefold(): key for key in _KNOWN_KEYS}


# --- schemas (applied after keys are made canonical) ----------------------------------------


class _OneOrMany(fields.Field):
    """A JSON profile member that may be one object or a list of them."""

    def __init__(self, inner: fields.Field, **kwargs: Any):
        super().__init__(**kwargs)
        self._many = fields.List(inner)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        return self._many.deserialize(value if isinstance(value, list) else [value], attr, data)


class AttributeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    AttributeId = fields.String(required=True, validate=validate.Length(min=1))
    Value = fields.Raw(required=True, allow_none=True)
    DataType = fields.String(allow_none=True)
    IncludeInResult = fields.Boolean(load_default=False)
    Issuer = fields.String(allow_none=True)


class CategorySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    CategoryId = fields.String()
    Id = fields.String(allow_none=True)
    Attribute = _OneOrMany(fields.Nested(AttributeSchema), load_default=list)


class RequestReferenceSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    ReferenceId = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class MultiRequestsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    RequestReference = fields.List(
        fields.Nested(RequestReferenceSchema), required=True, validate=validate.Length(min=1)
    )


class RequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    ReturnPolicyIdList = fields.Boolean(load_default=False)
    CombinedDecision = fields.Boolean(load_default=False)
    AccessSubject = _OneOrMany(fields.Nested(CategorySchema))
    Action = _OneOrMany(fields.Nested(CategorySchema))
    Resource = _OneOrMany(fields.Nested(CategorySchema))
    Environment = _OneOrMany(fields.Nested(CategorySchema))
    Category = _OneOrMany(fields.Nested(CategorySchema))
    MultiRequests = fields.Nested(MultiRequestsSchema)


class XacmlRequestSchema(Schema):
    """`{"Request": {...}}`, the body of `POST /authorization/api/v1/authorize`."""

    class Meta:
        unknown = EXCLUDE

    Request = fields.Nested(RequestSchema, required=True)


# --- parsed form ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    """One attribute category of the request, keys already canonical."""

    category_id: str
    id: str | None
    attributes: tuple[dict[str, Any], ...]

    def values(self, attribute_id: str) -> list[Any]:
        """All values of `attribute_id` (matched case-insensitively), bags flattened."""
        wanted = attribute_id.casefold()
        found: list[Any] = []
        for attribute in self.attributes:
            if attribute["AttributeId"].casefold() == wanted:
                _check_string_type(self, attribute)
                value = attribute["Value"]
                found.extend(value if isinstance(value, list) else [value])
        return found

    def echoed(self) -> dict[str, Any] | None:
        """This category's IncludeInResult attributes, as the response's `Category` entry."""
        return _echoed(self.category_id, self.attributes)


@dataclass(frozen=True)
class Item:
    """One individual decision request of an XACML request, or why it cannot be decided."""

    request: DecisionRequest | RequestSyntaxError
    echoed: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ParsedRequest:
    items: tuple[Item, ...]
    return_policy_ids: bool
    #: `CombinedDecision`: answer all items with one result (the XACML multiple decision profile).
    combined: bool = False


#: One schema for every request: building marshmallow schemas costs more than loading with them.
_REQUEST_SCHEMA = XacmlRequestSchema()


def parse(body: Any) -> ParsedRequest:
    """Read an XACML JSON request into individual decision requests, in result order."""
    try:
        request = xacml_fast.load(body)
        if request is None:
            request = load_with_schema(body)
        common = _common_items(request)
        if common is not None:
            return ParsedRequest(common, request["ReturnPolicyIdList"], request["CombinedDecision"])
        categories = _categories(request)
    except RequestSyntaxError as error:
        return ParsedRequest((Item(error),), return_policy_ids=False)
    except ValidationError as error:
        message = "; ".join(str(problem) for problem in problems_from_messages("", error.messages))
        return ParsedRequest((Item(RequestSyntaxError(message)),), return_policy_ids=False)
    return_ids, combined = request["ReturnPolicyIdList"], request["CombinedDecision"]
    references = request.get("MultiRequests", {}).get("RequestReference")
    if references is None:
        return ParsedRequest((_single(categories),), return_ids, combined)
    by_id = {category.id: category for category in categories if category.id is not None}
    items = tuple(_referenced(by_id, reference) for reference in references)
    return ParsedRequest(items, return_ids, combined)


def load_with_schema(body: Any) -> dict[str, Any]:
    """The body's `Request`, keys made canonical and loaded with the schema: what every request
    went through before `pdp.xacml_fast`, and still what any request it declines goes
    through. Raises RequestSyntaxError or ValidationError."""
    return _REQUEST_SCHEMA.load(_canonical_keys(body, "$"))["Request"]


def render(parsed: ParsedRequest, results: Sequence[Result]) -> dict[str, Any]:
    """The XACML JSON response for `results`, one per parsed item, in the same order; or, for
    a CombinedDecision, one result for them all."""
    if parsed.combined:
        return {"Response": [_render_result(combine(results), (), parsed.return_policy_ids)]}
    return {
        "Response": [
            _render_result(result, item.echoed, parsed.return_policy_ids)
            | _renamed_package_advice(item, result)
            for item, result in zip(parsed.items, results, strict=True)
        ]
    }


def render_json(parsed: ParsedRequest, results: Sequence[Result]) -> bytes:
    """`render` as the body of the HTTP answer: compact JSON with sorted keys and a final
    newline, as Flask's `jsonify` writes it, by orjson in a tenth of the time (non-ASCII
    characters are written as UTF-8 rather than escaped)."""
    return orjson.dumps(render(parsed, results), option=_JSON_OPTIONS)


_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


def _renamed_package_advice(item: Item, result: Result) -> dict[str, Any]:
    """Advice naming the package's current URN when the request used a former one."""
    if (
        result.package is None
        or not isinstance(item.request, DecisionRequest)
        or item.request.package == result.package  # the usual case, and cheap to see
    ):
        return {}
    named = package_urn_form(item.request.package)
    if named is None or named.casefold() == result.package.casefold():
        return {}
    return {
        "AssociatedAdvice": [
            {
                "Id": PACKAGE_RENAMED_ADVICE,
                "AttributeAssignment": [
                    {
                        "AttributeId": PACKAGE_ID,
                        "Category": RESOURCE_CATEGORY,
                        "DataType": XML_STRING,
                        "Value": result.package,
                    }
                ],
            }
        ]
    }


def combine(results: Sequence[Result]) -> Result:
    """One decision for many: the shared decision when every result has it with status ok,
    otherwise Indeterminate (XACML 3.0 multiple decision profile, section 3)."""
    first = results[0]
    if all(r.decision == first.decision and r.status == STATUS_OK for r in results):
        policies = {policy.uid: policy for result in results for policy in result.policies}
        return Result(first.decision, policies=tuple(policies.values()), version=first.version)
    return Result(
        INDETERMINATE,
        STATUS_PROCESSING_ERROR,
        "CombinedDecision: the individual decisions differ or one could not be made",
        version=first.version,
    )


def _render_result(
    result: Result, echoed: tuple[dict[str, Any], ...], return_policy_ids: bool
) -> dict[str, Any]:
    status: dict[str, Any] = {"StatusCode": {"Value": result.status}}
    if result.message and result.status != STATUS_OK:
        status["StatusMessage"] = result.message
    rendered: dict[str, Any] = {"Decision": result.decision, "Status": status}
    if return_policy_ids and result.version is not None:
        version = str(result.version)
        rendered["PolicyIdentifierList"] = {
            "PolicyIdReference": [
                {"Id": policy.uid, "Version": version} for policy in result.policies
            ],
            "PolicySetIdReference": [{"Id": "pdp:policy-set", "Version": version}],
        }
    if echoed:
        rendered["Category"] = list(echoed)
    return rendered


# --- reading the common request -------------------------------------------------------------
#
# Nearly every request PEPs send is well-formed: each item names one subject, one party, one
# package and one action, all strings. `_common_items` reads such a request in one pass over its
# attributes, and declines (None) any other, which the general reader below reads instead, with
# its messages. tests/test_xacml_fast.py compares the two on thousands of random requests.

_PERSON, _ORGANIZATION, _PACKAGE, _ACTION, _ROLECODE, _CCR_ROLE = (
    attribute_id.casefold()
    for attribute_id in (
        PERSON_ID,
        ORGANIZATION_ID,
        PACKAGE_ID,
        ACTION_ID,
        ROLECODE_ID,
        CCR_ROLE_ID,
    )
)
#: The attributes an item reads from each kind of category, by case-folded AttributeId.
_READ = {
    SUBJECT_CATEGORY: frozenset({_PERSON, _ORGANIZATION, _ROLECODE, _CCR_ROLE}),
    RESOURCE_CATEGORY: frozenset({_PACKAGE, _ORGANIZATION}),
    ACTION_CATEGORY: frozenset({_ACTION}),
}
_ITEM_CATEGORIES = (SUBJECT_CATEGORY, RESOURCE_CATEGORY, ACTION_CATEGORY)

#: A category as an item reads it: values by case-folded AttributeId, and its echoed entry.
_Read = tuple[dict[str, list[Any]], dict[str, Any] | None]


class _Uncommon(Exception):
    """Not the common request: the general reader reads it."""


def _common_items(request: Mapping[str, Any]) -> tuple[Item, ...] | None:
    """The items of a loaded request of which every item is a decision request, or None."""
    if "Category" in request:
        return None
    try:
        by_kind: dict[str, list[_Read]] = {}
        by_id: dict[str, tuple[str, _Read]] = {}
        for member, category_id in _SHORTHAND_CATEGORIES.items():
            for entry in request.get(member) or []:
                read = _read(category_id, entry["Attribute"])
                by_kind.setdefault(category_id, []).append(read)
                identifier = entry.get("Id")
                if identifier is not None:
                    if identifier in by_id:
                        raise _Uncommon
                    by_id[identifier] = (category_id, read)
        references = request.get("MultiRequests", {}).get("RequestReference")
        if references is None:
            return (_common_item(*(_only(by_kind.get(kind, [])) for kind in _ITEM_CATEGORIES)),)
        return tuple(
            _common_item(*_picked(by_id, reference["ReferenceId"])) for reference in references
        )
    except _Uncommon:
        return None


def _read(category_id: str, attributes: Sequence[Mapping[str, Any]]) -> _Read:
    wanted = _READ.get(category_id, frozenset())
    values: dict[str, list[Any]] = {}
    echoes = False
    for attribute in attributes:
        echoes = echoes or attribute["IncludeInResult"]
        folded = attribute["AttributeId"].casefold()
        if folded in wanted:
            if not _string_typed(attribute):
                raise _Uncommon
            value = attribute["Value"]
            values.setdefault(folded, []).extend(value if isinstance(value, list) else [value])
    return values, _echoed(category_id, attributes) if echoes else None


def _only(reads: list[_Read]) -> _Read:
    if len(reads) != 1:
        raise _Uncommon
    return reads[0]


def _picked(by_id: Mapping[str, tuple[str, _Read]], ids: Sequence[str]) -> list[_Read]:
    """The subject, resource and action a reference picks, exactly one of each."""
    chosen: dict[str, _Read] = {}
    for reference_id in ids:
        if reference_id not in by_id:
            raise _Uncommon
        kind, read = by_id[reference_id]
        if kind in chosen:
            raise _Uncommon
        chosen[kind] = read
    try:
        return [chosen[kind] for kind in _ITEM_CATEGORIES]
    except KeyError:
        raise _Uncommon from None


def _common_item(subject_read: _Read, resource_read: _Read, action_read: _Read) -> Item:
    subject_values, resource_values = subject_read[0], resource_read[0]
    people = subject_values.get(_PERSON, [])
    organizations = subject_values.get(_ORGANIZATION, [])
    if len(people) + len(organizations) != 1:
        raise _Uncommon
    kind, identifier = (PERSON, people[0]) if people else (ORGANIZATION, organizations[0])
    claims = None
    if _ROLECODE in subject_values or _CCR_ROLE in subject_values:
        claims = tuple(
            RoleClaim(attribute_id, _common_string(value))
            for attribute_id, folded in (
                (ROLECODE_ID, _ROLECODE),
                (CCR_ROLE_ID, _CCR_ROLE),
            )
            for value in subject_values.get(folded, [])
        )
    try:
        request = DecisionRequest(
            subject=_checked_subject(kind, _common_string(identifier)),
            party=_checked_organization_number(_one_string(resource_values, _ORGANIZATION)),
            package=_one_string(resource_values, _PACKAGE),
            action=_one_string(action_read[0], _ACTION),
            role_claims=claims,
        )
    except InvalidIdentifier:
        raise _Uncommon from None
    echoed = tuple(
        read[1] for read in (subject_read, resource_read, action_read) if read[1] is not None
    )
    return Item(request, echoed)


def _one_string(values: Mapping[str, list[Any]], folded: str) -> str:
    found = values.get(folded, [])
    if len(found) != 1:
        raise _Uncommon
    return _common_string(found[0])


def _common_string(value: Any) -> str:
    if not isinstance(value, str):
        raise _Uncommon
    return value


# --- reading --------------------------------------------------------------------------------


def _canonical_keys(value: Any, path: str) -> Any:
    """A copy of `value` with every known key in its canonical casing; clashes are refused."""
    if isinstance(value, list):
        return [_canonical_keys(item, f"{path}[{index}]") for index, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, item in value.items():
        canonical = _CANONICAL_KEYS.get(key.casefold(), key) if isinstance(key, str) else key
        if canonical in result:
            raise RequestSyntaxError(f"{path}: key {canonical!r} appears more than once")
        result[canonical] = _canonical_keys(item, f"{path}.{canonical}")
    return result


def _categories(request: Mapping[str, Any]) -> list[Category]:
    """Every category of the request, shorthand members and `Category` entries alike."""
    categories: list[Category] = []
    for member, category_id in _SHORTHAND_CATEGORIES.items():
        for entry in request.get(member) or []:
            categories.append(Category(category_id, entry.get("Id"), tuple(entry["Attribute"])))
    for index, entry in enumerate(request.get("Category") or []):
        if "CategoryId" not in entry:
            raise RequestSyntaxError(f"Request.Category[{index}]: missing CategoryId")
        category_id = _SHORTHAND_CATEGORIES.get(entry["CategoryId"], entry["CategoryId"])
        categories.append(Category(category_id, entry.get("Id"), tuple(entry["Attribute"])))
    counts = Counter(category.id for category in categories if category.id is not None)
    duplicates = sorted(category_id for category_id, count in counts.items() if count > 1)
    if duplicates:
        raise RequestSyntaxError(f"category Id used more than once: {', '.join(duplicates)}")
    return categories


def _single(categories: list[Category]) -> Item:
    """The one decision of a request without MultiRequests."""
    return _decision_item(
        categories,
        lambda count, name: (
            f"the request has {count} {name} categories; give exactly one, or use MultiRequests"
        ),
    )


def _referenced(by_id: Mapping[str, Category], reference: Mapping[str, Any]) -> Item:
    """The decision one `RequestReference` picks out of the categories by their Id."""
    ids = reference["ReferenceId"]
    unknown = [reference_id for reference_id in ids if reference_id not in by_id]
    if unknown:
        return Item(
            RequestSyntaxError(f"RequestReference names unknown category Id {unknown[0]!r}")
        )
    return _decision_item(
        [by_id[reference_id] for reference_id in ids],
        lambda count, name: (
            f"RequestReference {ids} picks {count} {name} categories; it must pick exactly one"
        ),
    )


def _decision_item(candidates: list[Category], mismatch: Callable[[int | str, str], str]) -> Item:
    """The decision of the one subject, resource and action among `candidates`; if there is not
    exactly one of each, `mismatch(count, category name)` says why."""
    chosen = []
    for category_id in (SUBJECT_CATEGORY, RESOURCE_CATEGORY, ACTION_CATEGORY):
        found = [category for category in candidates if category.category_id == category_id]
        if len(found) != 1:
            message = mismatch(len(found) or "no", _CATEGORY_NAMES[category_id])
            return Item(RequestSyntaxError(message))
        chosen.append(found[0])
    return _item(*chosen)


def _item(subject_category: Category, resource: Category, action: Category) -> Item:
    echoed = tuple(
        entry
        for entry in (subject_category.echoed(), resource.echoed(), action.echoed())
        if entry is not None
    )
    try:
        request = DecisionRequest(
            subject=_subject(subject_category),
            party=_party(resource),
            package=_single_string(resource, PACKAGE_ID, "Resource"),
            action=_single_string(action, ACTION_ID, "Action"),
            role_claims=_role_claims(subject_category),
        )
    except RequestSyntaxError as error:
        return Item(error, echoed)
    return Item(request, echoed)


def _subject(category: Category) -> Subject:
    found = [
        (kind, attribute_id, value)
        for kind, attribute_id in (
            (PERSON, PERSON_ID),
            (ORGANIZATION, ORGANIZATION_ID),
        )
        for value in category.values(attribute_id)
    ]
    if not found:
        others = sorted({attribute["AttributeId"] for attribute in category.attributes})
        got = f"; got {', '.join(others)}" if others else ""
        raise RequestSyntaxError(f"AccessSubject has no {PERSON_ID} or {ORGANIZATION_ID}{got}")
    if len(found) > 1:
        raise RequestSyntaxError(
            "AccessSubject is ambiguous: give exactly one person or organisation identifier"
        )
    kind, attribute_id, value = found[0]
    try:
        return _checked_subject(kind, value) if isinstance(value, str) else subject(kind, value)
    except InvalidIdentifier as error:
        raise RequestSyntaxError(f"AccessSubject {attribute_id}: {error}") from None


def _party(resource: Category) -> str:
    value = _single_string(resource, ORGANIZATION_ID, "Resource")
    try:
        return _checked_organization_number(value)
    except InvalidIdentifier as error:
        raise RequestSyntaxError(f"Resource {ORGANIZATION_ID}: {error}") from None


# Identifiers found valid are remembered (a failed check raises, and is never remembered): the
# same people and parties ask again and again, and checking check digits costs more than all
# the rest of reading a request item.
_checked_subject = functools.lru_cache(maxsize=65536)(subject)
_checked_organization_number = functools.lru_cache(maxsize=65536)(validate_organization_number)


def _role_claims(category: Category) -> tuple[RoleClaim, ...] | None:
    claims = [
        RoleClaim(attribute_id, _string(value, f"AccessSubject {attribute_id}"))
        for attribute_id in (ROLECODE_ID, CCR_ROLE_ID)
        for value in category.values(attribute_id)
    ]
    return tuple(claims) if claims else None


def _single_string(category: Category, attribute_id: str, where: str) -> str:
    values = category.values(attribute_id)
    if not values:
        raise RequestSyntaxError(f"{where} has no {attribute_id} attribute")
    if len(values) > 1:
        raise RequestSyntaxError(f"{where} {attribute_id} must have one value, got {len(values)}")
    return _string(values[0], f"{where} {attribute_id}")


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise RequestSyntaxError(
            f"{where}: value must be a string, got {type(value).__name__} {value!r}"
        )
    return value


def _check_string_type(category: Category, attribute: Mapping[str, Any]) -> None:
    if not _string_typed(attribute):
        where = _CATEGORY_NAMES.get(category.category_id, category.category_id)
        raise RequestSyntaxError(
            f"{where} {attribute['AttributeId']}: DataType must be "
            f"http://www.w3.org/2001/XMLSchema#string, got {attribute['DataType']!r}"
        )


def _string_typed(attribute: Mapping[str, Any]) -> bool:
    """Whether the attribute's DataType, if it names one, is a string type."""
    data_type = attribute.get("DataType")
    return data_type is None or data_type in STRING_TYPES


def _echoed(category_id: str, attributes: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """A category's IncludeInResult attributes, as the response's `Category` entry."""
    echoed = [
        {key: attribute[key] for key in ("AttributeId", "Value", "DataType") if key in attribute}
        | {"IncludeInResult": True}
        for attribute in attributes
        if attribute.get("IncludeInResult")
    ]
    return {"CategoryId": category_id, "Attribute": echoed} if echoed else None

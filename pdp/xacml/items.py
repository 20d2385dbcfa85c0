"""A read request's categories into individual decision requests: one per RequestReference, or
one for a request without MultiRequests.

Each item needs exactly one subject, one resource and one action category. From them it reads
the subject's person or organisation identifier (one, checked with its mod-11 check digits),
the resource's party (an organisation number, checked) and package, the action, and any roles
the subject states; every attribute read must have a string DataType (or none). What cannot be
read becomes the item's RequestSyntaxError, naming the problem; other items are unaffected.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from pdp.engine import DecisionRequest, RoleClaim
from pdp.errors import RequestSyntaxError
from pdp.identifiers import InvalidIdentifier, validate_organization_number
from pdp.subjects import ORGANIZATION, PERSON, Subject, subject
from pdp.vocabulary import (
    ACTION_CATEGORY,
    ACTION_ID,
    CCR_ROLE_ID,
    ORGANIZATION_ID,
    PACKAGE_ID,
    PERSON_ID,
    RESOURCE_CATEGORY,
    ROLECODE_ID,
    SHORTHAND_CATEGORIES,
    STRING_TYPES,
    SUBJECT_CATEGORY,
)
from pdp.xacml.model import Category, Item

#: The shorthand member each category is named by in messages.
_CATEGORY_NAMES = {category_id: name for name, category_id in SHORTHAND_CATEGORIES.items()}
_ITEM_CATEGORIES = (SUBJECT_CATEGORY, RESOURCE_CATEGORY, ACTION_CATEGORY)


def decision_items(
    categories: Sequence[Category], references: Sequence[Sequence[str]] | None
) -> tuple[Item, ...]:
    """The items of a request with these categories and, for MultiRequests, these references
    (ReferenceIds each). Raises RequestSyntaxError when two categories share an Id."""
    by_id: dict[str, Category] = {}
    duplicates = set()
    for category in categories:
        if category.id is not None:
            if category.id in by_id:
                duplicates.add(category.id)
            by_id[category.id] = category
    if duplicates:
        raise RequestSyntaxError(
            f"category Id used more than once: {', '.join(sorted(duplicates))}"
        )
    readings: dict[int, _Reading] = {}
    if references is None:
        return (_single(categories, readings),)
    # A reference that picks the same categories as an earlier one is the same item.
    made: dict[tuple[str, ...], Item] = {}
    items = []
    for ids in references:
        item = made.get(ids)  # type: ignore[call-overload]
        if item is None:
            item = made[ids] = _referenced(by_id, list(ids), readings)  # type: ignore[index]
        items.append(item)
    return tuple(items)


def _single(categories: Sequence[Category], readings: dict[int, _Reading]) -> Item:
    """The one decision of a request without MultiRequests."""
    return _decision_item(
        categories,
        readings,
        lambda count, name: (
            f"the request has {count} {name} categories; give exactly one, or use MultiRequests"
        ),
    )


def _referenced(by_id: dict[str, Category], ids: list[str], readings: dict[int, _Reading]) -> Item:
    """The decision one `RequestReference` picks out of the categories by their Id."""
    unknown = [reference_id for reference_id in ids if reference_id not in by_id]
    if unknown:
        return Item(
            RequestSyntaxError(f"RequestReference names unknown category Id {unknown[0]!r}")
        )
    return _decision_item(
        [by_id[reference_id] for reference_id in ids],
        readings,
        lambda count, name: (
            f"RequestReference {ids} picks {count} {name} categories; it must pick exactly one"
        ),
    )


def _decision_item(
    candidates: Sequence[Category],
    readings: dict[int, _Reading],
    mismatch: Callable[[int | str, str], str],
) -> Item:
    """The decision of the one subject, resource and action among `candidates`; if there is not
    exactly one of each, `mismatch(count, category name)` says why."""
    chosen = []
    for category_id in _ITEM_CATEGORIES:
        found = [category for category in candidates if category.category_id == category_id]
        if len(found) != 1:
            name = _CATEGORY_NAMES[category_id]
            return Item(RequestSyntaxError(mismatch(len(found) or "no", name)))
        reading = readings.get(id(found[0]))
        if reading is None:
            reading = readings[id(found[0])] = _Reading(found[0])
        chosen.append(reading)
    return _item(*chosen)


class _Reading:
    """A category as items read it, once however many items pick it: the values of its
    attributes by case-folded AttributeId, bags flattened; for each such id, its first
    attribute without a string DataType, if any; and its IncludeInResult echo."""

    __slots__ = ("category", "echo", "mistyped", "values")

    def __init__(self, category: Category):
        self.category = category
        self.values: dict[str, list[Any]] = {}
        self.mistyped: dict[str, dict[str, Any]] = {}
        echoed = []
        for attribute in category.attributes:
            folded = attribute["AttributeId"].casefold()
            data_type = attribute.get("DataType")
            if data_type is not None and data_type not in STRING_TYPES:
                self.mistyped.setdefault(folded, attribute)
            value = attribute["Value"]
            if type(value) is list:
                self.values.setdefault(folded, []).extend(value)
            else:
                self.values.setdefault(folded, []).append(value)
            if attribute["IncludeInResult"]:
                echoed.append(
                    {
                        key: attribute[key]
                        for key in ("AttributeId", "Value", "DataType")
                        if key in attribute
                    }
                    | {"IncludeInResult": True}
                )
        self.echo = {"CategoryId": category.category_id, "Attribute": echoed} if echoed else None

    def get(self, folded: str) -> list[Any]:
        """All values of the attributes whose AttributeId folds to `folded`; each such
        attribute must have a string DataType (or none)."""
        attribute = self.mistyped.get(folded)
        if attribute is not None:
            category_id = self.category.category_id
            raise RequestSyntaxError(
                f"{_CATEGORY_NAMES.get(category_id, category_id)} {attribute['AttributeId']}: "
                f"DataType must be http://www.w3.org/2001/XMLSchema#string, "
                f"got {attribute['DataType']!r}"
            )
        return self.values.get(folded, _NONE)


_NONE: list[Any] = []


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


def _item(subject_read: _Reading, resource_read: _Reading, action_read: _Reading) -> Item:
    echoed = tuple(
        reading.echo for reading in (subject_read, resource_read, action_read) if reading.echo
    )
    try:
        request = DecisionRequest(
            subject=_subject(subject_read),
            party=_party(resource_read),
            package=_single_string(resource_read, _PACKAGE, PACKAGE_ID),
            action=_single_string(action_read, _ACTION, ACTION_ID),
            role_claims=_role_claims(subject_read),
        )
    except RequestSyntaxError as error:
        return Item(error, echoed)
    return Item(request, echoed)


def _subject(reading: _Reading) -> Subject:
    people, organizations = reading.get(_PERSON), reading.get(_ORGANIZATION)
    if len(people) + len(organizations) != 1:
        if not people and not organizations:
            attributes = reading.category.attributes
            others = sorted({attribute["AttributeId"] for attribute in attributes})
            got = f"; got {', '.join(others)}" if others else ""
            raise RequestSyntaxError(f"AccessSubject has no {PERSON_ID} or {ORGANIZATION_ID}{got}")
        raise RequestSyntaxError(
            "AccessSubject is ambiguous: give exactly one person or organisation identifier"
        )
    kind, attribute_id, value = (
        (PERSON, PERSON_ID, people[0])
        if people
        else (ORGANIZATION, ORGANIZATION_ID, organizations[0])
    )
    try:
        return _checked_subject(kind, value) if type(value) is str else subject(kind, value)
    except InvalidIdentifier as error:
        raise RequestSyntaxError(f"AccessSubject {attribute_id}: {error}") from None


def _party(reading: _Reading) -> str:
    value = _single_string(reading, _ORGANIZATION, ORGANIZATION_ID)
    try:
        return _checked_organization_number(value)
    except InvalidIdentifier as error:
        raise RequestSyntaxError(f"Resource {ORGANIZATION_ID}: {error}") from None


# Identifiers found valid are remembered (a failed check raises, and is never remembered): the
# same people and parties ask again and again, and checking check digits costs more than all
# the rest of reading a request item.
_checked_subject = functools.lru_cache(maxsize=65536)(subject)
_checked_organization_number = functools.lru_cache(maxsize=65536)(validate_organization_number)


def _role_claims(reading: _Reading) -> tuple[RoleClaim, ...] | None:
    """The roles the subject states, if it states any: an empty bag states none (and so
    holds none, rather than the register's)."""
    if _ROLECODE not in reading.values and _CCR_ROLE not in reading.values:
        return None
    return tuple(
        RoleClaim(attribute_id, _string(value, f"AccessSubject {attribute_id}"))
        for attribute_id, folded in ((ROLECODE_ID, _ROLECODE), (CCR_ROLE_ID, _CCR_ROLE))
        for value in reading.get(folded)
    )


def _single_string(reading: _Reading, folded: str, attribute_id: str) -> str:
    where = _CATEGORY_NAMES[reading.category.category_id]
    values = reading.get(folded)
    if len(values) != 1:
        if not values:
            raise RequestSyntaxError(f"{where} has no {attribute_id} attribute")
        raise RequestSyntaxError(f"{where} {attribute_id} must have one value, got {len(values)}")
    return _string(values[0], f"{where} {attribute_id}")


def _string(value: Any, where: str) -> str:
    if type(value) is not str:
        raise RequestSyntaxError(
            f"{where}: value must be a string, got {type(value).__name__} {value!r}"
        )
    return value

"""A read request's categories into individual decision requests: one per RequestReference, or
one for a request without MultiRequests.

Each item needs exactly one subject, one resource and one action category. An item whose
resource names an access package (`urn:altinn:accesspackage`) asks whether the subject holds
it (`DecisionRequest`): from the categories it reads the subject's person or organisation
identifier (one, checked with its mod-11 check digits), the resource's party (an organisation
number, checked) and package, the action, and any roles the subject states. Any other item asks
about a service resource (`ResourceRequest`, `urn:altinn:resource`, or `urn:altinn:org` and
`urn:altinn:app` for an app): the subject by any of Altinn's identifiers (a system user's alone),
the party, the action, and every attribute as given, for the resource's policy to match. Every
identifier is checked for its form under the configured `IdentifierRules`; every attribute read
must have a string DataType (or none).

What cannot be read becomes the item's `Unreadable`, naming the problem; other items are
unaffected. Where Altinn's PDP pins the answer for service requests (no subject or no resource,
a system user named beside other subject attributes) it is Indeterminate with
processing-error, and in a MultiRequests that one result answers the whole request, as there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from pdp.engine.request import (
    DecisionRequest,
    GivenAttributes,
    Request,
    ResourceRequest,
    RoleClaim,
    Unreadable,
)
from pdp.errors import RequestSyntaxError
from pdp.identifiers import CHECKED, IdentifierRules, InvalidIdentifier, validate_uuid
from pdp.identities import Identifier
from pdp.resource_policies import APP_RESOURCE_PREFIX, RESOURCE_ID_PATTERN
from pdp.subjects import ORGANIZATION, PERSON, Subject
from pdp.vocabulary import (
    ACTION_CATEGORY,
    ACTION_ID,
    APP_ID,
    CCR_ROLE_ID,
    ENVIRONMENT_CATEGORY,
    LEGACY_ORGANIZATION_NUMBER_ID,
    ORG_ID,
    ORGANIZATION_ID,
    PACKAGE_ID,
    PARTY_UUID_ID,
    PARTYID_ID,
    PERSON_ID,
    PERSON_UUID_ID,
    READ_ATTRIBUTE_IDS,
    RESOURCE_CATEGORY,
    RESOURCE_ID,
    ROLECODE_ID,
    SHORTHAND_CATEGORIES,
    STATUS_PROCESSING_ERROR,
    SUBJECT_CATEGORY,
    SYSTEM_USER_UUID_ID,
    USERID_ID,
    XML_STRING,
    ascii_lower,
    typed_values,
)
from pdp.xacml.model import Category, Item

#: The shorthand member each category is named by in messages.
_CATEGORY_NAMES = {category_id: name for name, category_id in SHORTHAND_CATEGORIES.items()}
_ITEM_CATEGORIES = (SUBJECT_CATEGORY, RESOURCE_CATEGORY, ACTION_CATEGORY)


def decision_items(
    categories: Sequence[Category],
    references: Sequence[Sequence[str]] | None,
    rules: IdentifierRules = CHECKED,
) -> tuple[Item, ...]:
    """The items of a request with these categories and, for MultiRequests, these references
    (ReferenceIds each), identifiers checked under `rules`. Raises RequestSyntaxError when two
    categories share an Id."""
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
    for_a_package = _asks_for_a_package(categories)
    if references is None:
        return (_single(categories, rules, for_a_package),)
    # A reference that picks the same categories as an earlier one is the same item.
    made: dict[tuple[str, ...], Item] = {}
    items = []
    for ids in references:
        item = made.get(ids)  # type: ignore[call-overload]
        if item is None:
            item = made[ids] = _referenced(  # type: ignore[index]
                by_id, ids, rules, for_a_package
            )
            request = item.request
            if type(request) is Unreadable and request.status == STATUS_PROCESSING_ERROR:
                # Altinn's PDP answers a MultiRequests with one result when a part of it is
                # missing or mixed up (a processing-error): so does this one.
                return (item,)
        items.append(item)
    return tuple(items)


def _single(
    categories: Sequence[Category],
    rules: IdentifierRules,
    for_a_package: bool,
) -> Item:
    """The one decision of a request without MultiRequests."""
    return _decision_item(
        categories,
        rules,
        for_a_package,
        lambda count, name: (
            f"the request has {count} {name} categories; give exactly one, or use MultiRequests"
        ),
    )


def _referenced(
    by_id: dict[str, Category],
    ids: Sequence[str],
    rules: IdentifierRules,
    for_a_package: bool,
) -> Item:
    """The decision one `RequestReference` picks out of the categories by their Id."""
    try:
        candidates = [by_id[reference_id] for reference_id in ids]
    except KeyError:
        unknown = next(reference_id for reference_id in ids if reference_id not in by_id)
        return Item(
            _unreadable(f"RequestReference names unknown category Id {unknown!r}", for_a_package)
        )
    return _decision_item(
        candidates,
        rules,
        for_a_package,
        lambda count, name: (
            f"RequestReference {list(ids)} picks {count} {name} categories; it must pick "
            "exactly one"
        ),
    )


def _decision_item(
    candidates: Sequence[Category],
    rules: IdentifierRules,
    for_a_package: bool,
    mismatch: Callable[[int | str, str], str],
) -> Item:
    """The decision of the one subject, resource and action among `candidates` (and the
    environment, if one is among them); if there is not exactly one of each, `mismatch(count,
    category name)` says why (with the statuses of a package request when the request asks
    about one, else Altinn's)."""
    picked: dict[str, Category] = {}
    for category in candidates:
        if category.category_id in picked:
            break
        picked[category.category_id] = category
    else:
        subject = picked.get(SUBJECT_CATEGORY)
        resource = picked.get(RESOURCE_CATEGORY)
        action = picked.get(ACTION_CATEGORY)
        if subject is not None and resource is not None and action is not None:
            return _item(subject, resource, action, picked.get(ENVIRONMENT_CATEGORY), rules)
    # Not one of each (or a category given twice): counted, to say which.
    chosen = []
    for category_id in _ITEM_CATEGORIES:
        found = [category for category in candidates if category.category_id == category_id]
        if len(found) != 1:
            name = _CATEGORY_NAMES[category_id]
            return Item(_unreadable(mismatch(len(found) or "no", name), for_a_package))
        chosen.append(found[0])
    environments = [c for c in candidates if c.category_id == ENVIRONMENT_CATEGORY]
    if len(environments) > 1:
        return Item(_unreadable(mismatch(len(environments), "Environment"), for_a_package))
    return _item(*chosen, environments[0] if environments else None, rules)


def _asks_for_a_package(candidates: Sequence[Category]) -> bool:
    """Whether a request with these categories asks about an access package (a resource
    category names one): the question this PDP answered before service resources, with its
    own statuses."""
    return any(
        _PACKAGE in category.values
        for category in candidates
        if category.category_id == RESOURCE_CATEGORY
    )


def _unreadable(message: str, asks_for_a_package: bool) -> Unreadable:
    """A request that could not be read: syntax-error, or, for a service resource request,
    processing-error as Altinn's PDP answers a request that lacks a part."""
    if asks_for_a_package:
        return Unreadable(message)
    return Unreadable(message, STATUS_PROCESSING_ERROR)


def _values(category: Category, folded: str) -> list[Any]:
    """All values of the category's attributes whose AttributeId folds to `folded`; each such
    attribute must have a string DataType (or none)."""
    if not category.mistyped:  # nearly always: no attribute names another data type
        return category.values.get(folded, _NONE)
    attribute = category.mistyped.get(folded)
    if attribute is not None:
        category_id = category.category_id
        raise RequestSyntaxError(
            f"{_CATEGORY_NAMES.get(category_id, category_id)} {attribute['AttributeId']}: "
            f"DataType must be http://www.w3.org/2001/XMLSchema#string, "
            f"got {attribute['DataType']!r}"
        )
    return category.values.get(folded, _NONE)


def _echo(category: Category) -> dict[str, Any]:
    """The result's `Category` entry echoing the category's IncludeInResult attributes."""
    return {"CategoryId": category.category_id, "Attribute": list(category.echoed)}


_NONE: list[Any] = []


_PERSON, _ORGANIZATION, _PACKAGE, _ACTION, _ROLECODE, _CCR_ROLE, _RESOURCE, _ORG, _APP = (
    ascii_lower(attribute_id)
    for attribute_id in (
        PERSON_ID,
        ORGANIZATION_ID,
        PACKAGE_ID,
        ACTION_ID,
        ROLECODE_ID,
        CCR_ROLE_ID,
        RESOURCE_ID,
        ORG_ID,
        APP_ID,
    )
)
#: The attribute ids that name the subject of a service resource request, in the order they
#: are read (by lower-cased id).
_SUBJECT_IDENTIFIERS = {
    ascii_lower(attribute_id): attribute_id
    for attribute_id in (
        SYSTEM_USER_UUID_ID,
        PERSON_ID,
        USERID_ID,
        PERSON_UUID_ID,
        ORGANIZATION_ID,
        LEGACY_ORGANIZATION_NUMBER_ID,
        PARTY_UUID_ID,
        PARTYID_ID,
    )
}
#: The attribute ids that name the party of a service resource request, the first given read.
_PARTY_IDENTIFIERS = {
    ascii_lower(attribute_id): attribute_id
    for attribute_id in (
        PARTYID_ID,
        PARTY_UUID_ID,
        ORGANIZATION_ID,
        LEGACY_ORGANIZATION_NUMBER_ID,
        PERSON_ID,
    )
}
#: Every attribute id the reader reads, by its folded spelling: given attributes are passed on
#: under these spellings.
_READ_IDS = {ascii_lower(attribute_id): attribute_id for attribute_id in READ_ATTRIBUTE_IDS}
#: Subject attributes the PIP owns: a request may not state them for a service resource.
_OWNED_BY_THE_PIP = {ascii_lower(attribute_id): attribute_id for attribute_id in (PACKAGE_ID,)}
_STATED_ROLES = {_ROLECODE: ROLECODE_ID, _CCR_ROLE: CCR_ROLE_ID}


class _Pinned(Exception):
    """A service resource request lacking a part Altinn's PDP requires, or mixing a system user
    with other subject attributes: Indeterminate with processing-error there, and here."""


def _item(
    subject_category: Category,
    resource_category: Category,
    action_category: Category,
    environment_category: Category | None,
    rules: IdentifierRules,
) -> Item:
    echoed = (
        tuple(_echo(c) for c in (subject_category, action_category, resource_category) if c.echoed)
        if subject_category.echoed or action_category.echoed or resource_category.echoed
        else ()
    )
    request: Request
    try:
        if _PACKAGE in resource_category.values:
            if _RESOURCE in resource_category.values or _ORG in resource_category.values:
                raise RequestSyntaxError(
                    f"Resource names both an access package ({PACKAGE_ID}) and a service "
                    f"resource ({RESOURCE_ID} or {ORG_ID}): ask about one of them"
                )
            request = DecisionRequest(
                subject=_subject(subject_category, rules),
                party=_party(resource_category, rules),
                package=_single_string(resource_category, _PACKAGE, PACKAGE_ID),
                action=_single_string(action_category, _ACTION, ACTION_ID),
                role_claims=_role_claims(subject_category),
            )
        else:
            request = _resource_request(
                subject_category, resource_category, action_category, environment_category, rules
            )
    except RequestSyntaxError as error:
        request = Unreadable(str(error))
    except _Pinned as error:
        request = Unreadable(str(error), STATUS_PROCESSING_ERROR)
    return Item(request, echoed)


def _subject(category: Category, rules: IdentifierRules) -> Subject:
    people, organizations = _values(category, _PERSON), _values(category, _ORGANIZATION)
    if len(people) + len(organizations) != 1:
        if not people and not organizations:
            attributes = category.attributes
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
        return Subject(kind, _checked(rules, attribute_id, value))
    except InvalidIdentifier as error:
        raise RequestSyntaxError(f"AccessSubject {attribute_id}: {error}") from None


def _party(category: Category, rules: IdentifierRules) -> str:
    value = _single_string(category, _ORGANIZATION, ORGANIZATION_ID)
    try:
        return _checked(rules, ORGANIZATION_ID, value)
    except InvalidIdentifier as error:
        raise RequestSyntaxError(f"Resource {ORGANIZATION_ID}: {error}") from None


def _resource_request(
    subject_category: Category,
    resource_category: Category,
    action_category: Category,
    environment_category: Category | None,
    rules: IdentifierRules,
) -> ResourceRequest:
    """A service resource request, or the reason it cannot be read."""
    resource = _resource_id(resource_category)
    subject = _subject_identifiers(subject_category, rules)
    for folded, attribute_id in (_OWNED_BY_THE_PIP | _STATED_ROLES).items():
        if folded in subject_category.values:
            raise RequestSyntaxError(
                f"AccessSubject {attribute_id}: a request may not state it for a service "
                "resource; the PDP works out the packages and roles the subject holds for the "
                "party itself"
            )
    party, *other_parties = _party_identifiers(resource_category, rules) or (None,)
    attributes = [
        ("action", _given(action_category)),
        ("resource", _given(resource_category)),
        ("subject", _given(subject_category)),
    ]
    if environment_category is not None:
        attributes.insert(1, ("context", _given(environment_category)))
    return ResourceRequest(
        subject=subject,
        party=party,
        resource=resource,
        action=_single_string(action_category, _ACTION, ACTION_ID),
        attributes=tuple(attributes),
        other_parties=tuple(other_parties),
    )


def _resource_id(category: Category) -> str:
    """The resource id: `urn:altinn:resource`, else `app_<org>_<app>` for an app named by
    `urn:altinn:org` and `urn:altinn:app` (Altinn's own mapping)."""
    named = category.values
    if _RESOURCE in named:
        resource = _single_string(category, _RESOURCE, RESOURCE_ID)
    elif _ORG in named and _APP in named:
        org = _single_string(category, _ORG, ORG_ID)
        resource = f"{APP_RESOURCE_PREFIX}{org}_{_single_string(category, _APP, APP_ID)}"
    else:
        raise RequestSyntaxError(
            f"Resource has no {PACKAGE_ID} or {RESOURCE_ID} (nor {ORG_ID} and {APP_ID}): name "
            "the access package or the service resource"
        )
    if not RESOURCE_ID_PATTERN.match(resource):
        raise RequestSyntaxError(
            f"Resource {RESOURCE_ID}: {resource!r} is not a resource id (lower-case letters, "
            "digits, - and _)"
        )
    return resource


def _subject_identifiers(category: Category, rules: IdentifierRules) -> tuple[Identifier, ...]:
    """Every identifier naming the subject, checked; a system user's must stand alone."""
    found = [
        Identifier(
            attribute_id, _identifier(category, folded, attribute_id, rules, "AccessSubject")
        )
        for folded, attribute_id in _SUBJECT_IDENTIFIERS.items()
        if folded in category.values
    ]
    if not found:
        attributes = sorted({a["AttributeId"] for a in category.attributes})
        got = f"; got {', '.join(attributes)}" if attributes else ""
        raise _Pinned(f"AccessSubject names no subject{got}")
    if found[0].attribute_id == SYSTEM_USER_UUID_ID and len(category.attributes) > 1:
        raise _Pinned(
            f"AccessSubject: {SYSTEM_USER_UUID_ID} must be the only subject attribute, got "
            + ", ".join(a["AttributeId"] for a in category.attributes)
        )
    return tuple(found)


def _party_identifiers(category: Category, rules: IdentifierRules) -> list[Identifier]:
    """Every identifier naming the party the resource is acted on for, checked (they must name
    one party: the engine checks)."""
    return [
        Identifier(attribute_id, _identifier(category, folded, attribute_id, rules, "Resource"))
        for folded, attribute_id in _PARTY_IDENTIFIERS.items()
        if folded in category.values
    ]


def _identifier(
    category: Category, folded: str, attribute_id: str, rules: IdentifierRules, where: str
) -> str:
    value = _single_string(category, folded, attribute_id)
    try:
        return _checked(rules, attribute_id, value)
    except InvalidIdentifier as error:
        raise RequestSyntaxError(f"{where} {attribute_id}: {error}") from None


def _checked(rules: IdentifierRules, attribute_id: str, value: Any) -> str:
    """`value` if it is a well-formed identifier of its kind under `rules`, else raise
    InvalidIdentifier. Strings found valid are remembered (a failed check raises, and is never
    remembered): the same people and parties ask again and again, and checking check digits
    costs more than all the rest of reading a request item."""
    if type(value) is str:
        return _checked_string(rules.check_digits, attribute_id, value)
    return _check(rules, attribute_id, value)


@functools.lru_cache(maxsize=65536)
def _checked_string(check_digits: bool, attribute_id: str, value: str) -> str:
    """`_check` of a string, remembered (keyed by the rules' one setting: cheaper to hash than
    the rules)."""
    return _check(IdentifierRules(check_digits), attribute_id, value)


def _check(rules: IdentifierRules, attribute_id: str, value: Any) -> str:
    if attribute_id == PERSON_ID:
        return rules.national_identity_number(value)
    if attribute_id in (ORGANIZATION_ID, LEGACY_ORGANIZATION_NUMBER_ID):
        return rules.organization_number(value)
    if type(value) is not str:
        raise InvalidIdentifier(f"must be a string, got {type(value).__name__} {value!r}")
    if attribute_id in (USERID_ID, PARTYID_ID):
        if not (value.isascii() and value.isdigit()) or len(value) > 18:
            raise InvalidIdentifier(f"must be a number of at most 18 digits, got {value!r}")
        return value
    return validate_uuid(ascii_lower(value))


def _given(category: Category) -> GivenAttributes:
    """The category's attributes as given, for a policy to match: each id as the reader reads
    it (a known id in any casing is the known id, so that what the reader read is what the
    rules see), with its data type (`typed_values`) and its values of that type."""
    values: dict[tuple[str, str], list[Any]] = {}
    where = _CATEGORY_NAMES.get(category.category_id, category.category_id)
    for attribute in category.attributes:
        attribute_id = attribute["AttributeId"]
        attribute_id = _READ_IDS.get(ascii_lower(attribute_id), attribute_id)
        value = attribute["Value"]
        data_type, typed = typed_values(
            attribute.get("DataType"), value if type(value) is list else [value]
        )
        if typed is None:
            raise RequestSyntaxError(
                f"{where} {attribute_id}: values must be "
                f"{data_type.rsplit('#', 1)[-1]}s as their DataType says, got {value!r}"
            )
        values.setdefault((attribute_id, data_type), []).extend(typed)
    return tuple(
        sorted(
            (attribute_id, data_type, tuple(bag))
            for (attribute_id, data_type), bag in values.items()
        )
    )


def _role_claims(category: Category) -> tuple[RoleClaim, ...] | None:
    """The roles the subject states, if it states any: an empty bag states none (and so
    holds none, rather than the register's)."""
    if _ROLECODE not in category.values and _CCR_ROLE not in category.values:
        return None
    return tuple(
        RoleClaim(attribute_id, _string(value, f"AccessSubject {attribute_id}"))
        for attribute_id, folded in ((ROLECODE_ID, _ROLECODE), (CCR_ROLE_ID, _CCR_ROLE))
        for value in _values(category, folded)
    )


def _single_string(category: Category, folded: str, attribute_id: str) -> str:
    values = _values(category, folded)
    if len(values) == 1 and type(values[0]) is str:
        return values[0]
    where = _CATEGORY_NAMES[category.category_id]
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


# --- for callers that name a service resource request outside the XACML profile -------------


def identifier_named(
    urn: str, *, party: bool = False, rules: IdentifierRules = CHECKED
) -> Identifier:
    """The identifier a URN with its value appended names (`urn:altinn:partyid:50005545`), as
    the subject (or with `party`, the party) of a service resource request: the kinds and the
    checks are the XACML reader's. Raises InvalidIdentifier naming the kinds accepted, or why
    the value is malformed."""
    kinds = _PARTY_IDENTIFIERS if party else _SUBJECT_IDENTIFIERS
    for attribute_id in kinds.values():
        prefix = attribute_id + ":"
        if urn.startswith(prefix):
            return Identifier(attribute_id, _checked(rules, attribute_id, urn.removeprefix(prefix)))
    raise InvalidIdentifier(
        f"{urn!r} must be one of {', '.join(f'{k}:<id>' for k in kinds.values())}"
    )


def resource_request(
    subject: Identifier,
    party: Identifier,
    resource: str,
    action: str,
    environment: GivenAttributes = (),
) -> ResourceRequest:
    """The service resource request of a PEP that names the subject and the party by one
    identifier each, with the attributes as given that the XACML reader would read from it
    (the action's id among them: a resource policy's rules match it there), and the
    environment's attributes, if any."""
    request = ResourceRequest(
        subject=(subject,),
        party=party,
        resource=resource,
        action=action,
        attributes=(
            ("action", ((ACTION_ID, XML_STRING, (action,)),)),
            (
                "resource",
                tuple(
                    sorted(
                        (
                            (RESOURCE_ID, XML_STRING, (resource,)),
                            (party.attribute_id, XML_STRING, (party.value,)),
                        )
                    )
                ),
            ),
            ("subject", ((subject.attribute_id, XML_STRING, (subject.value,)),)),
        ),
    )
    if not environment:
        return request
    return replace(request, attributes=(*request.attributes, ("context", environment)))

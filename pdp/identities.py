"""Who an Altinn identifier names: the PIP's reading of the register for service requests.

PEPs name subjects and parties by national identity and organisation numbers, and also by
Altinn's own identifiers: user ids, party ids and UUIDs, person UUIDs, system user UUIDs. A
decision needs the person, organisation or system user behind the identifier (roles and
packages are held by them), and a policy may match any identifier of it: a policy naming
`urn:altinn:organizationnumber` must match a subject named by
`urn:altinn:organization:identifier-no`. So each identifier is looked up once, and answered
with the subject and every identifier the register knows for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from pdp.register import Organization, Person, Register, SystemUser
from pdp.subjects import ORGANIZATION, PERSON, SYSTEM_USER, Subject
from pdp.vocabulary import (
    LEGACY_ORGANIZATION_NUMBER_ID,
    ORGANIZATION_ID,
    PARTY_UUID_ID,
    PARTYID_ID,
    PERSON_ID,
    PERSON_UUID_ID,
    SYSTEM_USER_UUID_ID,
    USERID_ID,
)


@dataclass(frozen=True)
class Identifier:
    """A person, organisation, party or system user as a request names it: the attribute id
    (`urn:altinn:userid`, ...) and its value, already checked for its form."""

    attribute_id: str
    value: str


@dataclass(frozen=True)
class Identified:
    """The subject an identifier names, and every identifier the register knows for it, as
    (attribute id, value) pairs with string values, for policies to match."""

    subject: Subject
    identifiers: tuple[tuple[str, str], ...]


def identify(
    register: Register, identifiers: Iterable[Identifier]
) -> dict[Identifier, Identified | None]:
    """Who each identifier names (None: nobody the register knows), read in one look-up per
    kind of identifier.

    National identity and organisation numbers name their person or organisation even when
    the register has no record of them (roles and delegations are stored by those numbers);
    a system user is named by its UUID likewise. Altinn's numeric and UUID identifiers name
    someone only through the register.
    """
    by_kind: dict[str, set[str]] = defaultdict(set)
    for identifier in identifiers:
        by_kind[identifier.attribute_id].add(identifier.value)
    found: dict[Identifier, Identified | None] = {}
    for attribute_id, values in by_kind.items():
        for value, record in _look_up(register, attribute_id, values).items():
            found[Identifier(attribute_id, value)] = _identified(attribute_id, value, record)
    return found


Record = Person | Organization | SystemUser | None


def _look_up(register: Register, attribute_id: str, values: set[str]) -> dict[str, Record]:
    if attribute_id == PERSON_ID:
        return register.persons_by("national_id", values)
    if attribute_id in (ORGANIZATION_ID, LEGACY_ORGANIZATION_NUMBER_ID):
        return register.organizations_by("organization_number", values)
    if attribute_id == SYSTEM_USER_UUID_ID:
        return register.system_users_by_uuid(values)
    if attribute_id == PERSON_UUID_ID:
        return register.persons_by("person_uuid", values)
    if attribute_id == PARTY_UUID_ID:
        return register.parties_by("party_uuid", values)
    numbers = {value: int(value) for value in values}  # the reader checked they are digits
    if attribute_id == USERID_ID:
        found = register.persons_by("user_id", numbers.values())
    elif attribute_id == PARTYID_ID:
        found = register.parties_by("party_id", numbers.values())
    else:
        raise ValueError(f"{attribute_id} is not an identifier of a subject or party")
    return {value: found[number] for value, number in numbers.items()}


#: What each identifier that names its subject by itself may be enriched with from the register:
#: a decision looks it up only when the policy names one of these.
REGISTER_IDENTIFIERS = {
    PERSON_ID: frozenset({USERID_ID, PARTYID_ID, PARTY_UUID_ID, PERSON_UUID_ID}),
    ORGANIZATION_ID: frozenset({PARTYID_ID, PARTY_UUID_ID}),
    LEGACY_ORGANIZATION_NUMBER_ID: frozenset({PARTYID_ID, PARTY_UUID_ID}),
    SYSTEM_USER_UUID_ID: frozenset(),
}


def directly(identifier: Identifier) -> Identified | None:
    """Who an identifier names without the register: a national identity number its person,
    an organisation number its organisation, a system user UUID its system user (roles and
    delegations are stored by these); None for Altinn's ids, which only the register knows."""
    attribute_id, value = identifier.attribute_id, identifier.value
    if attribute_id == PERSON_ID:
        return Identified(Subject(PERSON, value), ((PERSON_ID, value),))
    if attribute_id in (ORGANIZATION_ID, LEGACY_ORGANIZATION_NUMBER_ID):
        return Identified(
            Subject(ORGANIZATION, value),
            ((ORGANIZATION_ID, value), (LEGACY_ORGANIZATION_NUMBER_ID, value)),
        )
    if attribute_id == SYSTEM_USER_UUID_ID:
        return Identified(Subject(SYSTEM_USER, value), ((SYSTEM_USER_UUID_ID, value),))
    return None


def _identified(attribute_id: str, value: str, record: Record) -> Identified | None:
    if isinstance(record, Person):
        return Identified(record.subject, _person_identifiers(record))
    if isinstance(record, Organization):
        return Identified(record.subject, _organization_identifiers(record))
    if isinstance(record, SystemUser):
        return Identified(record.subject, ((SYSTEM_USER_UUID_ID, record.uuid),))
    return directly(Identifier(attribute_id, value))


def _person_identifiers(person: Person) -> tuple[tuple[str, str], ...]:
    known = (
        (PERSON_ID, person.national_id),
        (USERID_ID, person.user_id),
        (PARTYID_ID, person.party_id),
        (PARTY_UUID_ID, person.party_uuid),
        (PERSON_UUID_ID, person.person_uuid),
    )
    return tuple((attribute_id, str(value)) for attribute_id, value in known if value is not None)


def _organization_identifiers(organization: Organization) -> tuple[tuple[str, str], ...]:
    number = organization.organization_number
    known = (
        (ORGANIZATION_ID, number),
        (LEGACY_ORGANIZATION_NUMBER_ID, number),
        (PARTYID_ID, organization.party_id),
        (PARTY_UUID_ID, organization.party_uuid),
    )
    return tuple((attribute_id, str(value)) for attribute_id, value in known if value is not None)

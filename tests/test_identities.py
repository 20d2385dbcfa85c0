"""Who an Altinn identifier names: each identifier kind looked up in a real register, answered
with the subject and every identifier the register knows for it."""

from __future__ import annotations

from typing import Any

import pytest

from pdp.identities import Identified, Identifier, identify
from pdp.register import Register
from pdp.subjects import ORGANIZATION, PERSON, SYSTEM_USER, Subject
from pdp.vocabulary import (
    LEGACY_ORGANIZATION_NUMBER_ID,
    ORGANIZATION_ID,
    PARTY_UUID_ID,
    PARTYID_ID,
    PERSON_ID,
    PERSON_UUID_ID,
    RESOURCE_ID,
    SYSTEM_USER_UUID_ID,
    USERID_ID,
)
from tests.service_resources import WORLD

MANAGER = Subject(PERSON, WORLD.manager.national_id)
FIRM = Subject(ORGANIZATION, WORLD.firm.number)


@pytest.fixture
def register(engine, changes, catalog) -> Register:
    stored = Register(engine, changes)
    stored.import_document(WORLD.register_document(), catalog)
    return stored


def named(register: Register, attribute_id: str, value: str) -> Identified | None:
    identifier = Identifier(attribute_id, value)
    return identify(register, [identifier])[identifier]


@pytest.mark.parametrize("kind", [PERSON_ID, USERID_ID, PERSON_UUID_ID, PARTY_UUID_ID, PARTYID_ID])
def test_every_identifier_of_a_person_names_them_with_all_their_identifiers(register, kind):
    found = named(register, kind, WORLD.manager.identifiers()[kind])
    assert found is not None
    assert found.subject == MANAGER
    assert dict(found.identifiers) == WORLD.manager.identifiers()


@pytest.mark.parametrize(
    "kind", [ORGANIZATION_ID, LEGACY_ORGANIZATION_NUMBER_ID, PARTYID_ID, PARTY_UUID_ID]
)
def test_every_identifier_of_an_organisation_names_it_with_all_its_identifiers(register, kind):
    found = named(register, kind, WORLD.firm.identifiers()[kind])
    assert found is not None
    assert found.subject == FIRM
    assert dict(found.identifiers) == WORLD.firm.identifiers()


def test_a_system_user_is_named_by_its_uuid_alone(register):
    found = named(register, SYSTEM_USER_UUID_ID, WORLD.system_user)
    assert found == Identified(
        Subject(SYSTEM_USER, WORLD.system_user), ((SYSTEM_USER_UUID_ID, WORLD.system_user),)
    )


def test_party_ids_and_uuids_name_people_and_organisations_alike(register):
    assert named(register, PARTYID_ID, str(WORLD.manager.party_id)).subject == MANAGER
    assert named(register, PARTYID_ID, str(WORLD.firm.party_id)).subject == FIRM
    assert named(register, PARTY_UUID_ID, WORLD.manager.party_uuid).subject == MANAGER
    assert named(register, PARTY_UUID_ID, WORLD.firm.party_uuid).subject == FIRM


def test_one_identifier_kind_does_not_name_by_another_kinds_value(register):
    """A person's user id is nobody's party id, and a party id nobody's user id."""
    assert named(register, PARTYID_ID, str(WORLD.manager.user_id)) is None
    assert named(register, USERID_ID, str(WORLD.manager.party_id)) is None
    assert named(register, PERSON_UUID_ID, WORLD.manager.party_uuid) is None


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (USERID_ID, str(WORLD.unknown_user_id)),
        (PARTYID_ID, str(WORLD.unknown_party_id)),
        (PERSON_UUID_ID, "00000000-0000-0000-0009-000000000009"),
        (PARTY_UUID_ID, "00000000-0000-0000-0009-000000000009"),
    ],
)
def test_altinns_own_identifiers_name_nobody_the_register_does_not_hold(register, kind, value):
    assert named(register, kind, value) is None


def test_national_and_organisation_numbers_name_their_holder_without_a_register_record(
    register,
):
    """Roles and delegations are stored by these numbers, so they name someone regardless;
    only by their own number (the register knows no other identifier of them)."""
    assert named(register, PERSON_ID, WORLD.unregistered) == Identified(
        Subject(PERSON, WORLD.unregistered), ((PERSON_ID, WORLD.unregistered),)
    )
    number = WORLD.unregistered_org
    for kind in (ORGANIZATION_ID, LEGACY_ORGANIZATION_NUMBER_ID):
        assert named(register, kind, number) == Identified(
            Subject(ORGANIZATION, number),
            ((ORGANIZATION_ID, number), (LEGACY_ORGANIZATION_NUMBER_ID, number)),
        )


def test_a_person_without_altinn_identifiers_is_known_by_their_number(engine, changes, catalog):
    register = Register(engine, changes)
    document = WORLD.register_document()
    document["persons"] = [{"national_id": WORLD.manager.national_id}]
    register.import_document(document, catalog)
    found = named(register, PERSON_ID, WORLD.manager.national_id)
    assert found == Identified(MANAGER, ((PERSON_ID, WORLD.manager.national_id),))


def test_many_identifiers_are_read_in_one_look_up_per_kind(register):
    counting = CountingRegister(register)
    people = (WORLD.manager, WORLD.member, WORLD.stranger)
    owners = {
        Identifier(kind, person.identifiers()[kind]): person.national_id
        for person in people
        for kind in (PERSON_ID, USERID_ID, PARTYID_ID)
    } | {Identifier(SYSTEM_USER_UUID_ID, WORLD.system_user): WORLD.system_user}
    found = identify(counting, owners)
    assert {identifier: found[identifier].subject.identifier for identifier in owners} == owners
    assert sorted(counting.calls) == [
        "parties_by",
        "persons_by",
        "persons_by",
        "system_users_by_uuid",
    ]


def test_an_attribute_that_is_no_identifier_is_refused(register):
    with pytest.raises(ValueError, match=RESOURCE_ID):
        identify(register, [Identifier(RESOURCE_ID, "1")])


class CountingRegister:
    """A register that counts its look-ups by method."""

    def __init__(self, register: Register):
        self._register = register
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._register, name)

        def counted(*arguments: Any) -> Any:
            self.calls.append(name)
            return method(*arguments)

        return counted

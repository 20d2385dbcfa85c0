"""Delegations: storing, finding and revoking them, and who holds a package by delegation."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from pdp.catalog import Catalog
from pdp.db import delegations
from pdp.delegations import (
    Delegation,
    DelegationAlreadyRevoked,
    DelegationExists,
    DelegationNotFound,
    DelegationPage,
    DelegationStore,
    RecipientRefused,
)
from pdp.register import Register
from pdp.subjects import ORGANIZATION, PERSON, SYSTEM_USER, Subject, subject
from tests.helpers import new_organization, new_person

API = "urn:altinn:accesspackage:programmeringsgrensesnitt"
API_NUF = "urn:altinn:accesspackage:programmeringsgrensesnittNUF"
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"


@pytest.fixture
def store(engine, changes) -> DelegationStore:
    return DelegationStore(engine, changes)


@dataclass
class Facts:
    """Who is who in these tests.

    - `party`, `other_party`: organisations whose packages are delegated;
    - `delegator`: the DAGL of `party`, who makes the delegations;
    - `recipient_org`: an organisation receiving delegations, with a DAGL (`org_dagl`), a LEDE
      (`org_lede`) and a MEDL (`org_medl`), and an organisation holding KOMP in it (`komp_org`);
    - `outsider_dagl`: DAGL of `elsewhere`, an organisation that receives nothing;
    - `person`: a person recipient with no roles;
    - `system_user`: a system user that `party` owns, `other_system_user` one `other_party` owns.
    """

    party: str
    other_party: str
    delegator: str
    recipient_org: str
    org_dagl: str
    org_lede: str
    org_medl: str
    komp_org: str
    elsewhere: str
    outsider_dagl: str
    person: str
    system_user: str
    other_system_user: str


@pytest.fixture
def facts(engine, changes, catalog: Catalog) -> Facts:
    f = Facts(
        party=new_organization(),
        other_party=new_organization(),
        delegator=new_person(),
        recipient_org=new_organization(),
        org_dagl=new_person(),
        org_lede=new_person(),
        org_medl=new_person(),
        komp_org=new_organization(),
        elsewhere=new_organization(),
        outsider_dagl=new_person(),
        person=new_person(),
        system_user=str(uuid.uuid4()),
        other_system_user=str(uuid.uuid4()),
    )

    def org(number: str, roles: list[dict[str, str]]) -> dict:
        return {"organization_number": number, "name": "X AS", "org_form": "AS", "roles": roles}

    Register(engine, changes).import_document(
        {
            "organizations": [
                org(f.party, [{"code": "DAGL", "person": f.delegator}]),
                org(f.other_party, [{"code": "DAGL", "person": f.delegator}]),
                org(
                    f.recipient_org,
                    [
                        {"code": "DAGL", "person": f.org_dagl},
                        {"code": "LEDE", "person": f.org_lede},
                        {"code": "MEDL", "person": f.org_medl},
                        {"code": "KOMP", "organization": f.komp_org},
                    ],
                ),
                org(f.komp_org, []),
                org(f.elsewhere, [{"code": "DAGL", "person": f.outsider_dagl}]),
            ],
            "system_users": [
                {"uuid": f.system_user, "owner": f.party},
                {"uuid": f.other_system_user, "owner": f.other_party},
            ],
        },
        catalog,
    )
    return f


def person(identifier: str) -> Subject:
    return subject(PERSON, identifier)


def organization(identifier: str) -> Subject:
    return subject(ORGANIZATION, identifier)


def system_user(identifier: str) -> Subject:
    return subject(SYSTEM_USER, identifier)


def active_rows(engine, party: str, package: str, recipient: Subject) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count())
            .select_from(delegations)
            .where(
                delegations.c.party == party,
                delegations.c.package == package,
                delegations.c.recipient_kind == recipient.kind,
                delegations.c.recipient_id == recipient.identifier,
                delegations.c.revoked_at.is_(None),
            )
        ).scalar_one()


# --- add and get ----------------------------------------------------------------------------


def test_add_returns_the_delegation_with_an_id_and_an_aware_utc_creation_time(store, facts):
    before = datetime.now(UTC)
    added = store.add(facts.party, API, facts.delegator, person(facts.person))
    after = datetime.now(UTC)
    assert isinstance(added, Delegation)
    assert uuid.UUID(added.id)
    assert (added.party, added.package, added.delegator) == (facts.party, API, facts.delegator)
    assert added.recipient == Subject(PERSON, facts.person)
    assert added.created_at.utcoffset() == timedelta(0)
    assert before <= added.created_at <= after
    assert added.revoked_at is None
    assert added.revoked_by is None


def test_each_delegation_gets_its_own_id(store, facts):
    first = store.add(facts.party, API, facts.delegator, person(facts.person))
    second = store.add(facts.party, EVENTS, facts.delegator, person(facts.person))
    assert first.id != second.id


def test_get_gives_back_the_delegation_as_stored(store, facts):
    added = store.add(facts.party, API, facts.delegator, organization(facts.recipient_org))
    got = store.get(added.id)
    assert got == added
    assert got.created_at.utcoffset() is not None
    assert got.recipient == Subject(ORGANIZATION, facts.recipient_org)


def test_get_of_an_unknown_id_is_none(store, facts):
    store.add(facts.party, API, facts.delegator, person(facts.person))
    assert store.get(str(uuid.uuid4())) is None


def test_the_same_active_delegation_twice_is_refused(store, facts, engine):
    recipient = person(facts.person)
    store.add(facts.party, API, facts.delegator, recipient)
    with pytest.raises(DelegationExists):
        store.add(facts.party, API, facts.delegator, recipient)
    # Also when another holder makes it: the recipient already holds the package.
    with pytest.raises(DelegationExists):
        store.add(facts.party, API, new_person(), recipient)
    assert active_rows(engine, facts.party, API, recipient) == 1
    assert store.find().total == 1


def test_delegations_differing_in_party_package_or_recipient_are_distinct(store, facts):
    recipient = person(facts.person)
    store.add(facts.party, API, facts.delegator, recipient)
    store.add(facts.other_party, API, facts.delegator, recipient)
    store.add(facts.party, EVENTS, facts.delegator, recipient)
    store.add(facts.party, API, facts.delegator, person(new_person()))
    store.add(facts.party, API, facts.delegator, organization(facts.recipient_org))
    assert store.find().total == 5


# --- revoke ---------------------------------------------------------------------------------


def test_revoke_records_who_and_when_and_keeps_the_row(store, facts):
    added = store.add(facts.party, API, facts.delegator, person(facts.person))
    revoker = new_person()
    before = datetime.now(UTC)
    revoked = store.revoke(added.id, revoker)
    after = datetime.now(UTC)
    assert revoked.id == added.id
    assert revoked.revoked_by == revoker
    assert revoked.revoked_at is not None
    assert revoked.revoked_at.utcoffset() is not None
    assert before <= revoked.revoked_at <= after
    assert revoked.created_at == added.created_at
    assert (revoked.party, revoked.package, revoked.recipient) == (
        added.party,
        added.package,
        added.recipient,
    )
    assert store.get(added.id) == revoked
    assert store.find(include_revoked=True) == DelegationPage([revoked], 1)
    assert store.find() == DelegationPage([], 0)


def test_revoking_twice_is_refused_and_keeps_the_first_revocation(store, facts):
    added = store.add(facts.party, API, facts.delegator, person(facts.person))
    first = store.revoke(added.id, facts.delegator)
    with pytest.raises(DelegationAlreadyRevoked):
        store.revoke(added.id, new_person())
    assert store.get(added.id) == first


def test_revoking_an_unknown_delegation_is_refused(store, facts):
    store.add(facts.party, API, facts.delegator, person(facts.person))
    with pytest.raises(DelegationNotFound):
        store.revoke(str(uuid.uuid4()), facts.delegator)
    assert store.find().total == 1


def test_after_revoking_the_same_delegation_can_be_made_again(store, facts, engine):
    recipient = person(facts.person)
    first = store.add(facts.party, API, facts.delegator, recipient)
    store.revoke(first.id, facts.delegator)
    second = store.add(facts.party, API, facts.delegator, recipient)
    assert second.id != first.id
    assert active_rows(engine, facts.party, API, recipient) == 1
    assert [d.id for d in store.find().items] == [second.id]
    assert {d.id for d in store.find(include_revoked=True).items} == {first.id, second.id}
    with pytest.raises(DelegationExists):
        store.add(facts.party, API, facts.delegator, recipient)
    # ...and revoked and made again once more: the history keeps every revoked one.
    store.revoke(second.id, facts.delegator)
    store.add(facts.party, API, facts.delegator, recipient)
    assert store.find(include_revoked=True).total == 3
    assert store.find().total == 1


# --- find -----------------------------------------------------------------------------------


@pytest.fixture
def several(store, facts) -> dict[str, Delegation]:
    """Five delegations across two parties, two recipients and two packages, one revoked."""
    made = {
        "party-person-api": store.add(facts.party, API, facts.delegator, person(facts.person)),
        "party-person-events": store.add(
            facts.party, EVENTS, facts.delegator, person(facts.person)
        ),
        "party-org-api": store.add(
            facts.party, API, facts.delegator, organization(facts.recipient_org)
        ),
        "other-person-api": store.add(
            facts.other_party, API, facts.delegator, person(facts.person)
        ),
        "revoked": store.add(facts.other_party, API_NUF, facts.delegator, person(facts.person)),
    }
    made["revoked"] = store.revoke(made["revoked"].id, facts.delegator)
    return made


def ids(page: DelegationPage) -> set[str]:
    return {d.id for d in page.items}


def test_find_without_filters_gives_every_active_delegation(store, several):
    page = store.find()
    assert page.total == 4
    assert ids(page) == {d.id for key, d in several.items() if key != "revoked"}
    assert ids(store.find(include_revoked=True)) == {d.id for d in several.values()}


def test_find_gives_the_oldest_first(store, several):
    items = store.find(include_revoked=True).items
    assert [(d.created_at, d.id) for d in items] == sorted((d.created_at, d.id) for d in items)


def test_find_by_party(store, facts, several):
    page = store.find(party=facts.party)
    assert page.total == 3
    assert ids(page) == {
        several[key].id for key in ("party-person-api", "party-person-events", "party-org-api")
    }
    assert ids(store.find(party=facts.other_party)) == {several["other-person-api"].id}
    assert store.find(party=new_organization()) == DelegationPage([], 0)


def test_find_by_recipient(store, facts, several):
    assert ids(store.find(recipient=organization(facts.recipient_org))) == {
        several["party-org-api"].id
    }
    assert ids(store.find(recipient=person(facts.person))) == {
        several[key].id for key in ("party-person-api", "party-person-events", "other-person-api")
    }
    assert store.find(recipient=person(facts.org_dagl)).total == 0


def test_find_by_recipient_tells_persons_and_organisations_apart(store, facts, several):
    # Same kind of look-up with the other kind: the kind is part of who the recipient is.
    assert store.find(recipient=Subject(PERSON, facts.recipient_org)).total == 0
    assert store.find(recipient=Subject(ORGANIZATION, facts.person)).total == 0


def test_find_by_package(store, several):
    assert ids(store.find(package=EVENTS)) == {several["party-person-events"].id}
    assert store.find(package=API).total == 3
    assert store.find(package=API_NUF).total == 0
    assert ids(store.find(package=API_NUF, include_revoked=True)) == {several["revoked"].id}


def test_find_combines_filters(store, facts, several):
    page = store.find(party=facts.party, recipient=person(facts.person), package=API)
    assert page == DelegationPage([several["party-person-api"]], 1)
    assert store.find(party=facts.other_party, package=EVENTS).total == 0
    page = store.find(party=facts.other_party, recipient=person(facts.person))
    assert ids(page) == {several["other-person-api"].id}
    page = store.find(party=facts.other_party, recipient=person(facts.person), include_revoked=True)
    assert ids(page) == {several["other-person-api"].id, several["revoked"].id}


def test_find_pages_with_limit_and_offset_and_counts_the_total(store, facts):
    for _ in range(5):
        store.add(facts.party, API, facts.delegator, person(new_person()))
    everything = store.find(party=facts.party)
    assert everything.total == 5
    assert len(everything.items) == 5
    pages = [store.find(party=facts.party, limit=2, offset=offset) for offset in (0, 2, 4)]
    assert [len(page.items) for page in pages] == [2, 2, 1]
    assert all(page.total == 5 for page in pages)
    assert [d for page in pages for d in page.items] == everything.items
    assert store.find(party=facts.party, limit=2, offset=5) == DelegationPage([], 5)
    assert store.find(party=facts.party, limit=0).items == []


# --- packages_delegated_to ---------------------------------------------------------------------


def delegated(
    store: DelegationStore, catalog: Catalog, who: Subject, party: str, key_roles=None
) -> frozenset:
    """The packages `who` holds for `party` by delegation, read as decisions read them."""
    holding = (who, party)
    roles = catalog.key_roles if key_roles is None else key_roles
    return store.packages_delegated_to([holding], roles)[holding]


def test_person_recipient_holds_the_package_for_that_party_only(store, facts, catalog):
    store.add(facts.party, API, facts.delegator, person(facts.person))
    assert delegated(store, catalog, person(facts.person), facts.party) == {API}
    assert delegated(store, catalog, person(facts.person), facts.other_party) == frozenset()
    assert delegated(store, catalog, person(new_person()), facts.party) == frozenset()
    # The delegator gave the package away; holding it by delegation is not theirs.
    assert delegated(store, catalog, person(facts.delegator), facts.party) == frozenset()


def test_every_package_delegated_to_the_subject_for_the_party(store, facts, catalog):
    for package in (API, EVENTS):
        store.add(facts.party, package, facts.delegator, person(facts.person))
    store.add(facts.other_party, API_NUF, facts.delegator, person(facts.person))
    assert delegated(store, catalog, person(facts.person), facts.party) == {API, EVENTS}
    assert delegated(store, catalog, person(facts.person), facts.other_party) == {API_NUF}


def test_organisation_recipient_holds_the_package_itself(store, facts, catalog):
    store.add(facts.party, API, facts.delegator, organization(facts.recipient_org))
    assert delegated(store, catalog, organization(facts.recipient_org), facts.party) == {API}
    assert (
        delegated(store, catalog, organization(facts.recipient_org), facts.other_party)
        == frozenset()
    )


@pytest.mark.parametrize("holder", ["org_dagl", "org_lede"])
def test_key_role_holder_in_the_recipient_organisation_holds_the_package(
    store, facts, catalog, holder
):
    store.add(facts.party, API, facts.delegator, organization(facts.recipient_org))
    who = person(getattr(facts, holder))
    assert delegated(store, catalog, who, facts.party) == {API}
    assert delegated(store, catalog, who, facts.other_party) == frozenset()


def test_holder_of_a_role_that_is_not_a_key_role_does_not(store, facts, catalog):
    store.add(facts.party, API, facts.delegator, organization(facts.recipient_org))
    assert delegated(store, catalog, person(facts.org_medl), facts.party) == frozenset()


def test_key_role_in_another_organisation_does_not_count(store, facts, catalog):
    store.add(facts.party, API, facts.delegator, organization(facts.recipient_org))
    assert delegated(store, catalog, person(facts.outsider_dagl), facts.party) == frozenset()


def test_organisation_holding_a_key_role_in_the_recipient_does_not_act_for_it(
    store, facts, catalog
):
    """Acting for a recipient organisation is for persons holding its key roles."""
    store.add(facts.party, API, facts.delegator, organization(facts.recipient_org))
    assert delegated(store, catalog, organization(facts.komp_org), facts.party) == frozenset()


def test_key_roles_are_the_ones_given(store, facts, catalog):
    store.add(facts.party, API, facts.delegator, organization(facts.recipient_org))
    dagl, medl = person(facts.org_dagl), person(facts.org_medl)
    assert delegated(store, catalog, dagl, facts.party, frozenset()) == frozenset()
    assert delegated(store, catalog, medl, facts.party, {"MEDL"}) == {API}
    assert delegated(store, catalog, dagl, facts.party, {"MEDL"}) == frozenset()


def test_direct_and_organisation_delegations_add_up(store, facts, catalog):
    store.add(facts.party, API, facts.delegator, organization(facts.recipient_org))
    store.add(facts.party, API, facts.delegator, person(facts.org_dagl))
    store.add(facts.party, EVENTS, facts.delegator, person(facts.org_dagl))
    assert delegated(store, catalog, person(facts.org_dagl), facts.party) == {API, EVENTS}
    assert delegated(store, catalog, person(facts.org_lede), facts.party) == {API}


def test_a_revoked_delegation_no_longer_counts(store, facts, catalog):
    to_person = store.add(facts.party, API, facts.delegator, person(facts.person))
    to_org = store.add(facts.party, EVENTS, facts.delegator, organization(facts.recipient_org))
    store.revoke(to_person.id, facts.delegator)
    store.revoke(to_org.id, facts.delegator)
    assert delegated(store, catalog, person(facts.person), facts.party) == frozenset()
    assert delegated(store, catalog, organization(facts.recipient_org), facts.party) == frozenset()
    assert delegated(store, catalog, person(facts.org_dagl), facts.party) == frozenset()
    # Made again, it counts again.
    store.add(facts.party, API, facts.delegator, person(facts.person))
    assert delegated(store, catalog, person(facts.person), facts.party) == {API}


def test_a_delegation_to_an_organisation_is_not_held_by_a_person_of_that_number(
    store, facts, catalog
):
    store.add(facts.party, API, facts.delegator, organization(facts.recipient_org))
    same_number = Subject(PERSON, facts.recipient_org)
    assert delegated(store, catalog, same_number, facts.party) == frozenset()


def test_many_subjects_and_parties_read_at_once_hold_what_each_holds_alone(store, facts, catalog):
    """`packages_delegated_to` (a batch of decisions) answers for each (subject, party) what
    it answers for that (subject, party) alone."""
    store.add(facts.party, API, facts.delegator, organization(facts.recipient_org))
    store.add(facts.party, EVENTS, facts.delegator, person(facts.org_dagl))
    store.add(facts.other_party, API_NUF, facts.delegator, person(facts.person))
    revoked = store.add(facts.other_party, EVENTS, facts.delegator, person(facts.org_lede))
    store.revoke(revoked.id, facts.delegator)
    subjects = [
        *(person(p) for p in (facts.person, facts.org_dagl, facts.org_lede, facts.org_medl)),
        *(organization(o) for o in (facts.recipient_org, facts.komp_org)),
    ]
    holdings = [(s, party) for s in subjects for party in (facts.party, facts.other_party)]
    together = store.packages_delegated_to([*holdings, *holdings], catalog.key_roles)
    assert together == {(s, party): delegated(store, catalog, s, party) for s, party in holdings}
    assert together[(person(facts.org_dagl), facts.party)] == {API, EVENTS}
    assert store.packages_delegated_to([], catalog.key_roles) == {}


# --- system users ---------------------------------------------------------------------------


def test_a_system_user_receives_a_package_for_the_party_that_owns_it(store, facts, catalog):
    recipient = system_user(facts.system_user)
    added = store.add(facts.party, API, facts.delegator, recipient)
    assert added.recipient == Subject(SYSTEM_USER, facts.system_user)
    assert store.get(added.id) == added
    assert delegated(store, catalog, recipient, facts.party) == {API}
    assert delegated(store, catalog, recipient, facts.other_party) == frozenset()


def test_a_system_user_another_party_owns_is_refused(store, facts):
    with pytest.raises(RecipientRefused) as refused:
        store.add(facts.party, API, facts.delegator, system_user(facts.other_system_user))
    assert str(refused.value) == (
        f"system user {facts.other_system_user} belongs to organisation {facts.other_party}: "
        f"it can be given packages for {facts.other_party} only, not for {facts.party}"
    )
    assert store.find(include_revoked=True).total == 0


def test_a_system_user_not_in_the_register_is_refused(store, facts):
    unknown = str(uuid.uuid4())
    with pytest.raises(RecipientRefused, match=f"system user {unknown} is not in the register"):
        store.add(facts.party, API, facts.delegator, system_user(unknown))
    assert store.find(include_revoked=True).total == 0


def test_the_same_delegation_to_a_system_user_twice_is_refused(store, facts):
    recipient = system_user(facts.system_user)
    store.add(facts.party, API, facts.delegator, recipient)
    with pytest.raises(DelegationExists):
        store.add(facts.party, API, facts.delegator, recipient)
    assert store.find(recipient=recipient).total == 1


def test_a_system_user_is_never_reached_through_key_roles(store, facts, catalog):
    """Its owner's DAGL does not hold what the system user was given, and the system user does
    not hold what was given to an organisation, whoever holds roles where."""
    store.add(facts.party, EVENTS, facts.delegator, system_user(facts.system_user))
    store.add(facts.party, API, facts.delegator, organization(facts.recipient_org))
    assert delegated(store, catalog, system_user(facts.system_user), facts.party) == {EVENTS}
    assert delegated(store, catalog, person(facts.delegator), facts.party) == frozenset()
    assert delegated(store, catalog, organization(facts.party), facts.party) == frozenset()
    assert delegated(store, catalog, person(facts.org_dagl), facts.party) == {API}


def test_a_delegation_to_a_system_user_is_not_held_by_another_kind_with_that_identifier(
    store, facts, catalog
):
    store.add(facts.party, API, facts.delegator, system_user(facts.system_user))
    for kind in (PERSON, ORGANIZATION):
        assert delegated(store, catalog, Subject(kind, facts.system_user), facts.party) == set()


def test_a_system_user_given_to_another_owner_holds_nothing_for_the_former_one(
    store, facts, catalog, engine, changes
):
    recipient = system_user(facts.system_user)
    store.add(facts.party, API, facts.delegator, recipient)
    Register(engine, changes).import_document(
        {
            "organizations": [],
            "system_users": [{"uuid": facts.system_user, "owner": facts.elsewhere}],
        },
        catalog,
    )
    assert delegated(store, catalog, recipient, facts.party) == frozenset()
    assert store.find(recipient=recipient).total == 1  # the delegation itself stays


def test_delegations_to_a_system_user_are_found_and_revoked_as_others(store, facts, catalog):
    recipient = system_user(facts.system_user)
    to_system = store.add(facts.party, API, facts.delegator, recipient)
    store.add(facts.party, API, facts.delegator, person(facts.person))
    assert store.find(recipient=recipient) == DelegationPage([to_system], 1)
    revoked = store.revoke(to_system.id, facts.delegator)
    assert revoked.revoked_by == facts.delegator
    assert delegated(store, catalog, recipient, facts.party) == frozenset()
    assert store.find(recipient=recipient, include_revoked=True) == DelegationPage([revoked], 1)


# --- concurrency ----------------------------------------------------------------------------


def run_together(count: int, work) -> list[object]:
    """Run `work()` in `count` threads started at once; each result or exception, in order."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work()
        except Exception as error:  # the tests look at what was raised
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_concurrent_adds_of_the_same_delegation_make_exactly_one(engine, store, facts):
    """Eight requests create the same delegation at once, each on its own connection: all eight
    reach their INSERT before any of them runs it, so they really race."""
    recipient = person(facts.person)
    at_insert = threading.Barrier(8, timeout=30)
    connections: set[int] = set()

    def meet_at_insert(conn, _cursor, statement, *_args) -> None:
        if statement.startswith("INSERT INTO delegations"):
            connections.add(id(conn.connection.dbapi_connection))
            at_insert.wait()

    event.listen(engine, "before_cursor_execute", meet_at_insert)
    try:
        results = run_together(8, lambda: store.add(facts.party, API, facts.delegator, recipient))
    finally:
        event.remove(engine, "before_cursor_execute", meet_at_insert)
    assert len(connections) == 8
    made = [result for result in results if isinstance(result, Delegation)]
    refused = [result for result in results if isinstance(result, DelegationExists)]
    assert len(made) == 1, results
    assert len(refused) == 7, results
    assert active_rows(engine, facts.party, API, recipient) == 1
    assert store.find(include_revoked=True) == DelegationPage(made, 1)


def test_concurrent_revokes_of_one_delegation_revoke_it_once(engine, store, facts):
    added = store.add(facts.party, API, facts.delegator, person(facts.person))
    revokers = [new_person() for _ in range(8)]
    counter = iter(range(8))
    lock = threading.Lock()

    def revoke() -> Delegation:
        with lock:
            revoker = revokers[next(counter)]
        return store.revoke(added.id, revoker)

    results = run_together(8, revoke)
    revoked = [result for result in results if isinstance(result, Delegation)]
    refused = [result for result in results if isinstance(result, DelegationAlreadyRevoked)]
    assert len(revoked) == 1, results
    assert len(refused) == 7, results
    assert store.get(added.id) == revoked[0]
    assert revoked[0].revoked_by in revokers

"""Deciding service resource requests under each resource's own XACML policy.

The world (`tests.service_resources`): in an AS `manager` is DAGL, `member` MEDL and the
organisation `firm` REGN; `manager` is DAGL of a NUF too; `firm_manager` is DAGL of `firm`; a
system user belongs to the AS. Each resource policy asks one question (see that module).
Decisions are made by a PDP over a real database, with the decision cache on (the default);
the last section shows that the cache never changes an answer.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from pdp.catalog import Catalog
from pdp.config import Settings
from pdp.engine import DecisionRequest, Result
from pdp.engine.request import ResourceRequest
from pdp.identities import Identifier
from pdp.service import Pdp
from pdp.subjects import ORGANIZATION, PERSON, SYSTEM_USER, Subject
from pdp.vocabulary import (
    DENY,
    INDETERMINATE,
    LEGACY_ORGANIZATION_NUMBER_ID,
    NOT_APPLICABLE,
    ORGANIZATION_ID,
    PARTY_UUID_ID,
    PARTYID_ID,
    PERMIT,
    PERSON_ID,
    PERSON_UUID_ID,
    STATUS_MISSING_ATTRIBUTE,
    STATUS_OK,
    STATUS_PROCESSING_ERROR,
    USERID_ID,
)
from tests.service_resources import (
    API,
    API_NUF,
    AUTHLEVEL_ID,
    CLEARANCE_ID,
    EVENTS,
    EVENTS_FORMER,
    PERMIT_ADVICE,
    PERMIT_OBLIGATION,
    RULE_DENY_OBLIGATION,
    RULE_PERMIT_OBLIGATION,
    WORLD,
    ask,
    organization_id,
    person_id,
    resource_source,
    system_user_id,
)

LIMITED = organization_id(WORLD.limited)
NUF = organization_id(WORLD.nuf)
FIRM = organization_id(WORLD.firm)
MANAGER = person_id(WORLD.manager)
MEMBER = person_id(WORLD.member)
STRANGER = person_id(WORLD.stranger)
SYSTEM_USER_ID = system_user_id(WORLD.system_user)
#: Every policy that permits only for a role or a package held.
ROLE_OR_PACKAGE_POLICIES = (
    "ttd-dagl",
    "ttd-dagl-ignore-case",
    "ttd-dagl-register-case",
    "ttd-ccr",
    "ttd-api",
    "ttd-events",
    "ttd-nuf",
)


@pytest.fixture(scope="module")
def resource_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return resource_source(tmp_path_factory.mktemp("resources") / "policies")


def started(settings: Settings, catalog: Catalog) -> Pdp:
    """A PDP over `settings`' database, with `catalog` published and the world's register."""
    service = Pdp.from_settings(settings)
    service.publish(catalog)
    service.register.import_document(WORLD.register_document(), catalog)
    return service


@pytest.fixture
def service(settings: Settings, resource_catalog: Catalog) -> Iterator[Pdp]:
    made = started(settings, resource_catalog)
    yield made
    made.close()


def decide(service: Pdp, resource: str, subject: Any, party: Identifier | None, **kw) -> Result:
    return service.engine.decide(ask(resource, subject, party, **kw))


def uids(result: Result) -> list[str]:
    return [policy.uid for policy in result.policies]


def ids(expressions: Any) -> list[str]:
    return [expression.id for expression in expressions]


def person(identifier: Identifier) -> Subject:
    return Subject(PERSON, identifier.value)


def delegate(service: Pdp, party: Identifier, package: str, to: Subject) -> str:
    """`manager` (DAGL of the AS and the NUF) delegates; the delegation's id."""
    return service.delegate(party.value, package, person(MANAGER), to).id


# --- who asks: every identifier of the subject ------------------------------------------------


@pytest.mark.parametrize("kind", [PERSON_ID, USERID_ID, PERSON_UUID_ID, PARTY_UUID_ID, PARTYID_ID])
def test_a_person_named_by_any_of_their_identifiers_holds_their_roles(service, kind):
    subject = Identifier(kind, WORLD.manager.identifiers()[kind])
    result = decide(service, "ttd-dagl", subject, LIMITED)
    assert (result.decision, result.status) == (PERMIT, STATUS_OK)
    assert uids(result) == ["resource:ttd-dagl:1:1:read"]


@pytest.mark.parametrize(
    "kind", [ORGANIZATION_ID, LEGACY_ORGANIZATION_NUMBER_ID, PARTYID_ID, PARTY_UUID_ID]
)
def test_an_organisation_named_by_any_of_its_identifiers_holds_its_roles(service, kind):
    """`firm` is REGN (accountant) of the AS: the policy's second rule."""
    subject = Identifier(kind, WORLD.firm.identifiers()[kind])
    result = decide(service, "ttd-dagl", subject, LIMITED)
    assert result.decision == PERMIT
    assert uids(result) == ["resource:ttd-dagl:2:1:read"]


def test_several_identifiers_of_one_person_name_one_subject(service):
    identifiers = [Identifier(kind, value) for kind, value in WORLD.manager.identifiers().items()]
    assert decide(service, "ttd-dagl", identifiers, LIMITED).decision == PERMIT


@pytest.mark.parametrize("kind", [PERSON_ID, PARTY_UUID_ID, PARTYID_ID, PERSON_UUID_ID])
def test_a_policy_matches_every_identifier_the_register_knows_for_the_subject(service, kind):
    """`ttd-userid` names the manager's user id; a request naming the manager otherwise
    matches it, since the PIP adds every identifier of the subject."""
    subject = Identifier(kind, WORLD.manager.identifiers()[kind])
    assert decide(service, "ttd-userid", subject, LIMITED).decision == PERMIT
    other = Identifier(kind, WORLD.member.identifiers()[kind])
    assert decide(service, "ttd-userid", other, LIMITED).decision == NOT_APPLICABLE


@pytest.mark.parametrize(
    "identifiers",
    [
        [MANAGER, Identifier(USERID_ID, str(WORLD.member.user_id))],
        [Identifier(PERSON_UUID_ID, WORLD.manager.person_uuid), FIRM],
        [SYSTEM_USER_ID, MANAGER],
    ],
    ids=["person-and-another-user", "person-and-organisation", "system-user-and-person"],
)
def test_identifiers_naming_different_subjects_are_indeterminate(service, identifiers):
    result = decide(service, "ttd-dagl", identifiers, LIMITED)
    assert (result.decision, result.status) == (INDETERMINATE, STATUS_PROCESSING_ERROR)
    assert result.message.startswith("AccessSubject: the identifiers")
    assert result.obligations == ()


@pytest.mark.parametrize("resource", ["ttd-userid", *ROLE_OR_PACKAGE_POLICIES])
@pytest.mark.parametrize(
    "subject",
    [
        Identifier(USERID_ID, str(WORLD.unknown_user_id)),
        Identifier(PARTYID_ID, str(WORLD.unknown_party_id)),
        Identifier(PERSON_UUID_ID, "00000000-0000-0000-0009-000000000009"),
        Identifier(PERSON_ID, WORLD.unregistered),
    ],
    ids=["unknown-user-id", "unknown-party-id", "unknown-person-uuid", "unregistered-person"],
)
def test_a_subject_the_register_does_not_know_is_not_applicable(service, resource, subject):
    result = decide(service, resource, subject, LIMITED)
    assert (result.decision, result.status) == (NOT_APPLICABLE, STATUS_OK)


def test_an_unknown_user_id_beside_a_known_identifier_is_never_permitted(service):
    """The unknown user id names nobody, the national identity number the manager: not one
    and the same subject."""
    unknown = Identifier(USERID_ID, str(WORLD.unknown_user_id))
    result = decide(service, "ttd-dagl", [MANAGER, unknown], LIMITED)
    assert (result.decision, result.status) == (INDETERMINATE, STATUS_PROCESSING_ERROR)


@pytest.mark.parametrize("resource", ["ttd-dagl", "ttd-dagl-ignore-case", "ttd-ccr"])
def test_a_system_user_never_holds_roles(service, resource):
    result = decide(service, resource, SYSTEM_USER_ID, LIMITED)
    assert result.decision == NOT_APPLICABLE


# --- for whom: every identifier of the party --------------------------------------------------


@pytest.mark.parametrize(
    "kind", [ORGANIZATION_ID, LEGACY_ORGANIZATION_NUMBER_ID, PARTYID_ID, PARTY_UUID_ID]
)
@pytest.mark.parametrize("resource", ["ttd-dagl", "ttd-api"])
def test_the_party_named_by_any_of_its_identifiers(service, kind, resource):
    party = Identifier(kind, WORLD.limited.identifiers()[kind])
    assert decide(service, resource, MANAGER, party).decision == PERMIT


@pytest.mark.parametrize("kind", [PERSON_ID, PARTYID_ID, PARTY_UUID_ID])
def test_a_person_as_party_is_known_but_roles_and_packages_are_held_for_organisations(
    service, kind
):
    party = Identifier(kind, WORLD.manager.identifiers()[kind])
    assert decide(service, "ttd-userid", MANAGER, party).decision == PERMIT
    for resource in ROLE_OR_PACKAGE_POLICIES:
        assert decide(service, resource, MANAGER, party).decision == NOT_APPLICABLE, resource


@pytest.mark.parametrize(
    "party",
    [
        Identifier(PARTYID_ID, str(WORLD.unknown_party_id)),
        Identifier(PARTY_UUID_ID, "00000000-0000-0000-0009-000000000009"),
    ],
    ids=["party-id", "party-uuid"],
)
def test_a_party_the_register_does_not_know_is_not_applicable(service, party):
    """Even under a policy that asks nothing of the party."""
    for resource in ("ttd-userid", *ROLE_OR_PACKAGE_POLICIES):
        result = decide(service, resource, MANAGER, party)
        assert (result.decision, result.status) == (NOT_APPLICABLE, STATUS_OK), resource
        assert "is not in the register" in result.message


def test_an_organisation_number_the_register_does_not_hold_gives_no_role_or_package(service):
    party = organization_id(WORLD.unregistered_org)
    for resource in ROLE_OR_PACKAGE_POLICIES:
        assert decide(service, resource, MANAGER, party).decision == NOT_APPLICABLE, resource


def test_without_a_party_no_role_or_package_is_held(service):
    for resource in ROLE_OR_PACKAGE_POLICIES:
        assert decide(service, resource, MANAGER, None).decision == NOT_APPLICABLE, resource


def test_a_resource_without_a_policy_is_not_applicable(service):
    result = decide(service, "ttd-no-such-resource", MANAGER, LIMITED)
    assert (result.decision, result.status) == (NOT_APPLICABLE, STATUS_OK)
    assert "ttd-no-such-resource" in result.message


def test_an_action_no_rule_names_is_not_applicable(service):
    assert decide(service, "ttd-dagl", MANAGER, LIMITED, action_id="write").decision == (
        NOT_APPLICABLE
    )


# --- roles --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resource",
    ["ttd-dagl", "ttd-dagl-ignore-case", "ttd-dagl-register-case", "ttd-ccr"],
    ids=["dagl-case-sensitive", "DAGL-ignore-case", "DAGL-case-sensitive", "daglig-leder"],
)
def test_every_spelling_of_a_role_matches_its_holder_and_only_there(service, resource):
    assert decide(service, resource, MANAGER, LIMITED).decision == PERMIT
    assert decide(service, resource, MANAGER, FIRM).decision == NOT_APPLICABLE  # not DAGL there
    assert decide(service, resource, MEMBER, LIMITED).decision == NOT_APPLICABLE  # MEDL
    assert decide(service, resource, STRANGER, LIMITED).decision == NOT_APPLICABLE


# --- access packages ----------------------------------------------------------------------------


def test_a_package_granted_by_an_er_role_names_the_grant(service):
    """`ttd-api` names the package by its code in upper case."""
    result = decide(service, "ttd-api", MANAGER, LIMITED)
    assert result.decision == PERMIT
    assert uids(result) == [
        "resource:ttd-api:1:1:read",
        "grant:programmeringsgrensesnitt:DAGL:access",
    ]
    assert decide(service, "ttd-api", MEMBER, LIMITED).decision == NOT_APPLICABLE


def test_a_policy_naming_a_package_by_its_former_urn_means_the_package(service):
    result = decide(service, "ttd-events", MANAGER, LIMITED)
    assert result.decision == PERMIT
    assert uids(result) == ["resource:ttd-events:1:1:read", "grant:hendelser:DAGL:access"]


def test_a_nuf_package_is_held_only_for_a_nuf_party(service):
    assert decide(service, "ttd-nuf", MANAGER, NUF).decision == PERMIT
    assert decide(service, "ttd-nuf", MANAGER, LIMITED).decision == NOT_APPLICABLE


def test_a_delegated_nuf_package_is_held_only_for_a_nuf_party(service):
    stranger = person(STRANGER)
    delegate(service, NUF, API_NUF, stranger)
    service.delegations.add(WORLD.limited.number, API_NUF, WORLD.manager.national_id, stranger)
    assert decide(service, "ttd-nuf", STRANGER, NUF).decision == PERMIT
    assert decide(service, "ttd-nuf", STRANGER, LIMITED).decision == NOT_APPLICABLE


def test_a_package_delegated_to_a_person_counts_until_it_is_revoked(service):
    assert decide(service, "ttd-api", STRANGER, LIMITED).decision == NOT_APPLICABLE
    made = delegate(service, LIMITED, API, person(STRANGER))
    result = decide(service, "ttd-api", STRANGER, LIMITED)
    assert result.decision == PERMIT
    assert uids(result) == [
        "resource:ttd-api:1:1:read",
        "delegation:programmeringsgrensesnitt:access",
    ]
    assert decide(service, "ttd-api", STRANGER, FIRM).decision == NOT_APPLICABLE
    service.revoke(made, person(MANAGER))
    assert decide(service, "ttd-api", STRANGER, LIMITED).decision == NOT_APPLICABLE


def test_a_package_delegated_under_its_former_urn_counts(service):
    service.delegations.add(
        WORLD.limited.number, EVENTS_FORMER, WORLD.manager.national_id, person(STRANGER)
    )
    assert decide(service, "ttd-events", STRANGER, LIMITED).decision == PERMIT


def test_a_package_delegated_to_an_organisation_is_held_by_its_key_role_holders(service):
    firm = Subject(ORGANIZATION, WORLD.firm.number)
    made = delegate(service, LIMITED, EVENTS, firm)
    firm_manager = person_id(WORLD.firm_manager)
    for subject in (FIRM, firm_manager, Identifier(USERID_ID, str(WORLD.firm_manager.user_id))):
        result = decide(service, "ttd-events", subject, LIMITED)
        assert result.decision == PERMIT, subject
        assert "delegation:hendelser:access" in uids(result)
    assert decide(service, "ttd-events", STRANGER, LIMITED).decision == NOT_APPLICABLE
    service.revoke(made, person(MANAGER))
    assert decide(service, "ttd-events", firm_manager, LIMITED).decision == NOT_APPLICABLE


def test_a_system_user_holds_a_package_delegated_by_its_owner_for_its_owner_only(
    service, resource_catalog
):
    system_user = Subject(SYSTEM_USER, WORLD.system_user)
    made = delegate(service, LIMITED, API, system_user)
    result = decide(service, "ttd-api", SYSTEM_USER_ID, LIMITED)
    assert result.decision == PERMIT
    assert uids(result)[-1] == "delegation:programmeringsgrensesnitt:access"
    assert decide(service, "ttd-api", SYSTEM_USER_ID, FIRM).decision == NOT_APPLICABLE
    firm_system_user = system_user_id(WORLD.firm_system_user)
    assert decide(service, "ttd-api", firm_system_user, LIMITED).decision == NOT_APPLICABLE

    # Re-registered under another owner, it holds nothing for its former one.
    moved = WORLD.register_document()
    moved["system_users"][0]["owner"] = WORLD.firm.number
    service.register.import_document(moved, resource_catalog)
    assert decide(service, "ttd-api", SYSTEM_USER_ID, LIMITED).decision == NOT_APPLICABLE
    service.register.import_document(WORLD.register_document(), resource_catalog)
    assert decide(service, "ttd-api", SYSTEM_USER_ID, LIMITED).decision == PERMIT
    service.revoke(made, person(MANAGER))
    assert decide(service, "ttd-api", SYSTEM_USER_ID, LIMITED).decision == NOT_APPLICABLE


# --- obligations, advice and combining ----------------------------------------------------------


def test_obligations_and_advice_come_with_a_permit_that_they_fulfil_on(service):
    result = decide(service, "ttd-dagl", MANAGER, LIMITED)
    assert result.decision == PERMIT
    assert ids(result.obligations) == [PERMIT_OBLIGATION]  # not the one for Deny
    assert ids(result.advice) == [PERMIT_ADVICE]
    [assignment] = result.obligations[0].assignments
    assert (assignment.attribute_id, assignment.value) == (
        "urn:altinn:obligation-assignment:1",
        "3",
    )


def test_no_obligations_or_advice_come_with_not_applicable(service):
    result = decide(service, "ttd-dagl", STRANGER, LIMITED)
    assert (result.decision, result.obligations, result.advice) == (NOT_APPLICABLE, (), ())


@pytest.mark.parametrize(
    ("resource", "decision", "rule", "obligation"),
    [
        ("ttd-deny-overrides", DENY, 2, RULE_DENY_OBLIGATION),
        ("ttd-permit-overrides", PERMIT, 1, RULE_PERMIT_OBLIGATION),
        ("ttd-first-permit", PERMIT, 1, RULE_PERMIT_OBLIGATION),
        ("ttd-first-deny", DENY, 1, RULE_DENY_OBLIGATION),
    ],
)
def test_each_algorithm_decides_between_a_permit_and_a_deny_rule_that_both_apply(
    service, resource, decision, rule, obligation
):
    result = decide(service, resource, MANAGER, LIMITED)
    assert (result.decision, result.status) == (decision, STATUS_OK)
    assert uids(result) == [f"resource:{resource}:{rule}:1:read"]
    assert ids(result.obligations) == [obligation]
    assert decide(service, resource, MEMBER, LIMITED).decision == NOT_APPLICABLE


def test_a_missing_attribute_that_must_be_present_is_indeterminate(service):
    result = decide(service, "ttd-authlevel", MANAGER, LIMITED)
    assert (result.decision, result.status) == (INDETERMINATE, STATUS_MISSING_ATTRIBUTE)
    assert AUTHLEVEL_ID in result.message
    given = decide(
        service, "ttd-authlevel", MANAGER, LIMITED, subject_attributes=[(AUTHLEVEL_ID, "3")]
    )
    assert given.decision == PERMIT
    lower = decide(
        service, "ttd-authlevel", MANAGER, LIMITED, subject_attributes=[(AUTHLEVEL_ID, "2")]
    )
    assert lower.decision == NOT_APPLICABLE


def test_a_rule_that_must_have_an_attribute_decides_when_its_action_is_asked(service):
    def write(*given: tuple[str, Any]) -> Result:
        return decide(
            service,
            "ttd-write-needs-clearance",
            MANAGER,
            LIMITED,
            action_id="write",
            subject_attributes=given,
        )

    assert (write().decision, write().status) == (INDETERMINATE, STATUS_MISSING_ATTRIBUTE)
    assert write((CLEARANCE_ID, False)).decision == DENY
    assert write((CLEARANCE_ID, True)).decision == NOT_APPLICABLE


def test_a_missing_attribute_of_a_rule_for_another_action_does_not_matter(service):
    """XACML 3.0 7.11: a Target whose AllOf has a false Match is false (NotApplicable), even if
    another Match of it is Indeterminate. Reading is the first rule's; the second, for writing,
    does not apply to a read, whatever the clearance."""
    result = decide(service, "ttd-write-needs-clearance", MANAGER, LIMITED)
    assert (result.decision, result.status) == (PERMIT, STATUS_OK)


# --- the decision cache never changes an answer -------------------------------------------------


def outcome(result: Result) -> tuple[Any, ...]:
    """Everything a caller learns from a Result."""
    return (
        result.decision,
        result.status,
        result.message,
        tuple(uids(result)),
        result.version,
        result.package,
        result.obligations,
        result.advice,
    )


class Stream:
    """Random resource and package requests over the world, and random delegations made and
    revoked."""

    RESOURCES = ("ttd-dagl", "ttd-api", "ttd-events", "ttd-nuf", "ttd-first-deny", "ttd-none")
    PACKAGES = (API, API_NUF, EVENTS, EVENTS_FORMER)

    def __init__(self, rng: random.Random):
        self.rng = rng
        people = (WORLD.manager, WORLD.member, WORLD.stranger, WORLD.firm_manager)
        self.subjects = [
            *(Identifier(kind, value) for p in people for kind, value in p.identifiers().items()),
            *(Identifier(kind, value) for kind, value in WORLD.firm.identifiers().items()),
            system_user_id(WORLD.system_user),
            system_user_id(WORLD.firm_system_user),
            Identifier(USERID_ID, str(WORLD.unknown_user_id)),
        ]
        self.parties = [
            *(
                Identifier(kind, value)
                for org in (WORLD.limited, WORLD.nuf, WORLD.firm)
                for kind, value in org.identifiers().items()
            ),
            Identifier(PARTYID_ID, str(WORLD.unknown_party_id)),
            None,
        ]
        self.recipients = [
            *(Subject(PERSON, p.national_id) for p in people),
            Subject(ORGANIZATION, WORLD.firm.number),
            Subject(SYSTEM_USER, WORLD.system_user),
            Subject(SYSTEM_USER, WORLD.firm_system_user),
        ]

    def request(self) -> ResourceRequest | DecisionRequest:
        rng = self.rng
        if rng.random() < 0.25:
            holder = rng.choice(self.recipients)
            party = rng.choice([WORLD.limited, WORLD.nuf, WORLD.firm]).number
            return DecisionRequest(holder, party, rng.choice(self.PACKAGES), "access")
        # Now and then two identifiers, of one subject or of two (Indeterminate).
        subject = rng.sample(self.subjects, rng.choices([1, 2], [9, 1])[0])
        return ask(
            rng.choice(self.RESOURCES),
            subject,
            rng.choice(self.parties),
            rng.choices(["read", "write"], [5, 1])[0],
        )

    def write(self, writer: Pdp) -> str:
        rng = self.rng
        active = writer.delegations.active()
        if active and rng.random() < 0.4:
            chosen = rng.choice(sorted(active, key=lambda d: d.id))
            writer.revoke(chosen.id, Subject(PERSON, chosen.delegator))
            return "revoke"
        party = rng.choice([WORLD.limited, WORLD.nuf, WORLD.firm])
        delegator = WORLD.firm_manager if party is WORLD.firm else WORLD.manager
        try:
            writer.delegations.add(
                party.number,
                rng.choice(self.PACKAGES[:3]),
                delegator.national_id,
                rng.choice(self.recipients),
            )
        except Exception:  # held already, or a system user of another owner
            return "delegate refused"
        return "delegate"


def test_a_random_stream_gets_the_same_answers_with_and_without_the_cache(
    settings, resource_catalog
):
    rng = random.Random(20260214)
    stream = Stream(rng)
    cached = started(replace(settings, decision_cache=100_000), resource_catalog)
    uncached = Pdp.from_settings(replace(settings, decision_cache=0))
    try:
        pool = [stream.request() for _ in range(80)]
        writes: Counter[str] = Counter()
        seen: Counter[str] = Counter()
        decisions = 0
        while decisions < 1500:
            if rng.random() < 1 / 25:
                writes[stream.write(rng.choice([cached, uncached]))] += 1
                continue
            batch = [
                rng.choice(pool) if rng.random() < 0.85 else stream.request()
                for _ in range(rng.choice([1, 1, 1, 3]))
            ]
            expected = [outcome(result) for result in uncached.engine.decide_all(batch)]
            answered = [outcome(result) for result in cached.engine.decide_all(batch)]
            assert answered == expected, batch
            decisions += len(batch)
            seen.update(o[0] for o in expected)
            seen.update("by delegation" for o in expected if "delegation:" in str(o[3]))
        assert {"delegate", "revoke"} <= set(writes), writes
        assert {PERMIT, DENY, NOT_APPLICABLE, INDETERMINATE, "by delegation"} <= set(seen), seen
    finally:
        cached.close()
        uncached.close()

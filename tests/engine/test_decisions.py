"""The decision engine: candidates by target, py-abac evaluation, deny-overrides, four decisions."""

from __future__ import annotations

import pytest
from py_abac.policy import Policy

from pdp import compiler
from pdp.engine import DecisionEngine, DecisionRequest, RoleClaim
from pdp.engine.request import Unreadable, stating_roles
from pdp.errors import NoActivePolicySet
from pdp.repository import PolicySet
from pdp.subjects import subject
from pdp.vocabulary import (
    DENY,
    INDETERMINATE,
    NOT_APPLICABLE,
    PERMIT,
    STATUS_PROCESSING_ERROR,
    STATUS_STATED_ROLES_REFUSED,
    STATUS_SYNTAX_ERROR,
)

EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"
API_NUF = "urn:altinn:accesspackage:programmeringsgrensesnittNUF"
PERSON = subject("person", "02056260016")
PARTY = "910459880"


class FixedPolicySets:
    """Stands in for ActivePolicySet: always this PolicySet (or this error)."""

    def __init__(self, policy_set=None, error=None):
        self._policy_set, self._error = policy_set, error

    def current(self, stamp=None):
        if self._error:
            raise self._error
        return self._policy_set


class NoChanges:
    """Stands in for the change log: nothing ever changes."""

    def stamp(self):
        return 0


class NoDelegations:
    """A delegation store in which nothing was ever delegated."""

    def packages_delegated_to(self, holdings, key_roles):
        return {holding: frozenset() for holding in holdings}


class CountingRegister:
    """A register with one organisation, counting how often each fact is read."""

    def __init__(self, roles=(), org_form="AS"):
        self.roles, self.org_form = frozenset(roles), org_form
        self.reads = {"roles_held": 0, "organization": 0}

    def roles_held_by(self, holdings):
        self.reads["roles_held"] += len(holdings)
        return {
            (holder, party): self.roles if (holder, party) == (PERSON, PARTY) else frozenset()
            for holder, party in holdings
        }

    def org_forms_of(self, numbers):
        self.reads["organization"] += len(numbers)
        return {number: self.org_form if number == PARTY else None for number in numbers}


def policy_set(catalog, *extra_policies) -> PolicySet:
    return PolicySet(7, catalog, [*compiler.compile_catalog(catalog), *extra_policies])


def engine(catalog, register, *extra_policies, delegations=None, cache_size=0) -> DecisionEngine:
    return DecisionEngine(
        FixedPolicySets(policy_set(catalog, *extra_policies)),
        register,
        delegations or NoDelegations(),
        NoChanges(),
        cache_size,
    )


def request(package=EVENTS, action="access", **kwargs) -> DecisionRequest:
    return DecisionRequest(PERSON, PARTY, package, action, **kwargs)


def test_a_granting_role_permits_and_names_the_policy_and_version(catalog):
    result = engine(catalog, CountingRegister(["DAGL"])).decide(request())
    assert (result.decision, result.version) == (PERMIT, 7)
    assert [policy.uid for policy in result.policies] == [
        "grant:maskinlesbarehendelser:DAGL:access"
    ]


def test_holding_two_granting_roles_names_both_policies(catalog):
    result = engine(catalog, CountingRegister(["DAGL", "LEDE"])).decide(request())
    assert result.decision == PERMIT
    assert {policy.uid for policy in result.policies} == {
        "grant:maskinlesbarehendelser:DAGL:access",
        "grant:maskinlesbarehendelser:LEDE:access",
    }


def test_no_granting_role_is_not_applicable(catalog):
    result = engine(catalog, CountingRegister(["MEDL"])).decide(request())
    assert (result.decision, result.policies) == (NOT_APPLICABLE, ())


def test_a_fitting_deny_policy_overrides_every_permit(catalog):
    deny = {
        "uid": "deny:dagl-events",
        "description": "DAGL may not access events",
        "effect": "deny",
        "targets": {"resource_id": EVENTS, "action_id": "access"},
        "rules": {"subject": {"$.roles": {"condition": "AnyIn", "values": ["DAGL"]}}},
    }
    result = engine(catalog, CountingRegister(["DAGL", "LEDE"]), deny).decide(request())
    assert result.decision == DENY
    assert [policy.uid for policy in result.policies] == ["deny:dagl-events"]


def test_the_org_form_limit_reads_the_party_form(catalog):
    assert (
        engine(catalog, CountingRegister(["DAGL"], "NUF")).decide(request(API_NUF)).decision
        == PERMIT
    )
    assert (
        engine(catalog, CountingRegister(["DAGL"], "AS")).decide(request(API_NUF)).decision
        == NOT_APPLICABLE
    )


class OneDelegation:
    """The person holds `package` for the party by delegation."""

    def __init__(self, package):
        self.package, self.asked_with_key_roles = package, None

    def packages_delegated_to(self, holdings, key_roles):
        self.asked_with_key_roles = key_roles
        return {
            holding: frozenset([self.package] if holding == (PERSON, PARTY) else [])
            for holding in holdings
        }


def test_a_delegated_package_permits_access_and_says_it_came_by_delegation(catalog):
    delegations = OneDelegation(EVENTS)
    result = engine(catalog, CountingRegister([]), delegations=delegations).decide(request())
    assert result.decision == PERMIT
    assert [policy.uid for policy in result.policies] == [
        "delegation:maskinlesbarehendelser:access"
    ]
    assert delegations.asked_with_key_roles == catalog.key_roles


def test_a_delegated_package_does_not_permit_delegating_it_further(catalog):
    result = engine(catalog, CountingRegister([]), delegations=OneDelegation(EVENTS)).decide(
        request(action="delegate")
    )
    assert result.decision == NOT_APPLICABLE


def test_a_delegated_nuf_package_is_only_usable_for_a_nuf_party(catalog):
    for org_form, decision in (("NUF", PERMIT), ("AS", NOT_APPLICABLE)):
        result = engine(
            catalog, CountingRegister([], org_form), delegations=OneDelegation(API_NUF)
        ).decide(request(API_NUF))
        assert result.decision == decision


def test_each_register_fact_is_read_once_per_decision(catalog):
    register = CountingRegister(["DAGL", "LEDE"], "NUF")
    engine(catalog, register).decide(request(API_NUF))
    assert register.reads == {"roles_held": 1, "organization": 1}


def test_claimed_roles_are_used_instead_of_the_register_when_the_caller_may_state_them(catalog):
    register = CountingRegister([])
    claims = (RoleClaim("urn:altinn:rolecode", "bobe"),)
    result = engine(catalog, register).decide(request(role_claims=claims, roles_refused=None))
    assert result.decision == PERMIT
    assert register.reads["roles_held"] == 0


def test_claimed_roles_are_refused_unless_the_caller_was_given_the_right(catalog):
    register = CountingRegister(["DAGL"])
    claims = (RoleClaim("urn:altinn:rolecode", "dagl"),)
    result = engine(catalog, register).decide(request(role_claims=claims))
    assert (result.decision, result.status) == (INDETERMINATE, STATUS_PROCESSING_ERROR)
    assert result.minor_status == STATUS_STATED_ROLES_REFUSED
    assert result.message == (
        "the request states the subject's roles, but its caller was given no right to state them"
    )
    # Not decided on the register's roles instead: the caller learns its word was not taken.
    assert register.reads == {"roles_held": 0, "organization": 0}


def test_a_refusal_is_not_remembered_for_a_caller_who_may_state_roles(catalog):
    decide = engine(catalog, CountingRegister([]), cache_size=100).decide
    refused = request(role_claims=(RoleClaim("urn:altinn:rolecode", "dagl"),))
    assert decide(refused).decision == INDETERMINATE
    assert decide(stating_roles(refused, None)).decision == PERMIT
    assert decide(refused).decision == INDETERMINATE


def test_a_malformed_package_name_is_a_syntax_error_an_unknown_one_not_applicable(catalog):
    decide = engine(catalog, CountingRegister(["DAGL"])).decide
    assert decide(request("urn:altinn:resource:x")).status == STATUS_SYNTAX_ERROR
    assert decide(request("no-such-package")).decision == NOT_APPLICABLE


def test_an_unknown_action_is_a_syntax_error(catalog):
    result = engine(catalog, CountingRegister(["DAGL"])).decide(request(action="read"))
    assert (result.decision, result.status) == (INDETERMINATE, STATUS_SYNTAX_ERROR)


def test_a_request_the_context_handler_refused_stays_refused(catalog):
    results = engine(catalog, CountingRegister(["DAGL"])).decide_all(
        [Unreadable("no subject"), request()]
    )
    assert [(r.decision, r.message) for r in results] == [
        (INDETERMINATE, "no subject"),
        (PERMIT, None),
    ]


class BrokenRegister(CountingRegister):
    def roles_held_by(self, *args):
        raise RuntimeError("database is gone")


def test_a_failing_attribute_lookup_is_a_processing_error_not_a_permit(catalog):
    result = engine(catalog, BrokenRegister()).decide(request())
    assert (result.decision, result.status) == (INDETERMINATE, STATUS_PROCESSING_ERROR)
    assert "database is gone" not in result.message


@pytest.mark.parametrize("error", [NoActivePolicySet(), RuntimeError("connection refused")])
def test_no_policy_set_is_a_processing_error_for_every_request(error):
    failing = DecisionEngine(
        FixedPolicySets(error=error), CountingRegister(), NoDelegations(), NoChanges()
    )
    results = failing.decide_all([request()] * 2)
    assert [(r.decision, r.status) for r in results] == [
        (INDETERMINATE, STATUS_PROCESSING_ERROR)
    ] * 2


# --- one evaluation for requests alike in what the policies read (caching engines) --------

OTHER = subject("person", "01025161013")


class RolesBySubject:
    """A register in which each person holds the given roles in every organisation (AS)."""

    def __init__(self, roles: dict):
        self.roles = roles

    def roles_held_by(self, holdings):
        return {(s, p): frozenset(self.roles.get(s, ())) for s, p in holdings}

    def org_forms_of(self, numbers):
        return {number: "AS" for number in numbers}


def caching_engine(catalog, register, *extra_policies) -> DecisionEngine:
    return DecisionEngine(
        FixedPolicySets(policy_set(catalog, *extra_policies)),
        register,
        NoDelegations(),
        NoChanges(),
        cache_size=100,
    )


class FitsCalls:
    def __init__(self, monkeypatch):
        self.count = 0
        fits = Policy.fits

        def counted(policy, context):
            self.count += 1
            return fits(policy, context)

        monkeypatch.setattr(Policy, "fits", counted)


def test_people_holding_the_same_roles_share_one_evaluation(catalog, monkeypatch):
    engine = caching_engine(catalog, RolesBySubject({PERSON: {"DAGL"}, OTHER: {"DAGL"}}))
    calls = FitsCalls(monkeypatch)
    first = engine.decide(request())
    evaluated = calls.count
    second = engine.decide(DecisionRequest(OTHER, "910493353", EVENTS, "access"))
    assert calls.count == evaluated  # the second was not evaluated again
    assert (second.decision, second.policies, second.version) == (
        first.decision,
        first.policies,
        first.version,
    )
    third = engine.decide(DecisionRequest(OTHER, PARTY, EVENTS, "delegate"))
    assert calls.count > evaluated  # another target
    assert third.decision == PERMIT


def test_a_policy_for_one_subject_is_evaluated_for_every_subject(catalog):
    only_paula = "urn:altinn:accesspackage:onlypaula"
    policy = {
        "uid": "test:only-paula",
        "description": "Only Paula, whatever her roles",
        "effect": "allow",
        "targets": {"subject_id": PERSON.urn, "resource_id": only_paula, "action_id": "access"},
        "rules": {},
    }
    engine = caching_engine(catalog, RolesBySubject({}), policy)
    other = engine.decide(DecisionRequest(OTHER, PARTY, only_paula, "access"))
    paula = engine.decide(request(only_paula))
    assert (other.decision, paula.decision) == (NOT_APPLICABLE, PERMIT)


def test_a_condition_comparing_with_another_attribute_is_evaluated_for_every_request(catalog):
    """The rule names only the party; whether it fits depends on the roles too."""
    party_in_roles = "urn:altinn:accesspackage:partyinroles"
    policy = {
        "uid": "test:party-in-roles",
        "description": "Whoever holds the party's number as a role",
        "effect": "allow",
        "targets": {"resource_id": party_in_roles, "action_id": "access"},
        "rules": {
            "resource": {
                "$.party": {"condition": "IsInAttribute", "ace": "subject", "path": "$.roles"}
            }
        },
    }
    engine = caching_engine(catalog, RolesBySubject({PERSON: {PARTY}}), policy)
    other = engine.decide(DecisionRequest(OTHER, PARTY, party_in_roles, "access"))
    paula = engine.decide(request(party_in_roles))
    assert (other.decision, paula.decision) == (NOT_APPLICABLE, PERMIT)

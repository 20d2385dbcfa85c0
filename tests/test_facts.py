"""The PIP's facts: read once per batch, remembered until a change, never changing a decision.

A decision needs the subject's roles and delegated packages for the party, and the party's
organisation form. The engine reads them for a whole batch of requests (a MultiRequests) at
once, one look-up per (subject, party) whatever the number of requests about it, and a caching
engine remembers them until the change stamp moves, exactly as it remembers decisions:

- a batch decides exactly as its requests decided one at a time would;
- facts remembered for one request are never used for another after a write, in any process;
- a read that fails spoils only the decisions that need it, and is not remembered;
- only as many facts are kept as decisions are.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pdp import compiler
from pdp.attributes import Facts
from pdp.catalog import Catalog
from pdp.engine import DecisionRequest, RoleClaim
from pdp.engine.caches import FactsCache
from pdp.repository import PolicySet
from pdp.service import Pdp
from pdp.subjects import Subject
from pdp.vocabulary import ACTIONS, INDETERMINATE, PERMIT, ROLECODE_ID, STATUS_PROCESSING_ERROR
from tests.conftest import REGISTER
from tests.test_decision_cache import (
    API,
    API_NUF,
    EVENTS,
    NEVER,
    WRITES,
    StreamWorld,
    ask,
    outcome,
    person,
    process,
)

PACKAGES = (API, API_NUF, EVENTS)


class Reads:
    """Counts the facts a PDP process reads from its register and delegations, by kind."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, pdp: Pdp):
        self.calls: Counter[str] = Counter()
        self.items: Counter[str] = Counter()
        for owner, name in (
            (pdp.register, "roles_held_by"),
            (pdp.register, "org_forms_of"),
            (pdp.delegations, "packages_delegated_to"),
        ):
            monkeypatch.setattr(owner, name, self._counted(name, getattr(owner, name)))

    def _counted(self, name: str, read: Callable[..., Any]) -> Callable[..., Any]:
        def counted(wanted: Any, *rest: Any) -> Any:
            self.calls[name] += 1
            self.items[name] += len(wanted)
            return read(wanted, *rest)

        return counted


@pytest.fixture
def processes(settings, pdp) -> Iterator[Callable[..., Pdp]]:
    made: list[Pdp] = []

    def make(**changes: Any) -> Pdp:
        made.append(process(settings, **changes))
        return made[-1]

    yield make
    for each in made:
        each.close()


def everything_about(subject: Subject, party: str) -> list[DecisionRequest]:
    """Every package and action asked about one subject for one party."""
    return [ask(subject, party, package, action) for package in PACKAGES for action in ACTIONS]


# --- one read per batch -------------------------------------------------------------------


@pytest.mark.parametrize("cache_size", [0, 100_000])
def test_a_batch_reads_each_fact_once_for_all_its_requests_about_one_subject_and_party(
    processes, monkeypatch, cache_size
):
    pdp = processes(decision_cache=cache_size)
    reads = Reads(monkeypatch, pdp)
    manager = person(REGISTER.nuf_holders["DAGL"])
    member = person(REGISTER.as_holders["MEDL"])
    batch = [
        *everything_about(manager, REGISTER.nuf_org),
        *everything_about(member, REGISTER.as_org),
    ] * 2
    results = pdp.engine.decide_all(batch)
    assert [r.decision for r in results[:6]] == [PERMIT] * 6
    assert reads.calls == {"roles_held_by": 1, "packages_delegated_to": 1, "org_forms_of": 1}
    assert reads.items == {"roles_held_by": 2, "packages_delegated_to": 2, "org_forms_of": 2}


def test_a_caching_engine_reads_facts_about_a_subject_and_party_once_until_a_write(
    pdp, processes, monkeypatch
):
    cached = processes(policy_refresh_seconds=NEVER)
    reads = Reads(monkeypatch, cached)
    manager = person(REGISTER.nuf_holders["DAGL"])
    for request in everything_about(manager, REGISTER.nuf_org):
        cached.engine.decide(request)
    assert reads.items == {"roles_held_by": 1, "packages_delegated_to": 1, "org_forms_of": 1}

    pdp.register.import_document(REGISTER.document, pdp.policy_sets.current().catalog)
    cached.engine.decide(ask(manager, REGISTER.nuf_org, API, "delegate"))
    assert reads.items["roles_held_by"] == 2


def test_an_engine_without_a_cache_reads_facts_afresh_for_every_batch(processes, monkeypatch):
    uncached = processes(decision_cache=0)
    reads = Reads(monkeypatch, uncached)
    request = ask(person(REGISTER.as_holders["DAGL"]), REGISTER.as_org, API)
    for _ in range(3):
        uncached.engine.decide(request)
    assert reads.items["roles_held_by"] == 3


def test_only_facts_a_policy_of_the_target_names_are_read(processes, monkeypatch):
    """Stated roles replace the register's (only the party's existence is read); `delegate`
    policies read no delegations; unknown packages and actions have no policies; only the NUF
    package reads the organisation form."""
    pdp = processes()
    reads = Reads(monkeypatch, pdp)
    subject = person(REGISTER.as_holders["MEDL"])
    claims = (RoleClaim(ROLECODE_ID, "dagl"),)
    pdp.engine.decide_all(
        [
            ask(subject, REGISTER.as_org, API, "delegate", claims),
            ask(subject, REGISTER.as_org, "urn:altinn:accesspackage:skattegrunnlag"),
            ask(subject, REGISTER.as_org, API, "read"),
        ]
    )
    assert reads.calls == {"org_forms_of": 1}  # is the party of the stated roles registered?
    reads.calls.clear()
    pdp.engine.decide(ask(subject, REGISTER.as_org, API, "access"))
    assert set(reads.calls) == {"roles_held_by", "packages_delegated_to"}


# --- the same decisions -------------------------------------------------------------------


def test_batches_decide_exactly_as_their_requests_one_at_a_time(settings, catalog):
    """Random batches over a small register with delegations, some to organisations: each
    result is what deciding its request alone, in an engine that remembers nothing, gives."""
    rng = random.Random(5)
    world = StreamWorld(rng, catalog)
    writer = process(settings, decision_cache=0)
    alone = process(settings, decision_cache=0)
    batched = process(settings, decision_cache=0)
    cached = process(settings, decision_cache=100_000, policy_refresh_seconds=NEVER)
    try:
        writer.publish(catalog)
        writer.register.import_document(world.base_register(), catalog)
        for _ in range(12):
            world.delegate(writer)
        pool = [world.random_request() for _ in range(80)]
        for _ in range(40):
            batch = rng.sample(pool, rng.randint(2, 40))
            expected = [outcome(alone.engine.decide(request)) for request in batch]
            assert [outcome(r) for r in batched.engine.decide_all(batch)] == expected
            assert [outcome(r) for r in cached.engine.decide_all(batch)] == expected
    finally:
        for each in (writer, alone, batched, cached):
            each.close()


@pytest.mark.parametrize("write", WRITES, ids=lambda case: case.__name__.removesuffix("_case"))
@pytest.mark.parametrize("writer_is_reader", [False, True], ids=["another process", "itself"])
def test_facts_read_before_a_write_are_never_used_after_it(
    write, writer_is_reader, pdp, processes, catalog
):
    """The reader decides everything else about the case's subject and party first, so its
    facts about them are remembered but the case's own decision is not; after the write, the
    case's first decision is the new one."""
    reader = processes(policy_refresh_seconds=NEVER)
    truth = processes(decision_cache=0)
    case = write(reader if writer_is_reader else pdp, catalog)
    request = case.request
    siblings = [
        other
        for other in everything_about(request.subject, request.party)
        if other.package.casefold() != request.package.casefold() or other.action != request.action
    ]
    reader.engine.decide_all(siblings)

    case.write()

    answer = reader.engine.decide(request)
    assert answer.decision == case.after
    assert outcome(answer) == outcome(truth.engine.decide(request))


# --- failures -----------------------------------------------------------------------------


def test_a_failed_read_for_the_batch_leaves_each_decision_to_read_its_own(pdp, monkeypatch):
    """Reading the organisation forms for the whole batch fails because of one party: the
    request about another party reads its own form and is decided; the one about the failing
    party is a processing error, not remembered."""
    healthy = ask(person(REGISTER.nuf_holders["DAGL"]), REGISTER.nuf_org, API_NUF)
    failing_party = REGISTER.as_org
    unlucky = ask(person(REGISTER.as_holders["DAGL"]), failing_party, API_NUF)
    org_forms_of = pdp.register.org_forms_of

    def flaky(numbers: list[str]) -> dict[str, str | None]:
        if failing_party in numbers:
            raise OSError("timeout")
        return org_forms_of(numbers)

    monkeypatch.setattr(pdp.register, "org_forms_of", flaky)
    first = pdp.engine.decide_all([healthy, unlucky])
    assert first[0].decision == PERMIT
    assert (first[1].decision, first[1].status) == (INDETERMINATE, STATUS_PROCESSING_ERROR)
    monkeypatch.setattr(pdp.register, "org_forms_of", org_forms_of)
    again = pdp.engine.decide_all([healthy, unlucky])
    assert [r.decision for r in again] == [PERMIT, "NotApplicable"]


# --- bounded ------------------------------------------------------------------------------


class CountingFacts:
    """A register and a delegation store over fixed facts, counting the holdings read."""

    def __init__(self) -> None:
        self.roles_read: list[tuple[Subject, str]] = []

    def roles_held_by(self, holdings: list[tuple[Subject, str]]) -> dict:
        self.roles_read.extend(holdings)
        return {holding: frozenset({"DAGL"}) for holding in holdings}

    def org_forms_of(self, numbers: list[str]) -> dict[str, str]:
        return {number: "AS" for number in numbers}

    def packages_delegated_to(self, holdings: list[tuple[Subject, str]], key_roles: Any) -> dict:
        return {holding: frozenset() for holding in holdings}


def test_facts_kept_are_bounded_and_the_oldest_go_first(catalog: Catalog):
    source = CountingFacts()
    policy_set = PolicySet(1, catalog, compiler.compile_catalog(catalog))
    kept = FactsCache(2).kept_for(policy_set, stamp=0)
    facts = Facts(source, source, policy_set, kept)  # type: ignore[arg-type]
    first, second, third = (person(REGISTER.as_holders[code]) for code in ("DAGL", "LEDE", "INNH"))
    for subject in (first, second, third):
        assert facts.roles(subject, REGISTER.as_org) == {"DAGL"}
    assert len(source.roles_read) == 3
    facts.roles(second, REGISTER.as_org)
    facts.roles(third, REGISTER.as_org)
    assert len(source.roles_read) == 3  # still known
    facts.roles(first, REGISTER.as_org)
    assert source.roles_read[-1] == (first, REGISTER.as_org)  # forgotten, read again

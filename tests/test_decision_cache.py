"""The decision cache: a remembered decision is always the decision the PDP would make now.

Each PDP process remembers its decisions per request (subject, party, package as named,
action, stated roles) until something that could change one is written: a publish, an
activation, a register import, a delegation made or revoked.

- Every process on this machine learns of a write before its next decision, through the change
  file, however long its refresh interval.
- A process on another machine learns of it from the database within its refresh interval,
  and until then keeps its answers.
- Failures to evaluate (processing errors) are never remembered; requests the context handler
  could not read are answered on their own, never from the cache; the cache is bounded.
"""

from __future__ import annotations

import copy
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import pytest

from pdp import catalog as catalog_module
from pdp import compiler
from pdp.catalog import Catalog
from pdp.changes import ChangeLog
from pdp.config import Settings
from pdp.db import make_engine
from pdp.delegations import DelegationStore
from pdp.engine import DecisionEngine, DecisionRequest, Result, RoleClaim
from pdp.engine.request import Unreadable
from pdp.errors import PdpError
from pdp.register import Register
from pdp.repository import ActivePolicySet, PolicyRepository, PolicySet
from pdp.service import Pdp
from pdp.subjects import ORGANIZATION, PERSON, Subject
from pdp.vocabulary import (
    CCR_ROLE_ID,
    INDETERMINATE,
    NOT_APPLICABLE,
    PERMIT,
    ROLECODE_ID,
    STATUS_PROCESSING_ERROR,
    STATUS_SYNTAX_ERROR,
)
from tests.conftest import KEY_ROLES, NON_GRANTING_ROLES, REGISTER
from tests.helpers import new_organization, new_person

API = "urn:altinn:accesspackage:programmeringsgrensesnitt"
API_NUF = "urn:altinn:accesspackage:programmeringsgrensesnittNUF"
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"
#: What `renamed_events` calls the events package (its former URN stays an alias).
EVENTS_RENAMED = "urn:altinn:accesspackage:hendelser"

#: Longer than any test: a process with this interval never asks the database again.
NEVER = 3600.0


def person(number: str) -> Subject:
    return Subject(PERSON, number)


def organization(number: str) -> Subject:
    return Subject(ORGANIZATION, number)


def ask(
    subject: Subject,
    party: str,
    package: str = API,
    action: str = "access",
    claims: tuple[RoleClaim, ...] | None = None,
) -> DecisionRequest:
    # Stated roles honoured, as for a caller given the right (tests/security/test_stated_roles).
    return DecisionRequest(subject, party, package, action, claims, roles_refused=None)


def outcome(result: Result) -> tuple[Any, ...]:
    """Everything a caller learns from a Result (the policies by uid)."""
    return (
        result.decision,
        result.status,
        result.message,
        tuple(policy.uid for policy in result.policies),
        result.version,
        result.package,
    )


class Evaluations:
    """Counts how often `engine` evaluated a request rather than answering from its cache."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, engine: DecisionEngine):
        self.count = 0
        evaluate = engine._decide

        def counted(*arguments: Any) -> Result:
            self.count += 1
            return evaluate(*arguments)

        monkeypatch.setattr(engine, "_decide", counted)

    def during(self, action: Callable[[], object]) -> int:
        """How many requests `action` evaluated."""
        before = self.count
        action()
        return self.count - before


def decided(
    evaluations: Evaluations,
    engine: DecisionEngine,
    batch: list[DecisionRequest | Unreadable],
) -> tuple[list[tuple[Any, ...]], int]:
    """The outcomes of deciding `batch`, and how many of its requests were evaluated."""
    before = evaluations.count
    outcomes = [outcome(result) for result in engine.decide_all(batch)]
    return outcomes, evaluations.count - before


def process(settings: Settings, **changes: Any) -> Pdp:
    """Another PDP process on this machine: its own database engine and change log."""
    return Pdp.from_settings(replace(settings, **changes))


@pytest.fixture
def processes(settings: Settings, pdp: Pdp) -> Iterator[Callable[..., Pdp]]:
    """Makes PDP processes over the `pdp` fixture's database; closes them afterwards."""
    made: list[Pdp] = []

    def make(**changes: Any) -> Pdp:
        made.append(process(settings, **changes))
        return made[-1]

    yield make
    for each in made:
        each.close()


# --- policy sources and registers --------------------------------------------------------


def edited(catalog: Catalog, edit: Callable[[list[dict[str, Any]]], None]) -> Catalog:
    """`catalog` with its packages (API, API NUF, events, in that order) edited."""
    source = copy.deepcopy(catalog.source)
    edit(source["packages/integrasjoner.yaml"]["packages"])
    return catalog_module.parse(source)


def medl_may_use_the_api(catalog: Catalog) -> Catalog:
    def edit(packages: list[dict[str, Any]]) -> None:
        packages[0]["grants"].append({"roles": ["MEDL"], "delegable": False})

    return edited(catalog, edit)


def regn_may_use_events_at_limited_companies(catalog: Catalog) -> Catalog:
    def edit(packages: list[dict[str, Any]]) -> None:
        packages[2]["grants"].append({"roles": ["REGN"], "delegable": True, "org_forms": ["AS"]})

    return edited(catalog, edit)


def renamed_events(catalog: Catalog) -> Catalog:
    def edit(packages: list[dict[str, Any]]) -> None:
        packages[2]["aliases"] = [packages[2]["urn"]]
        packages[2]["urn"] = EVENTS_RENAMED

    return edited(catalog, edit)


def nothing_delegable(catalog: Catalog) -> Catalog:
    """No grant is delegable, so no package may be delegated, nor used by delegation."""

    def edit(packages: list[dict[str, Any]]) -> None:
        for package in packages:
            for grant in package["grants"]:
                grant["delegable"] = False

    return edited(catalog, edit)


def without_the_nuf_package(catalog: Catalog) -> Catalog:
    def edit(packages: list[dict[str, Any]]) -> None:
        del packages[1]

    return edited(catalog, edit)


def changed_register(change: Callable[[dict[str, dict[str, Any]]], None]) -> dict[str, Any]:
    """The test register (tests/conftest.py) changed by `change` (organisations by number)."""
    document = REGISTER.document
    change({entry["organization_number"]: entry for entry in document["organizations"]})
    return document


# --- every kind of write, made by another process -----------------------------------------


@dataclass(frozen=True)
class Case:
    """A request whose decision the write changes from `before` to `after`."""

    request: DecisionRequest
    before: str
    after: str
    write: Callable[[], Any]


def publish_case(writer: Pdp, catalog: Catalog) -> Case:
    member = person(REGISTER.as_holders["MEDL"])
    return Case(
        ask(member, REGISTER.as_org, API),
        NOT_APPLICABLE,
        PERMIT,
        lambda: writer.publish(medl_may_use_the_api(catalog)),
    )


def activate_case(writer: Pdp, catalog: Catalog) -> Case:
    writer.publish(medl_may_use_the_api(catalog))
    member = person(REGISTER.as_holders["MEDL"])
    return Case(
        ask(member, REGISTER.as_org, API),
        PERMIT,
        NOT_APPLICABLE,
        lambda: writer.repository.activate(1),
    )


def import_giving_a_role_case(writer: Pdp, catalog: Catalog) -> Case:
    def change(organizations: dict[str, dict[str, Any]]) -> None:
        organizations[REGISTER.as_org]["roles"].append(
            {"code": "DAGL", "person": REGISTER.stranger}
        )

    return Case(
        ask(person(REGISTER.stranger), REGISTER.as_org, EVENTS),
        NOT_APPLICABLE,
        PERMIT,
        lambda: writer.register.import_document(changed_register(change), catalog),
    )


def import_taking_a_role_case(writer: Pdp, catalog: Catalog) -> Case:
    manager = REGISTER.as_holders["DAGL"]

    def change(organizations: dict[str, dict[str, Any]]) -> None:
        roles = organizations[REGISTER.as_org]["roles"]
        roles[:] = [role for role in roles if role.get("person") != manager]

    return Case(
        ask(person(manager), REGISTER.as_org, API, "delegate"),
        PERMIT,
        NOT_APPLICABLE,
        lambda: writer.register.import_document(changed_register(change), catalog),
    )


def import_changing_the_form_case(writer: Pdp, catalog: Catalog) -> Case:
    """The NUF package is only for NUF organisations; the register says what the party is."""

    def change(organizations: dict[str, dict[str, Any]]) -> None:
        organizations[REGISTER.as_org]["org_form"] = "NUF"

    return Case(
        ask(person(REGISTER.as_holders["LEDE"]), REGISTER.as_org, API_NUF),
        NOT_APPLICABLE,
        PERMIT,
        lambda: writer.register.import_document(changed_register(change), catalog),
    )


def delegate_case(writer: Pdp, catalog: Catalog) -> Case:
    manager = person(REGISTER.as_holders["DAGL"])
    stranger = person(REGISTER.stranger)
    return Case(
        ask(stranger, REGISTER.as_org, EVENTS),
        NOT_APPLICABLE,
        PERMIT,
        lambda: writer.delegate(REGISTER.as_org, EVENTS, manager, stranger),
    )


def delegate_to_an_organization_case(writer: Pdp, catalog: Catalog) -> Case:
    manager = person(REGISTER.as_holders["DAGL"])
    firm = organization(REGISTER.firm)
    return Case(
        ask(firm, REGISTER.as_org, "maskinlesbarehendelser"),
        NOT_APPLICABLE,
        PERMIT,
        lambda: writer.delegate(REGISTER.as_org, EVENTS, manager, firm),
    )


def revoke_case(writer: Pdp, catalog: Catalog) -> Case:
    manager = person(REGISTER.as_holders["DAGL"])
    stranger = person(REGISTER.stranger)
    made = writer.delegate(REGISTER.as_org, EVENTS, manager, stranger)
    return Case(
        ask(stranger, REGISTER.as_org, EVENTS),
        PERMIT,
        NOT_APPLICABLE,
        lambda: writer.revoke(made.id, manager),
    )


WRITES = [
    publish_case,
    activate_case,
    import_giving_a_role_case,
    import_taking_a_role_case,
    import_changing_the_form_case,
    delegate_case,
    delegate_to_an_organization_case,
    revoke_case,
]


@pytest.mark.parametrize("write", WRITES, ids=lambda case: case.__name__.removesuffix("_case"))
def test_a_write_by_another_process_on_this_machine_reaches_the_very_next_decision(
    write, pdp, processes, catalog, monkeypatch
):
    """The reader never asks the database whether anything changed (its refresh interval is an
    hour): only the change file can tell it."""
    reader = processes(policy_refresh_seconds=NEVER)
    truth = processes(decision_cache=0)
    case = write(pdp, catalog)
    evaluations = Evaluations(monkeypatch, reader.engine)

    assert reader.engine.decide(case.request).decision == case.before
    assert evaluations.during(lambda: reader.engine.decide(case.request)) == 0, "not cached"

    case.write()

    answer = reader.engine.decide(case.request)
    assert answer.decision == case.after
    assert outcome(answer) == outcome(truth.engine.decide(case.request))
    assert evaluations.during(lambda: reader.engine.decide(case.request)) == 0


@pytest.mark.parametrize("write", WRITES, ids=lambda case: case.__name__.removesuffix("_case"))
def test_a_write_made_through_the_same_process_reaches_its_next_decision(
    write, pdp, processes, catalog
):
    cached = processes(policy_refresh_seconds=NEVER)
    case = write(cached, catalog)
    assert cached.engine.decide(case.request).decision == case.before
    case.write()
    assert cached.engine.decide(case.request).decision == case.after


# --- processes on another machine ---------------------------------------------------------


@dataclass(frozen=True)
class Elsewhere:
    engine: DecisionEngine
    policy_sets: ActivePolicySet


@contextmanager
def machine_elsewhere(settings: Settings, refresh_seconds: float) -> Iterator[Elsewhere]:
    """A caching engine whose process shares no change file with this machine's: it learns of
    writes only from the database, at most once per `refresh_seconds`."""
    database = make_engine(settings.database_url)
    changes = ChangeLog(database, None, refresh_seconds)
    policy_sets = ActivePolicySet(PolicyRepository(database, changes), changes)
    try:
        yield Elsewhere(
            DecisionEngine(
                policy_sets,
                Register(database, changes),
                DelegationStore(database, changes),
                changes,
                cache_size=1000,
            ),
            policy_sets,
        )
    finally:
        database.dispose()


@pytest.mark.parametrize("write", WRITES, ids=lambda case: case.__name__.removesuffix("_case"))
def test_a_process_elsewhere_keeps_its_answer_until_its_refresh_interval_ends(
    write, pdp, settings, catalog
):
    case = write(pdp, catalog)
    with machine_elsewhere(settings, refresh_seconds=NEVER) as there:
        elsewhere = there.engine
        before = outcome(elsewhere.decide(case.request))
        assert before[0] == case.before
        case.write()
        assert pdp.engine.decide(case.request).decision == case.after  # here: at once
        assert outcome(elsewhere.decide(case.request)) == before  # there: not yet


@pytest.mark.parametrize("write", WRITES, ids=lambda case: case.__name__.removesuffix("_case"))
def test_a_process_elsewhere_sees_a_write_once_its_refresh_interval_has_passed(
    write, pdp, settings, catalog
):
    interval = 0.05
    case = write(pdp, catalog)
    with machine_elsewhere(settings, refresh_seconds=interval) as there:
        elsewhere = there.engine
        assert elsewhere.decide(case.request).decision == case.before
        case.write()
        time.sleep(2 * interval)
        answer = elsewhere.decide(case.request)
        assert answer.decision == case.after
        assert outcome(answer) == outcome(pdp.engine.decide(case.request))


def test_decisions_remembered_under_one_version_are_not_given_under_another(pdp, settings, catalog):
    """Reading the active version again (as a preview, or the API after a publish, does) may
    switch versions before the change log has said anything: the cache starts afresh, and no
    answer ever pairs one version's decision with another's number."""
    member = ask(person(REGISTER.as_holders["MEDL"]), REGISTER.as_org, API)
    with machine_elsewhere(settings, refresh_seconds=NEVER) as there:
        first = there.engine.decide(member)
        assert (first.decision, first.version) == (NOT_APPLICABLE, 1)
        pdp.publish(medl_may_use_the_api(catalog))
        assert outcome(there.engine.decide(member)) == outcome(first)
        there.policy_sets.refresh_now()
        switched = there.engine.decide(member)
        assert (switched.decision, switched.version) == (PERMIT, 2)


@pytest.mark.parametrize(
    ("environment", "size"),
    [({}, 100_000), ({"PDP_DECISION_CACHE": "0"}, 0), ({"PDP_DECISION_CACHE": "250"}, 250)],
)
def test_the_cache_size_comes_from_pdp_decision_cache(environment, size):
    assert Settings.from_env(environment).decision_cache == size


@pytest.mark.parametrize("raw", ["-1", "lots", "1.5"])
def test_a_malformed_cache_size_is_refused_by_name(raw):
    with pytest.raises(ValueError, match="PDP_DECISION_CACHE"):
        Settings.from_env({"PDP_DECISION_CACHE": raw})


# --- what is remembered ---------------------------------------------------------------------


def test_a_repeated_request_is_answered_from_the_cache(pdp, monkeypatch):
    evaluations = Evaluations(monkeypatch, pdp.engine)
    request = ask(person(REGISTER.as_holders["DAGL"]), REGISTER.as_org, API)
    first = pdp.engine.decide(request)
    assert first.decision == PERMIT
    assert evaluations.during(lambda: pdp.engine.decide(request)) == 0
    assert outcome(pdp.engine.decide(request)) == outcome(first)


def test_requests_differing_in_any_part_are_remembered_apart(pdp, processes):
    """Subject, party, package as named, action and stated roles all make a request."""
    truth = processes(decision_cache=0)
    manager, member = REGISTER.as_holders["DAGL"], REGISTER.as_holders["MEDL"]
    requests = [
        ask(person(manager), REGISTER.as_org, API),
        ask(person(member), REGISTER.as_org, API),
        ask(person(manager), REGISTER.nuf_org, API),
        ask(person(manager), REGISTER.as_org, API_NUF),
        ask(person(manager), REGISTER.as_org, "PROGRAMMERINGSGRENSESNITT"),
        ask(person(manager), REGISTER.as_org, API, "delegate"),
        ask(person(manager), REGISTER.as_org, API, "read"),
        ask(person(member), REGISTER.as_org, API, claims=(RoleClaim(ROLECODE_ID, "dagl"),)),
        ask(person(member), REGISTER.as_org, API, claims=(RoleClaim(ROLECODE_ID, "xyz"),)),
        ask(person(manager), REGISTER.as_org, API, claims=()),
        ask(organization(REGISTER.firm), REGISTER.as_org, API),
    ]
    for _ in range(2):
        for request in requests:
            assert outcome(pdp.engine.decide(request)) == outcome(truth.engine.decide(request))


def test_a_processing_error_is_not_remembered(pdp, monkeypatch):
    """The register fails once; the next decision evaluates again and gets it right."""
    request = ask(person(REGISTER.as_holders["DAGL"]), REGISTER.as_org, API)
    evaluations = Evaluations(monkeypatch, pdp.engine)
    roles_held_by = pdp.register.roles_held_by

    def failing(*arguments: Any) -> dict:
        raise OSError("the register database went away")

    monkeypatch.setattr(pdp.register, "roles_held_by", failing)
    failed = pdp.engine.decide(request)
    assert (failed.decision, failed.status) == (INDETERMINATE, STATUS_PROCESSING_ERROR)

    monkeypatch.setattr(pdp.register, "roles_held_by", roles_held_by)
    assert evaluations.during(lambda: pdp.engine.decide(request)) == 1
    assert pdp.engine.decide(request).decision == PERMIT
    assert evaluations.during(lambda: pdp.engine.decide(request)) == 0


def test_a_processing_error_in_a_batch_spoils_only_itself(pdp, monkeypatch):
    manager = REGISTER.as_holders["DAGL"]
    failing_party = REGISTER.nuf_org
    healthy = ask(person(manager), REGISTER.as_org, API)
    unlucky = ask(person(REGISTER.nuf_holders["DAGL"]), failing_party, API_NUF)
    org_forms_of = pdp.register.org_forms_of

    def flaky(numbers: list[str]) -> dict[str, str | None]:
        if failing_party in numbers:
            raise OSError("timeout")
        return org_forms_of(numbers)

    monkeypatch.setattr(pdp.register, "org_forms_of", flaky)
    first = pdp.engine.decide_all([healthy, unlucky])
    assert first[0].decision == PERMIT
    assert first[1].status == STATUS_PROCESSING_ERROR
    monkeypatch.setattr(pdp.register, "org_forms_of", org_forms_of)
    assert [r.decision for r in pdp.engine.decide_all([healthy, unlucky])] == [PERMIT, PERMIT]


def test_requests_the_context_handler_refused_are_answered_on_their_own(pdp, monkeypatch):
    """In a MultiRequests, each unreadable request keeps its own message, every time, and the
    readable one next to it is remembered as usual."""
    evaluations = Evaluations(monkeypatch, pdp.engine)
    readable = ask(person(REGISTER.as_holders["DAGL"]), REGISTER.as_org, API)
    batch = [
        Unreadable("no AccessSubject"),
        readable,
        Unreadable("bad check digits in 12345678901"),
    ]
    results: list[list[Result]] = []
    assert evaluations.during(lambda: results.append(pdp.engine.decide_all(batch))) == 3
    assert evaluations.during(lambda: results.append(pdp.engine.decide_all(batch))) == 2
    for answer in results:
        assert [(r.decision, r.status, r.message) for r in answer] == [
            (INDETERMINATE, STATUS_SYNTAX_ERROR, "no AccessSubject"),
            (PERMIT, "urn:oasis:names:tc:xacml:1.0:status:ok", None),
            (INDETERMINATE, STATUS_SYNTAX_ERROR, "bad check digits in 12345678901"),
        ]


def test_the_cache_is_bounded_and_forgets_its_oldest_decision_first(processes, monkeypatch):
    small = processes(decision_cache=3)
    truth = processes(decision_cache=0)
    evaluations = Evaluations(monkeypatch, small.engine)
    people = [*REGISTER.as_holders.values()][5:11]  # three key roles, three others
    requests = [ask(person(number), REGISTER.as_org, EVENTS) for number in people]

    def decide(request: DecisionRequest) -> None:
        assert outcome(small.engine.decide(request)) == outcome(truth.engine.decide(request))

    first, second, third, fourth = requests[:4]
    for request in (first, second, third):
        decide(request)
    assert evaluations.during(lambda: [decide(r) for r in (first, second, third)]) == 0
    assert evaluations.during(lambda: decide(fourth)) == 1
    assert evaluations.during(lambda: [decide(r) for r in (second, third, fourth)]) == 0
    assert evaluations.during(lambda: decide(first)) == 1  # it was forgotten

    for request in requests:
        decide(request)
    assert evaluations.during(lambda: [decide(r) for r in requests[-3:]]) == 0
    assert evaluations.during(lambda: [decide(r) for r in requests[:-3]]) == 3


def test_no_cache_at_all_evaluates_every_request(processes, monkeypatch):
    uncached = processes(decision_cache=0)
    evaluations = Evaluations(monkeypatch, uncached.engine)
    request = ask(person(REGISTER.as_holders["DAGL"]), REGISTER.as_org, API)
    assert evaluations.during(lambda: [uncached.engine.decide(request) for _ in range(5)]) == 5


class InMemory:
    """Stands in for the policy sets, the register, the delegations or the change log."""

    def __init__(self, policy_set: PolicySet | None = None, roles=(), stamp: int = 0):
        self._policy_set, self._roles, self._stamp = policy_set, frozenset(roles), stamp

    def current(self, stamp: int | None = None) -> PolicySet:
        return self._policy_set

    def stamp(self) -> int:
        return self._stamp

    def roles_held_by(self, holdings: list[tuple[Subject, str]]) -> dict:
        return {holding: self._roles for holding in holdings}

    def org_forms_of(self, numbers: list[str]) -> dict[str, str]:
        return {number: "AS" for number in numbers}

    def packages_delegated_to(self, holdings: list[tuple[Subject, str]], key_roles: Any) -> dict:
        return {holding: frozenset() for holding in holdings}


def test_threads_sharing_a_full_cache_all_get_their_decisions(catalog):
    """A full cache evicts on every new decision; threads deciding at once must not trip over
    each other. The engine's facts are in memory, so decisions are quick and evictions many,
    and a thread switch is forced as often as possible, to make a race likely."""
    small = DecisionEngine(
        InMemory(PolicySet(1, catalog, compiler.compile_catalog(catalog))),
        InMemory(roles={"DAGL"}),
        InMemory(),
        InMemory(stamp=0),
        cache_size=1,
    )
    manager = person(REGISTER.as_holders["DAGL"])
    names = [EVENTS, "maskinlesbarehendelser", "MASKINLESBAREHENDELSER", EVENTS.upper()]
    requests = [ask(manager, REGISTER.as_org, name) for name in names]
    failures: list[BaseException] = []
    wrong: list[Result] = []
    stop = threading.Event()

    def decide_many(offset: int) -> None:
        turn = offset
        while not stop.is_set():
            turn += 1
            try:
                result = small.decide(requests[turn % len(requests)])
            except Exception as error:
                failures.append(error)
                stop.set()
                return
            if result.decision != PERMIT:
                wrong.append(result)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=decide_many, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        stop.wait(2.0)
        stop.set()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []
    assert wrong == []


# --- a randomized stream: the cache never changes an answer --------------------------------


class StreamWorld:
    """Organisations, people and a pool of requests over them, and random writes."""

    def __init__(self, rng: random.Random, catalog: Catalog):
        self.rng = rng
        self.catalog = catalog
        self.as_org, self.nuf_org, self.firm, self.ans_org = (new_organization() for _ in "1234")
        self.unknown_org = new_organization()  # never in the register
        self.people = [new_person() for _ in range(10)]
        self.subjects = [person(p) for p in self.people] + [
            organization(o)
            for o in (self.as_org, self.nuf_org, self.firm, self.ans_org, self.unknown_org)
        ]
        self.parties = [self.as_org, self.nuf_org, self.firm, self.ans_org, self.unknown_org]
        self.catalogs = [
            catalog,
            medl_may_use_the_api(catalog),
            regn_may_use_events_at_limited_companies(catalog),
            renamed_events(catalog),
            nothing_delegable(catalog),
            without_the_nuf_package(catalog),
        ]

    # the register --------------------------------------------------------------------------

    def base_register(self) -> dict[str, Any]:
        """Key-role holders (people 0, 1, 4, 6, 7), holders of roles that grant nothing
        (2, 3, 5), strangers (8, 9), and organisations holding roles."""
        p = self.people

        def entry(number, name, form, roles):
            return {"organization_number": number, "name": name, "org_form": form, "roles": roles}

        return {
            "organizations": [
                entry(
                    self.as_org,
                    "STREAM AS",
                    "AS",
                    [
                        {"code": "DAGL", "person": p[0]},
                        {"code": "LEDE", "person": p[1]},
                        {"code": "MEDL", "person": p[2]},
                        {"code": "REVI", "person": p[3]},
                        {"code": "REGN", "organization": self.firm},
                    ],
                ),
                entry(
                    self.nuf_org,
                    "STREAM NUF",
                    "NUF",
                    [{"code": "DAGL", "person": p[4]}, {"code": "KNUF", "person": p[5]}],
                ),
                entry(self.firm, "STREAM REGNSKAP AS", "AS", [{"code": "DAGL", "person": p[6]}]),
                entry(
                    self.ans_org,
                    "STREAM ANS",
                    "ANS",
                    [
                        {"code": "DTSO", "person": p[7]},
                        {"code": "DTSO", "person": p[1]},
                        {"code": "KOMP", "organization": self.as_org},
                    ],
                ),
            ]
        }

    def random_register(self) -> dict[str, Any]:
        """Some organisations re-imported with other forms and other role holders."""
        rng = self.rng
        if rng.random() < 0.3:
            return self.base_register()
        entries = rng.sample(self.base_register()["organizations"], rng.randint(1, 4))
        for entry in entries:
            entry["org_form"] = rng.choice([entry["org_form"], "AS", "NUF", "ANS", "ENK"])
            codes = rng.sample(KEY_ROLES + NON_GRANTING_ROLES, rng.randint(0, 5))
            roles = []
            for code in codes:
                holder = rng.choice(self.subjects[:-1])  # not the unknown organisation
                if holder.identifier != entry["organization_number"]:
                    roles.append({"code": code, holder.kind: holder.identifier})
            entry["roles"] = roles
        return {"organizations": entries}

    # requests -------------------------------------------------------------------------------

    def random_package(self) -> str:
        return self.rng.choice(
            [
                API,
                API_NUF,
                EVENTS,
                "programmeringsgrensesnitt",
                "maskinlesbarehendelser",
                "URN:ALTINN:ACCESSPACKAGE:PROGRAMMERINGSGRENSESNITTNUF",
                "Maskinlesbarehendelser",
                EVENTS_RENAMED,
                "urn:altinn:accesspackage:skattegrunnlag",  # no such package
                "not a package!",  # a syntax error
            ]
        )

    def random_claims(self) -> tuple[RoleClaim, ...] | None:
        if self.rng.random() < 0.8:
            return None
        claims = [
            RoleClaim(ROLECODE_ID, "dagl"),
            RoleClaim(CCR_ROLE_ID, "daglig-leder"),
            RoleClaim(ROLECODE_ID, "MEDL"),
            RoleClaim(CCR_ROLE_ID, "regnskapsforer"),
            RoleClaim(ROLECODE_ID, "nosuchrole"),
        ]
        return tuple(self.rng.sample(claims, self.rng.randint(0, 2)))

    def random_request(self) -> DecisionRequest:
        rng = self.rng
        return ask(
            rng.choice(self.subjects),
            rng.choice(self.parties),
            self.random_package(),
            rng.choices(["access", "delegate", "read"], [12, 7, 1])[0],
            self.random_claims(),
        )

    # writes ---------------------------------------------------------------------------------

    def write(self, writer: Pdp) -> str:
        """One random write through `writer`; returns what kind it was."""
        rng = self.rng
        kind = rng.choice(["publish", "activate", "import", "delegate", "delegate", "revoke"])
        if kind == "publish":
            writer.publish(rng.choice(self.catalogs))
        elif kind == "activate":
            writer.repository.activate(rng.choice(writer.repository.versions()).number)
        elif kind == "import":
            writer.register.import_document(self.random_register(), self.catalog)
        elif kind == "delegate":
            return self.delegate(writer)
        else:
            return self.revoke(writer)
        return kind

    def delegate(self, writer: Pdp) -> str:
        rng = self.rng
        party = rng.choice(self.parties)
        package = rng.choice([API, API_NUF, EVENTS, EVENTS_RENAMED])
        delegator = person(rng.choice(self.people))
        recipient = rng.choice([s for s in self.subjects if s != delegator])
        try:
            if rng.random() < 0.5:  # as the API does: only if the PDP permits the delegator
                writer.delegate(party, package, delegator, recipient)
            else:  # a fact, whoever made it
                writer.delegations.add(party, package, delegator.identifier, recipient)
        except PdpError:
            return "delegate refused"
        return "delegate"

    def revoke(self, writer: Pdp) -> str:
        active = sorted(writer.delegations.active(), key=lambda d: (d.created_at, d.party))
        if not active:
            return "nothing to revoke"
        chosen = self.rng.choice(active)
        writer.revoke(chosen.id, person(chosen.delegator))
        return "revoke"


def test_a_random_stream_gets_the_same_answers_with_and_without_the_cache(
    settings, catalog, monkeypatch
):
    """Thousands of requests over a small register, with publishes, activations, register
    imports, delegations and revocations at random points, written by either process: the
    caching process (never asking the database whether anything changed) answers every
    request exactly as a process without a cache does, while evaluating far fewer."""
    rng = random.Random(20251124)
    world = StreamWorld(rng, catalog)
    cached = process(settings, decision_cache=100_000, policy_refresh_seconds=NEVER)
    uncached = process(settings, decision_cache=0)
    try:
        uncached.publish(catalog)
        uncached.register.import_document(world.base_register(), catalog)
        cached_evaluations = Evaluations(monkeypatch, cached.engine)
        uncached_evaluations = Evaluations(monkeypatch, uncached.engine)
        pool = [world.random_request() for _ in range(60)]
        weights = [1 / (index + 1) ** 0.8 for index in range(len(pool))]
        writes: Counter[str] = Counter()
        seen: Counter[tuple[str, str]] = Counter()
        decisions = steps = evaluated = evaluated_with_cache = 0

        while decisions < 3000:
            steps += 1
            if rng.random() < 1 / 50:
                writes[world.write(rng.choice([cached, uncached]))] += 1
                continue
            batch: list[DecisionRequest | Unreadable] = [
                rng.choices(pool, weights)[0] if rng.random() < 0.9 else world.random_request()
                for _ in range(1 if rng.random() < 0.85 else rng.randint(2, 4))
            ]
            if len(batch) > 1 and rng.random() < 0.3:
                batch.insert(rng.randrange(len(batch)), Unreadable("no AccessSubject"))
            expected, evaluations = decided(uncached_evaluations, uncached.engine, batch)
            evaluated += evaluations
            answered, evaluations = decided(cached_evaluations, cached.engine, batch)
            evaluated_with_cache += evaluations
            assert answered == expected, f"step {steps}: {batch}"
            decisions += len(batch)
            seen.update((o[0], o[1].rsplit(":", 1)[-1]) for o in expected)
            seen.update(("by delegation", "") for o in expected if "delegation:" in str(o[3]))

        # The stream did what it is for: every kind of write, every kind of answer, and the
        # cache answered most requests.
        assert {"publish", "activate", "import", "delegate", "revoke"} <= set(writes), writes
        assert sum(writes.values()) >= 30, writes
        assert {
            (PERMIT, "ok"),
            (NOT_APPLICABLE, "ok"),
            (INDETERMINATE, "syntax-error"),
            ("by delegation", ""),
        } <= set(seen), seen
        assert evaluated == decisions
        assert evaluated_with_cache < 0.6 * decisions, (evaluated_with_cache, decisions)
    finally:
        cached.close()
        uncached.close()

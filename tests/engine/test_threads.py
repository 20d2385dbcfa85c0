"""Many threads deciding at once answer exactly as one thread does: the engine, its caches, the
PIP and the loaded policies may be shared by the threads of a gunicorn worker.

One randomized stream of package requests and service-resource requests (with delegations
made first) is decided on one thread by an engine without caches, then by 16 threads at once
sharing one engine whose caches are small enough to be emptied and refilled all the time, each
thread in its own order and batches, while another thread keeps announcing changes (so every
cache is thrown away and made anew under them). Every answer must be the single thread's.
"""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

from pdp.catalog import Catalog
from pdp.config import Settings
from pdp.engine import DecisionRequest, Result
from pdp.engine.request import Request
from pdp.identities import Identifier
from pdp.service import Pdp
from pdp.subjects import ORGANIZATION, PERSON, SYSTEM_USER, Subject
from pdp.vocabulary import PARTYID_ID, USERID_ID
from tests.service_resources import (
    API,
    API_NUF,
    EVENTS,
    EVENTS_FORMER,
    RESOURCE_POLICIES,
    WORLD,
    ask,
    organization_id,
    person_id,
    resource_source,
    system_user_id,
)

THREADS = 16
STREAM = 1000
SEED = 20261207


@pytest.fixture(scope="module")
def resource_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return resource_source(tmp_path_factory.mktemp("threads") / "policies")


@pytest.fixture
def service(settings: Settings, resource_catalog: Catalog) -> Iterator[Pdp]:
    """The world of `tests.service_resources`, with delegations: the manager gives the API
    package to the stranger and the events package to the limited company's system user."""
    made = Pdp.from_settings(replace(settings, decision_cache=0))
    made.publish(resource_catalog)
    made.register.import_document(WORLD.register_document(), resource_catalog)
    manager = Subject(PERSON, WORLD.manager.national_id)
    made.delegate(WORLD.limited.number, API, manager, Subject(PERSON, WORLD.stranger.national_id))
    made.delegate(WORLD.limited.number, EVENTS, manager, Subject(SYSTEM_USER, WORLD.system_user))
    yield made
    made.close()


def _stream(rng: random.Random) -> list[Request]:
    people = [WORLD.manager, WORLD.member, WORLD.stranger, WORLD.firm_manager]
    subjects = [Subject(PERSON, p.national_id) for p in people] + [
        Subject(SYSTEM_USER, WORLD.system_user),
        Subject(ORGANIZATION, WORLD.firm.number),
    ]
    parties = [WORLD.limited.number, WORLD.nuf.number, WORLD.firm.number, WORLD.unregistered_org]
    packages = [API, API_NUF, EVENTS, EVENTS_FORMER, "programmeringsgrensesnitt", "unknown"]
    askers = [person_id(p) for p in people] + [
        Identifier(USERID_ID, str(WORLD.manager.user_id)),
        system_user_id(WORLD.system_user),
        organization_id(WORLD.firm),
    ]
    resource_parties = [
        organization_id(WORLD.limited),
        organization_id(WORLD.nuf),
        Identifier(PARTYID_ID, str(WORLD.firm.party_id)),
        None,
    ]
    stream: list[Request] = []
    for _ in range(STREAM):
        if rng.random() < 0.5:
            stream.append(
                DecisionRequest(
                    rng.choice(subjects),
                    rng.choice(parties),
                    rng.choice(packages),
                    rng.choice(["access", "delegate"]),
                )
            )
        else:
            stream.append(
                ask(
                    rng.choice(sorted(RESOURCE_POLICIES)),
                    rng.choice(askers),
                    rng.choice(resource_parties),
                    rng.choice(["read", "write", "publish"]),
                )
            )
    return stream


def _answer(result: Result) -> tuple:
    """What a result says, its deciding policies by uid (each engine parses its own)."""
    return (
        result.decision,
        result.status,
        result.message,
        tuple(policy.uid for policy in result.policies),
        result.version,
        result.package,
        result.obligations,
        result.advice,
    )


def test_sixteen_threads_decide_a_random_stream_as_one_thread_does(service, settings):
    stream = _stream(random.Random(SEED))
    expected = [_answer(result) for result in service.decide(stream)]
    assert len({answer[0] for answer in expected}) >= 3  # the stream decides every way
    shared = Pdp.from_settings(replace(settings, decision_cache=64))
    answers: dict[int, list[tuple[int, tuple]]] = {}
    failures: list[BaseException] = []
    stop_announcing = threading.Event()
    start = threading.Barrier(THREADS + 1, timeout=30)

    def decide(number: int) -> None:
        try:
            rng = random.Random(SEED + number)
            order = list(range(len(stream)))
            rng.shuffle(order)
            start.wait()
            got = []
            at = 0
            while at < len(order):
                batch = order[at : at + rng.choice([1, 1, 1, 3, 10])]
                results = shared.decide([stream[i] for i in batch])
                got += [(i, _answer(r)) for i, r in zip(batch, results, strict=True)]
                at += len(batch)
            answers[number] = got
        except BaseException as error:  # reported by the test below
            failures.append(error)

    def announce() -> None:
        start.wait()
        while not stop_announcing.wait(0.002):
            shared.changes.announce()

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: interleave as much as possible
    try:
        workers = [threading.Thread(target=decide, args=(n,)) for n in range(THREADS)]
        announcer = threading.Thread(target=announce)
        for thread in [*workers, announcer]:
            thread.start()
        for worker in workers:
            worker.join(timeout=300)
        stop_announcing.set()
        announcer.join()
    finally:
        sys.setswitchinterval(switch)
        shared.close()
    assert failures == []
    assert sorted(answers) == list(range(THREADS))
    for number, got in answers.items():
        wrong = [(i, answer) for i, answer in got if answer != expected[i]]
        assert wrong == [], f"thread {number}: {len(wrong)} answers differ, first {wrong[:1]}"

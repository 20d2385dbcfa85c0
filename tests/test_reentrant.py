"""A loaded policy may be evaluated by many threads at once (`pdp.reentrant`)."""

from __future__ import annotations

import threading
from typing import Any

from py_abac.context import EvaluationContext
from py_abac.provider.base import AttributeProvider
from py_abac.request import AccessRequest

from pdp.reentrant import per_call_conditions
from pdp.repository import PolicySet

PACKAGE = "urn:altinn:accesspackage:partyinroles"

#: Permit whoever holds the party's number among their roles: a condition comparing one
#: attribute with another, nested in a logic condition as well as at the top.
PARTY_IN_ROLES = {
    "uid": "test:party-in-roles",
    "description": "Whoever holds the party's number as a role",
    "effect": "allow",
    "targets": {"resource_id": PACKAGE, "action_id": "access"},
    "rules": {
        "resource": [
            {"$.party": {"condition": "IsInAttribute", "ace": "subject", "path": "$.roles"}},
            {
                "$.other": {
                    "condition": "AllOf",
                    "values": [{"condition": "IsInAttribute", "ace": "subject", "path": "$.roles"}],
                }
            },
        ]
    },
}


class _PartyAfterEveryoneRead(AttributeProvider):
    """Gives the party only once every thread has read its roles: py-abac reads the roles
    into the condition first and the party second, so without per-call conditions every
    thread would compare its party with the last thread's roles."""

    def __init__(self, barrier: threading.Barrier):
        self._barrier = barrier

    def get_attribute_value(self, ace: str, attribute_path: str, ctx: EvaluationContext) -> Any:
        if (ace, attribute_path) == ("resource", "$.party"):
            self._barrier.wait()
            return ctx.get_attribute_value("resource", "$.asked")
        return None


def test_threads_evaluating_one_attribute_condition_at_once_each_compare_their_own_values(
    catalog,
):
    policy = PolicySet(1, catalog, [PARTY_IN_ROLES]).candidates(PACKAGE, "access")[0]
    threads = 8
    barrier = threading.Barrier(threads, timeout=10)
    provider = _PartyAfterEveryoneRead(barrier)
    answers: dict[int, bool] = {}

    def evaluate(number: int) -> None:
        # Even threads hold their party's number as a role; odd ones hold another number.
        party = f"{number:09d}"
        roles = [party] if number % 2 == 0 else [f"{number + 100:09d}"]
        request = AccessRequest(
            subject={"id": "someone", "attributes": {"roles": roles}},
            resource={"id": PACKAGE, "attributes": {"asked": party, "other": "x"}},
            action={"id": "access", "attributes": {}},
            context={},
        )
        answers[number] = policy.fits(EvaluationContext(request, [provider]))

    workers = [threading.Thread(target=evaluate, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert answers == {n: n % 2 == 0 for n in range(threads)}


def test_a_nested_attribute_condition_is_evaluated_per_call_too(catalog):
    policy = PolicySet(1, catalog, [PARTY_IN_ROLES]).candidates(PACKAGE, "access")[0]
    assert per_call_conditions(policy) == 2
    nested = policy.rules.resource[1]["$.other"].values[0]
    request = AccessRequest(
        subject={"id": "someone", "attributes": {"roles": ["x"]}},
        resource={"id": PACKAGE, "attributes": {"other": "x"}},
        action={"id": "access", "attributes": {}},
        context={},
    )
    assert policy.fits(EvaluationContext(request, []))
    assert nested.template.value is None  # the loaded condition itself was never written


def test_the_shipped_policies_hold_no_condition_evaluated_per_call(catalog):
    """They compare attributes with literals only: loading them changes nothing."""
    from pdp.compiler import compile_catalog

    documents = compile_catalog(catalog)
    policy_set = PolicySet(1, catalog, documents)
    loaded = [
        policy
        for resource, action in policy_set.targets
        for policy in policy_set.candidates(resource, action)
    ]
    assert loaded and sum(per_call_conditions(policy) for policy in loaded) == 0


def test_threads_reading_attribute_paths_never_seen_before_each_read_their_own():
    """py-abac reads attributes with objectpath, which parses a path it has not seen through
    module-level globals (and then keeps the parse): two threads parsing at once would get
    an error, or keep a wrong parse for good."""
    import sys

    from objectpath import Tree

    import pdp.reentrant  # noqa: F401 - what makes the parsing safe

    threads, paths = 16, 40
    failures: list[BaseException] = []
    wrong: list[tuple[int, int, object]] = []
    start = threading.Barrier(threads, timeout=10)

    def read(number: int) -> None:
        try:
            start.wait()
            for n in range(paths):
                key = f"k{number}x{n}"  # a path no thread has read before
                got = Tree({key: (number, n)}).execute(f"$.{key}")
                if got != (number, n):
                    wrong.append((number, n, got))
        except BaseException as error:  # reported below
            failures.append(error)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        workers = [threading.Thread(target=read, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(switch)
    assert (failures, wrong) == ([], [])

"""The engine's caches: what each keeps, how much, and what makes it stale.

The stamp is always handed in: a cache never reads the change log itself.
"""

from __future__ import annotations

import pytest

from pdp import compiler
from pdp.engine import DecisionRequest, Result
from pdp.engine.caches import DecisionCache, EvaluationCache, FactsCache
from pdp.engine.targets import Target
from pdp.repository import PolicySet
from pdp.subjects import subject
from pdp.vocabulary import INDETERMINATE, NOT_APPLICABLE, PERMIT, STATUS_PROCESSING_ERROR

PERSON = subject("person", "02056260016")
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"


@pytest.fixture
def policy_set(catalog) -> PolicySet:
    return PolicySet(1, catalog, compiler.compile_catalog(catalog))


@pytest.fixture
def other_policy_set(catalog) -> PolicySet:
    return PolicySet(2, catalog, compiler.compile_catalog(catalog))


def ask(party: str = "910459880") -> DecisionRequest:
    return DecisionRequest(PERSON, party, EVENTS, "access")


PERMITTED = Result(PERMIT, version=1)


def test_a_decision_is_remembered_under_its_policy_set_and_stamp(policy_set):
    cache = DecisionCache(10)
    cache.kept_for(policy_set, 7).remember(ask(), PERMITTED, stamp_now=7)
    assert cache.kept_for(policy_set, 7).get(ask()) is PERMITTED


def test_decisions_are_stale_when_the_stamp_moves(policy_set):
    cache = DecisionCache(10)
    cache.kept_for(policy_set, 7).remember(ask(), PERMITTED, stamp_now=7)
    assert cache.kept_for(policy_set, 8).get(ask()) is None
    assert cache.kept_for(policy_set, 7).get(ask()) is None  # afresh: nothing comes back


def test_decisions_are_stale_when_another_policy_set_is_active(policy_set, other_policy_set):
    cache = DecisionCache(10)
    cache.kept_for(policy_set, 7).remember(ask(), PERMITTED, stamp_now=7)
    assert cache.kept_for(other_policy_set, 7).get(ask()) is None


def test_a_decision_evaluated_while_a_write_was_announced_is_not_remembered(policy_set):
    kept = DecisionCache(10).kept_for(policy_set, 7)
    kept.remember(ask(), PERMITTED, stamp_now=8)
    assert kept.get(ask()) is None


def test_a_processing_error_is_never_remembered(policy_set):
    kept = DecisionCache(10).kept_for(policy_set, 7)
    kept.remember(ask(), Result(INDETERMINATE, STATUS_PROCESSING_ERROR), stamp_now=7)
    assert kept.get(ask()) is None


def test_decisions_are_bounded_and_the_oldest_go_first(policy_set):
    kept = DecisionCache(2).kept_for(policy_set, 7)
    for party in ("1", "2", "3"):
        kept.remember(ask(party), PERMITTED, stamp_now=7)
    assert [kept.get(ask(party)) for party in ("1", "2", "3")] == [None, PERMITTED, PERMITTED]


def test_facts_are_stale_when_the_stamp_moves_or_another_policy_set_is_active(
    policy_set, other_policy_set
):
    cache = FactsCache(10)
    cache.kept_for(policy_set, 7).roles.keep((PERSON, "1"), frozenset({"DAGL"}))
    assert cache.kept_for(policy_set, 7).roles == {(PERSON, "1"): {"DAGL"}}
    assert cache.kept_for(policy_set, 8).roles == {}
    cache.kept_for(policy_set, 8).org_forms.keep("1", "AS")
    assert cache.kept_for(other_policy_set, 8).org_forms == {}


def test_facts_of_each_kind_are_bounded(policy_set):
    known = FactsCache(1).kept_for(policy_set, 7)
    for kind in (known.roles, known.delegated):
        kind.keep((PERSON, "1"), frozenset())
        kind.keep((PERSON, "2"), frozenset())
        assert list(kind) == [(PERSON, "2")]
    known.org_forms.keep("1", "AS")
    known.org_forms.keep("2", None)
    assert list(known.org_forms) == ["2"]


def test_evaluations_outlive_a_stamp_but_not_the_policy_set(policy_set, other_policy_set):
    cache = EvaluationCache(10)
    key = (Target(EVENTS, "access"), ("DAGL",))
    cache.kept_for(policy_set).keep(key, Result(NOT_APPLICABLE, version=1))
    assert cache.kept_for(policy_set)[key].decision == NOT_APPLICABLE
    assert key not in cache.kept_for(other_policy_set)


@pytest.mark.parametrize("cache", [DecisionCache, FactsCache, EvaluationCache])
def test_a_cache_that_could_hold_nothing_is_refused(cache):
    with pytest.raises(ValueError, match="at least one"):
        cache(0)

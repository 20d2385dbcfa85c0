"""`reentrant`: a py-abac `Policy` that many threads may evaluate at once.

py-abac's attribute conditions (`EqualsAttribute`, `AnyInAttribute`, `IsInAttribute`, ... : a
condition comparing one attribute of the request with another) store the other attribute's
value on the condition object (`self.value = ctx.get_attribute_value(...)`) and read it back a
moment later. A policy is shared by every thread of a process, so two threads evaluating it at
once can compare one request's attribute with the other request's value: a wrong answer, a
Permit among them. Every other condition py-abac 0.4.1 has only reads itself while evaluating
(checked in its source: `policy/conditions/*`), and so do `Rules`, `Targets` and `Policy`.

py-abac also reads every attribute path (`$.roles`), and checks every path of a policy it loads,
with objectpath, which parses an expression it has not seen before through module-level
globals (its current token and tokenizer) and then keeps the parse in a module-level cache.
Two threads parsing at once fail ("generator already executing"), or worse, keep a parse made
of both expressions for good. Importing this module puts objectpath's parser behind a lock
(`_parse_one_at_a_time`): a path is parsed once per process, so the lock is taken a few dozen
times in a process's life and never on a path already read.

So each attribute condition of a loaded policy is replaced by `_PerCall`, which evaluates a
shallow copy of it made for that call: nothing of one evaluation is left where another can see
it. (The grant and service-resource compilers write no attribute conditions today; a policy
document with one is still a valid py-abac policy the repository may hold.) The copy costs one
small object per attribute condition evaluated; policies without such conditions are returned
as they are and cost nothing.
"""

from __future__ import annotations

import threading
from typing import Any

from objectpath.core import interpreter
from py_abac.context import EvaluationContext
from py_abac.policy import Policy
from py_abac.policy.conditions.attribute.base import AttributeCondition
from py_abac.policy.conditions.base import ConditionBase
from py_abac.policy.conditions.logic.base import LogicCondition
from py_abac.policy.conditions.logic.not_ import Not

_ACES = ("subject", "resource", "action", "context")


def _parse_one_at_a_time() -> None:
    """Put objectpath's parser (what `Tree.compile` calls for an expression not in its cache)
    behind one lock."""
    parse = interpreter.parse
    if getattr(parse, "one_at_a_time", False):
        return
    lock = threading.Lock()

    def locked(expression: Any, debug: bool = False) -> Any:
        with lock:
            return parse(expression, debug)

    locked.one_at_a_time = True  # type: ignore[attr-defined]
    interpreter.parse = locked


_parse_one_at_a_time()


class _PerCall(ConditionBase):
    """An attribute condition evaluated through a fresh copy of it on every call."""

    def __init__(self, template: AttributeCondition):
        self.template = template
        self._kind = type(template)
        self._state = dict(vars(template))

    def is_satisfied(self, ctx: EvaluationContext) -> bool:
        # A copy made by hand: `copy.copy` costs three times as much.
        clone = object.__new__(self._kind)
        clone.__dict__.update(self._state)
        return clone.is_satisfied(ctx)


def reentrant(policy: Policy) -> Policy:
    """`policy`, its attribute conditions (at any depth) evaluated per call; changed in place
    while it is loaded, before any thread sees it."""
    rules = policy.rules
    for ace in _ACES:
        setattr(rules, ace, _rule_part(getattr(rules, ace)))
    return policy


def per_call_conditions(policy: Policy) -> int:
    """How many conditions of a loaded policy are evaluated per call (`reentrant`)."""

    def count(part: Any) -> int:
        if isinstance(part, _PerCall):
            return 1
        if isinstance(part, list):
            return sum(count(each) for each in part)
        if isinstance(part, dict):
            return sum(count(each) for each in part.values())
        if isinstance(part, LogicCondition):
            return sum(count(each) for each in part.values)
        if isinstance(part, Not):
            return count(part.value)
        return 0

    return sum(count(getattr(policy.rules, ace)) for ace in _ACES)


def _rule_part(part: Any) -> Any:
    """A rule's conditions for one element: a dict of path to condition, or a list of them."""
    if isinstance(part, list):
        return [_rule_part(each) for each in part]
    if isinstance(part, dict):
        return {path: _condition(condition) for path, condition in part.items()}
    return part


def _condition(condition: Any) -> Any:
    if isinstance(condition, AttributeCondition):
        return _PerCall(condition)
    if isinstance(condition, LogicCondition):
        condition.values = [_condition(each) for each in condition.values]
    elif isinstance(condition, Not):
        condition.value = _condition(condition.value)
    return condition

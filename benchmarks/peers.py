"""The peers: the same rules written natively for vakt, Cedar (cedarpy) and raw py-abac, plus
a plain dict look-up as the floor.

The rules are read from our own compiled policies (`pdp.compiler.compile_catalog`), so every
engine enforces exactly the same grants: one rule per (role, package, action), one per
delegable package for its delegates, each with its organisation-form limit. The translation
understands only the shapes the compiler emits and refuses anything else, rather than
benchmarking a different policy by accident.

Peers get the attributes the PIP would read (roles, delegated packages, organisation form)
from `Facts` dicts, so they pay no SQL: their figures are what a decision costs in the engine
itself. Raw py-abac runs our compiled policies in its MemoryStorage, which has no target
index and so evaluates every policy; vakt's MemoryStorage likewise hands every policy to its
checker. Cedar gets the per-request facts in its `context`, its documented place for
request-time data, with an empty, pre-parsed entity store.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.harness import Contender
from benchmarks.workload import Ask, Facts
from pdp.resource_compiler import RESOURCE_UID_PREFIX

_ROLES = "$.roles"
_DELEGATED = "$.delegated_packages"
_ORG_FORM = "$.org_form"


@dataclass(frozen=True)
class Rule:
    """One compiled allow policy, in engine-neutral form."""

    uid: str
    package: str
    action: str
    subject_attribute: str  # "roles" or "delegated_packages"
    subject_values: tuple[str, ...]
    org_forms: tuple[str, ...]  # empty: no limit


def package_documents(documents: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The compiled documents of the grants and delegations: the package decisions the peers
    are measured on (a source's service resource rules are not theirs to decide)."""
    return [doc for doc in documents if not doc["uid"].startswith(RESOURCE_UID_PREFIX)]


def rules_from_compiled(documents: Sequence[dict[str, Any]]) -> list[Rule]:
    """The compiler's py-abac documents as Rules; ValueError on any shape it does not emit."""
    rules = []
    for doc in documents:
        targets, body = doc["targets"], doc["rules"]
        if doc["effect"] != "allow" or targets["subject_id"] != "*" or body["action"]:
            raise ValueError(f"{doc['uid']}: not a shape the peer translation knows")
        if body["context"] or len(body["subject"]) != 1:
            raise ValueError(f"{doc['uid']}: not a shape the peer translation knows")
        ((path, condition),) = body["subject"].items()
        if path not in (_ROLES, _DELEGATED) or condition["condition"] != "AnyIn":
            raise ValueError(f"{doc['uid']}: unexpected subject rule {condition}")
        forms: tuple[str, ...] = ()
        if body["resource"]:
            ((resource_path, limit),) = body["resource"].items()
            if resource_path != _ORG_FORM or limit["condition"] != "AnyOf":
                raise ValueError(f"{doc['uid']}: unexpected resource rule {limit}")
            forms = tuple(v["value"] for v in limit["values"] if v["condition"] == "Equals")
            if len(forms) != len(limit["values"]):
                raise ValueError(f"{doc['uid']}: unexpected organisation-form rule")
        rules.append(
            Rule(
                uid=doc["uid"],
                package=targets["resource_id"],
                action=targets["action_id"],
                subject_attribute=path.removeprefix("$."),
                subject_values=tuple(condition["values"]),
                org_forms=forms,
            )
        )
    return rules


def dict_floor(answers: dict[Ask, bool]) -> Contender:
    """The floor: the answer already known, one dict look-up on a prepared key (what a perfect
    decision cache costs)."""
    table = {(a.subject_urn, a.party, a.package, a.action): ok for a, ok in answers.items()}

    def prepare(ask: Ask) -> tuple[str, str, str, str]:
        return (ask.subject_urn, ask.party, ask.package, ask.action)

    return Contender("dict look-up (floor)", prepare, table.__getitem__)


def raw_py_abac(documents: Sequence[dict[str, Any]], facts: Facts) -> Contender:
    """py-abac's own PDP over MemoryStorage with our compiled policies, deny-overrides, and an
    attribute provider reading `facts`."""
    from py_abac import PDP, AccessRequest, EvaluationAlgorithm, Policy
    from py_abac.provider.base import AttributeProvider
    from py_abac.storage.memory import MemoryStorage

    class FactsProvider(AttributeProvider):
        def get_attribute_value(self, ace: str, attribute_path: str, ctx: Any) -> Any:
            party = ctx.get_attribute_value("resource", "$.party")
            if ace == "subject" and attribute_path == _ROLES:
                return facts.roles.get((ctx.subject_id, party), [])
            if ace == "subject" and attribute_path == _DELEGATED:
                return facts.delegated_packages.get((ctx.subject_id, party), [])
            if ace == "resource" and attribute_path == _ORG_FORM:
                return facts.org_forms.get(party)
            return None

    logging.getLogger("py_abac").setLevel(logging.WARNING)
    storage = MemoryStorage()
    for doc in documents:
        storage.add(Policy.from_json(doc))
    pdp = PDP(storage, EvaluationAlgorithm.DENY_OVERRIDES, [FactsProvider()])

    def prepare(ask: Ask) -> Ask:
        return ask

    def decide(ask: Ask) -> bool:
        return pdp.is_allowed(
            AccessRequest(
                subject={"id": ask.subject_urn, "attributes": {}},
                resource={"id": ask.package, "attributes": {"party": ask.party}},
                action={"id": ask.action, "attributes": {}},
                context={},
            )
        )

    return Contender("py-abac MemoryStorage", prepare, decide)


def vakt_guard(rules: Sequence[Rule], facts: Facts) -> Contender:
    """vakt's Guard over MemoryStorage and RulesChecker, one vakt Policy per Rule, with the
    subject's attributes and the party's form in the inquiry."""
    import vakt
    from vakt.rules import AnyIn, Eq, In

    logging.getLogger("vakt").setLevel(logging.WARNING)
    storage = vakt.MemoryStorage()
    for rule in rules:
        resource: dict[str, Any] = {"id": Eq(rule.package)}
        if rule.org_forms:
            resource["org_form"] = In(*rule.org_forms)
        storage.add(
            vakt.Policy(
                rule.uid,
                effect=vakt.ALLOW_ACCESS,
                subjects=[{rule.subject_attribute: AnyIn(*rule.subject_values)}],
                resources=[resource],
                actions=[Eq(rule.action)],
            )
        )
    guard = vakt.Guard(storage, vakt.RulesChecker())

    def prepare(ask: Ask) -> Ask:
        return ask

    def decide(ask: Ask) -> bool:
        key = (ask.subject_urn, ask.party)
        inquiry = vakt.Inquiry(
            subject={
                "id": ask.subject_urn,
                "roles": facts.roles.get(key, []),
                "delegated_packages": facts.delegated_packages.get(key, []),
            },
            resource={"id": ask.package, "org_form": facts.org_forms.get(ask.party, "")},
            action=ask.action,
        )
        return guard.is_allowed(inquiry)

    return Contender("vakt Guard", prepare, decide)


def cedar(rules: Sequence[Rule], facts: Facts) -> Contender:
    """cedarpy with a pre-parsed policy set (one `permit` per Rule) and entity store; the facts
    travel in the request context."""
    import cedarpy

    text = "\n".join(_cedar_policy(rule) for rule in rules)
    policies = cedarpy.PolicySet.from_str(text)
    entities = cedarpy.Entities.from_json_str("[]")

    def prepare(ask: Ask) -> Ask:
        return ask

    def decide(ask: Ask) -> bool:
        key = (ask.subject_urn, ask.party)
        kind = "Person" if ask.subject_kind == "person" else "Organization"
        request = {
            "principal": {"type": kind, "id": ask.subject_id},
            "action": {"type": "Action", "id": ask.action},
            "resource": {"type": "Package", "id": ask.package},
            "context": {
                "roles": facts.roles.get(key, []),
                "delegated_packages": facts.delegated_packages.get(key, []),
                "org_form": facts.org_forms.get(ask.party, ""),
            },
        }
        return cedarpy.is_authorized(request, policies, entities).allowed

    return Contender("cedarpy is_authorized", prepare, decide)


def _cedar_policy(rule: Rule) -> str:
    values = json.dumps(list(rule.subject_values))
    condition = f"{values}.containsAny(context.{rule.subject_attribute})"
    if rule.org_forms:
        condition += f" && {json.dumps(list(rule.org_forms))}.contains(context.org_form)"
    return (
        f"@id({json.dumps(rule.uid)})\n"
        f"permit (principal, action == Action::{json.dumps(rule.action)}, "
        f"resource == Package::{json.dumps(rule.package)})\n"
        f"when {{ {condition} }};"
    )


def reference_answers(rules: Sequence[Rule], facts: Facts, asks: Sequence[Ask]) -> list[bool]:
    """The rules evaluated directly in Python: the oracle every engine's answers are checked
    against (Permit when some rule for the package and action matches the subject's facts)."""
    by_target: dict[tuple[str, str], list[Rule]] = {}
    for rule in rules:
        by_target.setdefault((rule.package, rule.action), []).append(rule)
    answers = []
    for ask in asks:
        key = (ask.subject_urn, ask.party)
        held = {
            "roles": set(facts.roles.get(key, ())),
            "delegated_packages": set(facts.delegated_packages.get(key, ())),
        }
        form = facts.org_forms.get(ask.party)
        answers.append(
            any(
                held[rule.subject_attribute].intersection(rule.subject_values)
                and (not rule.org_forms or form in rule.org_forms)
                for rule in by_target.get((ask.package, ask.action), ())
            )
        )
    return answers

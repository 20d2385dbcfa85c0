"""Deciding a service resource request under the resource's own XACML policy.

What Altinn's PDP does, on this PDP's parts:

1. who is asking, and for whom: the subject's identifiers and the party's are looked up in the
   register (`Facts.identified`); identifiers that name different subjects are refused;
2. the request's attributes as given, plus every identifier the register knows for the subject
   and the party, plus the resource's own id (and org and app for an app), become the bags of a
   py-abac request (`vocabulary.attribute_key`, and the lower-cased companion bags that
   `string-equal-ignore-case` matches read);
3. the attributes the PIP owns are supplied only when a rule asks for them: the ER role codes
   the subject holds for the party (`urn:altinn:rolecode`, in the register's upper case and in
   the lower case Altinn's role data uses, and `urn:altinn:external-role:ccr`), and the codes of
   the access packages the policy names that the subject holds for the party, as the compiled
   grant and delegation policies decide (`held`: one source of truth). System users never hold
   roles; they hold packages by delegation;
4. each compiled rule document is fitted (py-abac); a rule applies when one of its terms fits,
   is indeterminate when it does not and an attribute it says MustBePresent is missing;
5. the rules are combined by the policy's algorithm with its obligations and advice
   (`pdp.combining`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from py_abac.context import EvaluationContext
from py_abac.policy import Policy
from py_abac.provider.base import AttributeProvider
from py_abac.request import AccessRequest

from pdp.attributes import Facts
from pdp.catalog import Catalog, Package
from pdp.combining import Applies, combine
from pdp.engine.request import GivenAttributes, ResourceRequest
from pdp.engine.result import Result
from pdp.engine.trace import ResourceStep, Trace
from pdp.identities import REGISTER_IDENTIFIERS, Identified, Identifier, directly
from pdp.resource_compiler import compiled_literal, compiled_path
from pdp.resource_policies import Designator, Match, ResourcePolicy, Rule, app_of
from pdp.subjects import ORGANIZATION, SYSTEM_USER, Subject
from pdp.vocabulary import (
    ACE_BY_CATEGORY,
    APP_ID,
    CCR_ROLE_ID,
    INDETERMINATE,
    NOT_APPLICABLE,
    ORG_ID,
    PACKAGE_ID,
    PERMIT,
    RESOURCE_ID,
    ROLECODE_ID,
    STATUS_MISSING_ATTRIBUTE,
    STATUS_PROCESSING_ERROR,
    XML_STRING,
    ascii_lower,
    attribute_key,
    attribute_path,
    lowercase_attribute_key,
    typed_attribute_key,
)

#: Whether `subject` holds the package with this URN for the organisation `party`: the
#: package decision of the compiled grant and delegation policies.
PackageDecision = Callable[[Subject, str, str], Result]

_ROLE_KEYS = (attribute_key(ROLECODE_ID), lowercase_attribute_key(ROLECODE_ID))
_CCR_KEYS = (attribute_key(CCR_ROLE_ID), lowercase_attribute_key(CCR_ROLE_ID))
_PACKAGE_KEYS = (attribute_key(PACKAGE_ID), lowercase_attribute_key(PACKAGE_ID))
#: The keys of the bags as they are (the others are their lower-cased companions).
_EXACT_KEYS = (_ROLE_KEYS[0], _CCR_KEYS[0], _PACKAGE_KEYS[0])


@dataclass(frozen=True)
class ServiceResource:
    """A resource's policy in one policy set, with the packages its rules name (those the PIP
    must decide for a subject when a rule asks) and the attribute ids its matches read, by
    access control element."""

    policy: ResourcePolicy
    packages: tuple[Package, ...]
    names: frozenset[tuple[str, str]]
    #: The codes of the packages each rule (by number) names, its policy's target included.
    packages_of_rule: dict[int, frozenset[str]]
    #: The designators each rule (by number) says MustBePresent, its policy's target included.
    must_be_present: dict[int, frozenset[Designator]]

    def names_any(self, ace: str, attribute_ids: frozenset[str]) -> bool:
        return any((ace, attribute_id) in self.names for attribute_id in attribute_ids)


class ResourceIndex:
    """The service resources of one policy set, by resource id."""

    def __init__(self, catalog: Catalog):
        self._resources = {
            policy.resource_id: ServiceResource(
                policy,
                _named_packages(catalog, _matches(policy)),
                _named_attributes(policy),
                {
                    rule.number: frozenset(
                        package.code for package in _named_packages(catalog, _matches(policy, rule))
                    )
                    for rule in policy.rules
                },
                {rule.number: policy.must_be_present(rule) for rule in policy.rules},
            )
            for policy in catalog.resources
        }

    def get(self, resource_id: str) -> ServiceResource | None:
        return self._resources.get(resource_id)


def _matches(policy: ResourcePolicy, rule: Rule | None = None) -> Iterator[Match]:
    """The matches of the policy's target and of `rule`'s (of every rule's, by default)."""
    rules = policy.rules if rule is None else (rule,)
    for target in (policy.target, *(each.target for each in rules)):
        for any_of in target:
            for all_of in any_of:
                yield from all_of


def _named_attributes(policy: ResourcePolicy) -> frozenset[tuple[str, str]]:
    return frozenset(
        (ACE_BY_CATEGORY[match.designator.category], match.designator.attribute_id)
        for match in _matches(policy)
    )


def _named_packages(catalog: Catalog, matches: Iterable[Match]) -> tuple[Package, ...]:
    named = {match.value for match in matches if match.designator.attribute_id == PACKAGE_ID}
    packages = {catalog.package_named(str(name)) for name in named}
    return tuple(sorted((p for p in packages if p is not None), key=lambda p: p.urn))


@dataclass(frozen=True)
class ResolvedResource:
    """A resource request resolved in the active policy set: its resource and the compiled
    documents of its rules for the request's action."""

    request: ResourceRequest
    resource: ServiceResource
    candidates: tuple[Policy, ...]


def decide_resource(
    resolved: ResolvedResource,
    facts: Facts,
    catalog: Catalog,
    held: PackageDecision,
    version: int,
    trace: Trace | None = None,
) -> Result:
    """The decision for one resolved resource request (see the module's docstring), noted on
    `trace` when one is given."""
    result, step = _decide_resource(resolved, facts, catalog, held, version)
    if trace is not None:
        trace.steps.append(
            ResourceStep(
                request=resolved.request,
                policy=resolved.resource.policy,
                subject=step.subject,
                party=step.party,
                rules=tuple(zip(resolved.resource.policy.rules, step.applies, strict=False)),
                supplied=dict(step.supplied or {}),
                result=result,
            )
        )
    return result


@dataclass
class _Noted:
    """What a resource decision found on its way, for a trace: who, for whom, how each rule
    applied, what the PIP supplied."""

    subject: Identified | None = None
    party: Identified | None = None
    #: How each rule of the policy applied, in rule order (empty if none was evaluated).
    applies: list[Applies] = field(default_factory=list)
    supplied: dict[str, Any] | None = None


def _decide_resource(
    resolved: ResolvedResource, facts: Facts, catalog: Catalog, held: PackageDecision, version: int
) -> tuple[Result, _Noted]:
    noted = _Noted()
    request = resolved.request
    resource = resolved.resource
    subject = _one_subject(facts, resource, request)
    if isinstance(subject, Result):
        return _versioned(subject, version), noted
    noted.subject = subject
    party = _identified(facts, resource, "resource", request.party)
    noted.party = party
    others = {_identified(facts, resource, "resource", each) for each in request.other_parties}
    if any(other is None or party is None or other.subject != party.subject for other in others):
        given = ", ".join(
            f"{each.attribute_id} {each.value}" for each in (request.party, *request.other_parties)
        )
        return Result(
            INDETERMINATE,
            STATUS_PROCESSING_ERROR,
            f"Resource: the identifiers {given} do not name one and the same party",
            version=version,
        ), noted
    if request.party is not None and party is None:
        return Result(
            NOT_APPLICABLE,
            message=f"party {request.party.attribute_id} {request.party.value} is not in the "
            "register",
            version=version,
        ), noted
    provider = _Pip(facts, catalog, resolved.resource, subject, party, held)
    parts = _request_parts(resolved, subject, party)
    context = EvaluationContext(AccessRequest(**parts), [provider])
    policy = resolved.resource.policy
    fitting = [document for document in resolved.candidates if document.fits(context)]
    applying = {_rule_number(document) for document in fitting}
    applies = [
        Applies.YES
        if rule.number in applying
        else _applies_but_for_missing(resolved, catalog, rule, parts, provider, context)
        for rule in policy.rules
    ]
    combined = combine(policy, applies)
    noted.applies = applies
    noted.supplied = provider._memo
    deciding = {rule.number for rule in combined.rules}
    if combined.decision == INDETERMINATE:
        missing = ", ".join(
            sorted(
                designator.attribute_id
                for rule in combined.rules
                for designator in resource.must_be_present[rule.number]
            )
        )
        return Result(
            INDETERMINATE,
            STATUS_MISSING_ATTRIBUTE,
            f"resource {policy.resource_id}: a rule needs attributes that must be present: "
            f"{missing}",
            version=version,
        ), noted
    policies = tuple(d for d in fitting if _rule_number(d) in deciding)
    # And the grants or delegations that gave a package a deciding rule asked for.
    asked = {code for number in deciding for code in resource.packages_of_rule[number]}
    for code, giving in provider.package_policies.items():
        if code in asked:
            policies += giving
    return Result(
        combined.decision,
        policies=policies,
        version=version,
        obligations=combined.obligations,
        advice=combined.advice,
    ), noted


def _versioned(result: Result, version: int) -> Result:
    return Result(result.decision, result.status, result.message, version=version)


def _identified(
    facts: Facts, resource: ServiceResource, ace: str, identifier: Identifier | None
) -> Identified | None:
    """Who `identifier` names: without the register for a number that names its subject by
    itself (`identities.directly`) unless the policy reads an identifier only the register
    knows, else as the register says."""
    if identifier is None:
        return None
    enrichable = REGISTER_IDENTIFIERS.get(identifier.attribute_id)
    if enrichable is not None and not resource.names_any(ace, enrichable):
        return directly(identifier)
    return facts.identified(identifier)


def _one_subject(
    facts: Facts, resource: ServiceResource, request: ResourceRequest
) -> Identified | Result | None:
    """Who the request's subject identifiers name: one subject, None when the register knows
    none of them, or an Indeterminate Result when they name different subjects."""
    named = [_identified(facts, resource, "subject", each) for each in request.subject]
    subjects = {None if each is None else each.subject for each in named}
    if len(subjects) > 1:
        given = ", ".join(f"{i.attribute_id} {i.value}" for i in request.subject)
        return Result(
            INDETERMINATE,
            STATUS_PROCESSING_ERROR,
            f"AccessSubject: the identifiers {given} do not name one and the same subject",
        )
    return named[0]


def _request_parts(
    resolved: ResolvedResource, subject: Identified | None, party: Identified | None
) -> dict[str, Any]:
    """The subject, resource, action and context of the py-abac request."""
    request = resolved.request
    resource_id = resolved.resource.policy.resource_id
    own: list[tuple[str, Any]] = [(RESOURCE_ID, resource_id)]
    app = app_of(resource_id)
    if app is not None:
        own += [(ORG_ID, app[0]), (APP_ID, app[1])]
    return {
        "subject": {
            "id": subject.subject.urn if subject is not None else "",
            "attributes": _bags(request.given("subject"), subject),
        },
        "resource": {
            "id": resolved.resource.policy.resource_urn,
            "attributes": _bags(request.given("resource"), party, own),
        },
        "action": {
            "id": ascii_lower(request.action),
            "attributes": _bags(request.given("action")),
        },
        "context": _bags(request.given("context")),
    }


def _bags(
    given: GivenAttributes,
    identified: Identified | None = None,
    own: Iterable[tuple[str, str]] = (),
) -> dict[str, list[Any]]:
    """py-abac attributes: each attribute's bag of values of one data type under its key
    (`typed_attribute_key`), and a text bag's values lower-cased under the companion key.
    Attribute ids that are no URNs cannot be named by a policy."""
    values: dict[tuple[str, str], list[Any]] = {}
    triples = [(a, data_type, value) for a, data_type, bag in given for value in bag]
    text = [*(identified.identifiers if identified is not None else ()), *own]
    triples += [(attribute_id, XML_STRING, value) for attribute_id, value in text]
    for attribute_id, data_type, value in triples:
        if not attribute_id.startswith("urn:"):
            continue
        bag = values.setdefault((attribute_id, data_type), [])
        if value not in bag:
            bag.append(value)
    bags: dict[str, list[Any]] = {}
    for (attribute_id, data_type), bag in values.items():
        key = typed_attribute_key(attribute_id, data_type)
        bags[key] = bag
        if all(type(value) is str for value in bag):
            bags[lowercase_attribute_key(attribute_id)] = [ascii_lower(value) for value in bag]
    return bags


def _rule_number(document: Policy) -> int:
    """The rule a compiled document belongs to: `resource:<id>:<rule>:<term>:<action>`."""
    return int(document.uid.split(":")[2])


def _applies_but_for_missing(
    resolved: ResolvedResource,
    catalog: Catalog,
    rule: Rule,
    parts: dict[str, Any],
    provider: AttributeProvider,
    context: EvaluationContext,
) -> Applies:
    """Whether a rule none of whose documents fit is Indeterminate (XACML 3.0, 7.11): one of
    its terms for this action would fit if the attributes it says MustBePresent, and that are
    missing, held what its matches want. A term with another match that is false stays false
    whatever is missing, so it is evaluated with those attributes filled in."""
    policy = resolved.resource.policy
    missing = {
        designator
        for designator in resolved.resource.must_be_present[rule.number]
        if not context.get_attribute_value(
            ACE_BY_CATEGORY[designator.category],
            attribute_path(typed_attribute_key(designator.attribute_id, designator.data_type)),
        )
    }
    if not missing:
        return Applies.NO
    terms = {term.number: term for term in policy.terms(rule)}
    for document in resolved.candidates:
        if _rule_number(document) != rule.number:
            continue
        wanted = [m for m in terms[_term_number(document)].matches if m.designator in missing]
        if not wanted:
            continue
        filled = _filled(parts, catalog, wanted)
        if document.fits(EvaluationContext(AccessRequest(**filled), [provider])):
            return Applies.INDETERMINATE
    return Applies.NO


def _filled(parts: dict[str, Any], catalog: Catalog, matches: list[Match]) -> dict[str, Any]:
    """A copy of the request's parts in which each match's attribute holds what it wants."""
    filled = {
        ace: ({**part, "attributes": dict(part["attributes"])} if ace != "context" else dict(part))
        for ace, part in parts.items()
    }
    for match in matches:
        ace = ACE_BY_CATEGORY[match.designator.category]
        attributes = filled[ace] if ace == "context" else filled[ace]["attributes"]
        key = compiled_path(match).removeprefix("$.")
        attributes[key] = [*attributes.get(key, []), compiled_literal(catalog, match)]
    return filled


def _term_number(document: Policy) -> int:
    """The term of its rule a compiled document is: `resource:<id>:<rule>:<term>:<action>`."""
    return int(document.uid.split(":")[3])


@dataclass
class _Pip(AttributeProvider):
    """The attributes the PIP owns, for one resource decision, read only when a rule asks:
    role codes and the codes of the packages held, for the subject and the party."""

    facts: Facts
    catalog: Catalog
    resource: ServiceResource
    subject: Identified | None
    party: Identified | None
    held: PackageDecision
    #: The grant and delegation policies that gave the subject each package it holds, by code.
    package_policies: dict[str, tuple[Policy, ...]] = field(default_factory=dict)
    _memo: dict[str, Any] = field(default_factory=dict)
    _package_codes: list[str] | None = None

    def get_attribute_value(self, ace: str, attribute_path: str, ctx: EvaluationContext) -> Any:
        if ace != "subject":
            return None
        key = attribute_path.removeprefix("$.")
        if key not in self._memo:
            self._memo[key] = self._look_up(key)
        return self._memo[key]

    def _holding(self) -> tuple[Subject, str] | None:
        """The subject and the organisation number of the party, when both are known and the
        party is an organisation (roles and packages are held for organisations)."""
        if self.subject is None or self.party is None:
            return None
        if self.party.subject.kind != ORGANIZATION:
            return None
        return self.subject.subject, self.party.subject.identifier

    def _look_up(self, key: str) -> list[str] | None:
        if key not in _ROLE_KEYS + _CCR_KEYS + _PACKAGE_KEYS:
            return None
        holding = self._holding()
        if holding is None:
            return []
        if key in _PACKAGE_KEYS:
            codes = self._packages_held(holding)
        elif holding[0].kind == SYSTEM_USER:
            codes = []
        elif key in _CCR_KEYS:
            known = self.catalog.role_codes
            codes = [self.catalog.role(c).ccr_value for c in self._roles(holding) if c in known]
        else:
            roles = self._roles(holding)
            # Altinn's role data spells codes in lower case (`dagl`), the register in upper
            # case: a policy comparing either spelling case-sensitively matches.
            codes = sorted({*roles, *(code.lower() for code in roles)})
        return codes if key in _EXACT_KEYS else sorted({ascii_lower(c) for c in codes})

    def _roles(self, holding: tuple[Subject, str]) -> list[str]:
        return sorted(self.facts.roles(*holding))

    def _packages_held(self, holding: tuple[Subject, str]) -> list[str]:
        """The codes of the packages the policy names that the subject holds for the party,
        each decided once per decision."""
        if self._package_codes is None:
            codes = []
            for package in self.resource.packages:
                result = self.held(holding[0], holding[1], package.urn)
                if result.decision == PERMIT:
                    codes.append(package.code)
                    self.package_policies[package.code] = result.policies
            self._package_codes = codes
        return self._package_codes

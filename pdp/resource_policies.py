"""Service resources' XACML 3.0 policies: the supported subset, read into plain data.

Each service resource in Altinn has a policy written by its owner. A policy source may hold one
per resource as `resources/<resource-id>/policy.xml`; this module reads such a file (through
`pdp.safe_xml`) into a `ResourcePolicy` and refuses, naming the line and the element, every
construct outside the subset real Altinn policies use. Nothing is silently ignored: an ignored
Condition, Issuer or unknown function would make a rule apply more widely than its author wrote.

The subset: a `Policy` of `Rule`s (Permit or Deny) combined by deny-overrides, permit-overrides,
first-applicable or their ordered variants; `Target`s of `AnyOf`/`AllOf`/`Match`, matching a
literal `AttributeValue` against an `AttributeDesignator` of the access-subject, resource,
action or environment category with one of five equality functions; obligations and advice
(policy and rule level) assigning literal values.

Also here, as pure functions of the model, what compiling and validating need: a rule's
disjunctive normal form (`terms`), the terms that name another resource and so can never apply,
and references to access packages and roles, checked by the catalog against its own.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pdp import safe_xml
from pdp.errors import Problem
from pdp.vocabulary import (
    ACE_BY_CATEGORY,
    ACTION_CATEGORY,
    ACTION_ID,
    APP_ID,
    APP_RESOURCE_PREFIX,
    CCR_ROLE_ID,
    DENY,
    ORG_ID,
    PACKAGE_ID,
    PERMIT,
    RESOURCE_CATEGORY,
    RESOURCE_ID,
    ROLECODE_ID,
    SUBJECT_CATEGORY,
    XML_ANY_URI,
    XML_BOOLEAN,
    XML_INTEGER,
    XML_STRING,
    ascii_lower,
)

RESOURCES_DIR = "resources"
POLICY_FILE = "policy.xml"
XACML_NAMESPACE = "urn:oasis:names:tc:xacml:3.0:core:schema:wd-17"

#: Altinn's resource identifiers: lower-case letters, digits, `-` and `_`.
RESOURCE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,254}$")

STRING_EQUAL = "urn:oasis:names:tc:xacml:1.0:function:string-equal"
STRING_EQUAL_IGNORE_CASE = "urn:oasis:names:tc:xacml:3.0:function:string-equal-ignore-case"
ANY_URI_EQUAL = "urn:oasis:names:tc:xacml:1.0:function:anyURI-equal"
INTEGER_EQUAL = "urn:oasis:names:tc:xacml:1.0:function:integer-equal"
BOOLEAN_EQUAL = "urn:oasis:names:tc:xacml:1.0:function:boolean-equal"
#: The match functions supported, with the one data type each compares.
FUNCTION_TYPES = {
    STRING_EQUAL: XML_STRING,
    STRING_EQUAL_IGNORE_CASE: XML_STRING,
    ANY_URI_EQUAL: XML_ANY_URI,
    INTEGER_EQUAL: XML_INTEGER,
    BOOLEAN_EQUAL: XML_BOOLEAN,
}
DATA_TYPES = frozenset(FUNCTION_TYPES.values())

DENY_OVERRIDES = "deny-overrides"
PERMIT_OVERRIDES = "permit-overrides"
FIRST_APPLICABLE = "first-applicable"

#: A rule's target may expand to at most this many conjunctions (its AnyOf sizes multiplied,
#: the policy target's included); each becomes a compiled policy per action.
MAX_TERMS_PER_RULE = 1024

Value = str | int | bool


@dataclass(frozen=True)
class CombiningAlgorithm:
    """A rule-combining algorithm: which of the three families, and whether it is a legacy
    (XACML 1.0/1.1) one, whose Indeterminate is not extended (always read as {DP}).

    The ordered variants are their family: rules here are always combined in document order.
    """

    urn: str
    family: str
    legacy: bool


_ALGORITHM_URN = "urn:oasis:names:tc:xacml:{}:rule-combining-algorithm:{}"
#: The supported rule-combining algorithms by URN: (XACML version, name, family, legacy).
RULE_COMBINING_ALGORITHMS: dict[str, CombiningAlgorithm] = {
    _ALGORITHM_URN.format(version, name): CombiningAlgorithm(
        _ALGORITHM_URN.format(version, name), family, legacy
    )
    for version, name, family, legacy in (
        ("3.0", "deny-overrides", DENY_OVERRIDES, False),
        ("3.0", "ordered-deny-overrides", DENY_OVERRIDES, False),
        ("3.0", "permit-overrides", PERMIT_OVERRIDES, False),
        ("3.0", "ordered-permit-overrides", PERMIT_OVERRIDES, False),
        ("1.0", "first-applicable", FIRST_APPLICABLE, False),
        ("1.0", "deny-overrides", DENY_OVERRIDES, True),
        ("1.0", "permit-overrides", PERMIT_OVERRIDES, True),
        ("1.1", "ordered-deny-overrides", DENY_OVERRIDES, True),
        ("1.1", "ordered-permit-overrides", PERMIT_OVERRIDES, True),
    )
}


# --- the model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Designator:
    """The bag of attribute values a match reads: category, attribute id and data type.
    With `must_be_present`, an empty bag makes the match Indeterminate, not false."""

    category: str
    attribute_id: str
    data_type: str
    must_be_present: bool


@dataclass(frozen=True)
class Match:
    """True when any value of the designator's bag equals `value` under `function`."""

    function: str
    value: Value
    designator: Designator
    line: int

    @property
    def ignore_case(self) -> bool:
        return self.function == STRING_EQUAL_IGNORE_CASE


#: An AllOf: every match must hold.
AllOf = tuple[Match, ...]
#: An AnyOf: one of its AllOfs must hold.
AnyOf = tuple[AllOf, ...]
#: A Target: every AnyOf must hold; an empty target holds for every request.
Target = tuple[AnyOf, ...]


@dataclass(frozen=True)
class Assignment:
    """One attribute an obligation or advice carries to the PEP, as the policy wrote it."""

    attribute_id: str
    category: str | None
    data_type: str
    issuer: str | None
    value: str


@dataclass(frozen=True)
class Expression:
    """An obligation or advice: returned with the decision `effect` (its FulfillOn or
    AppliesTo) when its policy or rule contributes to that decision."""

    id: str
    effect: str
    assignments: tuple[Assignment, ...]


@dataclass(frozen=True)
class Rule:
    """One rule; `number` is its position in the policy, from 1."""

    number: int
    rule_id: str
    effect: str
    target: Target
    obligations: tuple[Expression, ...]
    advice: tuple[Expression, ...]
    line: int
    #: The rule's `Description`, as its author wrote it (for people; it decides nothing).
    description: str = ""


@dataclass(frozen=True)
class Term:
    """One conjunction of a rule's disjunctive normal form (policy target included); `number`
    counts from 1 over every term of the rule. `excluded_by` is a match naming another
    resource: such a term can never apply to this one."""

    rule: Rule
    number: int
    matches: tuple[Match, ...]
    excluded_by: Match | None


@dataclass(frozen=True)
class ResourcePolicy:
    """A service resource's policy, as its file says: what py-abac cannot carry (rule order,
    effects, the combining algorithm, MustBePresent, obligations and advice) is kept here for
    the engine, next to what the compiler turns into py-abac policies."""

    resource_id: str
    file: str
    policy_id: str
    version: str | None
    algorithm: CombiningAlgorithm
    target: Target
    rules: tuple[Rule, ...]
    obligations: tuple[Expression, ...]
    advice: tuple[Expression, ...]
    #: The policy's `Description`, as its author wrote it (for people; it decides nothing).
    description: str = ""

    @property
    def resource_urn(self) -> str:
        return f"{RESOURCE_ID}:{self.resource_id}"

    def terms(self, rule: Rule) -> tuple[Term, ...]:
        """The rule's target ANDed with the policy's, as a disjunction of conjunctions."""
        return tuple(
            Term(rule, number, matches, self._other_resource(matches))
            for number, matches in enumerate(_conjunctions((*self.target, *rule.target)), 1)
        )

    def must_be_present(self, rule: Rule) -> frozenset[Designator]:
        """The designators whose empty bag makes this rule Indeterminate (policy target
        included)."""
        return frozenset(
            match.designator
            for match in _all_matches((*self.target, *rule.target))
            if match.designator.must_be_present
        )

    def actions(self) -> tuple[str, ...]:
        """Every action the policy names (lower-cased, sorted)."""
        return tuple(
            sorted(
                {
                    ascii_lower(str(match.value))
                    for target in (self.target, *(rule.target for rule in self.rules))
                    for match in _all_matches(target)
                    if is_action(match)
                }
            )
        )

    def _other_resource(self, matches: tuple[Match, ...]) -> Match | None:
        """The first match that names another resource than this one, if any."""
        expected = {RESOURCE_ID: self.resource_id}
        app = app_of(self.resource_id)
        if app is not None:
            expected |= {ORG_ID: app[0], APP_ID: app[1]}
        for match in matches:
            designator = match.designator
            wanted = expected.get(designator.attribute_id)
            if (
                wanted is None
                or designator.category != RESOURCE_CATEGORY
                or match.function not in (STRING_EQUAL, STRING_EQUAL_IGNORE_CASE)
            ):
                continue
            value = ascii_lower(str(match.value)) if match.ignore_case else match.value
            if value != wanted:
                return match
        return None


def app_of(resource_id: str) -> tuple[str, str] | None:
    """(org, app) for an app's resource id `app_<org>_<app>`, else None."""
    if not resource_id.startswith(APP_RESOURCE_PREFIX):
        return None
    org, _, app = resource_id.removeprefix(APP_RESOURCE_PREFIX).partition("_")
    return (org, app) if org and app else None


def resource_file(resource_id: str) -> str:
    """The source file name of a resource's policy."""
    return f"{RESOURCES_DIR}/{resource_id}/{POLICY_FILE}"


def resource_id_of(file_name: str) -> str | None:
    """The resource id a source file name `resources/<id>/policy.xml` names, else None."""
    parts = file_name.split("/")
    if len(parts) != 3 or parts[0] != RESOURCES_DIR or parts[2] != POLICY_FILE:
        return None
    return parts[1] if RESOURCE_ID_PATTERN.match(parts[1]) else None


def _all_matches(target: Target) -> Iterator[Match]:
    return (match for any_of in target for all_of in any_of for match in all_of)


def _conjunctions(target: Target) -> Iterator[tuple[Match, ...]]:
    for choice in itertools.product(*target):
        seen: dict[Match, None] = {}
        for all_of in choice:
            seen.update(dict.fromkeys(all_of))
        yield tuple(seen)


def is_action(match: Match) -> bool:
    """Whether a match reads the request's action id."""
    return (
        match.designator.category == ACTION_CATEGORY and match.designator.attribute_id == ACTION_ID
    )


# --- checks against the policy set and of the compiled form ---------------------------------


def check(
    policy: ResourcePolicy,
    package_known: Callable[[str], bool],
    role_known: Callable[[str, str], bool],
) -> tuple[list[Problem], list[Problem]]:
    """Errors and warnings for a policy against the source's catalog and its compiled form.

    Errors: an access package the catalog does not know (a typo must not silently deny); a
    rule that matches every action in a policy that names none (the index needs an action).
    Warnings: a role the catalog does not know (Altinn 2 roles such as REGNA are real, but our
    register never supplies them); a term naming another resource (dropped); a rule matching
    every action (compiled for the actions the policy names).
    """
    errors: list[Problem] = []
    warnings: list[Problem] = []
    targets = (policy.target, *(rule.target for rule in policy.rules))
    for match in (match for target in targets for match in _all_matches(target)):
        designator, where = match.designator, _line(match.line)
        if designator.category != SUBJECT_CATEGORY:
            continue
        if designator.attribute_id == PACKAGE_ID and not package_known(str(match.value)):
            errors.append(Problem(policy.file, where, f"unknown access package {match.value!r}"))
        elif designator.attribute_id in (ROLECODE_ID, CCR_ROLE_ID) and not role_known(
            designator.attribute_id, str(match.value)
        ):
            warnings.append(
                Problem(
                    policy.file,
                    where,
                    f"unknown role code {match.value!r} ({designator.attribute_id}): not an ER "
                    "role of roles.yaml, so the register never supplies it",
                )
            )
    actions = policy.actions()
    for rule in policy.rules:
        for term in policy.terms(rule):
            if term.excluded_by is not None:
                excluded = term.excluded_by
                warnings.append(
                    Problem(
                        policy.file,
                        _line(excluded.line),
                        f"rule {rule.rule_id!r}: term {term.number} matches "
                        f"{excluded.designator.attribute_id} {excluded.value!r}, another "
                        f"resource than {policy.resource_id!r}; it can never apply and is dropped",
                    )
                )
            elif not any(is_action(match) for match in term.matches):
                if actions:
                    warnings.append(
                        Problem(
                            policy.file,
                            _line(rule.line),
                            f"rule {rule.rule_id!r}: term {term.number} matches every action; "
                            f"it is compiled for the actions this policy names: "
                            f"{', '.join(actions)}",
                        )
                    )
                else:
                    errors.append(
                        Problem(
                            policy.file,
                            _line(rule.line),
                            f"rule {rule.rule_id!r} matches every action and the policy names "
                            "none: name the actions it permits or denies",
                        )
                    )
    return errors, warnings


def term_actions(policy: ResourcePolicy, term: Term) -> tuple[str, ...]:
    """The actions (lower-cased) a term is indexed under: those it matches, or, if it matches
    none, every action the policy names."""
    own = sorted({ascii_lower(str(match.value)) for match in term.matches if is_action(match)})
    return tuple(own) if own else policy.actions()


def _line(line: int) -> str:
    return f"line {line}"


# --- reading --------------------------------------------------------------------------------


def parse(file: str, resource_id: str, text: str, problems: list[Problem]) -> ResourcePolicy | None:
    """The policy in `text` (the file `file` of resource `resource_id`), or None after adding
    to `problems` everything that is wrong with it."""
    try:
        root = safe_xml.parse(text)
    except safe_xml.XmlError as error:
        problems.append(Problem(file, _line(error.line) if error.line else "", error.message))
        return None
    before = len(problems)
    policy = _Reader(file, problems).policy(root, resource_id)
    return policy if len(problems) == before else None


_REASONS = {
    "Condition": "a rule may only be decided by its Target",
    "VariableDefinition": "variables are not supported",
    "VariableReference": "variables are not supported",
    "AttributeSelector": "XPath selectors are not supported",
    "PolicySet": "one Policy per resource",
    "PolicyIssuer": "issuers and administrative delegation are not supported",
    "PolicyDefaults": "XPath is not supported",
    "CombinerParameters": "combiner parameters are not supported",
    "RuleCombinerParameters": "combiner parameters are not supported",
    "Apply": "only literal AttributeValues are supported",
}


def _description(elements: list[safe_xml.Element] | None) -> str:
    """The text of a `Description` element (its whitespace runs made single spaces)."""
    return " ".join(elements[0].text.split()) if elements else ""


class _Reader:
    """Walks a parsed policy, building the model and noting every problem with its line."""

    def __init__(self, file: str, problems: list[Problem]):
        self._file = file
        self._problems = problems

    def _problem(self, element: safe_xml.Element, text: str) -> None:
        self._problems.append(Problem(self._file, _line(element.line), f"{element.name}: {text}"))

    def _children(
        self, element: safe_xml.Element, allowed: dict[str, bool]
    ) -> dict[str, list[safe_xml.Element]]:
        """Children by name; refuses names not `allowed` (name -> may repeat), repeats of the
        others, elements outside the XACML namespace, and stray text."""
        if element.text.strip():
            self._problem(element, f"unexpected text {element.text.strip()[:40]!r}")
        found: dict[str, list[safe_xml.Element]] = {}
        for child in element.children:
            if child.namespace != XACML_NAMESPACE:
                self._problem(child, f"not in the XACML 3.0 namespace ({child.namespace})")
            elif child.name not in allowed:
                reason = _REASONS.get(child.name)
                holds = ", ".join(allowed) or "no elements"
                detail = f"{reason}; {element.name} may hold {holds}" if reason else holds
                self._problem(child, f"not supported ({detail})")
            elif found.get(child.name) and not allowed[child.name]:
                self._problem(child, f"more than one in {element.name}")
            else:
                found.setdefault(child.name, []).append(child)
        return found

    def _attributes(
        self, element: safe_xml.Element, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, str] | None:
        """The element's attributes, or None if one required is missing or one is unknown."""
        ok = True
        for name in sorted(set(element.attributes) - {*required, *optional}):
            self._problem(element, f"attribute {name} not supported")
            ok = False
        for name in required:
            if not element.attributes.get(name, "").strip():
                self._problem(element, f"attribute {name} missing")
                ok = False
        return dict(element.attributes) if ok else None

    def policy(self, root: safe_xml.Element, resource_id: str) -> ResourcePolicy | None:
        if root.namespace != XACML_NAMESPACE:
            self._problem(
                root,
                f"not an XACML 3.0 policy: the namespace must be {XACML_NAMESPACE}, "
                f"not {root.namespace}",
            )
            return None
        if root.name != "Policy":
            reason = _REASONS.get(root.name, "the document must be one Policy")
            self._problem(root, f"not supported ({reason})")
            return None
        attributes = self._attributes(root, ("PolicyId", "RuleCombiningAlgId"), ("Version",))
        children = self._children(
            root,
            {
                "Description": False,
                "Target": False,
                "Rule": True,
                "ObligationExpressions": False,
                "AdviceExpressions": False,
            },
        )
        algorithm = None
        if attributes:
            algorithm = RULE_COMBINING_ALGORITHMS.get(attributes["RuleCombiningAlgId"])
            if algorithm is None:
                self._problem(
                    root,
                    f"unknown rule-combining algorithm {attributes['RuleCombiningAlgId']!r}",
                )
        target = self._target(children.get("Target"))
        rules = tuple(
            rule
            for number, element in enumerate(children.get("Rule", []), 1)
            if (rule := self._rule(element, number)) is not None
        )
        obligations = self._expressions(children.get("ObligationExpressions"), "Obligation")
        advice = self._expressions(children.get("AdviceExpressions"), "Advice")
        if attributes is None or algorithm is None:
            return None
        policy = ResourcePolicy(
            resource_id=resource_id,
            file=self._file,
            policy_id=attributes["PolicyId"],
            version=attributes.get("Version"),
            algorithm=algorithm,
            target=target,
            rules=rules,
            obligations=obligations,
            advice=advice,
            description=_description(children.get("Description")),
        )
        for rule in rules:
            terms = 1
            for any_of in (*target, *rule.target):
                terms *= len(any_of)
            if terms > MAX_TERMS_PER_RULE:
                self._problems.append(
                    Problem(
                        self._file,
                        _line(rule.line),
                        f"Rule: its target expands to {terms} conjunctions, more than "
                        f"{MAX_TERMS_PER_RULE}; split the rule",
                    )
                )
        return policy

    def _rule(self, element: safe_xml.Element, number: int) -> Rule | None:
        attributes = self._attributes(element, ("RuleId", "Effect"))
        children = self._children(
            element,
            {
                "Description": False,
                "Target": False,
                "ObligationExpressions": False,
                "AdviceExpressions": False,
            },
        )
        target = self._target(children.get("Target"))
        obligations = self._expressions(children.get("ObligationExpressions"), "Obligation")
        advice = self._expressions(children.get("AdviceExpressions"), "Advice")
        if attributes is None:
            return None
        if attributes["Effect"] not in (PERMIT, DENY):
            self._problem(element, f"Effect must be Permit or Deny, not {attributes['Effect']!r}")
            return None
        return Rule(
            number,
            attributes["RuleId"],
            attributes["Effect"],
            target,
            obligations,
            advice,
            element.line,
            _description(children.get("Description")),
        )

    def _target(self, elements: list[safe_xml.Element] | None) -> Target:
        if not elements:
            return ()
        target = elements[0]
        self._attributes(target, ())
        any_ofs = []
        for any_of in self._children(target, {"AnyOf": True}).get("AnyOf", []):
            self._attributes(any_of, ())
            all_ofs = []
            for all_of in self._children(any_of, {"AllOf": True}).get("AllOf", []):
                self._attributes(all_of, ())
                matches = self._children(all_of, {"Match": True}).get("Match", [])
                if not matches:
                    self._problem(all_of, "needs at least one Match")
                all_ofs.append(tuple(m for m in map(self._match, matches) if m is not None))
            if not all_ofs:
                self._problem(any_of, "needs at least one AllOf")
            any_ofs.append(tuple(all_ofs))
        return tuple(any_ofs)

    def _match(self, element: safe_xml.Element) -> Match | None:
        attributes = self._attributes(element, ("MatchId",))
        children = self._children(element, {"AttributeValue": False, "AttributeDesignator": False})
        values, designators = children.get("AttributeValue"), children.get("AttributeDesignator")
        if not values or not designators:
            self._problem(element, "needs one AttributeValue and one AttributeDesignator")
            return None
        designator = self._designator(designators[0])
        if attributes is None or designator is None:
            return None
        function = attributes["MatchId"]
        data_type = FUNCTION_TYPES.get(function)
        if data_type is None:
            self._problem(element, f"unknown match function {function!r}")
            return None
        for what, given_type in (
            ("AttributeValue", values[0].attributes.get("DataType", "")),
            ("AttributeDesignator", designator.data_type),
        ):
            if given_type != data_type:
                self._problem(
                    element,
                    f"{function} compares {data_type}, but its {what} has DataType {given_type!r}",
                )
                return None
        value = self._value(values[0])
        if value is None:
            return None
        if designator.attribute_id == ACTION_ID and data_type != XML_STRING:
            self._problem(element, "the action id must be matched as a string")
            return None
        return Match(function, value, designator, element.line)

    def _designator(self, element: safe_xml.Element) -> Designator | None:
        self._children(element, {})
        if "Issuer" in element.attributes:
            self._problem(
                element, "attribute Issuer not supported (attributes are not told apart by issuer)"
            )
            return None
        attributes = self._attributes(
            element, ("AttributeId", "Category", "DataType", "MustBePresent")
        )
        if attributes is None:
            return None
        category, attribute_id = attributes["Category"], attributes["AttributeId"]
        ok = True
        if category not in ACE_BY_CATEGORY:
            self._problem(element, f"unknown category {category!r}")
            ok = False
        if not attribute_id.startswith("urn:"):
            self._problem(element, f"AttributeId must be a URN, not {attribute_id!r}")
            ok = False
        if attributes["DataType"] not in DATA_TYPES:
            self._problem(element, f"unknown data type {attributes['DataType']!r}")
            ok = False
        must_be_present = attributes["MustBePresent"]
        if must_be_present not in ("true", "false"):
            self._problem(element, f"MustBePresent must be true or false, not {must_be_present!r}")
            ok = False
        if not ok:
            return None
        return Designator(category, attribute_id, attributes["DataType"], must_be_present == "true")

    def _value(self, element: safe_xml.Element) -> Value | None:
        """The literal of an AttributeValue, typed by its DataType."""
        self._attributes(element, ("DataType",))
        if element.children:
            self._problem(element, "must hold text only")
            return None
        data_type, text = element.attributes.get("DataType", ""), element.text
        if data_type in (XML_STRING, XML_ANY_URI):
            return text
        if data_type == XML_INTEGER and re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
            return int(text)
        if data_type == XML_BOOLEAN and text.strip() in ("true", "false", "1", "0"):
            return text.strip() in ("true", "1")
        if data_type in DATA_TYPES:
            self._problem(element, f"{text!r} is not a valid {data_type.rpartition('#')[2]}")
        else:
            self._problem(element, f"unknown data type {data_type!r}")
        return None

    def _expressions(
        self, elements: list[safe_xml.Element] | None, kind: str
    ) -> tuple[Expression, ...]:
        """Obligation or advice expressions (`kind`), from their container element."""
        if not elements:
            return ()
        self._attributes(elements[0], ())
        effect_name = "FulfillOn" if kind == "Obligation" else "AppliesTo"
        name = f"{kind}Expression"
        expressions = []
        for element in self._children(elements[0], {name: True}).get(name, []):
            attributes = self._attributes(element, (f"{kind}Id", effect_name))
            assignments = [
                self._assignment(child)
                for child in self._children(element, {"AttributeAssignmentExpression": True}).get(
                    "AttributeAssignmentExpression", []
                )
            ]
            if attributes is None or None in assignments:
                continue
            if attributes[effect_name] not in (PERMIT, DENY):
                self._problem(
                    element,
                    f"{effect_name} must be Permit or Deny, not {attributes[effect_name]!r}",
                )
                continue
            expressions.append(
                Expression(
                    attributes[f"{kind}Id"],
                    attributes[effect_name],
                    tuple(a for a in assignments if a is not None),
                )
            )
        return tuple(expressions)

    def _assignment(self, element: safe_xml.Element) -> Assignment | None:
        attributes = self._attributes(element, ("AttributeId",), ("Category", "Issuer"))
        values = self._children(element, {"AttributeValue": False}).get("AttributeValue")
        if not values:
            self._problem(element, "needs one literal AttributeValue")
            return None
        value = self._value(values[0])
        if attributes is None or value is None:
            return None
        data_type = values[0].attributes["DataType"]
        text = values[0].text if data_type in (XML_STRING, XML_ANY_URI) else values[0].text.strip()
        return Assignment(
            attributes["AttributeId"],
            attributes.get("Category"),
            data_type,
            attributes.get("Issuer"),
            text,
        )

"""Service resources' XACML policies: the supported subset read into plain data, and every
construct outside it refused with the file, the line and the element."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdp import resource_policies
from pdp.errors import Problem
from pdp.resource_policies import (
    ANY_URI_EQUAL,
    BOOLEAN_EQUAL,
    DENY_OVERRIDES,
    FIRST_APPLICABLE,
    INTEGER_EQUAL,
    MAX_TERMS_PER_RULE,
    PERMIT_OVERRIDES,
    RULE_COMBINING_ALGORITHMS,
    STRING_EQUAL,
    STRING_EQUAL_IGNORE_CASE,
    Assignment,
    Designator,
    Expression,
    ResourcePolicy,
)
from pdp.vocabulary import (
    ACTION_CATEGORY,
    ACTION_ID,
    ENVIRONMENT_CATEGORY,
    RESOURCE_CATEGORY,
    SUBJECT_CATEGORY,
    XML_ANY_URI,
    XML_BOOLEAN,
    XML_INTEGER,
    XML_STRING,
)
from tests.conftest import DATA_DIR

ALTINN_POLICIES = DATA_DIR / "altinn-policies"
FILE = "resources/ttd-x/policy.xml"
XACML = "urn:oasis:names:tc:xacml:3.0:core:schema:wd-17"
DENY_OVERRIDES_URN = "urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides"
ROLECODE = "urn:altinn:rolecode"


# --- writing small policies -----------------------------------------------------------------


def designator(
    attribute_id: str = ROLECODE,
    category: str = SUBJECT_CATEGORY,
    data_type: str = XML_STRING,
    extra: str = "",
    must_be_present: str = "false",
) -> str:
    return (
        f'<AttributeDesignator AttributeId="{attribute_id}" Category="{category}" '
        f'DataType="{data_type}" MustBePresent="{must_be_present}"{extra}/>'
    )


def match(
    value: str = "dagl",
    function: str = STRING_EQUAL,
    value_type: str = XML_STRING,
    reads: str | None = None,
) -> str:
    return (
        f'<Match MatchId="{function}">\n'
        f'<AttributeValue DataType="{value_type}">{value}</AttributeValue>\n'
        f"{reads if reads is not None else designator()}\n"
        "</Match>"
    )


def action(name: str) -> str:
    return match(name, reads=designator(ACTION_ID, ACTION_CATEGORY))


def any_of(*all_ofs: str) -> str:
    """An AnyOf of AllOfs, each AllOf given as its matches joined."""
    return "<AnyOf>\n" + "".join(f"<AllOf>\n{m}\n</AllOf>\n" for m in all_ofs) + "</AnyOf>"


def rule(*any_ofs: str, effect: str = "Permit", rule_id: str = "r", inner: str = "") -> str:
    target = "<Target>\n" + "\n".join(any_ofs) + "\n</Target>\n" if any_ofs else ""
    return f'<Rule RuleId="{rule_id}" Effect="{effect}">\n{target}{inner}</Rule>'


READ_RULE = rule(any_of(match()), any_of(action("read")))


def policy(
    *rules: str,
    algorithm: str = DENY_OVERRIDES_URN,
    target: str = "<Target/>",
    after: str = "",
    attributes: str = "",
) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<Policy xmlns="{XACML}" PolicyId="urn:p" RuleCombiningAlgId="{algorithm}"{attributes}>\n'
        f"{target}\n" + "\n".join(rules or (READ_RULE,)) + f"\n{after}</Policy>\n"
    )


def read(text: str, resource_id: str = "ttd-x") -> tuple[ResourcePolicy | None, list[Problem]]:
    problems: list[Problem] = []
    return resource_policies.parse(FILE, resource_id, text, problems), problems


def accepted(text: str, resource_id: str = "ttd-x") -> ResourcePolicy:
    parsed, problems = read(text, resource_id)
    assert problems == []
    assert parsed is not None
    return parsed


def refused(text: str) -> list[str]:
    """Each problem as `line N: element: what`."""
    parsed, problems = read(text)
    assert parsed is None
    assert {problem.file for problem in problems} == {FILE}
    return [f"{problem.path}: {problem.problem}" for problem in problems]


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# --- the Altinn test suite's policies -------------------------------------------------------


def altinn_policy_files() -> list[tuple[str, Path]]:
    """(resource id, file) of every policy of Altinn's PDP tests: apps as `app_<org>_<app>`."""
    files = [
        (path.parent.name, path)
        for path in sorted((ALTINN_POLICIES / "ResourceRegistry").glob("*/policy.xml"))
    ]
    files += [
        (f"app_{path.parent.parent.name}_{path.parent.name}", path)
        for path in sorted((ALTINN_POLICIES / "AltinnApps").glob("*/*/policy.xml"))
    ]
    return files


def test_the_altinn_suite_has_twenty_policies():
    assert len(altinn_policy_files()) == 20


@pytest.mark.parametrize(("resource_id", "path"), altinn_policy_files(), ids=lambda v: str(v))
def test_every_altinn_test_policy_is_read(resource_id, path):
    parsed = accepted(path.read_bytes().decode("utf-8-sig"), resource_id)
    assert parsed.resource_id == resource_id
    assert parsed.algorithm.family == DENY_OVERRIDES
    assert parsed.rules and all(rule.effect == "Permit" for rule in parsed.rules)
    assert parsed.obligations
    assert parsed.actions()


def test_an_altinn_policy_reads_into_its_model():
    path = ALTINN_POLICIES / "ResourceRegistry/ttd-accesspackage-resource/policy.xml"
    parsed = accepted(path.read_text(encoding="utf-8"), "ttd-accesspackage-resource")
    assert (parsed.policy_id, parsed.version) == ("urn:altinn:example:policyid:1", "1.0")
    assert parsed.target == ()
    [rule] = parsed.rules
    assert (rule.number, rule.rule_id, rule.effect) == (1, "urn:altinn:example:ruleid:1", "Permit")
    packages, resource, actions = rule.target
    [[package]] = packages
    assert package.function == STRING_EQUAL_IGNORE_CASE
    assert package.value == "ansettelsesforhold"
    assert package.designator == Designator(
        SUBJECT_CATEGORY, "urn:altinn:accesspackage", XML_STRING, must_be_present=False
    )
    assert package.line == 9
    assert [m.value for [m] in resource] == ["ttd-accesspackage-resource"]
    assert [m.value for [m] in actions] == ["read", "write"]
    assert parsed.obligations == (
        Expression(
            "urn:altinn:obligation:1",
            "Permit",
            (
                Assignment(
                    "urn:altinn:obligation-assignment:1",
                    "urn:altinn:minimum-authenticationlevel",
                    XML_INTEGER,
                    None,
                    "2",
                ),
            ),
        ),
    )
    assert parsed.resource_urn == "urn:altinn:resource:ttd-accesspackage-resource"


def test_the_xacml_prefix_and_the_default_namespace_read_alike():
    default = policy()
    prefixed = default.replace(f'xmlns="{XACML}"', f'xmlns:xacml="{XACML}"')
    prefixed = prefixed.replace("<", "<xacml:").replace("<xacml:/", "</xacml:")
    prefixed = prefixed.replace("<xacml:?xml", "<?xml")
    assert accepted(prefixed) == accepted(default)


# --- the supported subset -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "data_type", "written", "value"),
    [
        (STRING_EQUAL, XML_STRING, "Dagl", "Dagl"),
        (STRING_EQUAL_IGNORE_CASE, XML_STRING, "Dagl", "Dagl"),
        (ANY_URI_EQUAL, XML_ANY_URI, "urn:x:y", "urn:x:y"),
        (INTEGER_EQUAL, XML_INTEGER, " 42 ", 42),
        (INTEGER_EQUAL, XML_INTEGER, "-7", -7),
        (BOOLEAN_EQUAL, XML_BOOLEAN, "true", True),
        (BOOLEAN_EQUAL, XML_BOOLEAN, "0", False),
    ],
)
def test_each_match_function_reads_its_literal_typed(function, data_type, written, value):
    reads = designator("urn:altinn:x", SUBJECT_CATEGORY, data_type)
    text = policy(rule(any_of(match(written, function, data_type, reads)), any_of(action("read"))))
    [[[parsed]], _] = accepted(text).rules[0].target
    assert (parsed.function, parsed.value, parsed.designator.data_type) == (
        function,
        value,
        data_type,
    )
    assert parsed.ignore_case is (function == STRING_EQUAL_IGNORE_CASE)


@pytest.mark.parametrize("urn", sorted(RULE_COMBINING_ALGORITHMS))
def test_each_combining_algorithm_is_known_by_its_urn(urn):
    algorithm = accepted(policy(algorithm=urn)).algorithm
    assert algorithm.urn == urn
    expected_family = (
        FIRST_APPLICABLE
        if "first-applicable" in urn
        else DENY_OVERRIDES
        if "deny-overrides" in urn
        else PERMIT_OVERRIDES
    )
    assert algorithm.family == expected_family
    assert algorithm.legacy is ((":1.0:" in urn and "first" not in urn) or ":1.1:" in urn)


def test_the_ordered_and_legacy_variants_are_all_supported():
    assert len(RULE_COMBINING_ALGORITHMS) == 9


def test_deny_rules_rule_obligations_and_advice_are_kept():
    obligation = (
        "<ObligationExpressions>\n"
        '<ObligationExpression ObligationId="urn:o" FulfillOn="Deny">\n'
        '<AttributeAssignmentExpression AttributeId="urn:a" Issuer="urn:issuer">\n'
        f'<AttributeValue DataType="{XML_STRING}"> kept as written </AttributeValue>\n'
        "</AttributeAssignmentExpression>\n"
        "</ObligationExpression>\n"
        "</ObligationExpressions>\n"
    )
    advice = (
        "<AdviceExpressions>\n"
        '<AdviceExpression AdviceId="urn:advice" AppliesTo="Permit">\n'
        '<AttributeAssignmentExpression AttributeId="urn:b" Category="urn:c">\n'
        f'<AttributeValue DataType="{XML_BOOLEAN}">true</AttributeValue>\n'
        "</AttributeAssignmentExpression>\n"
        "</AdviceExpression>\n"
        "</AdviceExpressions>\n"
    )
    deny = rule(
        any_of(match()),
        any_of(action("write")),
        effect="Deny",
        inner="<Description>why</Description>\n" + obligation + advice,
    )
    parsed = accepted(policy(deny, after=advice))
    [parsed_rule] = parsed.rules
    assert parsed_rule.effect == "Deny"
    assert parsed_rule.obligations == (
        Expression(
            "urn:o",
            "Deny",
            (Assignment("urn:a", None, XML_STRING, "urn:issuer", " kept as written "),),
        ),
    )
    expected_advice = (
        Expression(
            "urn:advice", "Permit", (Assignment("urn:b", "urn:c", XML_BOOLEAN, None, "true"),)
        ),
    )
    assert parsed_rule.advice == expected_advice
    assert parsed.advice == expected_advice


def test_must_be_present_designators_are_kept_for_the_engine():
    present = designator("urn:altinn:x", must_be_present="true")
    target = "<Target>\n" + any_of(match("v", reads=present)) + "\n</Target>"
    parsed = accepted(policy(target=target))
    assert parsed.must_be_present(parsed.rules[0]) == {
        Designator(SUBJECT_CATEGORY, "urn:altinn:x", XML_STRING, must_be_present=True)
    }


def test_the_four_categories_are_supported():
    matches = [
        match("v", reads=designator("urn:altinn:x", category))
        for category in (SUBJECT_CATEGORY, RESOURCE_CATEGORY, ENVIRONMENT_CATEGORY)
    ]
    parsed = accepted(policy(rule(any_of("\n".join(matches)), any_of(action("read")))))
    assert len(parsed.rules[0].target[0][0]) == 3


def test_a_rule_without_a_target_and_a_policy_without_one_are_empty_targets():
    parsed = accepted(policy(rule(), target=""))
    assert (parsed.target, parsed.rules[0].target) == ((), ())


# --- refused --------------------------------------------------------------------------------


def condition_rule() -> str:
    return rule(any_of(match()), inner="<Condition>\n<Apply FunctionId='urn:f'/>\n</Condition>\n")


@pytest.mark.parametrize(
    ("text", "needle", "expected"),
    [
        (
            policy(condition_rule()),
            "<Condition>",
            "Condition: not supported (a rule may only be decided by its Target; Rule may "
            "hold Description, Target, ObligationExpressions, AdviceExpressions)",
        ),
        (
            policy(after="<VariableDefinition VariableId='v'/>\n"),
            "<VariableDefinition",
            "VariableDefinition: not supported (variables are not supported; Policy may hold "
            "Description, Target, Rule, ObligationExpressions, AdviceExpressions)",
        ),
        (
            policy(rule(any_of(match(reads="<VariableReference VariableId='v'/>")))),
            "<VariableReference",
            "VariableReference: not supported (variables are not supported; Match may hold "
            "AttributeValue, AttributeDesignator)",
        ),
        (
            policy(rule(any_of(match(reads="<AttributeSelector Path='/x'/>")))),
            "<AttributeSelector",
            "AttributeSelector: not supported (XPath selectors are not supported; Match may "
            "hold AttributeValue, AttributeDesignator)",
        ),
        (
            policy(after="<PolicyIssuer/>\n"),
            "<PolicyIssuer",
            "PolicyIssuer: not supported (issuers and administrative delegation are not "
            "supported; Policy may hold Description, Target, Rule, ObligationExpressions, "
            "AdviceExpressions)",
        ),
        (
            policy(after="<CombinerParameters/>\n"),
            "<CombinerParameters",
            "CombinerParameters: not supported (combiner parameters are not supported; Policy "
            "may hold Description, Target, Rule, ObligationExpressions, AdviceExpressions)",
        ),
        (
            policy(rule(any_of(match(function="urn:oasis:names:tc:xacml:1.0:function:regexp")))),
            "<Match",
            "Match: unknown match function 'urn:oasis:names:tc:xacml:1.0:function:regexp'",
        ),
        (
            policy(rule(any_of(match(reads=designator(category="urn:x:recipient-subject"))))),
            "<AttributeDesignator",
            "AttributeDesignator: unknown category 'urn:x:recipient-subject'",
        ),
        (
            policy(rule(any_of(match(reads=designator(data_type="urn:t:date"))))),
            "<AttributeDesignator",
            "AttributeDesignator: unknown data type 'urn:t:date'",
        ),
        (
            policy(rule(any_of(match(value_type=XML_INTEGER)))),
            "<Match",
            f"Match: {STRING_EQUAL} compares {XML_STRING}, but its AttributeValue has "
            f"DataType {XML_INTEGER!r}",
        ),
        (
            policy(
                rule(
                    any_of(
                        match(
                            "1", INTEGER_EQUAL, XML_INTEGER, designator(ROLECODE, SUBJECT_CATEGORY)
                        )
                    )
                )
            ),
            "<Match",
            f"Match: {INTEGER_EQUAL} compares {XML_INTEGER}, but its AttributeDesignator has "
            f"DataType {XML_STRING!r}",
        ),
        (
            policy(rule(any_of(match(reads=designator(extra=' Issuer="urn:i"'))))),
            "<AttributeDesignator",
            "AttributeDesignator: attribute Issuer not supported (attributes are not told "
            "apart by issuer)",
        ),
        (
            policy(rule(any_of(match(reads=designator(attribute_id="rolecode"))))),
            "<AttributeDesignator",
            "AttributeDesignator: AttributeId must be a URN, not 'rolecode'",
        ),
        (
            policy(rule(any_of(match(reads=designator(must_be_present="yes"))))),
            "<AttributeDesignator",
            "AttributeDesignator: MustBePresent must be true or false, not 'yes'",
        ),
        (
            policy(
                rule(
                    any_of(
                        match("x", INTEGER_EQUAL, XML_INTEGER, designator(data_type=XML_INTEGER))
                    )
                )
            ),
            "<AttributeValue",
            "AttributeValue: 'x' is not a valid integer",
        ),
        (
            policy(
                rule(
                    any_of(
                        match(
                            "read",
                            reads=designator(ACTION_ID, ACTION_CATEGORY, XML_ANY_URI),
                            function=ANY_URI_EQUAL,
                            value_type=XML_ANY_URI,
                        )
                    )
                )
            ),
            "<Match",
            "Match: the action id must be matched as a string",
        ),
        (
            policy(rule(effect="Allow")),
            "<Rule",
            "Rule: Effect must be Permit or Deny, not 'Allow'",
        ),
        (
            policy('<Rule Effect="Permit"/>'),
            "<Rule",
            "Rule: attribute RuleId missing",
        ),
        (
            policy(rule(inner="<Target/>\n<Target/>\n")),
            "<Target/>\n</Rule>",
            "Target: more than one in Rule",
        ),
        (
            policy(rule("<AnyOf>\n</AnyOf>")),
            "<AnyOf>",
            "AnyOf: needs at least one AllOf",
        ),
        (
            policy(target="<Target>stray</Target>"),
            "<Target>stray",
            "Target: unexpected text 'stray'",
        ),
        (
            policy(attributes=' MaxDelegationDepth="2"'),
            "<Policy",
            "Policy: attribute MaxDelegationDepth not supported",
        ),
        (
            policy(after='<x:Extra xmlns:x="urn:other"/>\n'),
            "<x:Extra",
            "Extra: not in the XACML 3.0 namespace (urn:other)",
        ),
        (
            policy(
                after="<ObligationExpressions>\n"
                '<ObligationExpression ObligationId="urn:o" FulfillOn="Always"/>\n'
                "</ObligationExpressions>\n"
            ),
            "<ObligationExpression ",
            "ObligationExpression: FulfillOn must be Permit or Deny, not 'Always'",
        ),
        (
            policy(
                after="<ObligationExpressions>\n"
                '<ObligationExpression ObligationId="urn:o" FulfillOn="Permit">\n'
                '<AttributeAssignmentExpression AttributeId="urn:a">\n'
                "<Apply FunctionId='urn:f'/>\n"
                "</AttributeAssignmentExpression>\n"
                "</ObligationExpression>\n"
                "</ObligationExpressions>\n"
            ),
            "<Apply",
            "Apply: not supported (only literal AttributeValues are supported; "
            "AttributeAssignmentExpression may hold AttributeValue)",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 30 else None,
)
def test_constructs_outside_the_subset_are_refused_by_line_and_element(text, needle, expected):
    assert f"line {line_of(text, needle)}: {expected}" in refused(text)


def test_an_unknown_combining_algorithm_is_refused():
    assert refused(policy(algorithm="urn:x:only-one-applicable")) == [
        "line 2: Policy: unknown rule-combining algorithm 'urn:x:only-one-applicable'"
    ]


def test_a_policy_set_is_refused():
    text = f'<PolicySet xmlns="{XACML}" PolicySetId="s"/>'
    assert refused(text) == ["line 1: PolicySet: not supported (one Policy per resource)"]


def test_another_namespace_is_refused():
    text = '<Policy xmlns="urn:oasis:names:tc:xacml:2.0:policy:schema:os" PolicyId="p"/>'
    assert refused(text) == [
        f"line 1: Policy: not an XACML 3.0 policy: the namespace must be {XACML}, not "
        "urn:oasis:names:tc:xacml:2.0:policy:schema:os"
    ]


def test_malformed_xml_is_refused_as_a_whole_with_its_line():
    text = policy().replace("</Rule>", "</Rul>")
    assert refused(text) == [f"line {line_of(text, '</Rul>')}: not well-formed XML: mismatched tag"]


def test_unsafe_xml_is_refused():
    text = '<!DOCTYPE p [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<p>&e;</p>'
    assert refused(text) == ["line 1: a DTD (<!DOCTYPE ...>) is not allowed"]


def test_every_problem_of_a_policy_is_reported_at_once():
    text = policy(condition_rule(), rule(effect="Maybe"), algorithm="urn:x:unknown")
    problems = refused(text)
    assert len(problems) == 3
    assert [problem.split(": ")[1] for problem in problems] == ["Policy", "Condition", "Rule"]


def test_a_rule_expanding_to_too_many_conjunctions_is_refused():
    roles = any_of(*(match(f"r{n}") for n in range(33)))
    text = policy(rule(roles, roles, any_of(action("read"))))
    assert refused(text) == [
        f"line {line_of(text, '<Rule')}: Rule: its target expands to 1089 conjunctions, "
        f"more than {MAX_TERMS_PER_RULE}; split the rule"
    ]


# --- disjunctive normal form ----------------------------------------------------------------


def app1() -> ResourcePolicy:
    path = ALTINN_POLICIES / "AltinnApps/org1/app1/policy.xml"
    return accepted(path.read_text(encoding="utf-8"), "app_org1_app1")


def test_a_rule_is_a_disjunction_of_conjunctions_of_its_matches():
    parsed = app1()
    terms = parsed.terms(parsed.rules[0])
    # (regna or dagl or priv) and (org1 and app1) and (read or write)
    assert [[match.value for match in term.matches] for term in terms] == [
        [role, "org1", "app1", operation]
        for role in ("regna", "dagl", "priv")
        for operation in ("read", "write")
    ]
    assert [term.number for term in terms] == [1, 2, 3, 4, 5, 6]
    assert all(term.excluded_by is None for term in terms)


def test_the_policy_target_is_part_of_every_term():
    target = "<Target>\n" + any_of(match("a"), match("b")) + "\n</Target>"
    parsed = accepted(policy(target=target))
    terms = parsed.terms(parsed.rules[0])
    assert [[m.value for m in term.matches] for term in terms] == [
        ["a", "dagl", "read"],
        ["b", "dagl", "read"],
    ]


def test_a_term_naming_another_resource_is_marked():
    other = match("ttd-y", reads=designator("urn:altinn:resource", RESOURCE_CATEGORY))
    this = match(
        "TTD-X",
        STRING_EQUAL_IGNORE_CASE,
        reads=designator("urn:altinn:resource", RESOURCE_CATEGORY),
    )
    parsed = accepted(policy(rule(any_of(other, this), any_of(action("read")))))
    first, second = parsed.terms(parsed.rules[0])
    assert first.excluded_by is not None and first.excluded_by.value == "ttd-y"
    assert second.excluded_by is None


def test_an_app_term_naming_another_org_or_app_is_marked():
    def org_app(org: str, app: str) -> str:
        return "\n".join(
            match(value, reads=designator(attribute, RESOURCE_CATEGORY))
            for value, attribute in ((org, "urn:altinn:org"), (app, "urn:altinn:app"))
        )

    text = policy(
        rule(any_of(org_app("org1", "app1"), org_app("org1", "app2")), any_of(action("read")))
    )
    parsed = accepted(text, "app_org1_app1")
    first, second = parsed.terms(parsed.rules[0])
    assert first.excluded_by is None
    assert second.excluded_by is not None and second.excluded_by.value == "app2"


def test_app_resource_ids_name_org_and_app():
    assert resource_policies.app_of("app_org1_app1") == ("org1", "app1")
    assert resource_policies.app_of("app_ttd_my_app") == ("ttd", "my_app")
    assert resource_policies.app_of("ttd-x") is None
    assert resource_policies.app_of("app_") is None


@pytest.mark.parametrize(
    ("name", "resource_id"),
    [
        ("resources/ttd-x/policy.xml", "ttd-x"),
        ("resources/app_org1_app1/policy.xml", "app_org1_app1"),
        ("resources/TTD-X/policy.xml", None),
        ("resources/ttd x/policy.xml", None),
        ("resources/ttd-x/other.xml", None),
        ("resources/a/b/policy.xml", None),
        ("packages/ttd-x/policy.xml", None),
    ],
)
def test_resource_ids_are_in_altinns_form(name, resource_id):
    assert resource_policies.resource_id_of(name) == resource_id


def test_the_actions_a_policy_names_are_lower_cased_and_sorted():
    parsed = accepted(policy(rule(any_of(match()), any_of(action("Write"), action("read")))))
    assert parsed.actions() == ("read", "write")


# --- checks against the catalog -------------------------------------------------------------


def checked(text: str, packages: set[str] = frozenset(), roles: set[str] = frozenset()):
    return resource_policies.check(
        accepted(text),
        lambda value: value in packages,
        lambda attribute_id, value: value in roles,
    )


def package(code: str) -> str:
    return match(code, STRING_EQUAL_IGNORE_CASE, reads=designator("urn:altinn:accesspackage"))


def test_an_unknown_access_package_is_an_error():
    text = policy(rule(any_of(package("ansettelsesforhod")), any_of(action("read"))))
    errors, warnings = checked(text, packages={"ansettelsesforhold"})
    assert errors == [
        Problem(
            FILE, f"line {line_of(text, '<Match')}", "unknown access package 'ansettelsesforhod'"
        )
    ]
    assert warnings == []


def test_an_unknown_role_is_a_warning():
    errors, warnings = checked(policy(), roles={"regna"})
    assert errors == []
    assert [w.problem for w in warnings] == [
        "unknown role code 'dagl' (urn:altinn:rolecode): not an ER role of roles.yaml, so the "
        "register never supplies it"
    ]


def test_a_dropped_term_is_a_warning():
    other = match("ttd-y", reads=designator("urn:altinn:resource", RESOURCE_CATEGORY))
    text = policy(rule(any_of(other), any_of(action("read")), rule_id="urn:r"))
    _, warnings = checked(text, roles={"dagl"})
    assert [w.problem for w in warnings] == [
        "rule 'urn:r': term 1 matches urn:altinn:resource 'ttd-y', another resource than "
        "'ttd-x'; it can never apply and is dropped"
    ]


def test_a_rule_matching_every_action_is_a_warning_naming_the_actions_it_gets():
    text = policy(READ_RULE, rule(any_of(match()), rule_id="urn:any"))
    _, warnings = checked(text, roles={"dagl"})
    assert [w.problem for w in warnings] == [
        "rule 'urn:any': term 1 matches every action; it is compiled for the actions this "
        "policy names: read"
    ]


def test_a_rule_matching_every_action_in_a_policy_naming_none_is_an_error():
    text = policy(rule(any_of(match()), rule_id="urn:any"))
    errors, _ = checked(text, roles={"dagl"})
    assert [e.problem for e in errors] == [
        "rule 'urn:any' matches every action and the policy names none: name the actions it "
        "permits or denies"
    ]

"""A resource policy's rules said in words, read from the model the compiler reads."""

from __future__ import annotations

from pdp import catalog as catalog_module
from pdp.console.sentences import rule_sentences
from pdp.resource_policies import parse
from tests.conftest import POLICY_DIR


def _policy(rules: str, resource: str = "ttd-words") -> tuple:
    text = f"""<Policy xmlns="urn:oasis:names:tc:xacml:3.0:core:schema:wd-17" PolicyId="p"
      RuleCombiningAlgId="urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides">
      {rules}
    </Policy>"""
    problems: list = []
    policy = parse("resources/x/policy.xml", resource, text, problems)
    assert policy is not None, problems
    return policy


def _match(attribute: str, value: str, category: str = "1.0:subject-category:access-subject"):
    function = "urn:oasis:names:tc:xacml:1.0:function:string-equal"
    string = "http://www.w3.org/2001/XMLSchema#string"
    return f"""<AnyOf><AllOf><Match MatchId="{function}">
      <AttributeValue DataType="{string}">{value}</AttributeValue>
      <AttributeDesignator AttributeId="{attribute}" Category="urn:oasis:names:tc:xacml:{category}"
        DataType="{string}" MustBePresent="false"/></Match></AllOf></AnyOf>"""


ACTION = "urn:oasis:names:tc:xacml:1.0:action:action-id"
ACTION_CATEGORY = "3.0:attribute-category:action"


def test_the_shipped_policies_read_as_the_service_owner_wrote_them():
    catalog = catalog_module.load(POLICY_DIR)
    texts = {
        policy.resource_id: [(s.text, s.requirements) for s in rule_sentences(policy, catalog)]
        for policy in catalog.resources
    }
    assert texts["ttd-example-api"] == [
        (
            "holders of Programmeringsgrensesnitt (API) may read and write",
            ("requires authentication level 3",),
        ),
        ("DAGL (Daglig leder) may read", ("requires authentication level 3",)),
    ]
    assert texts["ttd-example-events"][1] == (
        "holders of Programmeringsgrensesnitt (API) may not publish",
        (),
    )


def test_alternatives_with_the_same_actions_are_joined_by_or():
    any_role = _match("urn:altinn:rolecode", "dagl").replace("</AnyOf>", "").replace(
        "<AnyOf>", ""
    ) + _match("urn:altinn:rolecode", "lede").replace("</AnyOf>", "").replace("<AnyOf>", "")
    policy = _policy(
        f"""<Rule RuleId="r1" Effect="Permit"><Target><AnyOf>{any_role}</AnyOf>
        {_match(ACTION, "read", ACTION_CATEGORY)}</Target></Rule>"""
    )
    catalog = catalog_module.load(POLICY_DIR)
    (sentence,) = rule_sentences(policy, catalog)
    assert sentence.text == "DAGL (Daglig leder), or LEDE (Styrets leder) may read"


def test_a_subject_attribute_the_catalog_does_not_name_is_said_as_it_is_written():
    policy = _policy(
        f"""<Rule RuleId="r1" Effect="Permit"><Target>
        {_match("urn:altinn:rolecode", "regna")}{_match("urn:altinn:org", "skd")}
        {_match(ACTION, "read", ACTION_CATEGORY)}</Target></Rule>"""
    )
    (sentence,) = rule_sentences(policy, catalog_module.load(POLICY_DIR))
    assert sentence.text == (
        "holders of role 'regna' who are also subjects whose urn:altinn:org is 'skd' may read"
    )


def test_a_rule_whose_every_alternative_names_another_resource_never_applies():
    policy = _policy(
        f"""<Rule RuleId="r1" Effect="Permit"><Target>
        {_match("urn:altinn:resource", "another", "3.0:attribute-category:resource")}
        {_match(ACTION, "read", ACTION_CATEGORY)}</Target></Rule>"""
    )
    (sentence,) = rule_sentences(policy, catalog_module.load(POLICY_DIR))
    assert sentence.text.startswith("never applies")

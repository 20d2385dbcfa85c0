"""Rule combining (XACML 3.0 Annex C) and the obligations and advice a decision carries.

Each table row: the rules' effects, whether each applies (Y yes, N no, I indeterminate), and the
decision with its extended Indeterminate and the rules that decided it (numbers from 1).
"""

from __future__ import annotations

import pytest

from pdp.combining import DP, Applies, Combined, D, P, combine
from pdp.resource_policies import RULE_COMBINING_ALGORITHMS, Expression, ResourcePolicy, Rule
from pdp.vocabulary import DENY, INDETERMINATE, NOT_APPLICABLE, PERMIT

URN = "urn:oasis:names:tc:xacml:{}:rule-combining-algorithm:{}"
DENY_OVERRIDES = URN.format("3.0", "deny-overrides")
PERMIT_OVERRIDES = URN.format("3.0", "permit-overrides")
FIRST_APPLICABLE = URN.format("1.0", "first-applicable")
APPLIES = {"Y": Applies.YES, "N": Applies.NO, "I": Applies.INDETERMINATE}
EFFECTS = {"P": PERMIT, "D": DENY}


def obligation(name: str, effect: str) -> Expression:
    return Expression(f"urn:obligation:{name}", effect, ())


def advice(name: str, effect: str) -> Expression:
    return Expression(f"urn:advice:{name}", effect, ())


def make_policy(
    algorithm: str, effects: str, **expressions: tuple[Expression, ...]
) -> ResourcePolicy:
    """A policy of one rule per letter of `effects` (P Permit, D Deny). Rule n carries the
    obligations and advice `rule<n>` and `rule<n>_advice` name; the policy `policy` and
    `policy_advice`."""
    rules = tuple(
        Rule(
            number=n,
            rule_id=f"r{n}",
            effect=EFFECTS[letter],
            target=(),
            obligations=expressions.get(f"rule{n}", ()),
            advice=expressions.get(f"rule{n}_advice", ()),
            line=n,
        )
        for n, letter in enumerate(effects, 1)
    )
    return ResourcePolicy(
        resource_id="ttd-x",
        file="resources/ttd-x/policy.xml",
        policy_id="urn:p",
        version=None,
        algorithm=RULE_COMBINING_ALGORITHMS[algorithm],
        target=(),
        rules=rules,
        obligations=expressions.get("policy", ()),
        advice=expressions.get("policy_advice", ()),
    )


def decide(algorithm: str, effects: str, applies: str, **expressions) -> Combined:
    return combine(make_policy(algorithm, effects, **expressions), [APPLIES[a] for a in applies])


def summary(combined: Combined) -> tuple[str, str | None, list[int]]:
    return combined.decision, combined.extended, [rule.number for rule in combined.rules]


DENY_OVERRIDES_TABLE = [
    # effects, applies, decision, extended, deciding rules
    ("", "", NOT_APPLICABLE, None, []),
    ("PD", "NN", NOT_APPLICABLE, None, []),
    ("PP", "YY", PERMIT, None, [1, 2]),
    ("PD", "YY", DENY, None, [2]),
    ("DPD", "YYY", DENY, None, [1]),
    ("PD", "YN", PERMIT, None, [1]),
    ("PD", "NI", INDETERMINATE, D, [2]),
    ("PD", "YI", INDETERMINATE, DP, [2]),
    ("PD", "II", INDETERMINATE, DP, [1, 2]),
    ("PD", "IY", DENY, None, [2]),
    ("PP", "IY", PERMIT, None, [2]),
    ("P", "I", INDETERMINATE, P, [1]),
    ("PD", "IN", INDETERMINATE, P, [1]),
]

PERMIT_OVERRIDES_TABLE = [
    ("", "", NOT_APPLICABLE, None, []),
    ("DP", "NN", NOT_APPLICABLE, None, []),
    ("DD", "YY", DENY, None, [1, 2]),
    ("DP", "YY", PERMIT, None, [2]),
    ("PDP", "YYY", PERMIT, None, [1]),
    ("DP", "YN", DENY, None, [1]),
    ("DP", "NI", INDETERMINATE, P, [2]),
    ("DP", "YI", INDETERMINATE, DP, [2]),
    ("DP", "II", INDETERMINATE, DP, [1, 2]),
    ("DP", "IY", PERMIT, None, [2]),
    ("DD", "IY", DENY, None, [2]),
    ("D", "I", INDETERMINATE, D, [1]),
]

FIRST_APPLICABLE_TABLE = [
    ("", "", NOT_APPLICABLE, None, []),
    ("PD", "NN", NOT_APPLICABLE, None, []),
    ("PD", "YY", PERMIT, None, [1]),
    ("DP", "YY", DENY, None, [1]),
    ("PD", "NY", DENY, None, [2]),
    ("PD", "IY", INDETERMINATE, P, [1]),
    ("DP", "IY", INDETERMINATE, D, [1]),
    ("PD", "NI", INDETERMINATE, D, [2]),
]


@pytest.mark.parametrize(
    ("effects", "applies", "decision", "extended", "rules"), DENY_OVERRIDES_TABLE
)
@pytest.mark.parametrize("version", ["3.0 deny-overrides", "3.0 ordered-deny-overrides"])
def test_deny_overrides(version, effects, applies, decision, extended, rules):
    algorithm = URN.format(*version.split())
    assert summary(decide(algorithm, effects, applies)) == (decision, extended, rules)


@pytest.mark.parametrize(
    ("effects", "applies", "decision", "extended", "rules"), PERMIT_OVERRIDES_TABLE
)
@pytest.mark.parametrize("version", ["3.0 permit-overrides", "3.0 ordered-permit-overrides"])
def test_permit_overrides(version, effects, applies, decision, extended, rules):
    algorithm = URN.format(*version.split())
    assert summary(decide(algorithm, effects, applies)) == (decision, extended, rules)


@pytest.mark.parametrize(
    ("effects", "applies", "decision", "extended", "rules"), FIRST_APPLICABLE_TABLE
)
def test_first_applicable(effects, applies, decision, extended, rules):
    assert summary(decide(FIRST_APPLICABLE, effects, applies)) == (decision, extended, rules)


@pytest.mark.parametrize(
    ("version", "table"),
    [
        ("1.0 deny-overrides", DENY_OVERRIDES_TABLE),
        ("1.1 ordered-deny-overrides", DENY_OVERRIDES_TABLE),
        ("1.0 permit-overrides", PERMIT_OVERRIDES_TABLE),
        ("1.1 ordered-permit-overrides", PERMIT_OVERRIDES_TABLE),
    ],
)
def test_legacy_algorithms_decide_alike_but_their_indeterminate_is_not_extended(version, table):
    algorithm = URN.format(*version.split())
    for effects, applies, decision, _extended, rules in table:
        legacy_extended = DP if decision == INDETERMINATE else None
        assert summary(decide(algorithm, effects, applies)) == (decision, legacy_extended, rules)


def test_the_applicabilities_must_match_the_rules():
    with pytest.raises(ValueError, match="2 rules, but 1 applicabilities given"):
        decide(DENY_OVERRIDES, "PD", "Y")


# --- obligations and advice -----------------------------------------------------------------


def test_a_permit_carries_the_permitting_rules_then_the_policys_obligations():
    combined = decide(
        DENY_OVERRIDES,
        "PPP",
        "YNY",
        rule1=(obligation("r1", PERMIT),),
        rule2=(obligation("r2", PERMIT),),
        rule3=(obligation("r3", PERMIT), obligation("r3-on-deny", DENY)),
        policy=(obligation("policy", PERMIT), obligation("policy-on-deny", DENY)),
    )
    assert [o.id for o in combined.obligations] == [
        "urn:obligation:r1",
        "urn:obligation:r3",
        "urn:obligation:policy",
    ]


def test_a_deny_under_deny_overrides_carries_the_first_deny_rules_obligations():
    combined = decide(
        DENY_OVERRIDES,
        "PDD",
        "YYY",
        rule1=(obligation("r1", PERMIT),),
        rule2=(obligation("r2", DENY),),
        rule3=(obligation("r3", DENY),),
        policy=(obligation("policy-on-permit", PERMIT), obligation("policy-on-deny", DENY)),
    )
    assert [o.id for o in combined.obligations] == [
        "urn:obligation:r2",
        "urn:obligation:policy-on-deny",
    ]


def test_first_applicable_carries_the_one_rules_obligations():
    combined = decide(
        FIRST_APPLICABLE,
        "PP",
        "YY",
        rule1=(obligation("r1", PERMIT),),
        rule2=(obligation("r2", PERMIT),),
    )
    assert [o.id for o in combined.obligations] == ["urn:obligation:r1"]


def test_advice_follows_its_applies_to_like_obligations():
    combined = decide(
        PERMIT_OVERRIDES,
        "DD",
        "YY",
        rule1_advice=(advice("r1", DENY), advice("r1-on-permit", PERMIT)),
        rule2_advice=(advice("r2", DENY),),
        policy_advice=(advice("policy", DENY),),
    )
    assert [a.id for a in combined.advice] == [
        "urn:advice:r1",
        "urn:advice:r2",
        "urn:advice:policy",
    ]
    assert combined.obligations == ()


@pytest.mark.parametrize("applies", ["N", "I"])
def test_not_applicable_and_indeterminate_carry_nothing(applies):
    combined = decide(
        DENY_OVERRIDES,
        "P",
        applies,
        rule1=(obligation("r1", PERMIT),),
        rule1_advice=(advice("r1", PERMIT),),
        policy=(obligation("policy", PERMIT), obligation("policy-d", DENY)),
        policy_advice=(advice("policy", PERMIT),),
    )
    assert (combined.obligations, combined.advice) == ((), ())

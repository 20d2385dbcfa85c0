"""The fast paths of the context handler read requests exactly as the general ones do.

`pdp.xacml_fast` loads the well-formed bodies PEPs send without marshmallow, and
`xacml._common_items` reads their items in one pass; each declines anything else, which the
schema and the general item reader then read. So:

- whatever the fast loader accepts, it loads to exactly what the schema loads;
- every request, well-formed or not, parses to the same decisions, echoed attributes and
  messages as with the general path alone (the parser before the fast paths existed);
- the requests PEPs send (ours, Altinn's test suite, in PascalCase and camelCase) take them.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from pdp import xacml, xacml_fast
from pdp.errors import RequestSyntaxError
from pdp.vocabulary import XML_STRING
from tests.conftest import DATA_DIR, EXAMPLES_DIR
from tests.helpers import (
    ACTION_ID,
    ORGANIZATION_ID,
    PACKAGE_ID,
    PERSON_ID,
    new_organization,
    new_person,
)

REQUEST_FILES = sorted(
    [*(DATA_DIR / "altinn-xacml").glob("*Request.json"), *(EXAMPLES_DIR / "requests").glob("*")]
)


def with_schema_only(body: Any) -> xacml.ParsedRequest:
    """What `xacml.parse` gave before the fast paths: every body loaded by the schema, every
    item read by the general reader."""
    load, common_items = xacml_fast.load, xacml._common_items
    xacml_fast.load = xacml._common_items = lambda _: None
    try:
        return xacml.parse(body)
    finally:
        xacml_fast.load, xacml._common_items = load, common_items


def outcome(parsed: xacml.ParsedRequest) -> tuple[Any, ...]:
    """Everything a parsed request decides by (errors by their type and message)."""

    def request(item: xacml.Item) -> Any:
        if isinstance(item.request, RequestSyntaxError):
            return ("syntax error", str(item.request))
        return item.request

    return (
        parsed.return_policy_ids,
        parsed.combined,
        [(request(item), item.echoed) for item in parsed.items],
    )


def schema_load(body: Any) -> tuple[str, Any]:
    """The schema's reading of `body`, or that it refused it."""
    try:
        return ("loaded", xacml.load_with_schema(body))
    except Exception as error:
        return ("refused", f"{type(error).__name__}: {error}")


# --- random requests ------------------------------------------------------------------------


class Bodies:
    """Random XACML JSON bodies: mostly well-formed, in any casing, with a mistake now and
    then (`mistakes` is the chance of one at each place one can be made)."""

    def __init__(self, rng: random.Random, mistakes: float):
        self.rng = rng
        self.mistakes = mistakes
        self.people = [new_person() for _ in range(3)] + ["12345678901", "0205626001"]
        self.parties = [new_organization() for _ in range(3)] + ["123456789"]

    def slip(self) -> bool:
        return self.rng.random() < self.mistakes

    def key(self, name: str) -> str:
        """`name` as some client spells it."""
        return self.rng.choice(
            [name, name, name[0].lower() + name[1:], name.lower(), name.upper(), name.swapcase()]
        )

    def members(self, pairs: list[tuple[str, Any]]) -> dict[Any, Any]:
        """An object of these members, keys spelt at random, with a mistake now and then:
        a member twice in two spellings, an unknown member, a member left out."""
        rng = self.rng
        result: dict[Any, Any] = {}
        for name, value in pairs:
            if self.slip():
                continue  # left out
            result[self.key(name)] = value
            if self.slip():
                result[self.key(name)] = copy.deepcopy(value)  # maybe a second spelling
        if self.slip():
            unknown = rng.choice(["Foo", "XPathVersion", "Content", "id", "value", 7])
            result[unknown] = rng.choice(["x", 1, None, {"Value": "y", "value": "z"}, ["a"]])
        return result

    def value(self, good: Callable[[], Any]) -> Any:
        """`good()`, or now and then something of another type."""
        if not self.slip():
            return good()
        return self.rng.choice(
            [None, 1, 2.5, True, "true", "", [], ["a", "b"], [1, [2]], [{"value": 1}], {"x": 1}]
        )

    def attribute(self, attribute_id: str, value: Any) -> dict[Any, Any]:
        rng = self.rng
        pairs: list[tuple[str, Any]] = [
            ("AttributeId", self.value(lambda: attribute_id)),
            ("Value", self.value(lambda: value)),
        ]
        if rng.random() < 0.3:
            pairs.append(("DataType", self.value(lambda: rng.choice([XML_STRING, "string", None]))))
        if rng.random() < 0.3:
            pairs.append(("IncludeInResult", self.value(lambda: rng.random() < 0.5)))
        if rng.random() < 0.1:
            pairs.append(("Issuer", self.value(lambda: rng.choice(["altinn", None]))))
        return self.members(pairs)

    def attributes(self, attributes: list[dict[Any, Any]]) -> Any:
        if len(attributes) == 1 and self.rng.random() < 0.3:
            return attributes[0]  # one object, not a list
        return attributes

    def category(self, attributes: list[dict[Any, Any]], identifier: str | None) -> Any:
        pairs: list[tuple[str, Any]] = [("Attribute", self.attributes(attributes))]
        if identifier is not None or self.rng.random() < 0.1:
            pairs.insert(0, ("Id", self.value(lambda: identifier)))
        return self.members(pairs)

    def identifier(self) -> dict[Any, Any]:
        rng = self.rng
        if rng.random() < 0.8:
            return self.attribute(PERSON_ID, rng.choice(self.people))
        return self.attribute(ORGANIZATION_ID, rng.choice(self.parties))

    def subject(self) -> list[dict[Any, Any]]:
        rng = self.rng
        attributes = [self.identifier()]
        if rng.random() < 0.05:
            attributes.append(self.identifier())  # ambiguous
        for attribute_id, roles in (
            ("urn:altinn:rolecode", ["dagl", "MEDL", ["lede", "dagl"], "nosuchrole"]),
            ("urn:altinn:external-role:ccr", ["daglig-leder", ["styreleder"], "revisor"]),
        ):
            if rng.random() < 0.2:
                attributes.append(self.attribute(attribute_id, rng.choice(roles)))
        rng.shuffle(attributes)
        return attributes

    def resource(self) -> list[dict[Any, Any]]:
        rng = self.rng
        package = rng.choice(
            ["maskinlesbarehendelser", "urn:altinn:accesspackage:programmeringsgrensesnitt", "x y"]
        )
        attributes = [
            self.attribute(PACKAGE_ID, package),
            self.attribute(ORGANIZATION_ID, rng.choice(self.parties)),
        ]
        rng.shuffle(attributes)
        return attributes

    def action(self) -> list[dict[Any, Any]]:
        return [self.attribute(ACTION_ID, self.rng.choice(["access", "delegate", "read"]))]

    def body(self) -> Any:
        rng = self.rng
        request = self.multi() if rng.random() < 0.4 else self.single()
        for flag in ("ReturnPolicyIdList", "CombinedDecision"):
            if rng.random() < 0.5:
                request[self.key(flag)] = self.value(lambda: rng.random() < 0.5)
        if self.slip():
            return rng.choice([None, [], "Request", {"Request": None}, {"Request": [request]}])
        return self.members([("Request", request)])

    def single(self) -> dict[Any, Any]:
        rng = self.rng
        pairs = []
        for member, make in (
            ("AccessSubject", self.subject),
            ("Resource", self.resource),
            ("Action", self.action),
        ):
            categories = [self.category(make(), None) for _ in range(rng.choice([1] * 30 + [0, 2]))]
            if len(categories) == 1 and rng.random() < 0.3:
                pairs.append((member, categories[0]))
            elif categories or rng.random() < 0.5:
                pairs.append((member, categories))
        return self.members(pairs)

    def multi(self) -> dict[Any, Any]:
        rng = self.rng
        size = rng.randint(1, 5)
        members: dict[str, list[Any]] = {"AccessSubject": [], "Resource": [], "Action": []}
        references = []
        for index in range(size):
            ids = []
            for member, prefix, make in (
                ("AccessSubject", "s", self.subject),
                ("Resource", "r", self.resource),
                ("Action", "a", self.action),
            ):
                identifier = f"{prefix}{index}"
                members[member].append(self.category(make(), identifier))
                ids.append(identifier if not self.slip() else rng.choice(["zz", 3, "s0"]))
            if rng.random() < 0.05:
                ids.insert(rng.randrange(4), rng.choice(["s0", "r0", "a0", f"s{index}"]))
            references.append(self.members([("ReferenceId", self.value(lambda ids=ids: ids))]))
        pairs: list[tuple[str, Any]] = list(members.items())
        if rng.random() < 0.2:  # the same categories as `Category` entries
            pairs = [
                (
                    "Category",
                    [
                        {**entry, self.key("CategoryId"): self.value(lambda m=member: m)}
                        for member, entries in pairs
                        for entry in entries
                        if isinstance(entry, dict)
                    ],
                )
            ]
        multi = self.members([("RequestReference", self.value(lambda: references))])
        return self.members([*pairs, ("MultiRequests", multi)])


@pytest.mark.parametrize("mistakes", [0.0, 0.005, 0.02, 0.1, 0.3])
def test_what_the_fast_path_reads_is_what_the_schema_reads(mistakes):
    bodies = Bodies(random.Random(f"fast path {mistakes}"), mistakes)
    accepted = 0
    for _ in range(1500):
        body = bodies.body()
        fast = xacml_fast.load(copy.deepcopy(body))
        if fast is not None:
            accepted += 1
            assert ("loaded", fast) == schema_load(copy.deepcopy(body)), json.dumps(body)
    if mistakes == 0.0:
        assert accepted == 1500  # every well-formed body, in every casing, takes it
    else:
        assert accepted > 0


@pytest.mark.parametrize("mistakes", [0.0, 0.005, 0.02, 0.1, 0.3])
def test_every_request_parses_as_it_did_with_the_schema_alone(mistakes):
    bodies = Bodies(random.Random(f"parse {mistakes}"), mistakes)
    for _ in range(1500):
        body = bodies.body()
        expected = outcome(with_schema_only(copy.deepcopy(body)))
        assert outcome(xacml.parse(body)) == expected, json.dumps(body)


@pytest.mark.parametrize("mistakes", [0.02, 0.1, 0.3])
def test_a_malformed_request_is_never_read_as_a_decision_the_schema_refuses(mistakes):
    """Where the schema refuses a body, the fast path declines it (and the schema's message
    is the answer)."""
    bodies = Bodies(random.Random(f"refused {mistakes}"), mistakes)
    refused = 0
    for _ in range(1500):
        body = bodies.body()
        if schema_load(copy.deepcopy(body))[0] == "refused":
            refused += 1
            assert xacml_fast.load(body) is None, json.dumps(body)
    assert refused > 0


def camel_case(value: Any) -> Any:
    if isinstance(value, dict):
        return {key[0].lower() + key[1:]: camel_case(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camel_case(item) for item in value]
    return value


@pytest.mark.parametrize("casing", [lambda body: body, camel_case], ids=["PascalCase", "camelCase"])
@pytest.mark.parametrize("path", REQUEST_FILES, ids=lambda path: path.stem)
def test_the_requests_peps_send_take_the_fast_paths(path, casing):
    """Every one loads by hand; every one whose items are all decision requests (some of
    Altinn's name identifiers this PDP refuses) has them read in one pass."""
    body = casing(json.loads(path.read_text()))
    loaded = xacml_fast.load(copy.deepcopy(body))
    assert loaded == xacml.load_with_schema(copy.deepcopy(body))
    expected = with_schema_only(copy.deepcopy(body))
    all_decidable = all(not isinstance(item.request, RequestSyntaxError) for item in expected.items)
    assert (xacml._common_items(loaded) is not None) == all_decidable
    assert outcome(xacml.parse(body)) == outcome(expected)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"Request": {"ReturnPolicyIdList": "true"}}, "a boolean spelt as a string"),
        ({"Request": {"returnPolicyIdList": True, "ReturnPolicyIdList": True}}, "a key twice"),
        ({"Request": {"AccessSubject": None}}, "a category that is null"),
        ({"Request": {"Action": {"Attribute": [{"AttributeId": "a"}]}}}, "no Value"),
        ({"Request": {"Action": {"Attribute": {"AttributeId": "", "Value": "x"}}}}, "empty id"),
        ({"Request": {"Action": {"Attribute": {"AttributeId": "a", "Value": {}}}}}, "object"),
        ({"Request": {"MultiRequests": {"RequestReference": []}}}, "no references"),
        ({"Request": {"MultiRequests": {"RequestReference": [{"ReferenceId": []}]}}}, "no ids"),
        (
            {"Request": {"Action": {"Attribute": {"AttributeId": "a", "Value": [{"value": 1}]}}}},
            "an object in a bag, whose keys the schema's path makes canonical",
        ),
        ({"Request": {}, "Extra": {"value": 1, "Value": 2}}, "an unknown member"),
        ({"request": {}, "Request": {}}, "Request twice"),
        ([], "not an object"),
    ],
)
def test_the_fast_path_declines_what_is_not_the_common_case(body, why):
    assert xacml_fast.load(body) is None, why
    assert outcome(xacml.parse(body)) == outcome(with_schema_only(body))


def test_every_field_the_fast_path_knows_is_a_key_the_context_handler_makes_canonical():
    """Case-insensitive keys mean the same on both paths only if both know the same names."""
    fast_fields = {
        name
        for level in (
            xacml_fast._BODY,
            xacml_fast._REQUEST,
            xacml_fast._CATEGORY,
            xacml_fast._ATTRIBUTE,
            xacml_fast._MULTI,
            xacml_fast._REFERENCE,
        )
        for name in level.canonical
    }
    assert fast_fields <= set(xacml._KNOWN_KEYS)

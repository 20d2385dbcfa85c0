"""The reader reads the XACML JSON profile as a small model of the profile says it should.

The model (`Draft`) is a request as the profile means it: categories of a kind with an optional
Id and attributes, flags, and MultiRequests references. It says what each item of the request
is: the decision request, or the message naming why there is none. Random drafts are spelt
as JSON the many ways clients spell them (keys in any case, a category as one object or a
list, `Category` entries with a CategoryId, unread members), now and then with a mistake the
model knows the answer to, and the reader's items must be the model's.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from pdp.engine import DecisionRequest, RoleClaim
from pdp.engine.request import Unreadable
from pdp.limits import Limits
from pdp.subjects import ORGANIZATION, PERSON, Subject
from pdp.vocabulary import (
    CCR_ROLE_ID,
    ROLECODE_ID,
    SHORTHAND_CATEGORIES,
    XML_STRING,
)
from pdp.xacml import ParsedRequest, parse, read
from pdp.xacml.reader import FALSY, TRUTHY
from tests.conftest import DATA_DIR, EXAMPLES_DIR
from tests.helpers import (
    ACTION_ID,
    ORGANIZATION_ID,
    PACKAGE_ID,
    PERSON_ID,
    new_organization,
    new_person,
)

#: Altinn echoes a result's categories in this order.
ECHO_ORDER = ("AccessSubject", "Action", "Resource")
KINDS = ("AccessSubject", "Resource", "Action")
PREFIX = {"AccessSubject": "s", "Resource": "r", "Action": "a"}
UNLIMITED = Limits(max_depth=10_000, max_string_length=10**9, max_multi_requests=10**9,
                   max_attributes_per_category=10**9)  # fmt: skip


# --- the model ------------------------------------------------------------------------------


@dataclass
class Attr:
    attribute_id: str
    value: Any
    data_type: str | None = None  # None: not given
    echoed: bool = False


@dataclass
class Cat:
    kind: str  # AccessSubject, Resource, Action or Environment
    attributes: list[Attr]
    id: str | None = None


@dataclass
class Draft:
    categories: list[Cat]
    references: list[list[str]] | None = None
    return_policy_ids: bool = False
    combined: bool = False
    #: The one message for the whole request, when a mistake spoils all of it.
    refused: str | None = None
    #: Messages for single items that the model cannot derive from the draft itself.
    notes: dict[int, str] = field(default_factory=dict)

    def outcome(self) -> tuple[Any, ...]:
        if self.refused is not None:
            return (False, False, [("refused", self.refused, ())])
        if self.references is None:
            items = [self.item(self.categories, None)]
        else:
            by_id = {category.id: category for category in self.categories}
            items = [
                self.item([by_id[i] for i in ids], ids)
                if all(i in by_id for i in ids)
                else self.unknown([i for i in ids if i not in by_id])
                for ids in self.references
            ]
        return (self.return_policy_ids, self.combined, items)

    @staticmethod
    def unknown(unknown_ids: list[str]) -> tuple[Any, ...]:
        return ("refused", f"RequestReference names unknown category Id {unknown_ids[0]!r}", ())

    def item(self, picked: list[Cat], ids: list[str] | None) -> tuple[Any, ...]:
        chosen = {}
        for kind in KINDS:
            of_kind = [category for category in picked if category.kind == kind]
            if len(of_kind) != 1:
                count = len(of_kind) or "no"
                if ids is None:
                    message = (
                        f"the request has {count} {kind} categories; "
                        "give exactly one, or use MultiRequests"
                    )
                else:
                    message = (
                        f"RequestReference {ids} picks {count} {kind} categories; "
                        "it must pick exactly one"
                    )
                return ("refused", message, ())
            chosen[kind] = of_kind[0]
        echoed = tuple(
            {
                "CategoryId": SHORTHAND_CATEGORIES[kind],
                "Attribute": [
                    {
                        "AttributeId": a.attribute_id,
                        "Value": a.value,
                        "DataType": a.data_type or XML_STRING,
                    }
                    for a in chosen[kind].attributes
                    if a.echoed
                ],
            }
            for kind in ECHO_ORDER
            if any(a.echoed for a in chosen[kind].attributes)
        )
        subject, resource, action = (chosen[kind] for kind in KINDS)
        people = values(subject, PERSON_ID)
        organizations = values(subject, ORGANIZATION_ID)
        if len(people) + len(organizations) != 1:
            return ("refused", "AccessSubject is ambiguous", echoed)
        kind, identifier = (PERSON, people[0]) if people else (ORGANIZATION, organizations[0])
        if identifier in BAD_IDENTIFIERS:
            return ("refused", BAD_IDENTIFIERS[identifier], echoed)
        roles = [
            RoleClaim(attribute_id, value)
            for attribute_id in (ROLECODE_ID, CCR_ROLE_ID)
            for value in values(subject, attribute_id)
        ]
        stated = any(a.attribute_id in (ROLECODE_ID, CCR_ROLE_ID) for a in subject.attributes)
        request = DecisionRequest(
            subject=Subject(kind, identifier),
            party=values(resource, ORGANIZATION_ID)[0],
            package=values(resource, PACKAGE_ID)[0],
            action=values(action, ACTION_ID)[0],
            role_claims=tuple(roles) if stated else None,
        )
        return ("decided", request, echoed)


def values(category: Cat, attribute_id: str) -> list[Any]:
    found: list[Any] = []
    for a in category.attributes:
        if a.attribute_id == attribute_id:
            found.extend(a.value if isinstance(a.value, list) else [a.value])
    return found


BAD_IDENTIFIERS = {
    "12345678901": "AccessSubject urn:altinn:person:identifier-no: "
    "national identity number 12345678901 has invalid check digits",
    "0205626001": "AccessSubject urn:altinn:person:identifier-no: "
    "national identity number must be 11 digits, got '0205626001'",
}


# --- random drafts --------------------------------------------------------------------------


class Drafts:
    """Random well-formed drafts, and their spelling as JSON."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.people = [new_person() for _ in range(3)]
        self.parties = [new_organization() for _ in range(3)]

    def attr(self, attribute_id: str, value: Any) -> Attr:
        rng = self.rng
        return Attr(
            attribute_id,
            [value] if rng.random() < 0.1 and not isinstance(value, list) else value,
            rng.choice([None, None, None, XML_STRING, "string"]),
            rng.random() < 0.2,
        )

    def category(self, kind: str, identifier: str | None) -> Cat:
        rng = self.rng
        if kind == "AccessSubject":
            attributes = [
                self.attr(PERSON_ID, rng.choice(self.people))
                if rng.random() < 0.8
                else self.attr(ORGANIZATION_ID, rng.choice(self.parties))
            ]
            if rng.random() < 0.3:
                attributes.append(self.attr(ROLECODE_ID, rng.choice(["dagl", ["lede"], []])))
        elif kind == "Resource":
            attributes = [
                self.attr(PACKAGE_ID, rng.choice(["maskinlesbarehendelser", "x y"])),
                self.attr(ORGANIZATION_ID, rng.choice(self.parties)),
            ]
        elif kind == "Action":
            attributes = [self.attr(ACTION_ID, rng.choice(["access", "delegate", "read"]))]
        else:
            attributes = [self.attr("urn:test:environment", rng.choice(["x", 1, None, {"a": 1}]))]
        if rng.random() < 0.2:
            attributes.append(self.attr("urn:test:unread", rng.choice(["x", 7, [1, 2], None])))
        rng.shuffle(attributes)
        return Cat(kind, attributes, identifier)

    def draft(self) -> Draft:
        rng = self.rng
        flags = {"return_policy_ids": rng.random() < 0.5, "combined": rng.random() < 0.2}
        if rng.random() < 0.5:
            kinds = list(KINDS) + (["Environment"] if rng.random() < 0.2 else [])
            return Draft([self.category(kind, None) for kind in kinds], **flags)
        size = rng.randint(1, 4)
        categories = [
            self.category(kind, f"{PREFIX[kind]}{index}") for index in range(size) for kind in KINDS
        ]
        references = []
        for _ in range(rng.randint(1, 5)):
            ids = [f"{PREFIX[kind]}{rng.randrange(size)}" for kind in KINDS]
            if rng.random() < 0.1:
                ids.append(rng.choice(["s0", "zz"]))  # two subjects, or an unknown Id
            rng.shuffle(ids)
            references.append(ids)
        rng.shuffle(categories)
        return Draft(categories, references, **flags)

    def key(self, name: str) -> str:
        return self.rng.choice([name, name, name[0].lower() + name[1:], name.upper()])

    def one_or_many(self, entries: list[Any]) -> Any:
        return entries[0] if len(entries) == 1 and self.rng.random() < 0.3 else entries

    def spelt(self, draft: Draft) -> dict[str, Any]:
        rng = self.rng
        request: dict[str, Any] = {}
        if draft.return_policy_ids or rng.random() < 0.3:
            request[self.key("ReturnPolicyIdList")] = draft.return_policy_ids
        if draft.combined or rng.random() < 0.3:
            request[self.key("CombinedDecision")] = draft.combined
        by_member: dict[str, list[Any]] = {}
        for category in draft.categories:
            entry: dict[str, Any] = {}
            if category.id is not None:
                entry[self.key("Id")] = category.id
            entry[self.key("Attribute")] = self.one_or_many(
                [self.attribute(a) for a in category.attributes]
            )
            if rng.random() < 0.1:
                entry[self.key("Content")] = "<xml/>"  # walked, never read
            if rng.random() < 0.15:
                entry[self.key("CategoryId")] = rng.choice(
                    [category.kind, SHORTHAND_CATEGORIES[category.kind]]
                )
                by_member.setdefault("Category", []).append(entry)
            else:
                by_member.setdefault(category.kind, []).append(entry)
        for member, entries in by_member.items():
            request[self.key(member)] = self.one_or_many(entries)
        if draft.references is not None:
            request[self.key("MultiRequests")] = {
                self.key("RequestReference"): [
                    {self.key("ReferenceId"): ids} for ids in draft.references
                ]
            }
        if rng.random() < 0.1:
            request[self.key("XPathVersion")] = "http://www.w3.org/TR/1999/REC-xpath-19991116"
        return {self.key("Request"): request}

    def attribute(self, a: Attr) -> dict[str, Any]:
        spelt = {self.key("AttributeId"): a.attribute_id, self.key("Value"): a.value}
        if a.data_type is not None:
            spelt[self.key("DataType")] = a.data_type
        if a.echoed or self.rng.random() < 0.1:
            spelt[self.key("IncludeInResult")] = a.echoed
        if self.rng.random() < 0.05:
            spelt[self.key("Issuer")] = "altinn"
        items = list(spelt.items())
        self.rng.shuffle(items)
        return dict(items)


# --- mistakes the model knows the answer to -------------------------------------------------


def attributes_of(body: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every attribute of a spelt body, with the paths messages give it: as the members'
    messages do (a lone object is entry [0]), and as the key clash message does (the body as
    it is)."""
    (request,) = body.values()
    found = []
    for member, entries in request.items():
        if not isinstance(entries, dict | list) or member.lower() == "multirequests":
            continue
        canonical = {m.lower(): m for m in (*SHORTHAND_CATEGORIES, "Category")}[member.lower()]
        for index, entry in enumerate(entries if isinstance(entries, list) else [entries]):
            at = f"[{index}]" if isinstance(entries, list) else ""
            (attributes,) = [v for k, v in entry.items() if k.lower() == "attribute"]
            listed = attributes if isinstance(attributes, list) else [attributes]
            for position, attribute in enumerate(listed):
                place = f"[{position}]" if isinstance(attributes, list) else ""
                found.append(
                    (
                        f"Request.{canonical}[{index}].Attribute[{position}]",
                        f"$.Request.{canonical}{at}.Attribute{place}",
                        attribute,
                    )
                )
    return found


def spoil(rng: random.Random, body: dict[str, Any], draft: Draft) -> None:
    """One mistake in `body`, and what the model says of it in `draft`."""
    (request,) = body.values()
    path, clash_path, attribute = rng.choice(attributes_of(body))
    key_of = {key.lower(): key for key in attribute}
    choice = rng.randrange(6)
    if choice == 0:  # a key in two casings
        name = rng.choice(["AttributeId", "Value"])
        attribute[name.upper() if key_of[name.lower()] != name.upper() else name] = "x"
        draft.refused = f"{clash_path}: key {name!r} appears more than once"
    elif choice == 1:  # a required member left out
        name = rng.choice(["AttributeId", "Value"])
        del attribute[key_of[name.lower()]]
        draft.refused = f"{path}.{name}: Missing data for required field"
    elif choice == 2:  # a DataType that is not a string
        attribute[key_of.get("datatype", "DataType")] = 7
        draft.refused = f"{path}.DataType: Not a valid string"
    elif choice == 3:  # a flag that is not a flag
        flag = rng.choice(["ReturnPolicyIdList", "CombinedDecision"])
        for key in [key for key in request if key.lower() == flag.lower()]:
            del request[key]
        request[flag] = rng.choice([[], "maybe", 2, None])
        message = "Field may not be null" if request[flag] is None else "Not a valid boolean"
        draft.refused = f"Request.{flag}: {message}"
    elif choice == 4:  # an empty AttributeId
        attribute[key_of["attributeid"]] = ""
        draft.refused = f"{path}.AttributeId: Shorter than minimum length 1"
    else:  # a flag spelt as marshmallow's Boolean reads it: not a mistake
        flag = rng.choice(["ReturnPolicyIdList", "CombinedDecision"])
        for key in [key for key in request if key.lower() == flag.lower()]:
            del request[key]
        spelling = rng.choice(sorted(map(str, TRUTHY | FALSY)))
        request[flag] = int(spelling) if spelling in ("0", "1") and rng.random() < 0.5 else spelling
        setattr(draft, "combined" if flag == "CombinedDecision" else "return_policy_ids",
                request[flag] in TRUTHY)  # fmt: skip


def outcome(parsed: ParsedRequest) -> tuple[Any, ...]:
    def item(request: Any, echoed: Any) -> tuple[Any, ...]:
        if isinstance(request, Unreadable):
            return ("refused", request.message, echoed)
        return ("decided", request, echoed)

    return (
        parsed.return_policy_ids,
        parsed.combined,
        [item(i.request, i.echoed) for i in parsed.items],
    )


def agree(expected: tuple[Any, ...], got: tuple[Any, ...]) -> bool:
    """The model's messages are the start of the reader's (the reader says more, at times)."""
    if expected[:2] != got[:2] or len(expected[2]) != len(got[2]):
        return False
    for (kind, what, echoed), (got_kind, got_what, got_echoed) in zip(
        expected[2], got[2], strict=True
    ):
        if kind != got_kind or echoed != got_echoed:
            return False
        if kind == "refused" and not got_what.startswith(what):
            return False
        if kind == "decided" and what != got_what:
            return False
    return True


# --- the properties -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_well_formed_requests_read_as_the_model_says(seed):
    drafts = Drafts(random.Random(f"well-formed {seed}"))
    for _ in range(400):
        draft = drafts.draft()
        body = json.loads(json.dumps(drafts.spelt(draft)))
        got = outcome(parse(body))
        assert agree(draft.outcome(), got), (json.dumps(body), draft.outcome(), got)


@pytest.mark.parametrize("seed", range(4))
def test_malformed_requests_are_refused_as_the_model_says(seed):
    rng = random.Random(f"malformed {seed}")
    drafts = Drafts(rng)
    for _ in range(400):
        draft = drafts.draft()
        body = json.loads(json.dumps(drafts.spelt(draft)))
        spoil(rng, body, draft)
        got = outcome(parse(copy.deepcopy(body)))
        assert agree(draft.outcome(), got), (json.dumps(body), draft.outcome(), got)


def test_a_bad_identifier_spoils_only_its_item():
    drafts = Drafts(random.Random("identifiers"))
    for bad in BAD_IDENTIFIERS:
        draft = drafts.draft()
        subject = next(c for c in draft.categories if c.kind == "AccessSubject")
        subject.attributes = [Attr(PERSON_ID, bad)]
        body = json.loads(json.dumps(drafts.spelt(draft)))
        assert agree(draft.outcome(), outcome(parse(body)))


# --- the requests PEPs send, and what the reader does beside reading ------------------------

REQUEST_FILES = sorted(
    [*(DATA_DIR / "altinn-xacml").glob("*Request.json"), *(EXAMPLES_DIR / "requests").glob("*")]
)


@pytest.mark.parametrize("path", REQUEST_FILES, ids=lambda path: path.stem)
def test_the_walk_counts_every_object_member(path):
    def members(node: Any) -> int:
        if isinstance(node, dict):
            return len(node) + sum(members(value) for value in node.values())
        if isinstance(node, list):
            return sum(members(item) for item in node)
        return 0

    body = json.loads(path.read_text())
    assert read(body, UNLIMITED)[1] == members(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Request": {}, "Extra": {"value": 1, "Value": 2}}, "$.Extra: key 'Value' appears"),
        ({"request": {}, "Request": {}}, "$: key 'Request' appears more than once"),
        ([1, 2], "Invalid input type"),
        ({"request_": {}}, "Request: Missing data for required field"),
        ({"Request": None}, "Request: Field may not be null"),
        ({"Request": {"AccessSubject": None}}, "Request.AccessSubject: Field may not be null"),
        ({"Request": {"Action": "x"}}, "Request.Action[0]: Invalid input type"),
        (
            {"Request": {"MultiRequests": {"RequestReference": []}}},
            "Request.MultiRequests.RequestReference: Shorter than minimum length 1",
        ),
        (
            {"Request": {"MultiRequests": {"RequestReference": [{"ReferenceId": [1, None]}]}}},
            "Request.MultiRequests.RequestReference[0].ReferenceId[0]: Not a valid string; "
            "Request.MultiRequests.RequestReference[0].ReferenceId[1]: Field may not be null",
        ),
        ({"Request": {"Category": [{"Attribute": []}]}}, "Request.Category[0]: missing CategoryId"),
    ],
)
def test_a_malformed_request_is_refused_as_a_whole_naming_the_place(body, message):
    (item,) = parse(body).items
    assert isinstance(item.request, Unreadable)
    assert item.request.message.startswith(message)


def test_an_attribute_value_is_echoed_with_its_keys_in_canonical_casing():
    subject = {"AttributeId": PERSON_ID, "Value": new_person()}
    value = [{"value": 1, "attributeId": "x"}]
    body = {
        "Request": {
            "AccessSubject": {"Attribute": subject},
            "Resource": {
                "Attribute": [
                    {"AttributeId": PACKAGE_ID, "Value": "maskinlesbarehendelser"},
                    {"AttributeId": ORGANIZATION_ID, "Value": new_organization()},
                    {"AttributeId": "urn:test:x", "Value": value, "IncludeInResult": True},
                ]
            },
            "Action": {"Attribute": {"AttributeId": ACTION_ID, "Value": "access"}},
        }
    }
    (item,) = parse(body).items
    assert item.echoed[0]["Attribute"][0]["Value"] == [{"Value": 1, "AttributeId": "x"}]
    assert value == [{"value": 1, "attributeId": "x"}]  # the body itself is left as it was


def test_the_same_reference_twice_is_one_item():
    drafts = Drafts(random.Random("twice"))
    draft = drafts.draft()
    while draft.references is None:
        draft = drafts.draft()
    draft.references = [draft.references[0]] * 3
    items = parse(json.loads(json.dumps(drafts.spelt(draft)))).items
    assert items[0] is items[1] is items[2]

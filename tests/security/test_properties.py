"""Properties of every decision, on random and mutated requests (hypothesis).

- Nothing is permitted that is not held: whatever a body holds, a Permit needs a subject that
  really holds the package for the party, by the oracle in `tests/security/oracle.py`, computed
  from the register document, the policy source read as YAML and the delegations made here,
  never from the PDP's own catalog, compiler or engine.
- A well-formed request is decided exactly: Permit when the oracle says the subject holds the
  package, NotApplicable otherwise; roles the request states are used instead of the
  register's, as documented.
- How a request is spelt does not matter: key casing, the order of attributes, categories and
  members, a category as one object or a list or a `Category` entry, a bag of one value,
  additions the PDP does not read, the order of MultiRequests references.
- A malformed request is Indeterminate with status syntax-error (a 400 for py-abac's shape),
  however its keys are cased.
- No input gives a 5xx; every 200 has the XACML (or py-abac) answer's shape, every error is
  JSON.
- Delegations made and revoked in any order: made only by those who may delegate, and the very
  next decision knows of them.

The PDP runs once for the whole module (the shipped policies, `tests.conftest.REGISTER`, the
delegations in DELEGATIONS), with authentication off and its logs written to files, so the log
code runs too. Runs are bounded (`quick`): the module takes about half a minute.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    multiple,
    rule,
    run_state_machine_as_test,
)

from pdp.api import create_app
from pdp.config import Settings
from pdp.service import Pdp
from pdp.vocabulary import PACKAGE_URN_PREFIX
from tests.conftest import POLICY_DIR, REGISTER
from tests.helpers import ACTION_ID, ORGANIZATION_ID, PACKAGE_ID, PERSON_ID
from tests.security.oracle import (
    ACTIONS,
    CCR_ROLE_ID,
    DELEGATE,
    ORGANIZATION,
    PERSON,
    ROLECODE_ID,
    SUBJECT_PREFIXES,
    Delegation,
    Oracle,
    Subject,
    national_identity_number,
    organization_number,
    strings_in,
)

AUTHORIZE = "/authorization/api/v1/authorize"
DECISION = "/api/v1/decision"
DELEGATIONS_PATH = "/api/v1/delegations"

PERMIT, NOT_APPLICABLE, INDETERMINATE, DENY = "Permit", "NotApplicable", "Indeterminate", "Deny"
STATUS = "urn:oasis:names:tc:xacml:1.0:status:"
OK, SYNTAX_ERROR, PROCESSING_ERROR = (
    f"{STATUS}ok",
    f"{STATUS}syntax-error",
    f"{STATUS}processing-error",
)

CATEGORY_URNS = {
    "AccessSubject": "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject",
    "Resource": "urn:oasis:names:tc:xacml:3.0:attribute-category:resource",
    "Action": "urn:oasis:names:tc:xacml:3.0:attribute-category:action",
    "Environment": "urn:oasis:names:tc:xacml:3.0:attribute-category:environment",
}
STRING_TYPES = ("http://www.w3.org/2001/XMLSchema#string", "xs:string", "string")
XACML_KEYS = (
    *("Request", "ReturnPolicyIdList", "CombinedDecision", "XPathVersion", "MultiRequests"),
    *("AccessSubject", "Action", "Resource", "Environment", "Category", "CategoryId", "Id"),
    *("Attribute", "AttributeId", "Value", "DataType", "IncludeInResult", "Issuer"),
    *("RequestReference", "ReferenceId"),
)
DECISION_KEYS = ("subject", "resource", "action", "context", "id", "attributes", "party", "roles")

R = REGISTER
#: Delegations made through the API before any property runs; the oracle knows them too.
DELEGATIONS = (
    # A person with no role anywhere gets Maskinlesbare hendelser for the AS.
    Delegation(R.as_org, "maskinlesbarehendelser", R.as_holders["DAGL"], (PERSON, R.stranger)),
    # The AS gets the NUF package for the NUF: so do the key-role holders of the AS.
    Delegation(
        R.nuf_org,
        "urn:altinn:accesspackage:programmeringsgrensesnittNUF",
        R.nuf_holders["LEDE"],
        (ORGANIZATION, R.as_org),
    ),
    # The accounting firm, which has no role holders, gets the API package for the AS.
    Delegation(R.as_org, "PROGRAMMERINGSGRENSESNITT", R.as_holders["INNH"], (ORGANIZATION, R.firm)),
    # Made and revoked: it gives nothing.
    Delegation(
        R.as_org,
        "programmeringsgrensesnitt",
        R.as_holders["DAGL"],
        (PERSON, R.nuf_holders["DAGL"]),
        revoked=True,
    ),
)
ORACLE = Oracle(POLICY_DIR, REGISTER.document, DELEGATIONS)


@pytest.fixture(scope="module")
def pdp_client(tmp_path_factory, catalog):
    """A test client of a PDP with the shipped policies, the test register and DELEGATIONS."""
    yield from serving(tmp_path_factory.mktemp("properties"), catalog)


def serving(directory, catalog) -> Iterator[Any]:
    """`pdp_client`'s client, for other modules' fixtures: a PDP in `directory`."""
    configuration = Settings(
        database_url=f"sqlite:///{directory / 'pdp.sqlite3'}",
        policy_refresh_seconds=0,
        auth_disabled=True,
        decision_log=str(directory / "decisions.log"),
        audit_log=str(directory / "audit.log"),
    )
    with closing(Pdp.from_settings(configuration)) as service:
        service.publish(catalog)
        service.register.import_document(REGISTER.document, catalog)
    app = create_app(configuration)
    app.config["TESTING"] = True
    client = app.test_client()
    for delegation in DELEGATIONS:
        recipient_kind, recipient = delegation.recipient
        made = client.post(
            DELEGATIONS_PATH,
            json={
                "party": delegation.party,
                "package": delegation.package,
                "delegator": delegation.delegator,
                "recipient": {recipient_kind: recipient},
            },
        )
        assert made.status_code == 201, made.get_json()
        if delegation.revoked:
            revoked = client.delete(
                f"{DELEGATIONS_PATH}/{made.get_json()['id']}",
                query_string={"revoked_by": delegation.delegator},
            )
            assert revoked.status_code == 200, revoked.get_json()
    yield client
    app.extensions["pdp"].close()


def quick(max_examples: int) -> settings:
    """Bounded runs: the whole module takes well under a minute."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- what is asked --------------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """May `subject` perform `action` on the package named `package` for `party`?

    `stated_roles`, when not None, are the roles the request states for the subject, as
    (attribute id, value) pairs: `urn:altinn:rolecode` = `dagl` or
    `urn:altinn:external-role:ccr` = `daglig-leder`.
    """

    subject: Subject
    party: str
    package: str
    action: str
    stated_roles: tuple[tuple[str, str], ...] | None = None

    @property
    def expected(self) -> str:
        """The decision the oracle expects (with the delegations in DELEGATIONS)."""
        return self.decided_by(ORACLE)

    def decided_by(self, oracle: Oracle) -> str:
        stated = None
        if self.stated_roles is not None:
            stated = {oracle.role_named(attribute, value) for attribute, value in self.stated_roles}
        held = oracle.holds(self.subject, self.party, self.package, self.action, stated)
        return PERMIT if held else NOT_APPLICABLE


def recased(text: str) -> st.SearchStrategy[str]:
    """`text` with any of its ASCII letters in the other case."""
    return st.integers(0, 2 ** len(text) - 1).map(lambda flips: _flipped(text, flips))


def _flipped(text: str, flips: int) -> str:
    return "".join(
        c.swapcase() if flips >> i & 1 and c.isascii() else c for i, c in enumerate(text)
    )


@st.composite
def persons(draw) -> str:
    """A valid national identity number: ordinary, D-number or synthetic test person."""
    day = draw(st.integers(1, 28)) + draw(st.sampled_from((0, 40)))
    month = draw(st.integers(1, 12)) + draw(st.sampled_from((0, 80)))
    year, individual = draw(st.integers(0, 99)), draw(st.integers(0, 999))
    number = national_identity_number(f"{day:02d}{month:02d}{year:02d}{individual:03d}")
    return R.stranger if number is None else number  # no check digits fit: someone else


organizations = (
    st.integers(0, 10**8 - 1).map(lambda n: organization_number(f"{n:08d}")).filter(bool)
)

#: A valid organisation number the register does not know.
UNREGISTERED_PARTY = next(
    number
    for first in range(10**7)
    if (number := organization_number(f"9{first:07d}")) and number not in ORACLE.org_forms
)
REGISTER_PERSONS = sorted({*R.as_holders.values(), *R.nuf_holders.values(), R.stranger})
REGISTER_ORGANIZATIONS = sorted(ORACLE.org_forms)
#: Who asks, and for whom: anyone for any party, and often those who hold something there.
HOLDERS = [(holder, party) for holder, party, _ in ORACLE.role_holders()]
RECIPIENTS = [(d.recipient, d.party) for d in DELEGATIONS]
THROUGH_RECIPIENTS = [
    (holder, d.party)
    for d in DELEGATIONS
    for holder, organization, code in ORACLE.role_holders()
    if d.recipient == (ORGANIZATION, organization)
]
subjects = st.one_of(
    st.sampled_from([(PERSON, p) for p in REGISTER_PERSONS]),
    st.sampled_from([(ORGANIZATION, o) for o in REGISTER_ORGANIZATIONS]),
    persons().map(lambda number: (PERSON, number)),
    organizations.map(lambda number: (ORGANIZATION, number)),
)
parties = st.one_of(st.sampled_from(REGISTER_ORGANIZATIONS), organizations)
subjects_and_parties = st.one_of(
    st.tuples(subjects, parties),
    st.sampled_from(HOLDERS),
    st.sampled_from(RECIPIENTS + THROUGH_RECIPIENTS),
)
#: Every package by URN, former URN and code, and packages the policies do not know.
PACKAGE_NAMES = sorted(
    {name for p in ORACLE.packages for name in (p.urn, p.code, *p.aliases)}
    | {"regnskapsforer", "urn:altinn:accesspackage:skattegrunnlag", "programmeringsgrensesnittNUF2"}
)
package_names = st.sampled_from(PACKAGE_NAMES).flatmap(recased)
ROLE_CLAIMS = sorted(
    (attribute, value)
    for role in ORACLE.roles.values()
    for attribute, value in (
        (ROLECODE_ID, role.rolecode_value),
        (CCR_ROLE_ID, role.ccr_value),
    )
)
GRANTING_CLAIMS = [c for c in ROLE_CLAIMS if ORACLE.role_named(*c) in ORACLE.granting_roles]
role_claims = st.one_of(st.sampled_from(ROLE_CLAIMS), st.sampled_from(GRANTING_CLAIMS)).flatmap(
    lambda claim: recased(claim[1]).map(lambda value: (claim[0], value))
)
#: XACML states roles in either attribute; no rolecode attribute means the register's roles.
xacml_stated_roles = st.one_of(st.none(), st.lists(role_claims, min_size=1, max_size=3).map(tuple))
#: py-abac states role codes (`DAGL`, any case); an empty list states that there are none.
ROLE_CODES = sorted(ORACLE.roles)
decision_stated_roles = st.one_of(
    st.none(),
    st.lists(
        st.one_of(st.sampled_from(ROLE_CODES), st.sampled_from(sorted(ORACLE.granting_roles)))
        .flatmap(recased)
        .map(lambda code: (ROLECODE_ID, code)),
        max_size=3,
    ).map(tuple),
)


@st.composite
def asks(draw, stated_roles=xacml_stated_roles) -> Ask:
    subject, party = draw(subjects_and_parties)
    return Ask(
        subject, party, draw(package_names), draw(st.sampled_from(ACTIONS)), draw(stated_roles)
    )


#: Everything the register's roles and the delegations give, to start near misses from.
HELD = [
    Ask(subject, party, package, action)
    for subject in [(PERSON, p) for p in REGISTER_PERSONS]
    + [(ORGANIZATION, o) for o in REGISTER_ORGANIZATIONS]
    for party in REGISTER_ORGANIZATIONS
    for package in PACKAGE_NAMES
    for action in ACTIONS
    if ORACLE.holds(subject, party, package, action)
]


def held_asks() -> st.SearchStrategy[Ask]:
    """Asks the oracle permits by the register and the delegations, the package named in any
    case."""
    return st.sampled_from(HELD).flatmap(
        lambda ask: recased(ask.package).map(lambda package: replace(ask, package=package))
    )


# --- XACML requests -------------------------------------------------------------------------


def attribute(attribute_id: str, value: Any) -> dict[str, Any]:
    return {"AttributeId": attribute_id, "Value": value}


def subject_category(ask: Ask) -> dict[str, Any]:
    kind, identifier = ask.subject
    claims = [attribute(attribute_id, value) for attribute_id, value in ask.stated_roles or ()]
    subject_id = PERSON_ID if kind == PERSON else ORGANIZATION_ID
    return {"Attribute": [attribute(subject_id, identifier), *claims]}


def resource_category(ask: Ask) -> dict[str, Any]:
    return {
        "Attribute": [attribute(PACKAGE_ID, ask.package), attribute(ORGANIZATION_ID, ask.party)]
    }


def action_category(ask: Ask) -> dict[str, Any]:
    return {"Attribute": [attribute(ACTION_ID, ask.action)]}


def xacml(ask: Ask) -> dict[str, Any]:
    """The request for `ask`, spelt as plainly as the README spells it."""
    return {
        "Request": {
            "AccessSubject": [subject_category(ask)],
            "Action": [action_category(ask)],
            "Resource": [resource_category(ask)],
        }
    }


def key_recased(rnd: random.Random, node: Any) -> Any:
    """`node` with its keys in any case (a dict keeps its keys if recasing makes two equal)."""
    if isinstance(node, list):
        return [key_recased(rnd, item) for item in node]
    if not isinstance(node, dict):
        return node
    keys = [_flipped(key, rnd.getrandbits(len(key))) for key in node]
    if len(set(keys)) < len(keys):
        keys = list(node)
    return {key: key_recased(rnd, value) for key, value in zip(keys, node.values(), strict=True)}


def members_shuffled(rnd: random.Random, node: Any) -> Any:
    """`node` with the members of every object in any order (JSON objects are unordered)."""
    if isinstance(node, list):
        return [members_shuffled(rnd, item) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: members_shuffled(rnd, node[key]) for key in rnd.sample(list(node), len(node))}


@st.composite
def respelt(draw, document: dict[str, Any]) -> dict[str, Any]:
    """The same request spelt otherwise: each category in its shorthand member or as a
    `Category` entry with its CategoryId, categories and attributes in any order, a member of
    one category as an object or a list, object members in any order, keys in any case."""
    rnd = draw(st.randoms(use_true_random=True))
    request = copy.deepcopy(document["Request"])
    entries: list[dict[str, Any]] = list(request.pop("Category", []))
    for member, category_id in CATEGORY_URNS.items():
        items = request.pop(member, [])
        kept = []
        for item in items if isinstance(items, list) else [items]:
            rnd.shuffle(item["Attribute"])
            if rnd.random() < 0.5:
                kept.append(item)
            else:
                entries.append({"CategoryId": category_id, **item})
        if kept:
            rnd.shuffle(kept)
            request[member] = kept[0] if len(kept) == 1 and rnd.random() < 0.5 else kept
    if entries:
        rnd.shuffle(entries)
        request["Category"] = entries[0] if len(entries) == 1 and rnd.random() < 0.5 else entries
    return key_recased(rnd, members_shuffled(rnd, {"Request": request}))


def attributes_of(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every attribute of a request spelt as `xacml` spells it."""
    return [a for member in CATEGORY_URNS for c in request.get(member, []) for a in c["Attribute"]]


small_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
unknown_keys = st.text(max_size=10).map(lambda text: f"x-{text}")
extra_attributes = st.builds(
    lambda suffix, value, data_type: {
        "AttributeId": f"urn:test:extra:{suffix}",
        "Value": value,
        **({} if data_type is None else {"DataType": data_type}),
    },
    st.text(max_size=12),
    small_json,
    st.none() | st.text(max_size=20),
)


def _value_in_a_bag(draw, request):
    chosen = draw(st.sampled_from(attributes_of(request)))
    if not isinstance(chosen["Value"], list):
        chosen["Value"] = [chosen["Value"]]


def _string_data_type(draw, request):
    draw(st.sampled_from(attributes_of(request)))["DataType"] = draw(
        st.sampled_from((*STRING_TYPES, None))
    )


def _echoed(draw, request):
    draw(st.sampled_from(attributes_of(request)))["IncludeInResult"] = draw(st.booleans())


def _issuer(draw, request):
    draw(st.sampled_from(attributes_of(request)))["Issuer"] = draw(st.text(max_size=20))


def _extra_attribute(draw, request):
    category = draw(
        st.sampled_from([c for member in CATEGORY_URNS for c in request.get(member, [])])
    )
    category["Attribute"].insert(
        draw(st.integers(0, len(category["Attribute"]))), draw(extra_attributes)
    )


def _environment(draw, request):
    request["Environment"] = [{"Attribute": draw(st.lists(extra_attributes, max_size=3))}]


def _unknown_member(draw, request):
    places = [request, *(c for member in CATEGORY_URNS for c in request.get(member, []))]
    places += attributes_of(request)
    draw(st.sampled_from(places))[draw(unknown_keys)] = draw(small_json)


def _flags(draw, request):
    for flag in ("ReturnPolicyIdList", "CombinedDecision"):
        if draw(st.booleans()):
            request[flag] = draw(st.booleans())
    if draw(st.booleans()):
        request["XPathVersion"] = draw(st.text(max_size=20))


#: Changes that must not change a decision: nothing the PDP reads changes meaning.
HARMLESS = {
    "a value in a bag of one": _value_in_a_bag,
    "a string DataType (or null)": _string_data_type,
    "IncludeInResult": _echoed,
    "an Issuer": _issuer,
    "an attribute the PDP does not read": _extra_attribute,
    "an Environment category": _environment,
    "a member the PDP does not read": _unknown_member,
    "ReturnPolicyIdList, CombinedDecision, XPathVersion": _flags,
}


@st.composite
def harmlessly_changed(draw, ask: Ask) -> dict[str, Any]:
    document = xacml(ask)
    for name in draw(st.lists(st.sampled_from(sorted(HARMLESS)), min_size=1, max_size=4)):
        event(f"harmless: {name}")
        HARMLESS[name](draw, document["Request"])
    return document


# Required attributes of a request as `xacml` spells it: (member, index of the attribute).
SUBJECT, PACKAGE, PARTY, ACTION = (
    ("AccessSubject", 0),
    ("Resource", 0),
    ("Resource", 1),
    ("Action", 0),
)
REQUIRED = (SUBJECT, PACKAGE, PARTY, ACTION)


def required(request: dict[str, Any], where: tuple[str, int]) -> dict[str, Any]:
    member, index = where
    return request[member][0]["Attribute"][index]


def _wrong_check_digit(number: str, shift: int) -> str:
    return number[:-1] + str((int(number[-1]) + shift) % 10)


not_strings = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.dictionaries(st.text(max_size=5), small_json, max_size=2),
    st.lists(st.integers() | st.none() | st.booleans(), min_size=1, max_size=2),
)
not_string_types = st.one_of(
    st.sampled_from(
        (
            "http://www.w3.org/2001/XMLSchema#integer",
            "http://www.w3.org/2001/XMLSchema#anyURI",
            "urn:oasis:names:tc:xacml:1.0:data-type:rfc822Name",
            "XS:STRING",
            "http://www.w3.org/2001/XMLSchema#String",
        )
    ),
    st.text(max_size=30).filter(lambda text: text not in STRING_TYPES),
)


def _missing(draw, ask, request):
    member, index = draw(st.sampled_from(REQUIRED))
    del request[member][0]["Attribute"][index]


def _twice(draw, ask, request):
    member, index = draw(st.sampled_from(REQUIRED))
    attributes = request[member][0]["Attribute"]
    copied = dict(attributes[index])
    if draw(st.booleans()):
        copied["Value"] = draw(
            st.sampled_from(PACKAGE_NAMES + REGISTER_ORGANIZATIONS + REGISTER_PERSONS)
        )
    attributes.append(copied)


def _two_values(draw, ask, request):
    chosen = required(request, draw(st.sampled_from(REQUIRED)))
    chosen["Value"] = [chosen["Value"], draw(st.text(max_size=10) | st.just(chosen["Value"]))]


def _empty_bag(draw, ask, request):
    required(request, draw(st.sampled_from(REQUIRED)))["Value"] = []


def _not_a_string(draw, ask, request):
    required(request, draw(st.sampled_from(REQUIRED)))["Value"] = draw(not_strings)


def _not_a_string_type(draw, ask, request):
    required(request, draw(st.sampled_from(REQUIRED)))["DataType"] = draw(not_string_types)


def _bad_check_digit(draw, ask, request):
    chosen = required(request, draw(st.sampled_from((SUBJECT, PARTY))))
    chosen["Value"] = _wrong_check_digit(chosen["Value"], draw(st.integers(1, 9)))


def _unknown_action(draw, ask, request):
    action = draw(st.sampled_from(ACTIONS).flatmap(recased) | st.text(max_size=20))
    if action in ACTIONS:
        action = action + " "
    required(request, ACTION)["Value"] = action


def _unknown_role(draw, ask, request):
    attribute_id = draw(st.sampled_from((ROLECODE_ID, CCR_ROLE_ID)))
    value = draw(
        st.text(max_size=20) | st.sampled_from(ROLE_CLAIMS).map(lambda claim: claim[1] + "x")
    )
    if ORACLE.role_named(attribute_id, value) is not None:
        value = "no-such-role"
    request["AccessSubject"][0]["Attribute"].append(attribute(attribute_id, value))


def _role_not_a_string(draw, ask, request):
    attribute_id = draw(st.sampled_from((ROLECODE_ID, CCR_ROLE_ID)))
    value = draw(not_strings.filter(lambda v: v != [] and not isinstance(v, list)))
    request["AccessSubject"][0]["Attribute"].append(attribute(attribute_id, value))


def _ambiguous_subject(draw, ask, request):
    kind = ORGANIZATION if ask.subject[0] == PERSON else PERSON
    other = draw(
        st.sampled_from(REGISTER_ORGANIZATIONS if kind == ORGANIZATION else REGISTER_PERSONS)
    )
    attribute_id = ORGANIZATION_ID if kind == ORGANIZATION else PERSON_ID
    request["AccessSubject"][0]["Attribute"].append(attribute(attribute_id, other))


def _two_of_a_kind(draw, ask, request):
    member = draw(st.sampled_from(("AccessSubject", "Resource", "Action")))
    request[member].append(copy.deepcopy(request[member][0]))


def _no_category(draw, ask, request):
    del request[draw(st.sampled_from(("AccessSubject", "Resource", "Action")))]


def _category_without_id(draw, ask, request):
    member = draw(st.sampled_from(("AccessSubject", "Resource", "Action")))
    request["Category"] = request.pop(member)


def _clashing_keys(draw, ask, request):
    chosen = required(request, draw(st.sampled_from(REQUIRED)))
    key = draw(st.sampled_from(("AttributeId", "Value")))
    chosen[key.lower()] = chosen[key]


def _unknown_reference(draw, ask, request):
    request["AccessSubject"][0]["Id"] = "s"
    request["MultiRequests"] = {
        "RequestReference": [{"ReferenceId": ["s", draw(st.text(max_size=5)) + "?"]}]
    }


#: Changes that make a request malformed: Indeterminate with status syntax-error, named.
SPOILING = {
    "a required attribute missing": _missing,
    "a required attribute twice": _twice,
    "two values for one": _two_values,
    "an empty bag": _empty_bag,
    "a value that is not a string": _not_a_string,
    "a DataType that is not string": _not_a_string_type,
    "a wrong check digit": _bad_check_digit,
    "an unknown action": _unknown_action,
    "an unknown role": _unknown_role,
    "a role that is not a string": _role_not_a_string,
    "a person and an organisation as subject": _ambiguous_subject,
    "two categories of a kind": _two_of_a_kind,
    "a category missing": _no_category,
    "a Category without CategoryId": _category_without_id,
    "one key twice, in two casings": _clashing_keys,
    "a reference to an unknown category": _unknown_reference,
}


@st.composite
def spoiled(draw, ask: Ask) -> dict[str, Any]:
    document = xacml(ask)
    name = draw(st.sampled_from(sorted(SPOILING)))
    event(f"spoiled: {name}")
    SPOILING[name](draw, ask, document["Request"])
    return document


#: Strings a request is made of, to build near misses from.
VOCABULARY = sorted(
    {*REGISTER_PERSONS[:4], R.stranger, *REGISTER_ORGANIZATIONS, *PACKAGE_NAMES, *ACTIONS}
    | {f"{SUBJECT_PREFIXES[kind]}{n}" for kind, n in [(PERSON, R.stranger), (ORGANIZATION, R.firm)]}
    | {R.as_holders["DAGL"], R.nuf_holders["BOBE"], "dagl", "DAGL", "daglig-leder", "medl"}
    | {PERSON_ID, ORGANIZATION_ID, PACKAGE_ID, ACTION_ID, ROLECODE_ID, CCR_ROLE_ID}
    | {*CATEGORY_URNS, *CATEGORY_URNS.values(), *STRING_TYPES, "s", "r", "a"}
)
vocabulary_keys = st.sampled_from(XACML_KEYS + DECISION_KEYS).flatmap(recased) | st.text(max_size=4)
near_miss_json = st.recursive(
    st.sampled_from(VOCABULARY) | st.none() | st.booleans() | st.integers(-10, 10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(vocabulary_keys, children, max_size=4)
    ),
    max_leaves=14,
)
any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)
#: Anything a value might be replaced with: text of any script, very long text, numbers, null.
wild_values = st.one_of(
    st.text(),
    st.text(min_size=1, max_size=3).map(lambda text: text * 1500),
    st.sampled_from(VOCABULARY).flatmap(recased),
    not_strings,
    near_miss_json,
)


def places(node: Any, path: tuple = ()) -> Iterator[tuple]:
    """The path of every node in a JSON document, the document itself first."""
    yield path
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        yield from places(child, (*path, key))


#: What a node is replaced with: a real identifier, key or name in any case, or anything.
replacements = st.one_of(st.sampled_from(VOCABULARY).flatmap(recased), wild_values)


@st.composite
def with_nodes_replaced(draw, document: Any) -> Any:
    """`document` with one to three nodes (often leaves, at any depth) replaced with
    `replacements` or removed from their object or list."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(places(document))
        leaves = [
            path for path in paths if path and not isinstance(_at(document, path), dict | list)
        ]
        path = draw(st.sampled_from(leaves if leaves and draw(st.booleans()) else paths))
        if not path:
            document = draw(replacements)
            continue
        parent = _at(document, path[:-1])
        if draw(st.integers(0, 4)) == 0:
            del parent[path[-1]]
        elif isinstance(parent[path[-1]], str) and draw(st.booleans()):
            parent[path[-1]] = draw(st.sampled_from(_alike(parent[path[-1]])).flatmap(recased))
        else:
            parent[path[-1]] = draw(replacements)
    return document


def _alike(text: str) -> list[str]:
    """Real strings of the same kind as `text`: another person, party, package, action, role."""
    for kind, prefix in SUBJECT_PREFIXES.items():
        if text.startswith(prefix):
            numbers = REGISTER_PERSONS if kind == PERSON else REGISTER_ORGANIZATIONS
            return [f"{prefix}{number}" for number in numbers]
    if text.isdigit():
        return REGISTER_PERSONS if len(text) == 11 else REGISTER_ORGANIZATIONS
    if ORACLE.package(text) is not None:
        return PACKAGE_NAMES
    if text in ACTIONS:
        return list(ACTIONS)
    roles = [value for _, value in ROLE_CLAIMS] + ROLE_CODES
    return roles if text.casefold() in {role.casefold() for role in roles} else VOCABULARY


def _at(document: Any, path: tuple) -> Any:
    for key in path:
        document = document[key]
    return document


# --- asking, and the shape of every answer --------------------------------------------------


def post(
    client,
    path: str,
    body: Any = None,
    *,
    data: bytes | None = None,
    content_type: str | None = "application/json",
    answers: tuple[int, ...] = (200, 400, 413, 415),
):
    """POST `body` (as JSON) or raw `data`: one of `answers`, never a server error, and every
    error is JSON."""
    raw = json.dumps(body).encode() if data is None else data
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = client.post(path, data=raw, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.status_code in answers, response.get_data(as_text=True)
    if response.status_code >= 400:
        error = json.loads(response.get_data())
        assert error["code"] == response.status_code
        assert isinstance(error["status"], str)
        assert isinstance(error.get("message", ""), str)
        assert "Traceback" not in response.get_data(as_text=True)
    return response


def xacml_results(response, count: int | None = None) -> list[dict[str, Any]]:
    """The results of a 200 XACML answer, each checked for the JSON profile's shape."""
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    answer = json.loads(response.get_data())
    assert list(answer) == ["Response"]
    results = answer["Response"]
    assert isinstance(results, list)
    assert results
    if count is not None:
        assert len(results) == count
    for result in results:
        assert set(result) <= {
            "Decision",
            "Status",
            "PolicyIdentifierList",
            "Category",
            "AssociatedAdvice",
        }
        assert result["Decision"] in (PERMIT, DENY, NOT_APPLICABLE, INDETERMINATE)
        status = result["Status"]
        assert set(status) <= {"StatusCode", "StatusMessage"}
        if result["Decision"] == INDETERMINATE:
            assert status["StatusCode"]["Value"] in (SYNTAX_ERROR, PROCESSING_ERROR)
            assert isinstance(status["StatusMessage"], str)
        else:
            assert status["StatusCode"] == {"Value": OK}
        if result["Decision"] == PERMIT and "PolicyIdentifierList" in result:
            assert result["PolicyIdentifierList"]["PolicyIdReference"]
    return results


def decisions(client, document: Any, count: int | None = None) -> list[str]:
    return [
        result["Decision"] for result in xacml_results(post(client, AUTHORIZE, document), count)
    ]


def never_wrongly_permitted(response, body: Any) -> None:
    """Whatever `body` is, a Permit in its answer must be deserved by some reading of it."""
    if response.status_code != 200:
        return
    if response.request.path == AUTHORIZE:
        permitted = PERMIT in [result["Decision"] for result in xacml_results(response)]
    else:
        permitted = decision_answer(response)["decision"] == PERMIT
    if permitted:
        assert ORACLE.could_permit(strings_in(body)), body
    event(f"answered {response.status_code}, {'Permit' if permitted else 'not Permit'}")


# --- the oracle reads the policies as the README states them ---------------------------------


def test_the_oracle_reads_the_grant_table_and_delegations_as_the_readme_states_them():
    dagl, medl = (PERSON, R.as_holders["DAGL"]), (PERSON, R.as_holders["MEDL"])
    assert ORACLE.holds(dagl, R.as_org, "urn:altinn:accesspackage:maskinlesbarehendelser", "access")
    assert ORACLE.holds(dagl, R.as_org, "MASKINLESBAREHENDELSER", "delegate")
    assert not ORACLE.holds(dagl, R.as_org, "programmeringsgrensesnittNUF", "access")
    assert ORACLE.holds(
        (PERSON, R.nuf_holders["DAGL"]), R.nuf_org, "programmeringsgrensesnittNUF", "access"
    )
    assert not ORACLE.holds(medl, R.as_org, "maskinlesbarehendelser", "access")
    assert ORACLE.holds(medl, R.as_org, "maskinlesbarehendelser", "access", {"DAGL"})
    assert not ORACLE.holds(dagl, R.as_org, "maskinlesbarehendelser", "access", {"MEDL"})
    stranger = (PERSON, R.stranger)
    assert ORACLE.holds(stranger, R.as_org, "maskinlesbarehendelser", "access")
    assert not ORACLE.holds(stranger, R.as_org, "maskinlesbarehendelser", "delegate")
    assert ORACLE.holds(
        (PERSON, R.as_holders["BOBE"]), R.nuf_org, "programmeringsgrensesnittNUF", "access"
    )
    assert not ORACLE.holds(
        (PERSON, R.as_holders["REVI"]), R.nuf_org, "programmeringsgrensesnittNUF", "access"
    )
    assert ORACLE.holds((ORGANIZATION, R.firm), R.as_org, "programmeringsgrensesnitt", "access")
    assert not ORACLE.holds(
        (PERSON, R.nuf_holders["DAGL"]), R.as_org, "programmeringsgrensesnitt", "access"
    )
    # Stated roles are used as given, but only for a party the register knows: no one holds a
    # package for an organisation that is not there (README: "an unknown party").
    assert ORACLE.holds(stranger, R.as_org, "maskinlesbarehendelser", "access", {"DAGL"})
    assert not ORACLE.holds(
        stranger, UNREGISTERED_PARTY, "maskinlesbarehendelser", "access", {"DAGL"}
    )
    assert not ORACLE.holds(dagl, UNREGISTERED_PARTY, "maskinlesbarehendelser", "access")


# --- XACML: well-formed requests ------------------------------------------------------------


@quick(250)
@given(ask=asks())
def test_a_well_formed_request_is_permitted_exactly_when_the_subject_holds_the_package(
    pdp_client, ask
):
    event(f"expected {ask.expected}")
    assert decisions(pdp_client, xacml(ask), 1) == [ask.expected]


@quick(150)
@given(ask=asks(), data=st.data())
def test_how_a_request_is_spelt_does_not_change_its_decision(pdp_client, ask, data):
    """Keys in any case, attributes and categories in any order, one category as an object
    or a list or a `Category` entry: the same decision, the one the oracle expects."""
    first, second = data.draw(respelt(xacml(ask))), data.draw(respelt(xacml(ask)))
    assert decisions(pdp_client, first, 1) == decisions(pdp_client, second, 1) == [ask.expected]


@quick(200)
@given(ask=asks(), data=st.data())
def test_what_the_pdp_does_not_read_does_not_change_the_decision(pdp_client, ask, data):
    document = data.draw(harmlessly_changed(ask))
    assert decisions(pdp_client, data.draw(respelt(document)), 1) == [ask.expected]


# --- XACML: malformed and mutated requests --------------------------------------------------


@quick(200)
@given(ask=asks(), data=st.data())
def test_a_malformed_request_is_indeterminate_with_a_syntax_error(pdp_client, ask, data):
    """Syntax-error, but for a request with no Resource at all: it might as well ask about a
    service resource, and Altinn's PDP answers a service request without its resource with
    processing-error."""
    document = data.draw(spoiled(ask))
    (result,) = xacml_results(post(pdp_client, AUTHORIZE, document), 1)
    assert result["Decision"] == INDETERMINATE
    request = document["Request"]
    no_resource = "Resource" not in request and "Category" not in request
    expected = PROCESSING_ERROR if no_resource else SYNTAX_ERROR
    assert result["Status"]["StatusCode"]["Value"] == expected


@quick(100)
@given(ask=asks(), data=st.data())
def test_a_malformed_request_is_decided_alike_however_its_keys_are_cased(pdp_client, ask, data):
    document = data.draw(spoiled(ask))
    recased_document = key_recased(data.draw(st.randoms(use_true_random=True)), document)
    assert decisions(pdp_client, document) == decisions(pdp_client, recased_document)


@quick(200)
@given(ask=asks() | held_asks(), data=st.data())
def test_a_request_with_nodes_replaced_is_never_wrongly_permitted(pdp_client, ask, data):
    """Nodes (values, attributes, categories, the request) replaced by anything: real
    identifiers and names, text in any script, very long text, numbers, null, JSON made of
    real identifiers and keys; or removed."""
    document = data.draw(with_nodes_replaced(data.draw(harmlessly_changed(ask))))
    never_wrongly_permitted(post(pdp_client, AUTHORIZE, document), document)


@quick(150)
@given(body=near_miss_json)
def test_json_made_of_real_identifiers_and_keys_is_never_wrongly_permitted(pdp_client, body):
    for document in (body, {"Request": body}):
        never_wrongly_permitted(post(pdp_client, AUTHORIZE, document), document)


#: Characters that case-fold to one or two ASCII letters: sharp s (U+00DF, U+1E9E) to `ss`,
#: long s (U+017F) to `s`, the Kelvin sign (U+212A) to `k`, ligatures to their letters.
CASE_FOLDS = {
    "ss": "\u00df\u1e9e",
    "st": "\ufb05\ufb06",
    "ff": "\ufb00",
    "fi": "\ufb01",
    "fl": "\ufb02",
    "s": "\u017f",
    "k": "\u212a",
}


@st.composite
def case_folded(draw, name: str) -> str:
    """`name` with some letters written as characters that case-fold to them, and perhaps
    one character more anywhere: a name that means the same, or another, unknown one."""
    rnd = draw(st.randoms(use_true_random=True))
    written, index = [], 0
    while index < len(name):
        for length in (2, 1):
            letters = name[index : index + length].lower()
            if len(letters) == length and letters in CASE_FOLDS and rnd.random() < 0.5:
                written.append(rnd.choice(CASE_FOLDS[letters]))
                index += length
                break
        else:
            written.append(name[index])
            index += 1
    folded = "".join(written)
    if draw(st.booleans()):
        after_a_colon = [index + 1 for index, c in enumerate(folded) if c == ":"]
        at = draw(st.integers(0, len(folded)) | st.sampled_from(after_a_colon or [0]))
        extra = draw(st.sampled_from("X-:/ ") | st.characters(codec="utf-8"))
        folded = folded[:at] + extra + folded[at:]
    return folded


@pytest.mark.parametrize("path", [AUTHORIZE, DECISION])
@quick(150)
@given(
    ask=held_asks().flatmap(
        lambda ask: case_folded(ask.package).map(lambda name: replace(ask, package=name))
    )
)
@example(
    ask=Ask(
        (PERSON, R.as_holders["DAGL"]),
        R.as_org,
        "urn:altinn:acce\u00dfpackage:Xmaskinlesbarehendelser",
        "access",
    )
)
def test_a_package_named_with_characters_that_case_fold_is_never_wrongly_permitted(
    pdp_client, path, ask
):
    """A package is named in any case; a name that case-folds to another name means that
    name (or is refused), never a third."""
    if path == AUTHORIZE:
        (decision,) = decisions(pdp_client, xacml(ask), 1)
    else:
        response = post(pdp_client, DECISION, decision_body(ask))
        decision = decision_answer(response)["decision"] if response.status_code == 200 else None
    if decision == PERMIT:
        assert ask.expected == PERMIT


@pytest.mark.parametrize("path", [AUTHORIZE, DECISION])
@quick(100)
@given(body=any_json)
def test_any_json_body_is_answered_without_a_server_error(pdp_client, path, body):
    never_wrongly_permitted(post(pdp_client, path, body), body)


@pytest.mark.parametrize("path", [AUTHORIZE, DECISION])
@quick(75)
@given(ask=asks(), data=st.data())
def test_a_body_that_is_not_json_is_a_400(pdp_client, path, ask, data):
    whole = json.dumps(xacml(ask)).encode()
    body = data.draw(
        st.integers(0, len(whole) - 1).map(lambda end: whole[:end])
        | st.binary(min_size=1).filter(lambda raw: not _is_json(raw))
        | st.text(min_size=1).map(str.encode).filter(lambda raw: not _is_json(raw))
    )
    assert post(pdp_client, path, data=body).status_code == 400


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


JSON_TYPES = ("application/json", "application/json; charset=utf-8", "Application/JSON")
NOT_JSON_TYPES = (
    *("text/plain", "application/xml", "text/json", "application/x-www-form-urlencoded"),
    *("multipart/form-data; boundary=x", "application/octet-stream", "", None),
)


@quick(100)
@given(
    ask=asks(),
    content_type=st.sampled_from(JSON_TYPES + NOT_JSON_TYPES)
    | st.from_regex(r"[ -~]{0,40}", fullmatch=True),
)
def test_only_a_json_body_is_read(pdp_client, ask, content_type):
    response = post(pdp_client, AUTHORIZE, xacml(ask), content_type=content_type)
    if content_type in JSON_TYPES:
        assert [r["Decision"] for r in xacml_results(response, 1)] == [ask.expected]
    elif content_type in NOT_JSON_TYPES:
        assert response.status_code == 415
    else:
        assert response.status_code in (200, 415)
        if response.status_code == 200:
            assert [r["Decision"] for r in xacml_results(response, 1)] == [ask.expected]


@pytest.mark.parametrize("path", [AUTHORIZE, DECISION])
def test_a_body_over_the_size_limit_is_a_413(pdp_client, path):
    body = b'{"Request": "' + b"x" * (1024 * 1024) + b'"}'
    assert post(pdp_client, path, data=body).status_code == 413


# --- XACML: MultiRequests -------------------------------------------------------------------


category_ids = st.text(min_size=1, max_size=8)


@st.composite
def batches(draw) -> tuple[tuple[Ask, ...], dict[str, Any], list[dict[str, Any]]]:
    """Several asks as one MultiRequests request: its categories, each once with an Id, and
    one reference per ask, in order, naming its categories in any order."""
    batch = tuple(draw(st.lists(asks(), min_size=1, max_size=6)))
    categories = {
        "AccessSubject": {(a.subject, a.stated_roles): subject_category(a) for a in batch},
        "Action": {a.action: action_category(a) for a in batch},
        "Resource": {(a.party, a.package): resource_category(a) for a in batch},
    }
    count = sum(len(member) for member in categories.values())
    ids = iter(draw(st.lists(category_ids, min_size=count, max_size=count, unique=True)))
    named = {
        member: {key: (next(ids), c) for key, c in found.items()}
        for member, found in categories.items()
    }
    request = {
        member: draw(st.permutations([{"Id": i, **c} for i, c in found.values()]))
        for member, found in named.items()
    }
    references = [
        {
            "ReferenceId": draw(
                st.permutations(
                    [
                        named["AccessSubject"][(a.subject, a.stated_roles)][0],
                        named["Action"][a.action][0],
                        named["Resource"][(a.party, a.package)][0],
                    ]
                )
            )
        }
        for a in batch
    ]
    return batch, request, references


def multi(
    request: dict[str, Any], references: list[dict[str, Any]], **flags: Any
) -> dict[str, Any]:
    return {"Request": {**request, **flags, "MultiRequests": {"RequestReference": references}}}


@quick(80)
@given(batch=batches(), data=st.data())
def test_multirequests_answer_each_reference_in_order_whatever_the_order(pdp_client, batch, data):
    asks_, request, references = batch
    order = data.draw(st.permutations(range(len(asks_))))
    in_order = decisions(pdp_client, multi(request, references), len(asks_))
    shuffled = data.draw(respelt(multi(request, [references[i] for i in order])))
    assert in_order == [ask.expected for ask in asks_]
    assert decisions(pdp_client, shuffled, len(asks_)) == [in_order[i] for i in order]


@quick(60)
@given(batch=batches())
def test_a_combined_decision_is_the_shared_decision_or_indeterminate(pdp_client, batch):
    asks_, request, references = batch
    expected = {ask.expected for ask in asks_}
    combined = decisions(pdp_client, multi(request, references, CombinedDecision=True), 1)
    assert combined == [expected.pop() if len(expected) == 1 else INDETERMINATE]


# --- py-abac's shape: POST /api/v1/decision -------------------------------------------------


def decision_body(ask: Ask) -> dict[str, Any]:
    kind, identifier = ask.subject
    attributes = {} if ask.stated_roles is None else {"roles": [v for _, v in ask.stated_roles]}
    return {
        "subject": {"id": f"{SUBJECT_PREFIXES[kind]}{identifier}", "attributes": attributes},
        "resource": {"id": ask.package, "attributes": {"party": ask.party}},
        "action": {"id": ask.action, "attributes": {}},
        "context": {},
    }


def decision_answer(response) -> dict[str, Any]:
    """A 200 answer of /api/v1/decision, checked for its shape: a request whose resource names
    a service resource (a package id mangled into a resource id, say) is answered with that
    resource's `obligations` and `advice` too, as lists (README, "Service resources")."""
    assert response.status_code == 200
    answer = json.loads(response.get_data())
    assert set(answer) <= {
        *("decision", "status", "message", "policies", "version", "package"),
        *("obligations", "advice"),
    }
    assert all(isinstance(answer[key], list) for key in ("obligations", "advice") if key in answer)
    assert answer["decision"] in (PERMIT, DENY, NOT_APPLICABLE, INDETERMINATE)
    assert answer["status"] in (OK, PROCESSING_ERROR)
    assert (answer["status"] == OK) == (answer["decision"] != INDETERMINATE)
    assert isinstance(answer["policies"], list)
    assert bool(answer["policies"]) == (answer["decision"] == PERMIT)
    return answer


@quick(200)
@given(ask=asks(stated_roles=decision_stated_roles))
def test_decision_permits_exactly_when_the_subject_holds_the_package(pdp_client, ask):
    """Stated role codes replace the register's roles (none stated: the register's; an empty
    list: none at all); organisation forms and delegations come from the register."""
    event(f"expected {ask.expected}")
    answer = decision_answer(post(pdp_client, DECISION, decision_body(ask)))
    assert answer["decision"] == ask.expected


def _unknown_member_in(draw, body):
    places_ = [
        body,
        body["subject"],
        body["resource"],
        body["action"],
        body["subject"]["attributes"],
    ]
    places_.append(body["resource"]["attributes"])
    place = draw(st.sampled_from(places_))
    key = draw(st.sampled_from((*DECISION_KEYS, "org_form", "Subject")) | unknown_keys)
    if key in place:
        key = key.upper()
    place[key] = draw(small_json)


def _required_missing(draw, body):
    place, key = draw(
        st.sampled_from(
            [
                *((body, member) for member in ("subject", "resource", "action")),
                (body["subject"], "id"),
                (body["resource"], "id"),
                (body["resource"], "attributes"),
                (body["resource"]["attributes"], "party"),
                (body["action"], "id"),
            ]
        )
    )
    del place[key]


def _subject_without_its_prefix(draw, body):
    body["subject"]["id"] = body["subject"]["id"].rsplit(":", 1)[1]


def _subject_with_a_bad_check_digit(draw, body):
    body["subject"]["id"] = _wrong_check_digit(body["subject"]["id"], draw(st.integers(1, 9)))


def _party_with_a_bad_check_digit(draw, body):
    party = body["resource"]["attributes"]["party"]
    body["resource"]["attributes"]["party"] = _wrong_check_digit(party, draw(st.integers(1, 9)))


def _unknown_action_id(draw, body):
    action = draw(st.text(max_size=12) | st.sampled_from(ACTIONS).flatmap(recased))
    body["action"]["id"] = action + " " if action in ACTIONS else action
    # A bare code asked with an action no package has names a service resource (answered
    # NotApplicable when there is none): only the package's URN keeps it a package request.
    package = body["resource"]["id"]
    if not package.lower().startswith(PACKAGE_URN_PREFIX):
        body["resource"]["id"] = PACKAGE_URN_PREFIX + package


def _action_attributes(draw, body):
    body["action"]["attributes"] = draw(
        st.dictionaries(st.text(max_size=5), small_json, min_size=1, max_size=2)
    )


def _roles_not_a_list_of_codes(draw, body):
    body["subject"]["attributes"]["roles"] = draw(
        st.sampled_from(
            ("DAGL", "", ["daglig-leder"], ["BOSS"], [""], [None], [["DAGL"]], {"DAGL": True})
        )
        | not_strings.filter(lambda v: not isinstance(v, list) or v)
    )


def _a_field_not_a_string(draw, body):
    place, key = draw(
        st.sampled_from(
            [
                *((body[member], "id") for member in ("subject", "resource", "action")),
                (body["resource"]["attributes"], "party"),
            ]
        )
    )
    place[key] = draw(not_strings)


def _malformed_package(draw, body):
    body["resource"]["id"] = draw(
        st.sampled_from(
            ("", "urn:x:y", " maskinlesbarehendelser", "-", "x" * 301, "urn:altinn:accesspackage:")
        )
    )


#: Malformed py-abac requests: each is a 400 naming the problem.
MALFORMED_DECISIONS = {
    "a member no schema has": _unknown_member_in,
    "a required member missing": _required_missing,
    "a subject without its URN prefix": _subject_without_its_prefix,
    "a subject with a wrong check digit": _subject_with_a_bad_check_digit,
    "a party with a wrong check digit": _party_with_a_bad_check_digit,
    "an unknown action": _unknown_action_id,
    "action attributes": _action_attributes,
    "roles that are not a list of role codes": _roles_not_a_list_of_codes,
    "a field that is not a string": _a_field_not_a_string,
    "a malformed package": _malformed_package,
}


@quick(200)
@given(ask=asks(stated_roles=decision_stated_roles), data=st.data())
def test_decision_refuses_a_malformed_request_with_a_400(pdp_client, ask, data):
    body = decision_body(ask)
    name = data.draw(st.sampled_from(sorted(MALFORMED_DECISIONS)))
    event(f"malformed: {name}")
    MALFORMED_DECISIONS[name](data.draw, body)
    assert post(pdp_client, DECISION, body).status_code == 400


@quick(200)
@given(
    ask=asks(stated_roles=decision_stated_roles) | held_asks(),
    data=st.data(),
)
def test_decision_never_wrongly_permits_a_request_with_nodes_replaced(pdp_client, ask, data):
    body = data.draw(with_nodes_replaced(decision_body(ask)))
    never_wrongly_permitted(post(pdp_client, DECISION, body), body)


# --- delegations made and revoked in any order ---------------------------------------------


class DelegatingAndRevoking(RuleBasedStateMachine):
    """Delegations made and revoked in any order, with decisions in between.

    A delegation is made exactly when the oracle says the delegator may delegate the package
    for the party (and it is not to the delegator, and not already held by delegation); it is
    revoked only by its delegator or someone who may delegate; and the very next decision
    (the decision cache on) is the oracle's, with the delegations as they are now. Every run
    revokes what it made at the end, so runs start from DELEGATIONS.
    """

    client: Any = None
    #: The ids of the delegations active before any run (DELEGATIONS).
    baseline: frozenset[str] = frozenset()
    made = Bundle("made")

    def __init__(self) -> None:
        super().__init__()
        self.delegations: list[Delegation] = []
        self.ids: list[str] = []

    @property
    def oracle(self) -> Oracle:
        return ORACLE.with_delegations(DELEGATIONS + tuple(self.delegations))

    @rule(
        target=made,
        delegator_and_party=st.one_of(
            st.tuples(st.sampled_from(REGISTER_PERSONS), st.sampled_from(REGISTER_ORGANIZATIONS)),
            st.sampled_from([(h[1], party) for h, party in HOLDERS if h[0] == PERSON]),
        ),
        package=package_names,
        recipient=subjects,
    )
    def delegate(self, delegator_and_party, package, recipient):
        delegator, party = delegator_and_party
        oracle, wanted = self.oracle, Delegation(party, package, delegator, recipient)
        held = oracle.package(package)
        already = any(
            not d.revoked
            and (d.party, d.recipient) == (party, recipient)
            and oracle.package(d.package) == held
            for d in oracle.delegations
        )
        allowed = (
            oracle.holds((PERSON, delegator), party, package, DELEGATE)
            and recipient != (PERSON, delegator)
            and not already
        )
        kind, identifier = recipient
        body = {
            "party": party,
            "package": package,
            "delegator": delegator,
            "recipient": {kind: identifier},
        }
        response = post(self.client, DELEGATIONS_PATH, body, answers=(201, 400, 403, 409))
        event(f"delegation {response.status_code}")
        assert (response.status_code == 201) == allowed, response.get_json()
        if response.status_code != 201:
            return multiple()
        self.delegations.append(wanted)
        self.ids.append(response.get_json()["id"])
        return len(self.delegations) - 1

    @rule(index=made, revoker=st.none() | st.sampled_from(REGISTER_PERSONS))
    def revoke(self, index, revoker):
        delegation = self.delegations[index]
        revoker = revoker or delegation.delegator
        may = revoker == delegation.delegator or self.oracle.holds(
            (PERSON, revoker), delegation.party, delegation.package, DELEGATE
        )
        response = self.client.delete(
            f"{DELEGATIONS_PATH}/{self.ids[index]}", query_string={"revoked_by": revoker}
        )
        event(f"revocation {response.status_code}")
        expected = (409 if delegation.revoked else 200) if may else 403
        assert response.status_code == expected, response.get_json()
        if response.status_code == 200:
            self.delegations[index] = replace(delegation, revoked=True)

    @rule(index=made, action=st.sampled_from(ACTIONS))
    def decide_for_the_recipients(self, index, action):
        """The recipient and, for an organisation, its role holders, asked at once."""
        delegation, oracle = self.delegations[index], self.oracle
        askers = [delegation.recipient] + [
            holder
            for holder, organization, _ in ORACLE.role_holders()
            if delegation.recipient == (ORGANIZATION, organization)
        ]
        for asker in askers:
            ask = Ask(asker, delegation.party, delegation.package, action)
            assert decisions(self.client, xacml(ask), 1) == [ask.decided_by(oracle)]

    @rule(ask=asks())
    def decide(self, ask):
        assert decisions(self.client, xacml(ask), 1) == [ask.decided_by(self.oracle)]

    def teardown(self) -> None:
        """Revoke whatever this run made, recorded or not (a failed step may have made one)."""
        for made in active_delegations(self.client):
            if made["id"] not in self.baseline:
                self.client.delete(
                    f"{DELEGATIONS_PATH}/{made['id']}",
                    query_string={"revoked_by": made["delegator"]},
                )


def active_delegations(client) -> list[dict[str, Any]]:
    listed = client.get(DELEGATIONS_PATH, query_string={"limit": 1000})
    assert listed.status_code == 200
    return listed.get_json()["items"]


def test_delegations_made_and_revoked_in_any_order_are_decided_as_the_oracle_says(pdp_client):
    baseline = frozenset(made["id"] for made in active_delegations(pdp_client))
    machine = type(
        "Delegating", (DelegatingAndRevoking,), {"client": pdp_client, "baseline": baseline}
    )
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=30,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )

"""The one workload every engine decides: a register, delegations, and a stream of requests.

Built from a seed, so two processes (the one that fills a database and the one that measures
it) build the same workload without passing it around. It is generic over the catalog: the
register uses roles both catalogs know (DAGL, LEDE, INNH grant; MEDL, KNUF, REVI grant nothing
in Integrasjoner), and the stream asks for the catalog's own packages.

The stream mixes Permit and NotApplicable, roughly half each for Integrasjoner:
role holders asking for packages (granting roles, non-granting roles, the NUF-only package on a
non-NUF party), delegates asking for what was delegated to them (directly, or to an
organisation in which they hold a key role, or the organisation itself as subject), delegates
asking for something else, role holders asking for another party, strangers, and some
`delegate` actions.

`Facts` are the same attributes the PDP's PIP reads from SQL, as plain dicts keyed by subject
URN and party, so peers get them for the price of a dict look-up.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from benchmarks.ids import organization_numbers, person_numbers
from pdp.catalog import Catalog

PERSON_URN = "urn:altinn:person:identifier-no"
ORGANIZATION_URN = "urn:altinn:organization:identifier-no"

#: At most this many delegations are part of the workload itself (the ones the stream asks
#: about), so the organisation axis of the scale runs does not grow the delegations too.
CORE_DELEGATIONS = 500

#: Where each identifier pool starts in the numbered ranges of `benchmarks.ids` (disjoint).
_HOLDERS, _DELEGATES, _STRANGERS, _FILLER = 0, 6_000_000, 12_000_000, 18_000_000
_AUDITORS = 5_000_000

#: (organisation form, share, roles held by persons, roles held by another organisation).
_ORG_SHAPES = (
    ("AS", 0.8, ("DAGL", "LEDE", "MEDL"), ("REVI",)),
    ("NUF", 0.1, ("DAGL", "KNUF"), ()),
    ("ENK", 0.1, ("INNH",), ()),
)
#: The role whose holder delegates, per form.
_DELEGATOR_ROLE = {"AS": "DAGL", "NUF": "DAGL", "ENK": "INNH"}


@dataclass(frozen=True)
class Ask:
    """One decision request: may `subject_urn` perform `action` on `package` for `party`?"""

    subject_kind: str
    subject_id: str
    party: str
    package: str
    action: str

    @property
    def subject_urn(self) -> str:
        prefix = PERSON_URN if self.subject_kind == "person" else ORGANIZATION_URN
        return f"{prefix}:{self.subject_id}"


@dataclass(frozen=True)
class Delegation:
    party: str
    package: str
    delegator: str
    recipient_kind: str
    recipient_id: str


@dataclass(frozen=True)
class Facts:
    """What the PIP would read, keyed by (subject URN, party) and by party."""

    roles: dict[tuple[str, str], list[str]]
    delegated_packages: dict[tuple[str, str], list[str]]
    org_forms: dict[str, str]


@dataclass(frozen=True)
class Workload:
    catalog: Catalog
    register: dict[str, Any]
    delegations: list[Delegation]
    stream: list[Ask]
    facts: Facts


def build(catalog: Catalog, organizations: int, asks: int, seed: int = 5) -> Workload:
    """A deterministic workload: `organizations` in the register, one delegation per two of
    them (at most CORE_DELEGATIONS), and `asks` requests."""
    rng = random.Random(seed)
    orgs = _register(rng, organizations)
    packages = [package for package in catalog.packages if package.grants]
    delegable = [package.urn for package in packages if package.delegable]
    delegations = _delegations(rng, orgs, delegable, min(organizations // 2, CORE_DELEGATIONS))
    facts = _facts(orgs, delegations, catalog.key_roles)
    stream = _stream(rng, orgs, delegations, [p.urn for p in packages], facts, asks)
    register = {"organizations": orgs}
    return Workload(catalog, register, delegations, stream, facts)


def filler_delegations(
    workload: Workload, start: int, stop: int, total: int
) -> Iterator[dict[str, Any]]:
    """Rows `start`..`stop` of `total` extra delegations for the scale runs, as `delegations`
    table rows. Their recipients are persons no request names, so decisions stay the same
    while the table grows; each recipient gets about 20, spread over the register's parties."""
    parties = [org["organization_number"] for org in workload.register["organizations"]]
    packages = sorted({p.urn for p in workload.catalog.packages if p.delegable})
    pool_size = max(1000, -(-total // 20))
    if -(-total // pool_size) > len(parties) * len(packages):
        raise ValueError("too few parties and packages for that many distinct delegations")
    recipients = person_numbers(_FILLER, pool_size)
    delegator = "02056260016"
    for index in range(start, stop):
        recipient, round_ = index % pool_size, index // pool_size
        party = parties[(recipient + round_) % len(parties)]
        package = packages[(round_ // len(parties)) % len(packages)]
        yield {
            "id": f"00000000-0000-4000-8000-{index:012d}",
            "party": party,
            "package": package,
            "delegator": delegator,
            "recipient_kind": "person",
            "recipient_id": recipients[recipient],
        }


def xacml_body(ask: Ask) -> dict[str, Any]:
    """The request as a single-decision XACML JSON body (the shape of
    examples/requests/permit.json)."""
    subject, resource, action = _xacml_categories(ask)
    return {
        "Request": {
            "ReturnPolicyIdList": True,
            "AccessSubject": [subject],
            "Action": [action],
            "Resource": [resource],
        }
    }


def xacml_multi_body(asks: list[Ask]) -> dict[str, Any]:
    """The requests as one MultiRequests body, each with its own categories."""
    subjects, resources, actions, references = [], [], [], []
    for index, ask in enumerate(asks):
        subject, resource, action = _xacml_categories(ask)
        subjects.append({"Id": f"s{index}", **subject})
        resources.append({"Id": f"r{index}", **resource})
        actions.append({"Id": f"a{index}", **action})
        references.append({"ReferenceId": [f"s{index}", f"a{index}", f"r{index}"]})
    return {
        "Request": {
            "ReturnPolicyIdList": True,
            "AccessSubject": subjects,
            "Action": actions,
            "Resource": resources,
            "MultiRequests": {"RequestReference": references},
        }
    }


def xacml_one_subject_body(asks: list[Ask]) -> dict[str, Any]:
    """The requests as one MultiRequests body in the shape Altinn's PEPs send: one subject (all
    `asks` must share it), each distinct resource and action given once, and a reference per
    request picking its three."""
    subjects = {(ask.subject_kind, ask.subject_id) for ask in asks}
    if len(subjects) != 1:
        raise ValueError(f"the asks name {len(subjects)} subjects; one subject body has one")
    subject, _, _ = _xacml_categories(asks[0])
    resources: dict[tuple[str, str], dict[str, Any]] = {}
    actions: dict[str, dict[str, Any]] = {}
    references = []
    for ask in asks:
        _, resource, action = _xacml_categories(ask)
        resource_id = f"r{len(resources)}"
        resource_id = resources.setdefault(
            (ask.package, ask.party), {"Id": resource_id, **resource}
        )["Id"]
        action_id = actions.setdefault(ask.action, {"Id": f"a{len(actions)}", **action})["Id"]
        references.append({"ReferenceId": ["s", action_id, resource_id]})
    return {
        "Request": {
            "ReturnPolicyIdList": True,
            "AccessSubject": [{"Id": "s", **subject}],
            "Action": list(actions.values()),
            "Resource": list(resources.values()),
            "MultiRequests": {"RequestReference": references},
        }
    }


def _xacml_categories(ask: Ask) -> tuple[dict[str, Any], ...]:
    subject_attribute = PERSON_URN if ask.subject_kind == "person" else ORGANIZATION_URN
    return (
        {"Attribute": [{"AttributeId": subject_attribute, "Value": ask.subject_id}]},
        {
            "Attribute": [
                {"AttributeId": "urn:altinn:accesspackage", "Value": ask.package},
                {"AttributeId": ORGANIZATION_URN, "Value": ask.party},
            ]
        },
        {
            "Attribute": [
                {
                    "AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id",
                    "Value": ask.action,
                }
            ]
        },
    )


def _register(rng: random.Random, count: int) -> list[dict[str, Any]]:
    numbers = organization_numbers(0, count)
    auditors = organization_numbers(_AUDITORS, max(1, count // 20))
    people = person_numbers(_HOLDERS, 2 * count + 3)
    weights = [share for _, share, _, _ in _ORG_SHAPES]
    orgs = []
    for number in numbers:
        form, _, person_roles, org_roles = rng.choices(_ORG_SHAPES, weights)[0]
        holders = rng.sample(people, len(person_roles))
        roles = [{"code": code, "person": p} for code, p in zip(person_roles, holders, strict=True)]
        roles += [{"code": code, "organization": rng.choice(auditors)} for code in org_roles]
        orgs.append(
            {
                "organization_number": number,
                "name": f"BENCH {number}",
                "org_form": form,
                "roles": roles,
            }
        )
    return orgs


def _delegations(
    rng: random.Random, orgs: list[dict[str, Any]], packages: list[str], count: int
) -> list[Delegation]:
    if not packages:
        return []
    delegates = person_numbers(_DELEGATES, max(1, count))
    seen: set[tuple[str, str, str]] = set()
    delegations = []
    for _ in range(count):
        org = rng.choice(orgs)
        party = org["organization_number"]
        delegator = _holder_of(org, _DELEGATOR_ROLE[org["org_form"]])
        package = rng.choice(packages)
        if rng.random() < 0.25 and len(orgs) > 1:
            recipient_kind = "organization"
            recipient_id = rng.choice(orgs)["organization_number"]
        else:
            recipient_kind, recipient_id = "person", rng.choice(delegates)
        key = (party, package, recipient_id)
        if recipient_id == party or key in seen:
            continue
        seen.add(key)
        delegations.append(Delegation(party, package, delegator, recipient_kind, recipient_id))
    return delegations


def _holder_of(org: dict[str, Any], code: str) -> str:
    return next(role["person"] for role in org["roles"] if role["code"] == code)


def _facts(
    orgs: list[dict[str, Any]], delegations: list[Delegation], key_roles: frozenset[str]
) -> Facts:
    roles: dict[tuple[str, str], list[str]] = {}
    key_holders: dict[str, list[str]] = {}
    for org in orgs:
        party = org["organization_number"]
        for role in org["roles"]:
            urn = (
                f"{PERSON_URN}:{role['person']}"
                if "person" in role
                else f"{ORGANIZATION_URN}:{role['organization']}"
            )
            roles.setdefault((urn, party), []).append(role["code"])
            if "person" in role and role["code"] in key_roles:
                key_holders.setdefault(party, []).append(role["person"])
    delegated: dict[tuple[str, str], set[str]] = {}
    for d in delegations:
        if d.recipient_kind == "person":
            urns = [f"{PERSON_URN}:{d.recipient_id}"]
        else:
            urns = [f"{ORGANIZATION_URN}:{d.recipient_id}"]
            urns += [f"{PERSON_URN}:{p}" for p in key_holders.get(d.recipient_id, ())]
        for urn in urns:
            delegated.setdefault((urn, d.party), set()).add(d.package)
    return Facts(
        roles={key: sorted(value) for key, value in roles.items()},
        delegated_packages={key: sorted(value) for key, value in delegated.items()},
        org_forms={org["organization_number"]: org["org_form"] for org in orgs},
    )


def _stream(
    rng: random.Random,
    orgs: list[dict[str, Any]],
    delegations: list[Delegation],
    packages: list[str],
    facts: Facts,
    count: int,
) -> list[Ask]:
    strangers = person_numbers(_STRANGERS, 50)
    org_by_number = {org["organization_number"]: org for org in orgs}

    def person_holder(org: dict[str, Any]) -> str:
        return rng.choice([role["person"] for role in org["roles"] if "person" in role])

    def delegate_subject(d: Delegation) -> tuple[str, str]:
        if d.recipient_kind == "person":
            return "person", d.recipient_id
        recipient = org_by_number[d.recipient_id]
        if rng.random() < 0.3:
            return "organization", d.recipient_id
        return "person", person_holder(recipient)

    asks: list[Ask] = []
    while len(asks) < count:
        kind = rng.random()
        org = rng.choice(orgs)
        party = org["organization_number"]
        package = rng.choice(packages)
        if kind < 0.40 or not delegations:  # a role holder, any of its roles
            asks.append(Ask("person", person_holder(org), party, package, "access"))
        elif kind < 0.70:  # what was delegated, directly or through an organisation
            d = rng.choice(delegations)
            asks.append(Ask(*delegate_subject(d), d.party, d.package, "access"))
        elif kind < 0.78:  # a delegate asking for another package
            d = rng.choice(delegations)
            asks.append(Ask(*delegate_subject(d), d.party, package, "access"))
        elif kind < 0.86:  # a role holder asking for another party
            other = rng.choice(orgs)
            asks.append(Ask("person", person_holder(other), party, package, "access"))
        elif kind < 0.92:  # someone the register does not know
            asks.append(Ask("person", rng.choice(strangers), party, package, "access"))
        else:  # may a role holder delegate?
            asks.append(Ask("person", person_holder(org), party, package, "delegate"))
    return asks

"""A small world for deciding service resource requests, shared by the engine's and the API's
specification tests: a policy source (the shipped roles, forms and packages, the events package
renamed so that its former URN is an alias, and resource policies written here) and a register
whose people, organisations and system users carry every kind of Altinn identifier.

The resource policies, one question each:

- `ttd-dagl`: DAGL (named `dagl`, Altinn's spelling, compared case-sensitively) or REGN may
  read; obligations and advice on Permit;
- `ttd-dagl-ignore-case`: `DAGL`, compared ignoring case; `ttd-dagl-register-case`: `DAGL`
  compared case-sensitively; `ttd-ccr`: the Altinn 3 role `daglig-leder`;
- `ttd-userid`: the subject with the manager's user id may read (a policy naming an identifier
  the request need not give);
- `ttd-api` (package by code in another case), `ttd-events` (by former URN), `ttd-nuf` (the
  NUF package): holders of the package may read;
- `ttd-deny-overrides`, `ttd-permit-overrides`, `ttd-first-permit`, `ttd-first-deny`: a Permit
  and a Deny rule that both apply to DAGL reading, each with its own obligation;
- `ttd-authlevel`: reading needs `urn:altinn:authlevel` 3, which must be present;
- `ttd-write-needs-clearance`: DAGL may read; writing is denied unless a clearance, which must
  be present, says otherwise.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pdp import catalog as catalog_module
from pdp.catalog import Catalog
from pdp.engine.request import ResourceRequest
from pdp.identities import Identifier
from pdp.resource_policies import (
    BOOLEAN_EQUAL,
    STRING_EQUAL,
    STRING_EQUAL_IGNORE_CASE,
    resource_file,
)
from pdp.vocabulary import (
    ACTION_ID,
    CCR_ROLE_ID,
    LEGACY_ORGANIZATION_NUMBER_ID,
    ORGANIZATION_ID,
    PACKAGE_ID,
    PARTY_UUID_ID,
    PARTYID_ID,
    PERSON_ID,
    PERSON_UUID_ID,
    RESOURCE_ID,
    ROLECODE_ID,
    SUBJECT_CATEGORY,
    SYSTEM_USER_UUID_ID,
    USERID_ID,
    XML_BOOLEAN,
    XML_INTEGER,
    XML_STRING,
    typed_values,
)
from tests.conftest import POLICY_DIR
from tests.helpers import new_organization, new_person, write_source
from tests.test_resource_policies import action, any_of, designator, match, policy, rule

API = "urn:altinn:accesspackage:programmeringsgrensesnitt"
API_NUF = "urn:altinn:accesspackage:programmeringsgrensesnittNUF"
#: The events package's URN in this source; its shipped URN is its alias (former URN).
EVENTS = "urn:altinn:accesspackage:hendelser"
EVENTS_FORMER = "urn:altinn:accesspackage:maskinlesbarehendelser"

PERMIT_OBLIGATION = "urn:altinn:obligation:authenticationLevel1"
PERMIT_ADVICE = "urn:test:advice:on-permit"
RULE_PERMIT_OBLIGATION = "urn:test:obligation:permit-rule"
RULE_DENY_OBLIGATION = "urn:test:obligation:deny-rule"
AUTHLEVEL_ID = "urn:altinn:authlevel"
CLEARANCE_ID = "urn:test:clearance"

_ALGORITHM = "urn:oasis:names:tc:xacml:{}:rule-combining-algorithm:{}"
DENY_OVERRIDES = _ALGORITHM.format("3.0", "deny-overrides")
PERMIT_OVERRIDES = _ALGORITHM.format("3.0", "permit-overrides")
FIRST_APPLICABLE = _ALGORITHM.format("1.0", "first-applicable")


# --- resource policies ----------------------------------------------------------------------


def subject_match(attribute_id: str, value: str, function: str = STRING_EQUAL) -> str:
    return match(value, function, reads=designator(attribute_id))


def role(code: str, function: str = STRING_EQUAL, attribute_id: str = ROLECODE_ID) -> str:
    return any_of(subject_match(attribute_id, code, function))


def package(name: str, function: str = STRING_EQUAL_IGNORE_CASE) -> str:
    return any_of(subject_match(PACKAGE_ID, name, function))


READ = any_of(action("read"))
WRITE = any_of(action("write"))


def expression(kind: str, identifier: str, effect: str, value: str = "3") -> str:
    """An ObligationExpression or AdviceExpression (`kind`) carrying one integer."""
    applies = "FulfillOn" if kind == "Obligation" else "AppliesTo"
    return (
        f'<{kind}Expression {kind}Id="{identifier}" {applies}="{effect}">\n'
        '<AttributeAssignmentExpression AttributeId="urn:altinn:obligation-assignment:1" '
        'Category="urn:altinn:minimum-authenticationlevel">\n'
        f'<AttributeValue DataType="{XML_INTEGER}">{value}</AttributeValue>\n'
        "</AttributeAssignmentExpression>\n"
        f"</{kind}Expression>"
    )


def obligations(*expressions: str) -> str:
    return "<ObligationExpressions>\n" + "\n".join(expressions) + "\n</ObligationExpressions>\n"


def advice(*expressions: str) -> str:
    return "<AdviceExpressions>\n" + "\n".join(expressions) + "\n</AdviceExpressions>\n"


def permit_and_deny(algorithm: str, deny_first: bool = False) -> str:
    """A Permit and a Deny rule that both apply to DAGL reading, each with an obligation for
    its own effect, combined by `algorithm`."""
    permit = rule(
        role("dagl"),
        READ,
        rule_id="permit-dagl",
        inner=obligations(expression("Obligation", RULE_PERMIT_OBLIGATION, "Permit")),
    )
    deny = rule(
        role("dagl"),
        READ,
        effect="Deny",
        rule_id="deny-dagl",
        inner=obligations(expression("Obligation", RULE_DENY_OBLIGATION, "Deny")),
    )
    return policy(*((deny, permit) if deny_first else (permit, deny)), algorithm=algorithm)


RESOURCE_POLICIES: dict[str, str] = {
    "ttd-dagl": policy(
        rule(role("dagl"), READ, rule_id="dagl-reads"),
        rule(role("regn"), READ, rule_id="regn-reads"),
        after=obligations(
            expression("Obligation", PERMIT_OBLIGATION, "Permit"),
            expression("Obligation", "urn:test:obligation:on-deny", "Deny"),
        )
        + advice(expression("Advice", PERMIT_ADVICE, "Permit", "1")),
    ),
    "ttd-dagl-ignore-case": policy(rule(role("DAGL", STRING_EQUAL_IGNORE_CASE), READ)),
    "ttd-dagl-register-case": policy(rule(role("DAGL"), READ)),
    "ttd-ccr": policy(rule(role("daglig-leder", attribute_id=CCR_ROLE_ID), READ)),
    "ttd-api": policy(rule(package("PROGRAMMERINGSGRENSESNITT", STRING_EQUAL), READ)),
    "ttd-events": policy(rule(package(EVENTS_FORMER, STRING_EQUAL), READ)),
    "ttd-nuf": policy(rule(package(API_NUF), READ)),
    "ttd-deny-overrides": permit_and_deny(DENY_OVERRIDES),
    "ttd-permit-overrides": permit_and_deny(PERMIT_OVERRIDES),
    "ttd-first-permit": permit_and_deny(FIRST_APPLICABLE),
    "ttd-first-deny": permit_and_deny(FIRST_APPLICABLE, deny_first=True),
    "ttd-authlevel": policy(
        rule(
            any_of(
                match(
                    "3",
                    reads=designator(
                        AUTHLEVEL_ID, SUBJECT_CATEGORY, XML_STRING, must_be_present="true"
                    ),
                )
            ),
            READ,
        )
    ),
    "ttd-write-needs-clearance": policy(
        rule(role("dagl"), READ, rule_id="dagl-reads"),
        rule(
            any_of(
                match(
                    "false",
                    BOOLEAN_EQUAL,
                    XML_BOOLEAN,
                    reads=designator(
                        CLEARANCE_ID, SUBJECT_CATEGORY, XML_BOOLEAN, must_be_present="true"
                    ),
                )
            ),
            WRITE,
            effect="Deny",
            rule_id="uncleared-may-not-write",
        ),
    ),
}


def userid_policy(user_id: int) -> str:
    return policy(rule(any_of(subject_match(USERID_ID, str(user_id))), READ))


# --- the world ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    national_id: str
    user_id: int
    party_id: int
    party_uuid: str
    person_uuid: str

    def identifiers(self) -> dict[str, str]:
        """Each identifier kind naming this person, with its value as a request gives it."""
        return {
            PERSON_ID: self.national_id,
            USERID_ID: str(self.user_id),
            PARTYID_ID: str(self.party_id),
            PARTY_UUID_ID: self.party_uuid,
            PERSON_UUID_ID: self.person_uuid,
        }

    def entry(self) -> dict[str, Any]:
        return {
            "national_id": self.national_id,
            "user_id": self.user_id,
            "party_id": self.party_id,
            "party_uuid": self.party_uuid,
            "person_uuid": self.person_uuid,
        }


@dataclass(frozen=True)
class Organization:
    number: str
    party_id: int
    party_uuid: str

    def identifiers(self) -> dict[str, str]:
        """Each identifier kind naming this organisation, as a request gives it."""
        return {
            ORGANIZATION_ID: self.number,
            LEGACY_ORGANIZATION_NUMBER_ID: self.number,
            PARTYID_ID: str(self.party_id),
            PARTY_UUID_ID: self.party_uuid,
        }


def _uuid(group: int, number: int) -> str:
    return f"00000000-0000-0000-{group:04d}-{number:012d}"


def _person(number: int) -> Person:
    return Person(new_person(), 20000 + number, 50100 + number, _uuid(1, number), _uuid(2, number))


def _organization(number: int) -> Organization:
    return Organization(new_organization(), 50000 + number, _uuid(3, number))


@dataclass(frozen=True)
class World:
    """Who is who. In `limited` (an AS) `manager` is DAGL, `member` MEDL, and the organisation
    `firm` REGN; in `nuf` (a NUF) `manager` is DAGL too; in `firm` (an AS) `firm_manager` is
    DAGL. `stranger` holds no role anywhere. `system_user` belongs to `limited`,
    `firm_system_user` to `firm`. `unregistered` and `unregistered_org` are valid numbers the
    register does not hold; `unknown_user_id` and `unknown_party_id` name nobody."""

    limited: Organization = field(default_factory=lambda: _organization(1))
    nuf: Organization = field(default_factory=lambda: _organization(2))
    firm: Organization = field(default_factory=lambda: _organization(3))
    manager: Person = field(default_factory=lambda: _person(1))
    member: Person = field(default_factory=lambda: _person(2))
    stranger: Person = field(default_factory=lambda: _person(3))
    firm_manager: Person = field(default_factory=lambda: _person(4))
    system_user: str = _uuid(4, 1)
    firm_system_user: str = _uuid(4, 2)
    unregistered: str = field(default_factory=new_person)
    unregistered_org: str = field(default_factory=new_organization)
    unknown_user_id: int = 29999
    unknown_party_id: int = 59999

    def register_document(self) -> dict[str, Any]:
        def organization(org: Organization, form: str, roles: list[dict[str, str]]) -> dict:
            return {
                "organization_number": org.number,
                "name": f"TEST {form} {org.party_id}",
                "org_form": form,
                "party_id": org.party_id,
                "party_uuid": org.party_uuid,
                "roles": roles,
            }

        return {
            "organizations": [
                organization(
                    self.limited,
                    "AS",
                    [
                        {"code": "DAGL", "person": self.manager.national_id},
                        {"code": "MEDL", "person": self.member.national_id},
                        {"code": "REGN", "organization": self.firm.number},
                    ],
                ),
                organization(
                    self.nuf, "NUF", [{"code": "DAGL", "person": self.manager.national_id}]
                ),
                organization(
                    self.firm, "AS", [{"code": "DAGL", "person": self.firm_manager.national_id}]
                ),
            ],
            "persons": [
                p.entry() for p in (self.manager, self.member, self.stranger, self.firm_manager)
            ],
            "system_users": [
                {"uuid": self.system_user, "owner": self.limited.number, "name": "Vendor"},
                {"uuid": self.firm_system_user, "owner": self.firm.number, "name": "Vendor"},
            ],
        }


WORLD = World()


def resource_source(directory: Path, policies: dict[str, str] | None = None) -> Catalog:
    """A copy of the shipped source (without its resources and policy tests) with the events
    package renamed (its shipped URN kept as an alias) and these resource policies (resource
    id -> XML; by default `RESOURCE_POLICIES` and `ttd-userid`)."""
    source = shutil.copytree(
        POLICY_DIR, directory, ignore=shutil.ignore_patterns("resources", "tests", "altinn-*")
    )
    packages_file = source / "packages" / "integrasjoner.yaml"
    document = yaml.safe_load(packages_file.read_text(encoding="utf-8"))
    events = next(p for p in document["packages"] if p["urn"] == EVENTS_FORMER)
    events["urn"], events["aliases"] = EVENTS, [EVENTS_FORMER]
    if policies is None:
        policies = RESOURCE_POLICIES | {"ttd-userid": userid_policy(WORLD.manager.user_id)}
    write_source(
        source,
        {"packages/integrasjoner.yaml": document}
        | {resource_file(resource_id): xml for resource_id, xml in policies.items()},
    )
    return catalog_module.load(source)


# --- requests -------------------------------------------------------------------------------


def ask(
    resource: str,
    subject: Identifier | Sequence[Identifier],
    party: Identifier | None,
    action_id: str = "read",
    subject_attributes: Sequence[tuple[str, Any]] = (),
) -> ResourceRequest:
    """A resource request as the context handler reads one: the subject's identifiers, the
    party's and the resource id given as attributes, with `subject_attributes` besides."""
    subjects = (subject,) if isinstance(subject, Identifier) else tuple(subject)
    subject_given = [(i.attribute_id, i.value) for i in subjects] + list(subject_attributes)
    resource_given = [(RESOURCE_ID, resource)]
    if party is not None:
        resource_given.append((party.attribute_id, party.value))
    return ResourceRequest(
        subject=subjects,
        party=party,
        resource=resource,
        action=action_id,
        attributes=(
            ("action", ((ACTION_ID, XML_STRING, (action_id,)),)),
            ("resource", _bags(resource_given)),
            ("subject", _bags(subject_given)),
        ),
    )


def _bags(pairs: Sequence[tuple[str, Any]]) -> tuple[tuple[str, str, tuple[Any, ...]], ...]:
    """Attributes as the reader gives them: by id and data type (as the JSON value says)."""
    bags: dict[tuple[str, str], list[Any]] = {}
    for attribute_id, value in pairs:
        data_type, typed = typed_values(None, [value])
        assert typed is not None
        bags.setdefault((attribute_id, data_type), []).extend(typed)
    return tuple(sorted((a, data_type, tuple(bag)) for (a, data_type), bag in bags.items()))


def person_id(person: Person) -> Identifier:
    return Identifier(PERSON_ID, person.national_id)


def organization_id(organization: Organization | str) -> Identifier:
    number = organization if isinstance(organization, str) else organization.number
    return Identifier(ORGANIZATION_ID, number)


def system_user_id(uuid: str) -> Identifier:
    return Identifier(SYSTEM_USER_UUID_ID, uuid)

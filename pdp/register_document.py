"""The register import document: its shape, its identifiers, and identifiers that clash.

Checking a document is most of an import, and reads as the specification of the file format, so
it is kept apart from storing it (`pdp.register`). A document is refused as a whole, with every
problem named by its position (`persons[1].party_id: ...`)::

    {"organizations": [{"organization_number": "910459880", "name": "...", "org_form": "AS",
                        "party_id": 50005545, "party_uuid": "00000000-0000-0000-0005-000000005545",
                        "roles": [{"code": "DAGL", "person": "02056260016"},
                                  {"code": "REGN", "organization": "991825827"}]}],
     "persons": [{"national_id": "02056260016", "name": "...", "user_id": 20000095,
                  "party_id": 50002203, "party_uuid": "...", "person_uuid": "..."}],
     "system_users": [{"uuid": "...", "owner": "910459880", "name": "..."}]}

Only `organizations` is required, and of each entry its number (national id, UUID, owner),
and an organisation's name and form. Each of Altinn's identifiers names one thing in the whole
register: a party id or party UUID one organisation or person, a user id or person UUID one
person, a system user UUID one system user; the document may not give one twice, nor one that
the register already gives to an organisation or person this document does not replace.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from pdp.catalog import Catalog
from pdp.errors import Problem, RegisterImportError, problems_from_messages
from pdp.identifiers import UUID_PATTERN, IdentifierRules, InvalidIdentifier, validate_uuid
from pdp.subjects import ORGANIZATION, PERSON, OneSubjectSchema, Subject, identifier_field

#: Largest id a BIGINT column holds; Altinn's user and party ids are positive.
_MAX_ID = 2**63 - 1

#: Altinn's identifiers that name one organisation or person in the whole register, by field
#: name in the document, with the words a problem names them by.
PARTY_ID, PARTY_UUID, USER_ID, PERSON_UUID = "party_id", "party_uuid", "user_id", "person_uuid"
_LABELS = {
    PARTY_ID: "party id",
    PARTY_UUID: "party uuid",
    USER_ID: "user id",
    PERSON_UUID: "person uuid",
}

_KIND_WORDS = {PERSON: "person", ORGANIZATION: "organisation"}
_UUID = re.compile(UUID_PATTERN)


def _altinn_id() -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=_MAX_ID))


def _name(required: bool) -> fields.String:
    return fields.String(required=required, validate=validate.Length(min=1, max=500))


class _RoleEntrySchema(OneSubjectSchema):
    # Strings here; their identifiers are checked under the import's rules (`_identifiers`).
    code = fields.String(required=True, validate=validate.Length(min=1))
    person = fields.String()
    organization = fields.String()


class _OrganizationSchema(Schema):
    class Meta:
        unknown = RAISE

    organization_number = fields.String(required=True)
    name = _name(required=True)
    org_form = fields.String(required=True)
    party_id = _altinn_id()
    party_uuid = identifier_field(validate_uuid)
    roles = fields.List(fields.Nested(_RoleEntrySchema), load_default=list)


class _PersonSchema(Schema):
    class Meta:
        unknown = RAISE

    national_id = fields.String(required=True)
    name = _name(required=False)
    user_id = _altinn_id()
    party_id = _altinn_id()
    party_uuid = identifier_field(validate_uuid)
    person_uuid = identifier_field(validate_uuid)


class _SystemUserSchema(Schema):
    class Meta:
        unknown = RAISE

    uuid = identifier_field(validate_uuid, required=True)
    owner = fields.String(required=True)
    name = _name(required=False)


class _RegisterDocumentSchema(Schema):
    """The document's shape; each entry is loaded by its section's schema (`_load`)."""

    class Meta:
        unknown = RAISE

    organizations = fields.List(fields.Raw, required=True)
    persons = fields.List(fields.Raw, load_default=list)
    system_users = fields.List(fields.Raw, load_default=list)


_SECTION_SCHEMAS = {
    "organizations": _OrganizationSchema,
    "persons": _PersonSchema,
    "system_users": _SystemUserSchema,
}
_ORGANIZATION_FIELDS = frozenset(_OrganizationSchema().fields)
_ROLE_FIELDS = frozenset(_RoleEntrySchema().fields)
_HOLDERS = (PERSON, ORGANIZATION)


def _load(section: str, entries: list[Any]) -> tuple[list[dict[str, Any]], list[Problem]]:
    """A section's entries loaded by its schema, or the problems of those that do not load.

    An organisation entry that plainly fits `_OrganizationSchema` (`_plain_organization`)
    is taken as it is: a national register has a million of them, and loading each with
    marshmallow would take most of an import's time. Any other entry is loaded by the schema,
    which says what is wrong.
    """
    schema = _SECTION_SCHEMAS[section]()
    loaded, problems = [], []
    for index, entry in enumerate(entries):
        if section == "organizations" and _plain_organization(entry):
            loaded.append(entry if "roles" in entry else {**entry, "roles": []})
            continue
        try:
            loaded.append(schema.load(entry))
        except ValidationError as error:
            problems += problems_from_messages("", error.messages, f"{section}[{index}]")
    return loaded, problems


def _plain_organization(entry: Any) -> bool:
    """Whether `entry` is an organisation entry `_OrganizationSchema` loads as it is: known
    fields only, the required ones present, each of its type and within its bounds. False
    says nothing but that the schema must look at it."""
    if type(entry) is not dict or not entry.keys() <= _ORGANIZATION_FIELDS:
        return False
    name, party_id, party_uuid = entry.get("name"), entry.get("party_id"), entry.get("party_uuid")
    if not (
        type(entry.get("organization_number")) is str
        and type(entry.get("org_form")) is str
        and type(name) is str
        and 1 <= len(name) <= 500
        and (party_id is None or (type(party_id) is int and 1 <= party_id <= _MAX_ID))
        and (party_uuid is None or (type(party_uuid) is str and _UUID.fullmatch(party_uuid)))
        and ("party_id" not in entry or party_id is not None)
        and ("party_uuid" not in entry or party_uuid is not None)
    ):
        return False
    roles = entry.get("roles", [])
    return type(roles) is list and all(_plain_role(role) for role in roles)


def _plain_role(role: Any) -> bool:
    if type(role) is not dict or not role.keys() <= _ROLE_FIELDS:
        return False
    code = role.get("code")
    holders = [role[kind] for kind in _HOLDERS if kind in role]
    return type(code) is str and code != "" and len(holders) == 1 and type(holders[0]) is str


@dataclass(frozen=True)
class RegisterDocument:
    """A checked document: its entries as loaded (dicts with the document's field names)."""

    organizations: list[dict[str, Any]]
    persons: list[dict[str, Any]]
    system_users: list[dict[str, Any]]


class StoredRegister(Protocol):
    """What checking a document needs to know of the register it is imported into."""

    def holders(self, identifier: str, values: Collection[Any]) -> dict[Any, Subject]:
        """Who in the register has each of these values of `identifier` (party_id, ...)."""

    def organizations_among(self, numbers: Collection[str]) -> set[str]:
        """Those of these organisation numbers that are in the register."""


def check_document(
    document: Any, catalog: Catalog, rules: IdentifierRules, stored: StoredRegister
) -> RegisterDocument:
    """The document, loaded and checked; RegisterImportError naming every problem otherwise.

    Role codes and organisation forms must be known to `catalog` (the active policy set);
    identifiers are checked under `rules`, and against what `stored` already holds.
    """
    if not isinstance(document, dict):
        raise RegisterImportError([Problem("", "", "the register must be a JSON object")])
    try:
        shape = _RegisterDocumentSchema().load(document)
    except ValidationError as error:
        raise RegisterImportError(list(problems_from_messages("", error.messages))) from None
    sections, problems = {}, []
    for section in _SECTION_SCHEMAS:
        sections[section], wrong = _load(section, shape[section])
        problems += wrong
    if problems:
        raise RegisterImportError(problems)
    checked = RegisterDocument(**sections)
    problems = [
        *_identifiers(checked, rules),
        *_organizations(checked.organizations, catalog),
        *_repeated(checked.persons, "persons", "national_id"),
        *_repeated(checked.system_users, "system_users", "uuid"),
        *_clashes(checked, stored),
        *_owners(checked, stored),
    ]
    if problems:
        raise RegisterImportError(problems)
    return checked


def _identifiers(document: RegisterDocument, rules: IdentifierRules) -> Iterator[Problem]:
    """Organisation and national identity numbers, checked under `rules`."""
    check_by_kind = {
        PERSON: rules.national_identity_number,
        ORGANIZATION: rules.organization_number,
    }
    for index, entry in enumerate(document.organizations):
        path = f"organizations[{index}]"
        yield from _checked(
            f"{path}.organization_number", rules.organization_number, entry["organization_number"]
        )
        for r_index, role in enumerate(entry["roles"]):
            kind = PERSON if PERSON in role else ORGANIZATION
            yield from _checked(f"{path}.roles[{r_index}].{kind}", check_by_kind[kind], role[kind])
    for index, entry in enumerate(document.persons):
        yield from _checked(
            f"persons[{index}].national_id", rules.national_identity_number, entry["national_id"]
        )
    for index, entry in enumerate(document.system_users):
        yield from _checked(
            f"system_users[{index}].owner", rules.organization_number, entry["owner"]
        )


def _checked(path: str, check: Callable[[object], str], value: str) -> Iterator[Problem]:
    try:
        check(value)
    except InvalidIdentifier as error:
        yield Problem("", path, str(error))


def _organizations(entries: list[dict[str, Any]], catalog: Catalog) -> Iterator[Problem]:
    """Each organisation once, with a known form, and known roles each given once."""
    role_codes = {role.code for role in catalog.roles}
    org_forms = {form.code for form in catalog.org_forms}
    yield from _repeated(entries, "organizations", "organization_number")
    for index, entry in enumerate(entries):
        path = f"organizations[{index}]"
        if entry["org_form"] not in org_forms:
            yield Problem(
                "", f"{path}.org_form", f"unknown organisation form {entry['org_form']!r}"
            )
        seen_roles: set[tuple[str, str]] = set()
        for r_index, role in enumerate(entry["roles"]):
            role_path = f"{path}.roles[{r_index}]"
            if role["code"] not in role_codes:
                yield Problem("", f"{role_path}.code", f"unknown role code {role['code']!r}")
            key = (role["code"], role.get(PERSON) or role[ORGANIZATION])
            if key in seen_roles:
                yield Problem("", role_path, "duplicate role assignment")
            seen_roles.add(key)


def _repeated(entries: list[dict[str, Any]], section: str, key: str) -> Iterator[Problem]:
    """Entries of `section` whose `key` an earlier entry has: each is given once."""
    first_seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        value = entry[key]
        if value in first_seen:
            yield Problem(
                "",
                f"{section}[{index}].{key}",
                f"{value} already appears at {section}[{first_seen[value]}]",
            )
        first_seen.setdefault(value, index)


def _clashes(document: RegisterDocument, stored: StoredRegister) -> Iterator[Problem]:
    """Altinn identifiers given twice in the document, or that the register gives to an
    organisation or person the document does not replace."""
    claims: dict[tuple[str, Any], list[tuple[str, Subject]]] = {}
    for section, kind, key, identifiers in (
        ("organizations", ORGANIZATION, "organization_number", (PARTY_ID, PARTY_UUID)),
        ("persons", PERSON, "national_id", (PARTY_ID, PARTY_UUID, USER_ID, PERSON_UUID)),
    ):
        for index, entry in enumerate(getattr(document, section)):
            for identifier in identifiers:
                if identifier in entry:
                    claims.setdefault((identifier, entry[identifier]), []).append(
                        (f"{section}[{index}].{identifier}", Subject(kind, entry[key]))
                    )
    for (_, value), claimants in claims.items():
        first_path, _ = claimants[0]
        for path, _ in claimants[1:]:
            yield Problem("", path, f"{value} is also {first_path}")
    replaced = {
        *(Subject(ORGANIZATION, entry["organization_number"]) for entry in document.organizations),
        *(Subject(PERSON, entry["national_id"]) for entry in document.persons),
    }
    for identifier in _LABELS:
        values = [value for kind, value in claims if kind == identifier]
        for value, holder in stored.holders(identifier, values).items():
            if holder in replaced:
                continue
            for path, _ in claims[(identifier, value)]:
                yield Problem(
                    "",
                    path,
                    f"{value} is already the {_LABELS[identifier]} of {_KIND_WORDS[holder.kind]} "
                    f"{holder.identifier} in the register",
                )


def _owners(document: RegisterDocument, stored: StoredRegister) -> Iterator[Problem]:
    """Each system user's owner is an organisation in the document or in the register."""
    imported = {entry["organization_number"] for entry in document.organizations}
    owners = {entry["owner"] for entry in document.system_users} - imported
    present = stored.organizations_among(owners)
    for index, entry in enumerate(document.system_users):
        owner = entry["owner"]
        if owner not in imported and owner not in present:
            yield Problem(
                "",
                f"system_users[{index}].owner",
                f"organisation {owner} is not in the register (nor in this document)",
            )

"""The register: Enhetsregisteret facts the policies need (a PIP's data).

Organisations (number, name, organisation form) and ER role assignments (who holds which role in
which organisation; a holder is a person's national identity number, or an organisation number
for roles such as REGN or REVI held by firms). Imported from a JSON document, all or nothing,
and read by `pdp.attributes` during decisions.

Import document shape (the example register in `examples/` uses it)::

    {"organizations": [{"organization_number": "910459880", "name": "...", "org_form": "AS",
      "roles": [{"code": "DAGL", "person": "02056260016"},
                {"code": "REGN", "organization": "991825827"}]}]}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import Engine, bindparam, delete, insert, select

from pdp.catalog import Catalog
from pdp.changes import ChangeLog
from pdp.db import Lookup, looking_up, organizations, role_assignments
from pdp.errors import Problem, RegisterImportError, problems_from_messages
from pdp.identifiers import validate_organization_number
from pdp.subjects import ORGANIZATION, PERSON, OneSubjectSchema, Subject, identifier_field

#: Rows per statement when writing or deleting in bulk (keeps IN lists within driver limits).
_CHUNK = 500

# What a decision not made before reads (see `pdp.db.Lookup`).
_ROLES_HELD = Lookup(
    select(role_assignments.c.role_code).where(
        role_assignments.c.holder_id == bindparam("holder_id"),
        role_assignments.c.organization_number == bindparam("party"),
        role_assignments.c.holder_kind == bindparam("kind"),
    )
)
_ORG_FORM = Lookup(
    select(organizations.c.org_form).where(
        organizations.c.organization_number == bindparam("number")
    )
)


class _RoleEntrySchema(OneSubjectSchema):
    code = fields.String(required=True, validate=validate.Length(min=1))


class _OrganizationSchema(Schema):
    class Meta:
        unknown = RAISE

    organization_number = identifier_field(validate_organization_number, required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=500))
    org_form = fields.String(required=True)
    roles = fields.List(fields.Nested(_RoleEntrySchema), load_default=list)


class _RegisterDocumentSchema(Schema):
    class Meta:
        unknown = RAISE

    organizations = fields.List(fields.Nested(_OrganizationSchema), required=True)


@dataclass(frozen=True)
class ImportSummary:
    organizations: int
    role_assignments: int


@dataclass(frozen=True)
class Organization:
    organization_number: str
    name: str
    org_form: str


@dataclass(frozen=True)
class RoleAssignment:
    """`holder` holds ER role `role` in organisation `organization`."""

    holder: Subject
    organization: str
    role: str


class Register:
    """Organisations and ER role assignments in the database."""

    def __init__(self, engine: Engine, changes: ChangeLog):
        self._engine = engine
        self._changes = changes

    def import_document(self, document: Any, catalog: Catalog) -> ImportSummary:
        """Validate and store a register document in one transaction, or store nothing.

        Role codes and organisation forms must be known to `catalog` (the active policy set).
        Every problem is reported with its position. An organisation already in the register is
        replaced, roles and all.
        """
        entries = self._validate(document, catalog)
        numbers = [entry["organization_number"] for entry in entries]
        role_rows = [
            {
                "organization_number": entry["organization_number"],
                "role_code": role["code"],
                "holder_kind": PERSON if PERSON in role else ORGANIZATION,
                "holder_id": role.get(PERSON) or role[ORGANIZATION],
            }
            for entry in entries
            for role in entry["roles"]
        ]
        with self._changes.writing(self._engine.begin) as connection:
            for chunk in _chunks(numbers):
                connection.execute(
                    delete(role_assignments).where(
                        role_assignments.c.organization_number.in_(chunk)
                    )
                )
                connection.execute(
                    delete(organizations).where(organizations.c.organization_number.in_(chunk))
                )
            for chunk in _chunks(entries):
                connection.execute(
                    insert(organizations),
                    [
                        {key: entry[key] for key in ("organization_number", "name", "org_form")}
                        for entry in chunk
                    ],
                )
            for chunk in _chunks(role_rows):
                connection.execute(insert(role_assignments), chunk)
        return ImportSummary(len(entries), len(role_rows))

    def roles_held(self, holder_kind: str, holder_id: str, party: str) -> frozenset[str]:
        """ER role codes that the holder has in organisation `party` (empty if none)."""
        holding = (Subject(holder_kind, holder_id), party)
        return self.roles_held_by([holding])[holding]

    def roles_held_by(
        self, holdings: Iterable[tuple[Subject, str]]
    ) -> dict[tuple[Subject, str], frozenset[str]]:
        """The ER role codes of each (holder, party), all read on one connection: the roles a
        batch of decisions needs."""
        with looking_up(self._engine) as lookup:
            return {
                (holder, party): frozenset(
                    code
                    for (code,) in lookup(
                        _ROLES_HELD,
                        {"holder_id": holder.identifier, "party": party, "kind": holder.kind},
                    )
                )
                for holder, party in set(holdings)
            }

    def organization(self, number: str) -> Organization | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(organizations).where(organizations.c.organization_number == number)
            ).first()
        return None if row is None else Organization(*row)

    def org_forms_of(self, numbers: Iterable[str]) -> dict[str, str | None]:
        """The form of each of these organisations (None: not in the register), all read on
        one connection."""
        with looking_up(self._engine) as lookup:
            return {
                number: next((form for (form,) in lookup(_ORG_FORM, {"number": number})), None)
                for number in set(numbers)
            }

    def org_forms(self) -> dict[str, str]:
        """Every organisation's form, by organisation number (for whole-register analyses)."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(organizations.c.organization_number, organizations.c.org_form)
            )
            return {number: form for number, form in rows}

    def assignments(self) -> list[RoleAssignment]:
        """Every role assignment in the register (for whole-register analyses)."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(
                    role_assignments.c.holder_kind,
                    role_assignments.c.holder_id,
                    role_assignments.c.organization_number,
                    role_assignments.c.role_code,
                )
            )
            return [
                RoleAssignment(Subject(kind, holder), organization, role)
                for kind, holder, organization, role in rows
            ]

    @staticmethod
    def _validate(document: Any, catalog: Catalog) -> list[dict[str, Any]]:
        if not isinstance(document, dict):
            raise RegisterImportError([Problem("", "", "the register must be a JSON object")])
        try:
            entries = _RegisterDocumentSchema().load(document)["organizations"]
        except ValidationError as error:
            raise RegisterImportError(list(problems_from_messages("", error.messages))) from None
        role_codes = {role.code for role in catalog.roles}
        org_forms = {form.code for form in catalog.org_forms}
        problems: list[Problem] = []
        first_seen: dict[str, int] = {}
        for index, entry in enumerate(entries):
            path = f"organizations[{index}]"
            number = entry["organization_number"]
            if number in first_seen:
                problems.append(
                    Problem(
                        "",
                        f"{path}.organization_number",
                        f"{number} already appears at organizations[{first_seen[number]}]",
                    )
                )
            first_seen.setdefault(number, index)
            if entry["org_form"] not in org_forms:
                problems.append(
                    Problem(
                        "", f"{path}.org_form", f"unknown organisation form {entry['org_form']!r}"
                    )
                )
            seen_roles: set[tuple[str, str]] = set()
            for r_index, role in enumerate(entry["roles"]):
                role_path = f"{path}.roles[{r_index}]"
                if role["code"] not in role_codes:
                    problems.append(
                        Problem("", f"{role_path}.code", f"unknown role code {role['code']!r}")
                    )
                key = (role["code"], role.get(PERSON) or role[ORGANIZATION])
                if key in seen_roles:
                    problems.append(Problem("", role_path, "duplicate role assignment"))
                seen_roles.add(key)
        if problems:
            raise RegisterImportError(problems)
        return entries


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]

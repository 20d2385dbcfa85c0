"""The register: the facts about organisations, persons and system users the policies need
(a PIP's data).

Organisations (number, name, organisation form, Altinn's party id and UUID), ER role assignments
(who holds which role in which organisation; a holder is a person's national identity number,
or an organisation number for roles such as REGN or REVI held by firms), persons known by
Altinn's identifiers (user id, party id and UUID, person UUID), and system users (a vendor's
system an organisation registered). Imported from a JSON document, all or nothing (its format
and checks are `pdp.register_document`'s), and read during decisions: by `pdp.attributes` for
roles and organisation forms, and by whatever resolves Altinn's identifiers in a request to
the person, organisation or system user they name.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import column
from sqlalchemy.sql import table as table_clause

from pdp import table_swap
from pdp.catalog import Catalog
from pdp.changes import ChangeLog
from pdp.db import (
    Lookup,
    copy_rows,
    looking_up,
    organizations,
    parties,
    persons,
    register_write_transaction,
    role_assignments,
    system_users,
)
from pdp.errors import Problem, RegisterImportError
from pdp.identifiers import CHECKED, IdentifierRules
from pdp.register_document import (
    PARTY_ID,
    PARTY_UUID,
    PERSON_UUID,
    USER_ID,
    RegisterDocument,
    check_document,
)
from pdp.subjects import ORGANIZATION, PERSON, SYSTEM_USER, Subject

#: Rows per statement when writing or deleting in bulk (keeps IN lists within driver limits).
_CHUNK = 500
#: Rows per executemany when inserting in bulk (no IN list: only the batch's memory counts).
_WRITE_CHUNK = 5_000
#: Problems of an import listed at most; the others are counted.
_MOST_PROBLEMS = 100
#: Entries of an import checked and written at a time.
IMPORT_CHUNK = 10_000
#: Role assignments an import brings from which it may rebuild the table rather than insert
#: into it (`_replace_roles`; smaller imports are quick either way).
REBUILD_FROM_ROWS = 100_000
#: PostgreSQL settings for the statements that apply an import (`_replace_roles`).
_BULK_SETTINGS = ("enable_seqscan = on", "work_mem = '64MB'", "maintenance_work_mem = '256MB'")

#: What a person, an organisation, a party (either) may be looked up by.
PersonKey = Literal["national_id", "user_id", "party_id", "party_uuid", "person_uuid"]
OrganizationKey = Literal["organization_number", "party_id", "party_uuid"]
PartyKey = Literal["party_id", "party_uuid"]

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


def _by_each(query: Select[Any], columns: dict[str, Column[Any]]) -> dict[str, Lookup]:
    """`query` narrowed to one value of each of `columns` (each unique): a Lookup per key."""
    return {
        key: Lookup(query.where(column == bindparam("value"))) for key, column in columns.items()
    }


def _with_party_ids(table: Any, key: Column[Any], kind: str, *columns: Column[Any]) -> Select:
    """`columns` of `table` with the party id and UUID of each row (None where it has none)."""
    on = and_(parties.c.kind == kind, parties.c.identifier == key)
    return select(*columns, parties.c.party_id, parties.c.party_uuid).select_from(
        table.outerjoin(parties, on)
    )


_PERSON_BY = _by_each(
    _with_party_ids(
        persons,
        persons.c.national_id,
        PERSON,
        persons.c.national_id,
        persons.c.name,
        persons.c.user_id,
        persons.c.person_uuid,
    ),
    {
        "national_id": persons.c.national_id,
        USER_ID: persons.c.user_id,
        PARTY_ID: parties.c.party_id,
        PARTY_UUID: parties.c.party_uuid,
        PERSON_UUID: persons.c.person_uuid,
    },
)
_ORGANIZATION_BY = _by_each(
    _with_party_ids(
        organizations,
        organizations.c.organization_number,
        ORGANIZATION,
        organizations.c.organization_number,
        organizations.c.name,
        organizations.c.org_form,
    ),
    {
        "organization_number": organizations.c.organization_number,
        PARTY_ID: parties.c.party_id,
        PARTY_UUID: parties.c.party_uuid,
    },
)
_PARTY_BY = _by_each(
    select(parties.c.kind, parties.c.identifier),
    {PARTY_ID: parties.c.party_id, PARTY_UUID: parties.c.party_uuid},
)
_SYSTEM_USER = Lookup(
    select(system_users.c.uuid, system_users.c.owner, system_users.c.name).where(
        system_users.c.uuid == bindparam("value")
    )
)
_ASSIGNMENT_COLUMNS = select(
    role_assignments.c.holder_kind,
    role_assignments.c.holder_id,
    role_assignments.c.organization_number,
    role_assignments.c.role_code,
)
_ORGANIZATION_ROWS = _with_party_ids(
    organizations,
    organizations.c.organization_number,
    ORGANIZATION,
    organizations.c.organization_number,
    organizations.c.name,
    organizations.c.org_form,
)


def _by_values(query: Select[Any], column: Column[Any]) -> tuple[Lookup, Select[Any]]:
    """`query` for rows whose `column` is one value (a Lookup, `value`) or one of a list
    (`values`); `Register._rows` runs them."""
    return (
        Lookup(query.where(column == bindparam("value"))),
        query.where(column.in_(bindparam("values", expanding=True))),
    )


_ASSIGNMENTS_OF = _by_values(_ASSIGNMENT_COLUMNS, role_assignments.c.holder_id)
_ASSIGNMENTS_IN = _by_values(_ASSIGNMENT_COLUMNS, role_assignments.c.organization_number)
_ORGANIZATIONS_IN = _by_values(_ORGANIZATION_ROWS, organizations.c.organization_number)
#: Up to how many values `Register._rows` reads one at a time.
_FEW = 20
#: Keys whose values are numbers (BIGINT); the others are strings.
_NUMBER_KEYS = frozenset({USER_ID, PARTY_ID})
_MAX_BIGINT = 2**63 - 1


@dataclass(frozen=True)
class ImportSummary:
    organizations: int
    role_assignments: int
    persons: int = 0
    system_users: int = 0


@dataclass(frozen=True)
class Organization:
    organization_number: str
    name: str
    org_form: str
    party_id: int | None = None
    party_uuid: str | None = None

    @property
    def subject(self) -> Subject:
        return Subject(ORGANIZATION, self.organization_number)


@dataclass(frozen=True)
class Person:
    national_id: str
    name: str | None = None
    user_id: int | None = None
    person_uuid: str | None = None
    party_id: int | None = None
    party_uuid: str | None = None

    @property
    def subject(self) -> Subject:
        return Subject(PERSON, self.national_id)


@dataclass(frozen=True)
class SystemUser:
    """A vendor's system that organisation `owner` registered; it acts only for its owner."""

    uuid: str
    owner: str
    name: str | None = None

    @property
    def subject(self) -> Subject:
        return Subject(SYSTEM_USER, self.uuid)


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    """`holder` holds ER role `role` in organisation `organization`."""

    holder: Subject
    organization: str
    role: str


class Register:
    """Organisations, ER role assignments, persons and system users in the database."""

    def __init__(self, engine: Engine, changes: ChangeLog):
        self._engine = engine
        self._changes = changes

    def import_document(
        self, document: Any, catalog: Catalog, rules: IdentifierRules = CHECKED
    ) -> ImportSummary:
        """Validate and store a register document in one transaction, or store nothing.

        Role codes and organisation forms must be known to `catalog` (the active policy set);
        identifiers are checked under `rules` (`Settings.identifier_check_digits`). Every
        problem is reported with its position. An organisation, person or system user already
        in the register is replaced: an organisation with its roles and party ids (its main
        unit from Enhetsregisteret stays).
        """
        return self.import_sections(sections_of(document), catalog, rules)

    def import_sections(
        self,
        sections: Iterable[tuple[str, Iterable[Any]]],
        catalog: Catalog,
        rules: IdentifierRules = CHECKED,
        chunk: int = IMPORT_CHUNK,
        rebuild_from: int = REBUILD_FROM_ROWS,
    ) -> ImportSummary:
        """`import_document` for a document read a section at a time (`sections_of`,
        `pdp.register_file`), in bounded memory: `chunk` entries at a time are checked
        (`check_document`) and written, all in one transaction; the role assignments replace
        the organisations' old ones once all are checked (`_replace_roles`, which may rebuild
        the table for an import of at least `rebuild_from` of them).

        A document of at most `chunk` entries is checked as a whole. In a larger one, the
        entries of earlier parts are in the register, as this transaction sees it, when a
        later part is checked: an identifier given twice across parts is refused as one that
        the register gives to another already, an entry given twice as given twice; and an
        identifier may move only to an entry in the same part as the one that gives it up.
        """
        totals = ImportSummary(0, 0)
        try:
            with self._changes.writing(
                lambda: register_write_transaction(self._engine)
            ) as connection:
                for table in _STAGING[connection.dialect.name]:
                    table.create(connection)
                if connection.dialect.name == "postgresql":
                    # The tables grow during an import faster than their statistics: without
                    # this, a part's look-ups by key may scan all that earlier parts wrote.
                    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
                problems: list[Problem] = []
                unlisted = 0
                for starts, part in _parts(sections, chunk):
                    for section, start in starts.items():
                        problems += _seen_before(connection, section, start, part[section])
                    try:
                        checked = check_document(part, catalog, rules, _StoredRegister(connection))
                    except RegisterImportError as error:
                        problems += [_rebased(problem, starts) for problem in error.problems]
                    else:
                        if not problems:
                            totals = _added(totals, _store(connection, checked))
                    if len(problems) > _MOST_PROBLEMS:  # a broken national file: count them
                        unlisted += len(problems) - _MOST_PROBLEMS
                        del problems[_MOST_PROBLEMS:]
                if problems:
                    more = [Problem("", "", f"... and {unlisted:,} more problems")]
                    raise RegisterImportError(problems + (more if unlisted else []))
                _replace_roles(connection, totals.role_assignments, rebuild_from)
                for table in _STAGING[connection.dialect.name]:
                    table.drop(connection)
        except (IntegrityError, self._engine.dialect.loaded_dbapi.IntegrityError):
            # Another import gave an identifier away between the check and this write (COPY
            # on PostgreSQL raises the driver's own error, not SQLAlchemy's).
            raise RegisterImportError(
                [Problem("", "", "the register changed during the import; nothing was imported")]
            ) from None
        return totals

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

    def org_forms_of(self, numbers: Iterable[str]) -> dict[str, str | None]:
        """The form of each of these organisations (None: not in the register), all read on
        one connection."""
        with looking_up(self._engine) as lookup:
            return {
                number: next((form for (form,) in lookup(_ORG_FORM, {"number": number})), None)
                for number in set(numbers)
            }

    def organization_count(self) -> int:
        """How many organisations the register holds."""
        with self._engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(organizations)).scalar_one()

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

    def assignments_of(self, holders: Iterable[Subject]) -> list[RoleAssignment]:
        """Every role these holders hold, in any organisation: read by holder
        (ix_role_assignments_holder), never by scanning the register."""
        wanted = {(holder.kind, holder.identifier) for holder in holders}
        if not wanted:
            return []
        ids = sorted({identifier for _, identifier in wanted})
        rows = self._rows(_ASSIGNMENTS_OF, ids)
        return [
            RoleAssignment(Subject(kind, holder), organization, role)
            for kind, holder, organization, role in rows
            if (kind, holder) in wanted
        ]

    def assignments_in(self, organizations: Iterable[str]) -> list[RoleAssignment]:
        """Every role held in these organisations: read by organisation (the unique index on
        role_assignments that leads with organization_number)."""
        numbers = sorted(set(organizations))
        rows = self._rows(_ASSIGNMENTS_IN, numbers)
        return [
            RoleAssignment(Subject(kind, holder), organization, role)
            for kind, holder, organization, role in rows
        ]

    def organizations_in(self, numbers: Iterable[str]) -> dict[str, Organization]:
        """The organisations with these numbers that the register knows, with their party ids,
        read by primary key a few hundred at a time."""
        wanted = sorted(set(numbers))
        return {row[0]: Organization(*row) for row in self._rows(_ORGANIZATIONS_IN, wanted)}

    def _rows(self, queries: tuple[Lookup, Select[Any]], values: list[str]) -> list[tuple]:
        """The rows of `queries` (`_by_values`) for `values`: a few values each by the
        precompiled Lookup (a statement costs more to build than to answer), many a few
        hundred at a time in an IN list. Both are read by the same index."""
        one, many = queries
        if len(values) <= _FEW:
            with looking_up(self._engine) as lookup:
                return [row for value in values for row in lookup(one, {"value": value})]
        with self._engine.connect() as connection:
            return [
                tuple(row)
                for chunk in _chunks(values)
                for row in connection.execute(many, {"values": chunk})
            ]

    def persons_by(self, key: PersonKey, values: Iterable[Any]) -> dict[Any, Person | None]:
        """The person each value of `key` names (None: no such person), all read on one
        connection. Ids are ints, the others strings; a value of another type names no one."""
        with looking_up(self._engine) as lookup:
            return {
                value: _one(Person, lookup, _PERSON_BY[key], key, value) for value in set(values)
            }

    def organizations_by(
        self, key: OrganizationKey, values: Iterable[Any]
    ) -> dict[Any, Organization | None]:
        """The organisation each value of `key` names (None: none), all read on one
        connection."""
        with looking_up(self._engine) as lookup:
            return {
                value: _one(Organization, lookup, _ORGANIZATION_BY[key], key, value)
                for value in set(values)
            }

    def parties_by(
        self, key: PartyKey, values: Iterable[Any]
    ) -> dict[Any, Person | Organization | None]:
        """The party, an organisation or a person, each party id or UUID names (None: none),
        all read on one connection."""
        with looking_up(self._engine) as lookup:
            return {value: _party(lookup, key, value) for value in set(values)}

    def system_users_by_uuid(self, uuids: Iterable[Any]) -> dict[Any, SystemUser | None]:
        """The system user (its owner and name) of each UUID (None: none), all read on one
        connection."""
        with looking_up(self._engine) as lookup:
            return {
                uuid: _one(SystemUser, lookup, _SYSTEM_USER, "uuid", uuid) for uuid in set(uuids)
            }


class _StoredRegister:
    """What `check_document` asks of the register, read on one connection."""

    def __init__(self, connection: Connection):
        self._connection = connection

    def holders(self, identifier: str, values: Collection[Any]) -> dict[Any, Subject]:
        if identifier in (PARTY_ID, PARTY_UUID):
            column = parties.c[identifier]
            query = select(column, parties.c.kind, parties.c.identifier)
        else:
            column = persons.c[identifier]
            query = select(column, literal(PERSON), persons.c.national_id)
        return {
            value: Subject(kind, holder)
            for chunk in _chunks(list(values))
            for value, kind, holder in self._connection.execute(query.where(column.in_(chunk)))
        }

    def organizations_among(self, numbers: Collection[str]) -> set[str]:
        column = organizations.c.organization_number
        return {
            number
            for chunk in _chunks(list(numbers))
            for (number,) in self._connection.execute(select(column).where(column.in_(chunk)))
        }


def _fits(key: str, value: Any) -> bool:
    """Whether `value` can be a value of `key` at all: ids are ints a BIGINT holds, the rest
    strings. Anything else names nothing, and is not sent to the database."""
    if key in _NUMBER_KEYS:
        return type(value) is int and -_MAX_BIGINT <= value <= _MAX_BIGINT
    return isinstance(value, str)


def _one(make: Any, lookup: Any, query: Lookup, key: str, value: Any) -> Any:
    """`make(*row)` of the row `query` finds for `value`, or None."""
    if not _fits(key, value):
        return None
    rows = lookup(query, {"value": value})
    return make(*rows[0]) if rows else None


def _party(lookup: Any, key: str, value: Any) -> Person | Organization | None:
    """The person or organisation a party id or UUID names, or None."""
    rows = lookup(_PARTY_BY[key], {"value": value}) if _fits(key, value) else []
    if not rows:
        return None
    [(kind, identifier)] = rows
    if kind == PERSON:
        return _one(Person, lookup, _PERSON_BY["national_id"], "national_id", identifier)
    return _one(
        Organization,
        lookup,
        _ORGANIZATION_BY["organization_number"],
        "organization_number",
        identifier,
    )


def _replace_identities(connection: Connection, document: RegisterDocument) -> None:
    """Replace the party ids of the document's organisations, and its persons and system users
    with their identifiers (in the import's transaction, after its organisations)."""
    numbers = [entry["organization_number"] for entry in document.organizations]
    national_ids = [entry["national_id"] for entry in document.persons]
    uuids = [entry["uuid"] for entry in document.system_users]
    for kind, identifiers in ((ORGANIZATION, numbers), (PERSON, national_ids)):
        for chunk in _chunks(identifiers):
            connection.execute(
                delete(parties).where(parties.c.kind == kind, parties.c.identifier.in_(chunk))
            )
    for chunk in _chunks(national_ids):
        connection.execute(delete(persons).where(persons.c.national_id.in_(chunk)))
    for chunk in _chunks(uuids):
        connection.execute(delete(system_users).where(system_users.c.uuid.in_(chunk)))
    party_rows = [
        {
            "kind": kind,
            "identifier": entry[key],
            "party_id": entry.get(PARTY_ID),
            "party_uuid": entry.get(PARTY_UUID),
        }
        for kind, key, entries in (
            (ORGANIZATION, "organization_number", document.organizations),
            (PERSON, "national_id", document.persons),
        )
        for entry in entries
        if PARTY_ID in entry or PARTY_UUID in entry
    ]
    person_rows = [
        {
            "national_id": entry["national_id"],
            "name": entry.get("name"),
            "user_id": entry.get(USER_ID),
            "person_uuid": entry.get(PERSON_UUID),
        }
        for entry in document.persons
    ]
    system_user_rows = [
        {"uuid": entry["uuid"], "owner": entry["owner"], "name": entry.get("name")}
        for entry in document.system_users
    ]
    for table, rows in (
        (parties, party_rows),
        (persons, person_rows),
        (system_users, system_user_rows),
    ):
        for chunk in _chunks(rows):
            connection.execute(insert(table), chunk)


def _store(connection: Connection, document: RegisterDocument) -> ImportSummary:
    """Write a checked document (or a chunk of one) in the import's transaction: its
    organisations replace their names and forms, its persons and system users theirs; its
    role assignments are staged, to replace the organisations' roles at the end
    (`_replace_roles`)."""
    entries = document.organizations
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
    organization_rows = [
        {key: entry[key] for key in ("organization_number", "name", "org_form")}
        for entry in entries
    ]
    if connection.dialect.name == "postgresql":
        # psycopg's executemany sends a statement per row; COPY (of the organisations into a
        # staging table, to upsert them from there) is several times faster.
        connection.exec_driver_sql(f"TRUNCATE {_ORGANIZATIONS_STAGED.name}")
        copy_rows(connection, _ORGANIZATIONS_STAGED, organization_rows)
        connection.exec_driver_sql(_UPSERT_STAGED)
        copy_rows(connection, _ROLES_STAGED, role_rows)
    else:
        upsert = _UPSERT_ORGANIZATIONS[connection.dialect.name]
        for chunk in _chunks(organization_rows, _WRITE_CHUNK):
            connection.execute(upsert, chunk)
        for chunk in _chunks(role_rows, _WRITE_CHUNK):
            connection.execute(insert(_ROLES_STAGED), chunk)
    _replace_identities(connection, document)
    return ImportSummary(
        len(entries), len(role_rows), len(document.persons), len(document.system_users)
    )


def _replace_roles(connection: Connection, staged: int, rebuild_from: int) -> None:
    """Replace the roles of every organisation the import gave (the keys it has seen) by the
    `staged` role assignments, once every part is checked.

    Over the whole import at once, not a part at a time: the database deletes and inserts in
    bulk (a hash join, one sort), the staged rows in the order of the table's unique index so
    that its pages fill one after another. On PostgreSQL, where an import brings at least half
    as many rows as the table holds (a national register, whole), the table is rebuilt beside
    itself with the rows it keeps and the new ones (`pdp.table_swap`): inserting them one by
    one into its indexes, each checked against its organisation, took most of such an import.
    """
    imported = select(_SEEN.c.key).where(_SEEN.c.section == "organizations")
    if connection.dialect.name == "postgresql":
        # Temporary tables are never analysed by themselves: without statistics, and with
        # sequential scans still off, the plans for millions of rows would be poor. Memory
        # for the joins, sorts and index builds is the server's, for this transaction only.
        connection.exec_driver_sql(f"ANALYZE {_SEEN.name}, {_ROLES_STAGED.name}")
        for setting in _BULK_SETTINGS:
            connection.exec_driver_sql(f"SET LOCAL {setting}")
        if staged >= max(
            rebuild_from, _rows_estimated(connection, role_assignments) // 2
        ) and table_swap.possible(connection, role_assignments.name):
            table_swap.rebuilt(
                connection, role_assignments.name, lambda name: _fill(connection, name)
            )
            return
    connection.execute(
        delete(role_assignments).where(role_assignments.c.organization_number.in_(imported))
    )
    connection.execute(insert(role_assignments).from_select(_STAGED_COLUMNS, _STAGED_IN_ORDER))


def _fill(connection: Connection, name: str) -> None:
    """Fill the rebuilt role table `name`: the rows of organisations the import does not
    give, then the staged ones (see `_replace_roles`)."""
    target = table_clause(name, *(column(each.name) for each in role_assignments.c))
    imported = select(_SEEN.c.key).where(
        _SEEN.c.section == "organizations", _SEEN.c.key == role_assignments.c.organization_number
    )
    kept = select(role_assignments).where(~imported.exists())
    connection.execute(insert(target).from_select(list(role_assignments.c.keys()), kept))
    connection.execute(insert(target).from_select(_STAGED_COLUMNS, _STAGED_IN_ORDER))


def _rows_estimated(connection: Connection, of: Table) -> int:
    """The planner's estimate of the rows in `of` (PostgreSQL): 0 if it has none yet."""
    estimate = connection.exec_driver_sql(
        "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (of.name,)
    ).scalar_one()
    return max(int(estimate), 0)


def _upsert_organizations(dialect_insert: Any) -> Any:
    """Insert organisations, or give those present their new name and form (and keep the
    main unit Enhetsregisteret gave them)."""
    statement = dialect_insert(organizations)
    return statement.on_conflict_do_update(
        index_elements=[organizations.c.organization_number],
        set_={"name": statement.excluded.name, "org_form": statement.excluded.org_form},
    )


_UPSERT_ORGANIZATIONS = {"sqlite": _upsert_organizations(sqlite_insert)}
#: A part's organisations on their way in, on PostgreSQL (see `_store`).
_ORGANIZATIONS_STAGED = Table(
    "register_import_organizations",
    MetaData(),
    Column("organization_number", String(9)),
    Column("name", String(500)),
    Column("org_form", String(10)),
    prefixes=["TEMPORARY"],
)
_UPSERT_STAGED = (
    "INSERT INTO organizations (organization_number, name, org_form)"
    " SELECT organization_number, name, org_form FROM register_import_organizations"
    " ON CONFLICT (organization_number) DO UPDATE"
    " SET name = excluded.name, org_form = excluded.org_form"
)

#: The role assignments of an import's organisations on their way in (see `_replace_roles`).
_ROLES_STAGED = Table(
    "register_import_roles",
    MetaData(),
    *(Column(column.name, column.type) for column in role_assignments.c if column.name != "id"),
    prefixes=["TEMPORARY"],
)
_STAGED_COLUMNS = list(_ROLES_STAGED.c.keys())
#: In the order of the role table's unique index (see `_replace_roles`).
_STAGED_IN_ORDER = select(_ROLES_STAGED).order_by(*_ROLES_STAGED.c)

#: The keys of the entries an import has seen, with their positions: an entry given twice in
#: different chunks is found here.
_SEEN = Table(
    "register_import_seen",
    MetaData(),
    Column("section", String(20), primary_key=True),
    Column("key", String(36), primary_key=True),
    Column("position", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
#: The temporary tables an import works with, by dialect (dropped when it is done).
_STAGING = {
    "sqlite": (_SEEN, _ROLES_STAGED),
    "postgresql": (_SEEN, _ROLES_STAGED, _ORGANIZATIONS_STAGED),
}
#: Remember keys not seen yet; gives back those it added (not those seen before). On
#: PostgreSQL a part's keys and positions come as two arrays, in one statement.
_REMEMBER_SEEN = sqlite_insert(_SEEN).on_conflict_do_nothing().returning(_SEEN.c.key)
_REMEMBER_SEEN_ARRAYS = (
    f"INSERT INTO {_SEEN.name} (section, key, position)"
    " SELECT %s, key, position FROM unnest(%s::varchar[], %s::integer[]) AS part(key, position)"
    " ON CONFLICT DO NOTHING RETURNING key"
)
_SECTION_KEYS = {
    "organizations": "organization_number",
    "persons": "national_id",
    "system_users": "uuid",
}
#: The sections of a register document, in the order they are imported.
SECTIONS = tuple(_SECTION_KEYS)
_SECTION_PATH = re.compile(r"\b(organizations|persons|system_users)\[(\d+)\]")


def sections_of(document: Any) -> Iterator[tuple[str, Iterable[Any]]]:
    """A register document as its sections: organisations, persons, system users (each a list
    of entries); RegisterImportError if it is not an object of such lists."""
    problems = []
    if not isinstance(document, dict):
        problems.append(Problem("", "", "the register must be a JSON object"))
    else:
        problems += [
            Problem("", key, "unknown field") for key in document if key not in _SECTION_KEYS
        ]
        if "organizations" not in document:
            problems.append(Problem("", "organizations", "Missing data for required field"))
        problems += [
            Problem("", key, "Not a valid list")
            for key, value in document.items()
            if key in _SECTION_KEYS and not isinstance(value, list)
        ]
    if problems:
        raise RegisterImportError(problems)
    for section in _SECTION_KEYS:
        yield section, document.get(section, [])


def _parts(
    sections: Iterable[tuple[str, Iterable[Any]]], size: int
) -> Iterator[tuple[dict[str, int], dict[str, list[Any]]]]:
    """The document in parts of at most `size` entries, each a document of its own: (the
    position in the whole document of each section's first entry, the part)."""
    starts: dict[str, int] = {}
    part: dict[str, list[Any]] = {"organizations": []}
    count = 0
    for section, entries in sections:
        starts[section] = 0
        part[section] = []
        for position, entry in enumerate(entries, start=1):
            part[section].append(entry)
            count += 1
            if count == size:
                yield starts, part
                starts = {section: position}
                part = {"organizations": [], section: []}
                count = 0
    if count or not any(starts.values()):
        yield starts, part


def _seen_before(
    connection: Connection, section: str, start: int, batch: list[Any]
) -> list[Problem]:
    """Entries of `batch` whose key an entry of an earlier part has; the batch's keys are
    remembered. (Repeats within the batch are `check_document`'s.)"""
    key = _SECTION_KEYS[section]
    keys: dict[str, int] = {}
    for offset, entry in enumerate(batch):
        value = entry.get(key) if isinstance(entry, dict) else None
        if isinstance(value, str) and len(value) <= 36:
            keys.setdefault(value, start + offset)
    added = _remember(connection, section, keys)
    problems = []
    for chunk in _chunks([value for value in keys if value not in added]):
        found = connection.execute(
            select(_SEEN.c.key, _SEEN.c.position).where(
                _SEEN.c.section == section, _SEEN.c.key.in_(chunk)
            )
        )
        problems += [
            Problem(
                "",
                f"{section}[{keys[value]}].{key}",
                f"{value} already appears at {section}[{first}]",
            )
            for value, first in found
        ]
    return problems


def _remember(connection: Connection, section: str, keys: dict[str, int]) -> set[str]:
    """Remember the keys of `section` (with their positions); those not seen before."""
    if connection.dialect.name == "postgresql":
        # psycopg parses an executemany's long statements one by one, in Python: most of the
        # time this took, when it was one.
        parameters = (section, list(keys), list(keys.values()))
        return set(connection.exec_driver_sql(_REMEMBER_SEEN_ARRAYS, parameters).scalars())
    rows = [{"section": section, "key": value, "position": at} for value, at in keys.items()]
    added: set[str] = set()
    for chunk in _chunks(rows):
        added.update(connection.execute(_REMEMBER_SEEN, chunk).scalars())
    return added


def _rebased(problem: Problem, starts: dict[str, int]) -> Problem:
    """A problem of a part, its positions counted from the start of the whole document."""

    def shift(match: re.Match[str]) -> str:
        section, index = match.group(1), int(match.group(2))
        return f"{section}[{index + starts.get(section, 0)}]"

    return Problem(
        problem.file,
        _SECTION_PATH.sub(shift, problem.path),
        _SECTION_PATH.sub(shift, problem.problem),
    )


def _added(total: ImportSummary, more: ImportSummary) -> ImportSummary:
    return ImportSummary(
        total.organizations + more.organizations,
        total.role_assignments + more.role_assignments,
        total.persons + more.persons,
        total.system_users + more.system_users,
    )


def _chunks(items: list[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

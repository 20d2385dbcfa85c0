"""The database: one SQLAlchemy 2 schema for the policy repository and the register.

SQLite (the embedded default) and PostgreSQL run the same code. The tables are described here
once; `pdp.schema` makes them on an empty database and migrates older ones. Every write goes
through one transaction, so a failed publish or import leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Dialect

metadata = MetaData()

# --- policy repository ----------------------------------------------------------------------

#: Every published policy-set version; immutable once written.
policy_set_versions = Table(
    "policy_set_versions",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("author", String(200), nullable=False, default=""),
)

#: The compiled py-abac policies of each version, indexed by target for candidate look-up.
policies = Table(
    "policies",
    metadata,
    Column(
        "version",
        Integer,
        ForeignKey("policy_set_versions.number", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("uid", String(300), primary_key=True),
    Column("resource_id", String(300), nullable=False),
    Column("action_id", String(100), nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_policies_target", "version", "resource_id", "action_id"),
)

#: A single row naming the active version: exactly one version is active by construction.
active_policy_set = Table(
    "active_policy_set",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, ForeignKey("policy_set_versions.number"), nullable=False),
    Column("activated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("id = 1", name="ck_active_policy_set_single_row"),
)

#: A single row counting every write that can change a decision (publish, activation, register
#: import, delegation created or revoked); processes poll it to learn of writes made elsewhere.
change_counter = Table(
    "change_counter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("generation", Integer, nullable=False),
    CheckConstraint("id = 1", name="ck_change_counter_single_row"),
)

# --- register -------------------------------------------------------------------------------

organizations = Table(
    "organizations",
    metadata,
    Column("organization_number", String(9), primary_key=True),
    Column("name", String(500), nullable=False),
    Column("org_form", String(10), nullable=False),
    #: The main unit (hovedenhet) of a sub-unit or an organisasjonsledd, as Enhetsregisteret
    #: gives it (`overordnetEnhet`); not a foreign key: a main unit may be imported later.
    Column("parent_organization_number", String(9)),
)

#: ER role assignments: `holder_id` holds role `role_code` in `organization_number`.
role_assignments = Table(
    "role_assignments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "organization_number",
        String(9),
        ForeignKey("organizations.organization_number", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("role_code", String(10), nullable=False),
    Column("holder_kind", String(12), nullable=False),
    Column("holder_id", String(11), nullable=False),
    CheckConstraint(
        "holder_kind IN ('person', 'organization')", name="ck_role_assignments_holder_kind"
    ),
    UniqueConstraint("organization_number", "role_code", "holder_kind", "holder_id"),
    Index("ix_role_assignments_holder", "holder_id", "organization_number"),
)

#: Altinn's party id and party UUID of an organisation or a person (`kind`, `identifier`: its
#: organisation or national identity number). One table for both kinds, so that its unique
#: indexes keep a party id or UUID from naming two parties of different kinds.
parties = Table(
    "parties",
    metadata,
    Column("kind", String(12), primary_key=True),
    Column("identifier", String(11), primary_key=True),
    Column("party_id", BigInteger),
    Column("party_uuid", String(36)),
    CheckConstraint("kind IN ('person', 'organization')", name="ck_parties_kind"),
    CheckConstraint(
        "party_id IS NOT NULL OR party_uuid IS NOT NULL", name="ck_parties_some_identifier"
    ),
    Index("uq_parties_party_id", "party_id", unique=True),
    Index("uq_parties_party_uuid", "party_uuid", unique=True),
)

#: Persons the register knows by more than their national identity number: Altinn's user id
#: (a person with an Altinn profile) and person UUID. Their party ids are in `parties`.
persons = Table(
    "persons",
    metadata,
    Column("national_id", String(11), primary_key=True),
    Column("name", String(500)),
    Column("user_id", BigInteger),
    Column("person_uuid", String(36)),
    Index("uq_persons_user_id", "user_id", unique=True),
    Index("uq_persons_person_uuid", "person_uuid", unique=True),
)

#: System users: a vendor's system that organisation `owner` registered. No foreign key to
#: `organizations`: re-importing an organisation replaces its row, and must not take its
#: system users with it; the import checks that the owner is in the register.
system_users = Table(
    "system_users",
    metadata,
    Column("uuid", String(36), primary_key=True),
    Column("owner", String(9), nullable=False),
    Column("name", String(500)),
)


# --- delegations ----------------------------------------------------------------------------

#: Access packages given by a holder to someone else for the same party: a person, an
#: organisation, or a system user the party owns (`recipient_id` its UUID). Rows are never
#: deleted: a revocation records who and when, so the history stays.
delegations = Table(
    "delegations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("party", String(9), nullable=False),
    Column("package", String(300), nullable=False),
    Column("delegator", String(11), nullable=False),
    Column("recipient_kind", String(12), nullable=False),
    Column("recipient_id", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", String(11)),
    CheckConstraint(
        "recipient_kind IN ('person', 'organization', 'system_user')",
        name="ck_delegations_recipient_kind",
    ),
    # One active delegation of a package to a recipient for a party; concurrent creates race
    # on this index and exactly one wins.
    Index(
        "uq_delegations_active",
        "party",
        "package",
        "recipient_kind",
        "recipient_id",
        unique=True,
        sqlite_where=text("revoked_at IS NULL"),
        postgresql_where=text("revoked_at IS NULL"),
    ),
    Index("ix_delegations_recipient", "recipient_id", "party"),
    Index("ix_delegations_party", "party", "recipient_kind"),
)


class Lookup:
    """A SELECT on the decision path, compiled once per kind of database and run on a DBAPI
    cursor directly (see `looking_up`).

    A decision not made before reads a few rows by index; executing a SQLAlchemy statement
    costs several times what the database spends answering that (cache key, execution context,
    result objects, and the transaction a pooled connection begins and rolls back). For plain
    parameters only: no expanding IN lists, no type conversions.
    """

    def __init__(self, statement: Select[Any]):
        self._statement = statement
        self._compiled: dict[tuple[str, str], tuple[str, tuple[str, ...] | None, dict]] = {}

    def run(self, cursor: Any, dialect: Dialect, parameters: dict[str, Any]) -> list[tuple]:
        """The rows for `parameters` (by bind parameter name)."""
        key = (dialect.name, dialect.paramstyle)
        compiled = self._compiled.get(key)
        if compiled is None:
            statement = self._statement.compile(dialect=dialect)
            order = tuple(statement.positiontup) if statement.positional else None
            compiled = self._compiled[key] = (statement.string, order, dict(statement.params))
        sql, order, defaults = compiled
        values = defaults | parameters
        cursor.execute(sql, values if order is None else tuple(values[name] for name in order))
        return cursor.fetchall()


@contextmanager
def looking_up(engine: Engine) -> Iterator[Callable[[Lookup, dict[str, Any]], list[tuple]]]:
    """Run `Lookup`s on one pooled connection: `lookup(query, parameters)` gives its rows.

    No transaction is begun for them: each SELECT sees what was committed when it ran, as
    separate reads always did (PostgreSQL's implicit one ends when the connection goes back).
    """
    connection = engine.raw_connection()
    # On PostgreSQL, autocommit while looking up: psycopg would otherwise send BEGIN before
    # the first SELECT and the pool ROLLBACK after the last, two round trips each time.
    autocommit = engine.dialect.name == "postgresql"
    try:
        if autocommit:
            connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]
        cursor = connection.cursor()
        try:
            yield lambda query, parameters: query.run(cursor, engine.dialect, parameters)
        finally:
            cursor.close()
            if autocommit:
                connection.dbapi_connection.autocommit = False  # type: ignore[union-attr]
    finally:
        connection.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout for many workers."""
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
    return engine


def write_transaction(engine: Engine) -> AbstractContextManager[Connection]:
    """A transaction that reads and then writes: on SQLite it takes the write lock up front.

    A SQLite transaction that reads and only later writes cannot wait for another writer (its
    snapshot would be stale) and fails at once with "database is locked". Taking the lock when
    it begins makes such writers queue behind `busy_timeout` instead. Transactions whose first
    statement writes don't need this.
    """
    return engine.execution_options(**{_IMMEDIATE: True}).begin()


_IMMEDIATE = "pdp_sqlite_begin_immediate"


def copy_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """`rows` (dicts with the same keys) into `table` with PostgreSQL's COPY, in the
    connection's transaction: several times faster than psycopg's executemany, which sends a
    statement per row."""
    if not rows:
        return
    names = list(rows[0])
    cursor = connection.connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])


#: The PostgreSQL advisory lock every write to the register takes first ("pdpr").
REGISTER_LOCK = 0x70647072


@contextmanager
def register_write_transaction(engine: Engine) -> Iterator[Connection]:
    """`write_transaction` for a write to the register (organisations, their roles): one at a
    time. On SQLite the write lock taken up front does that; on PostgreSQL a transaction-level
    advisory lock. Two imports writing organisations and then roles, each waiting on the
    other's locks, would otherwise deadlock and one of them fail after all its work (a large
    import locks the role table against writers before it swaps it: `pdp.table_swap`)."""
    with write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (REGISTER_LOCK,))
        yield connection


def _configure_sqlite(dbapi_connection, _record) -> None:
    # Transactions are begun by `_begin_sqlite`, not implicitly by the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored time in UTC: SQLite hands it back without a zone, PostgreSQL in the session's."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

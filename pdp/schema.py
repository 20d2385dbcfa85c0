"""The database's schema as this pdp needs it: made on an empty database, upgraded by migrations,
checked at every start.

The tables are described once, in `pdp.db`; how a database made by an earlier release becomes
today's is told by the Alembic migrations shipped in `pdp/migrations/versions/`, one revision a
schema change, numbered in order. The revision a database is at is kept in its
`pdp_schema_version` table.

- `prepare` (every process at start, through `Pdp.from_settings`): an empty database gets the
  current schema; a database at the head revision is used as it is; any other is refused with
  `SchemaNotCurrent`, which names the command to run. A process never runs on a schema it does
  not know, and never changes one that holds data behind an operator's back.
- `upgrade` (`pdp db upgrade`, `pdp init`): an empty database gets the current schema; any other
  runs the migrations it has not had, all of them in one transaction.

An empty database is given the current schema in one way: `metadata.create_all` and stamped at
the head revision (faster than replaying history; `tests/test_schema.py` holds the migrations'
head equal to `pdp.db.metadata` on SQLite and PostgreSQL, so the two cannot drift). A database
made by a pdp from before migrations (tables, no version table) is taken to be at the first
revision, the schema of that release.

Creating and upgrading hold a lock for their whole transaction (PostgreSQL: an advisory lock;
SQLite: the write lock), so that workers starting together on an empty database, or two
operators upgrading at once, do the work once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, insert, inspect, text

from pdp.db import change_counter, metadata, write_transaction
from pdp.errors import PdpError

#: The table holding the revision a database is at (Alembic's version table, named for pdp so
#: that it cannot meet another application's in a shared database).
VERSION_TABLE = "pdp_schema_version"
#: Where the migrations are: inside the package, so an installed pdp can run them.
MIGRATIONS = Path(__file__).with_name("migrations")
#: The revision of the last release made before migrations: where an unversioned database is.
BASELINE = "0001"
#: The command that upgrades a database, as the refusals name it.
UPGRADE_COMMAND = "pdp db upgrade"

# PostgreSQL advisory lock key of schema changes: "pdpschem" as a 64-bit number.
_LOCK_KEY = int.from_bytes(b"pdpschem", "big") - (1 << 63)


class SchemaNotCurrent(PdpError):
    """The database's schema is not the one this pdp needs; the message says what to run."""


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` did: the revision before (None: the database was empty) and after."""

    before: str | None
    after: str
    #: The database had no version table: it was made by a pdp from before migrations.
    unversioned: bool = False

    @property
    def changed(self) -> bool:
        """Whether the schema was made or migrated (else it was current already)."""
        return self.before != self.after or self.unversioned


def head() -> str:
    """The revision this pdp's schema is at: the last migration."""
    try:
        return _scripts().get_current_head()
    except CommandError as error:  # two migrations claim the same predecessor
        raise PdpError(f"pdp's migrations do not form one line: {error}") from None


def prepare(engine: Engine) -> None:
    """Make sure this process may use the database: give an empty one the current schema;
    SchemaNotCurrent, naming the command to run, if it is behind (or ahead of) this pdp."""
    with engine.connect() as connection:
        found = _found(connection)
    if found is None:
        with _locked(engine) as connection:
            if (found := _found(connection)) is None:
                _create(connection)
                return
    revision, _ = found
    if revision != head():
        raise SchemaNotCurrent(_refusal(revision, engine))


def upgrade(engine: Engine) -> Upgrade:
    """Bring the database to the current schema, all or nothing; repeating it does nothing."""
    with _locked(engine) as connection:
        found = _found(connection)
        if found is None:
            _create(connection)
            return Upgrade(None, head())
        revision, versioned = found
        if not _known(revision):
            raise SchemaNotCurrent(_refusal(revision, engine))
        config = alembic_config(connection)
        if not versioned:
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")
        return Upgrade(revision, head(), unversioned=not versioned)


def _found(connection: Connection) -> tuple[str, bool] | None:
    """The revision the database is at and whether it says so itself (else it was made before
    migrations, at `BASELINE`); None for a database without pdp's tables."""
    tables = set(inspect(connection).get_table_names())
    if VERSION_TABLE in tables:
        revision = _context(connection).get_current_revision()
        if revision is not None:
            return revision, True
    if tables & set(metadata.tables):
        return BASELINE, False
    return None


def _create(connection: Connection) -> None:
    """The current schema on an empty database, with its single change-counter row, stamped at
    the head revision."""
    metadata.create_all(connection)
    connection.execute(insert(change_counter).values(id=1, generation=0))
    _context(connection).stamp(_scripts(), "head")


def _refusal(revision: str, engine: Engine) -> str:
    where = engine.url.render_as_string(hide_password=True)
    if _known(revision):
        return (
            f"the database schema at {where} is at revision {revision}, and this pdp needs "
            f"{head()}: stop the servers using it, back it up, run `{UPGRADE_COMMAND}` "
            "(with the same PDP_DATABASE_URL), then start them"
        )
    return (
        f"the database schema at {where} is at revision {revision}, which this pdp (at "
        f"{head()}) does not know: a newer pdp upgraded it; run that version"
    )


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the schema lock until it ends."""
    with write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        yield connection


def _context(connection: Connection) -> MigrationContext:
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})


def alembic_config(connection: Connection) -> Config:
    """Alembic's configuration for running pdp's migrations on `connection`, in the transaction
    it is in (see `migrations/env.py`): for `alembic.command` functions."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))

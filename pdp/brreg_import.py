"""Importing Enhetsregisteret's bulk files into the register: all or nothing, in bounded memory.

The files are read one entity at a time (`pdp.brreg`), checked, and written in batches to a
temporary staging table inside the import's one transaction; nothing but a batch is held in
memory, whatever the size of the files. When every file has been read without a problem, the
staged entities are checked as a whole (no organisation number twice) and applied with a few
set-based statements, then the transaction commits and the change is announced. Any problem
rolls everything back, the staging table with it.

What an import does to the register:
- an entity not in the register is added (number, name, organisation form, main unit);
- an entity already there gets Enhetsregisteret's name, form and main unit; its roles, party
  ids and system users stay (roles come from the PDP's own register format);
- a deleted entity (`slettedato`) is removed, with the roles held in it and by it and its party
  ids: a deleted organisation is no party to act for, and no role holder;
- an entity of an organisation form the active policy set does not know is skipped and counted
  (by form), not imported: the register holds known forms only;
- organisations in the register that the files do not name are left as they are.

On PostgreSQL the staging rows go in with `COPY`; on SQLite with batched `executemany`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import Column, Connection, Engine, Integer, MetaData, String, Table, insert, text

from pdp.brreg import Entity, EntityFile
from pdp.changes import ChangeLog
from pdp.db import register_write_transaction
from pdp.errors import Problem, RegisterImportError
from pdp.identifiers import IdentifierRules
from pdp.progress import Progress

#: Staged rows per write: large enough that per-statement costs vanish, small enough that a
#: batch stays a few megabytes.
BATCH = 5_000
#: At most this many problems are listed; the rest are counted.
MAX_PROBLEMS = 100

_staging = Table(
    "brreg_staging",
    MetaData(),
    Column("organization_number", String(9), nullable=False),
    Column("name", String(500), nullable=False),
    Column("org_form", String(10), nullable=False),
    Column("parent", String(9)),
    Column("deleted", Integer, nullable=False),
    Column("file", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
_COLUMNS = [column.name for column in _staging.columns]


@dataclass
class BrregSummary:
    """What an import read and did."""

    read: int = 0
    added: int = 0
    updated: int = 0
    #: Deleted entities that were in the register, and are no longer.
    removed: int = 0
    #: Deleted entities that were not in the register either.
    deleted_absent: int = 0
    #: Entities skipped for an organisation form the active policy set does not know.
    unknown_forms: Counter[str] = field(default_factory=Counter)


@dataclass
class _Problems:
    """The problems found, the first `MAX_PROBLEMS` kept."""

    listed: list[Problem] = field(default_factory=list)
    count: int = 0

    def add(self, problem: Problem) -> None:
        self.count += 1
        if len(self.listed) < MAX_PROBLEMS:
            self.listed.append(problem)

    def raise_any(self) -> None:
        if not self.count:
            return
        more = self.count - len(self.listed)
        tail = [Problem("", "", f"... and {more:,} more problems")] if more else []
        raise RegisterImportError([*self.listed, *tail, _NOTHING_IMPORTED])


_NOTHING_IMPORTED = Problem("", "", "nothing was imported")


def import_files(
    engine: Engine,
    changes: ChangeLog,
    files: list[EntityFile],
    known_forms: frozenset[str],
    rules: IdentifierRules,
    progress: Progress,
) -> BrregSummary:
    """Import `files` in one transaction (see the module's docstring); RegisterImportError
    naming the problems (by file and position) and importing nothing otherwise."""
    summary, problems = BrregSummary(), _Problems()
    with changes.writing(lambda: register_write_transaction(engine)) as connection:
        _prepare(connection)
        for index, entity_file in enumerate(files):
            read_before = summary.read
            rows = _rows(entity_file, index, known_forms, rules, summary, problems, progress)
            _stage(connection, rows)
            progress.finish(f"{summary.read - read_before:,} entities read")
        problems.raise_any()
        progress.start("checking and storing", None, unit="")
        for problem in _repeated(connection, files):
            problems.add(problem)
        problems.raise_any()
        _apply(connection, summary)
        _staging.drop(connection)
        progress.finish(
            f"{summary.added:,} added, {summary.updated:,} updated, {summary.removed:,} removed"
        )
    return summary


def _prepare(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # Sorting the staged rows for the upsert spills to disk beyond this (64 MiB).
        connection.exec_driver_sql("PRAGMA cache_size = -65536")
    _staging.create(connection)


def _rows(
    entity_file: EntityFile,
    file_index: int,
    known_forms: frozenset[str],
    rules: IdentifierRules,
    summary: BrregSummary,
    problems: _Problems,
    progress: Progress,
) -> Iterator[tuple[Any, ...]]:
    """The staging rows of one file's entities that are known and fine; problems and
    unknown forms are counted on the way."""
    progress.start(f"reading {entity_file.name}", entity_file.size)
    read_before = summary.read
    for position, raw in entity_file.entities(
        lambda done: progress.advance_to(done, summary.read - read_before)
    ):
        summary.read += 1
        entity = Entity.read(raw, rules)
        if not isinstance(entity, Entity):
            for where, what in entity:
                problems.add(entity_file.problem(position, where, what))
            continue
        if entity.org_form not in known_forms:
            summary.unknown_forms[entity.org_form] += 1
            continue
        if problems.count:
            continue  # nothing will be stored: only look for more problems
        yield (
            entity.organization_number,
            entity.name,
            entity.org_form,
            entity.parent,
            int(entity.deleted),
            file_index,
            position,
        )


def _stage(connection: Connection, rows: Iterable[tuple[Any, ...]]) -> None:
    """Write the rows to the staging table, a batch at a time."""
    iterator = iter(rows)
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.cursor()
        with cursor.copy(f"COPY brreg_staging ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for row in iterator:
                copy.write_row(row)
        return
    statement = insert(_staging)
    while batch := list(islice(iterator, BATCH)):
        connection.execute(statement, [dict(zip(_COLUMNS, row, strict=True)) for row in batch])


def _repeated(connection: Connection, files: list[EntityFile]) -> Iterator[Problem]:
    """An organisation number given twice (in one file or across them) is a broken download."""
    rows = connection.execute(
        text(
            "SELECT s.organization_number, s.file, s.position FROM brreg_staging s"
            " JOIN (SELECT organization_number FROM brreg_staging GROUP BY organization_number"
            "       HAVING count(*) > 1 LIMIT :most) d"
            " ON d.organization_number = s.organization_number"
            " ORDER BY s.organization_number, s.file, s.position"
        ),
        {"most": MAX_PROBLEMS},
    )
    first: dict[str, str] = {}
    for number, file_index, position in rows:
        where = f"{files[file_index].name}[{position}]"
        if number in first:
            yield Problem(
                files[file_index].name,
                f"[{position}].organisasjonsnummer",
                f"{number} already appears at {first[number]}",
            )
        else:
            first[number] = where


_DELETED = "SELECT organization_number FROM brreg_staging WHERE deleted = 1"


def _apply(connection: Connection, summary: BrregSummary) -> None:
    """Remove the deleted entities, then add or update the others, from the staging table."""
    run = connection.exec_driver_sql
    run("CREATE INDEX ix_brreg_staging_number ON brreg_staging (organization_number)")
    staged_deleted = run("SELECT count(*) FROM brreg_staging WHERE deleted = 1").scalar_one()
    run(f"DELETE FROM role_assignments WHERE organization_number IN ({_DELETED})")
    run(
        "DELETE FROM role_assignments WHERE holder_kind = 'organization'"
        f" AND holder_id IN ({_DELETED})"
    )
    run(f"DELETE FROM parties WHERE kind = 'organization' AND identifier IN ({_DELETED})")
    summary.removed = run(
        f"DELETE FROM organizations WHERE organization_number IN ({_DELETED})"
    ).rowcount
    summary.deleted_absent = staged_deleted - summary.removed
    summary.updated = run(
        "SELECT count(*) FROM brreg_staging s JOIN organizations o"
        " ON o.organization_number = s.organization_number WHERE s.deleted = 0"
    ).scalar_one()
    live = run("SELECT count(*) FROM brreg_staging WHERE deleted = 0").scalar_one()
    summary.added = live - summary.updated
    # In number order, so the primary key's index grows at its end rather than everywhere.
    run(
        "INSERT INTO organizations"
        " (organization_number, name, org_form, parent_organization_number)"
        " SELECT organization_number, name, org_form, parent FROM brreg_staging"
        " WHERE deleted = 0 ORDER BY organization_number"
        " ON CONFLICT (organization_number) DO UPDATE SET name = excluded.name,"
        " org_form = excluded.org_form,"
        " parent_organization_number = excluded.parent_organization_number"
    )

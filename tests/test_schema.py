"""The database's schema: made on an empty database, upgraded from the released one with every
row intact, refused at start when it is behind, and the migrations' head equal to the models.
(`tests/released.py` makes a released database.)"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, event, inspect, select, text

from pdp import schema
from pdp.db import make_engine, metadata
from pdp.delegations import DelegationExists, DelegationStore
from pdp.engine import DecisionRequest
from pdp.service import Pdp
from pdp.subjects import PERSON, SYSTEM_USER, Subject
from pdp.vocabulary import ACCESS, NOT_APPLICABLE, PERMIT
from tests.helpers import open_settings
from tests.released import (
    EVENTS,
    Released,
    migrate,
    released_database,
    started_between_releases,
)

API = "urn:altinn:accesspackage:programmeringsgrensesnitt"


@pytest.fixture
def bare(database_url: str):
    """An engine on an empty database: no schema made."""
    database = make_engine(database_url)
    yield database
    database.dispose()


def revision_of(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": schema.VERSION_TABLE}
        )
        return context.get_current_revision()


def rows_of(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every pdp table, in primary-key order, by column name."""
    reflected = MetaData()
    reflected.reflect(engine)
    with engine.connect() as connection:
        return {
            name: [
                dict(row._mapping)
                for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for name, table in reflected.tables.items()
            if name != schema.VERSION_TABLE
        }


def as_before(
    after: dict[str, list[dict[str, Any]]], before: dict[str, list[dict[str, Any]]]
) -> dict[str, list[dict[str, Any]]]:
    """`after`'s rows of the tables `before` has, in the columns they had there; a column a
    migration added must be empty (None) in every row that was there before it."""
    kept = {}
    for name, rows in before.items():
        columns = set(rows[0]) if rows else set()
        kept[name] = [{c: v for c, v in row.items() if c in columns} for row in after[name]]
        for row in after[name] if rows else ():
            assert all(v is None for c, v in row.items() if c not in columns), (name, row)
    return kept


# --- the migrations ---------------------------------------------------------------------------


def test_the_migrations_form_one_numbered_line():
    """One head, each revision numbered one after its predecessor, in a file named by it:
    two branches that each added a migration are caught here, not in production."""
    scripts = ScriptDirectory(str(schema.MIGRATIONS))
    assert scripts.get_heads() == [schema.head()]
    revisions = list(reversed(list(scripts.walk_revisions())))
    assert [revision.revision for revision in revisions] == [
        f"{number:04d}" for number in range(1, len(revisions) + 1)
    ]
    assert revisions[0].revision == schema.BASELINE
    for revision in revisions:
        assert re.fullmatch(
            rf"{revision.revision}_[a-z0-9_]+\.py", revision.module.__file__.split("/")[-1]
        )


def test_the_migrations_end_at_the_models(bare):
    """Replaying every migration on an empty database gives exactly the tables, columns,
    indexes and constraints `pdp.db` describes, which is what an empty database is given
    directly: the two cannot drift apart."""
    migrate(bare, "head")
    with bare.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": schema.VERSION_TABLE, "compare_type": True}
        )
        assert compare_metadata(context, metadata) == []
    assert revision_of(bare) == schema.head()


def test_an_empty_database_is_given_the_current_schema_and_its_revision(bare):
    schema.prepare(bare)
    assert revision_of(bare) == schema.head()
    assert set(metadata.tables) <= set(inspect(bare).get_table_names())
    with bare.connect() as connection:
        assert connection.execute(text("SELECT id, generation FROM change_counter")).all() == [
            (1, 0)
        ]


def test_workers_starting_together_on_an_empty_database_make_the_schema_once(database_url):
    """Eight processes' worth of engines prepare one empty database at the same moment."""
    engines = [make_engine(database_url) for _ in range(8)]
    barrier = threading.Barrier(len(engines))
    failures: list[BaseException] = []

    def start(engine: Engine) -> None:
        barrier.wait()
        try:
            schema.prepare(engine)
        except BaseException as error:  # the test reports what any of them raised
            failures.append(error)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert failures == []
        with engines[0].connect() as connection:
            assert connection.execute(text("SELECT id FROM change_counter")).all() == [(1,)]
            assert connection.execute(
                text(f"SELECT version_num FROM {schema.VERSION_TABLE}")
            ).all() == [(schema.head(),)]
    finally:
        for engine in engines:
            engine.dispose()


# --- upgrading a released database ----------------------------------------------------------


@pytest.mark.parametrize(
    "history", ["released", "started between releases", "made just before migrations"]
)
def test_a_released_database_keeps_every_row_through_the_upgrade(bare, catalog, history):
    """The released database; the same after a pdp of between the releases started on it; and
    one that the last pdp without migrations made (today's tables, no version table)."""
    facts = Released()
    released_database(
        bare, catalog, facts, just_before_migrations=history == "made just before migrations"
    )
    if history == "started between releases":
        started_between_releases(bare)
    before = rows_of(bare)
    assert all(before[name] for name in ("policies", "role_assignments", "delegations"))

    assert schema.upgrade(bare) == schema.Upgrade(schema.BASELINE, schema.head(), True)

    after = rows_of(bare)
    assert as_before(after, before) == before
    assert revision_of(bare) == schema.head()
    assert schema.upgrade(bare) == schema.Upgrade(schema.head(), schema.head())


def test_an_upgraded_database_decides_on_its_old_rows_and_takes_system_users(
    bare, database_url, catalog
):
    facts = Released()
    released_database(bare, catalog, facts)
    schema.upgrade(bare)
    pdp = Pdp.from_settings(open_settings(database_url, policy_refresh_seconds=0))
    try:
        decisions = pdp.decide(
            [
                DecisionRequest(Subject(PERSON, who), facts.party, EVENTS, ACCESS)
                for who in (facts.manager, facts.delegate, facts.former_delegate)
            ]
        )
        assert [result.decision for result in decisions] == [PERMIT, PERMIT, NOT_APPLICABLE]
        machine = str(uuid.uuid4())
        pdp.import_register(
            {
                "organizations": [
                    {
                        "organization_number": facts.party,
                        "name": "ØRSTA AS",
                        "org_form": "AS",
                        "roles": [{"code": "DAGL", "person": facts.manager}],
                    }
                ],
                "system_users": [{"uuid": machine, "owner": facts.party}],
            }
        )
        robot = Subject(SYSTEM_USER, machine)
        pdp.delegate(facts.party, API, Subject(PERSON, facts.manager), robot)
        (decision,) = pdp.decide([DecisionRequest(robot, facts.party, API, ACCESS)])
        assert decision.decision == PERMIT
        # The one-active-delegation index came through the rebuild of the table.
        with pytest.raises(DelegationExists):
            DelegationStore(bare, pdp.changes).add(facts.party, API, facts.manager, robot)
    finally:
        pdp.close()


def test_an_upgrade_that_fails_midway_leaves_the_database_as_it_was(bare, catalog):
    """All or nothing: the tables made before the failure are gone again, the rows are there."""
    released_database(bare, catalog, Released())
    before = rows_of(bare)

    def fail_at_the_delegations(_conn, _cursor, statement, *_args) -> None:
        if "system_user" in statement:
            raise RuntimeError("the disk is full")

    event.listen(bare, "before_cursor_execute", fail_at_the_delegations)
    try:
        with pytest.raises(RuntimeError, match="disk is full"):
            schema.upgrade(bare)
    finally:
        event.remove(bare, "before_cursor_execute", fail_at_the_delegations)
    assert rows_of(bare) == before
    assert not {"parties", schema.VERSION_TABLE} & set(inspect(bare).get_table_names())


# --- refusing a schema this pdp does not know -----------------------------------------------


def test_a_process_refuses_a_database_behind_and_names_the_command(bare, catalog):
    released_database(bare, catalog, Released())
    with pytest.raises(schema.SchemaNotCurrent, match="run `pdp db upgrade`"):
        schema.prepare(bare)
    assert "parties" not in inspect(bare).get_table_names()  # refused, not changed


def test_a_database_upgraded_by_a_newer_pdp_is_refused_not_downgraded(bare):
    schema.prepare(bare)
    with bare.begin() as connection:
        connection.execute(text(f"UPDATE {schema.VERSION_TABLE} SET version_num = '9999'"))
    for use in (schema.prepare, schema.upgrade):
        with pytest.raises(schema.SchemaNotCurrent, match=r"revision 9999.*newer pdp"):
            use(bare)

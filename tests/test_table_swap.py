"""Rebuilding a PostgreSQL table beside itself: the new table is the old one's in all but its
rows, and nothing of it is left if the transaction fails."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from pdp.table_swap import possible, rebuilt

#: What the catalog says of a table, by name: constraints, indexes, privileges, sequences.
_DESCRIPTION = (
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE conrelid = 'role_assignments'::regclass ORDER BY 1",
    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'role_assignments' ORDER BY 1",
    "SELECT privilege_type, grantee FROM aclexplode("
    "(SELECT relacl FROM pg_class WHERE relname = 'role_assignments')) ORDER BY 1, 2",
    "SELECT pg_get_serial_sequence('role_assignments', 'id')",
)


@pytest.fixture
def postgresql(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL table")
    with engine.begin() as connection:
        connection.exec_driver_sql("GRANT SELECT ON role_assignments TO PUBLIC")
        connection.exec_driver_sql(
            "INSERT INTO organizations (organization_number, name, org_form)"
            " VALUES ('910459880', 'X AS', 'AS')"
        )
        connection.exec_driver_sql(
            "INSERT INTO role_assignments (organization_number, role_code, holder_kind,"
            " holder_id) VALUES ('910459880', 'DAGL', 'person', '02056260016')"
        )
    return engine


def described(connection: Connection) -> list[list[tuple]]:
    return [[tuple(row) for row in connection.exec_driver_sql(query)] for query in _DESCRIPTION]


def copy_of_old(connection: Connection):
    def fill(name: str) -> None:
        connection.exec_driver_sql(f"INSERT INTO {name} SELECT * FROM role_assignments")

    return fill


def test_the_rebuilt_table_has_the_old_ones_definition_names_and_privileges(postgresql):
    with postgresql.begin() as connection:
        before = described(connection)
        rebuilt(connection, "role_assignments", copy_of_old(connection))
        assert described(connection) == before
    with postgresql.begin() as connection:
        assert described(connection) == before
        # Its ids go on from the old table's sequence; its constraints hold.
        connection.exec_driver_sql(
            "INSERT INTO role_assignments (organization_number, role_code, holder_kind,"
            " holder_id) VALUES ('910459880', 'LEDE', 'person', '02056260016')"
        )
        ids = connection.exec_driver_sql("SELECT id FROM role_assignments ORDER BY id").scalars()
        assert list(ids) == [1, 2]
        connection.exec_driver_sql("DELETE FROM organizations")
        count = connection.exec_driver_sql("SELECT count(*) FROM role_assignments").scalar()
        assert count == 0


def test_a_failed_rebuild_leaves_the_old_table(postgresql):
    with postgresql.connect() as connection:
        before = described(connection)

    def fill(name: str) -> None:
        connection.exec_driver_sql(f"INSERT INTO {name} (id) VALUES (1)")  # NOT NULL fails

    with pytest.raises(IntegrityError, match="null value"), postgresql.begin() as connection:
        rebuilt(connection, "role_assignments", fill)
    with postgresql.connect() as connection:
        assert described(connection) == before
        assert connection.exec_driver_sql("SELECT count(*) FROM role_assignments").scalar() == 1


def test_while_it_is_rebuilt_readers_read_the_old_table_and_writers_wait(postgresql):
    seen = {}

    def fill(name: str) -> None:
        with postgresql.connect() as other:
            seen["read"] = other.exec_driver_sql("SELECT count(*) FROM role_assignments").scalar()
            other.exec_driver_sql("SET lock_timeout = '200ms'")
            with pytest.raises(OperationalError, match="lock timeout"):
                other.exec_driver_sql("DELETE FROM role_assignments")
        copy_of_old(connection)(name)

    with postgresql.begin() as connection:
        rebuilt(connection, "role_assignments", fill)
    assert seen == {"read": 1}


def test_only_a_role_that_may_create_tables_and_owns_the_table_may_rebuild_it(postgresql):
    rows_only = f"pdp_rows_only_{uuid.uuid4().hex[:12]}"
    with postgresql.begin() as connection:
        assert possible(connection, "role_assignments")
        connection.exec_driver_sql(f"CREATE ROLE {rows_only}")
        connection.exec_driver_sql(
            f"GRANT SELECT, INSERT, DELETE ON role_assignments TO {rows_only}"
        )
        connection.exec_driver_sql(f"SET LOCAL ROLE {rows_only}")
        assert not possible(connection, "role_assignments")
        connection.exec_driver_sql("RESET ROLE")
        connection.exec_driver_sql(f"REVOKE ALL ON role_assignments FROM {rows_only}")
        connection.exec_driver_sql(f"DROP ROLE {rows_only}")


@pytest.mark.parametrize(
    ("dependent", "dropped"),
    [
        ("CREATE VIEW held AS SELECT * FROM role_assignments", "DROP VIEW held"),
        (
            "CREATE MATERIALIZED VIEW held AS SELECT count(*) FROM role_assignments",
            "DROP MATERIALIZED VIEW held",
        ),
        (
            "CREATE TABLE role_notes (role_id BIGINT REFERENCES role_assignments (id))",
            "DROP TABLE role_notes",
        ),
        (
            "ALTER TABLE role_assignments ADD COLUMN parent BIGINT"
            " CONSTRAINT role_parent REFERENCES role_assignments (id)",
            "ALTER TABLE role_assignments DROP COLUMN parent",
        ),
        (
            "CREATE FUNCTION all_roles() RETURNS SETOF role_assignments LANGUAGE sql"
            " AS 'SELECT * FROM role_assignments'",
            "DROP FUNCTION all_roles()",
        ),
        (
            "CREATE TABLE role_copies (copy role_assignments)",
            "DROP TABLE role_copies",
        ),
    ],
)
def test_a_table_another_object_depends_on_is_not_rebuilt(postgresql, dependent, dropped):
    """Dropping the old table would fail at the very end of an import: it writes in place.
    (A foreign key of the table to itself counts: the rebuilt one would still name the old
    table.)"""
    with postgresql.begin() as connection:
        connection.exec_driver_sql(dependent)
        assert not possible(connection, "role_assignments")
        connection.exec_driver_sql(dropped)
        assert possible(connection, "role_assignments")

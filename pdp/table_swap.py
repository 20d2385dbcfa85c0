"""Rebuild a PostgreSQL table beside itself and swap it in, within the caller's transaction.

Inserting millions of rows into a table with indexes and a foreign key costs a B-tree descent
per index and a foreign-key check (a row lock on the referenced row) per row. Building a new
table without them, then its indexes in one sort each and its foreign keys in one join, is
several times faster. Dropping the indexes of the table in place would save the same, but
lock out every reader (a decision reading roles) from the drop until the commit; here readers
keep reading the old table until the swap, just before the commit. The swap drops the old
table, which locks it and the tables its foreign keys reference (`organizations`) until the
commit, milliseconds later; the drop first waits for transactions already reading them, and
readers arriving meanwhile wait behind it. Writers to the table wait for the commit from the
start, so that none writes to the old table what the new one would not have.

The new table has the old one's columns, defaults, checks, indexes, constraints (under the same
names), owner and privileges, read from the catalog, so what the migrations and the operators
made is what remains. Not carried over, since pdp makes none: triggers, row security
policies, comments, tablespaces and storage options, column privileges, extended statistics,
publications. A role that may not create tables or does not own the table cannot rebuild it,
nor can a table that other objects depend on (a view, a function or a column using it or its
row type, a foreign key to it, its own included: the old table could not be dropped, and the
import would fail at its very end); such imports write in place (`possible`).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

#: The kinds of constraint carried over by definition (primary key, unique, foreign key);
#: checks and NOT NULL come with the table's definition.
_CARRIED = "('p', 'u', 'f')"


def possible(connection: Connection, table: str) -> bool:
    """Whether `table` can be rebuilt by this connection's role: the role may create tables in
    its schema and is a member of its owner's role (to drop it, and give the new one that
    owner), and nothing depends on the table or its row type but its own checks, indexes,
    sequence and foreign keys to other tables (not a view, a materialized view, a function
    with a SQL body or a row-typed signature, a column of its row type, a foreign key to it,
    its own included), since dropping it would fail. Objects the rebuild would not carry over
    and that depend on the table (its row security policies, a trigger's condition) keep it
    in place too. An application role that may only read and write rows may not rebuild it,
    and a table a report's view reads is not rebuilt: their imports write in place."""
    return bool(
        connection.exec_driver_sql(
            "SELECT pg_has_role(relowner, 'MEMBER') AND has_schema_privilege(relnamespace,"
            " 'CREATE') AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.deptype = 'n'"
            "  AND ((d.refclassid = 'pg_class'::regclass AND d.refobjid = pg_class.oid)"
            "   OR (d.refclassid = 'pg_type'::regclass AND d.refobjid = pg_class.reltype))"
            "  AND NOT (d.classid = 'pg_constraint'::regclass AND EXISTS (SELECT 1"
            "   FROM pg_constraint c WHERE c.oid = d.objid AND c.conrelid = pg_class.oid"
            "   AND c.contype <> 'f')))"
            f" FROM pg_class WHERE oid = '{table}'::regclass"
        ).scalar_one()
    )


def rebuilt(connection: Connection, table: str, fill: Callable[[str], None]) -> None:
    """Replace `table` by a new table of the same definition that `fill` fills (it is given
    the new table's name), in the connection's transaction: all or nothing with the rest."""
    new = f"{table}_rebuilt"
    # Writers wait from here to the commit (readers go on): a row written to the old table
    # after `fill` read it would be lost with it.
    connection.exec_driver_sql(f"LOCK TABLE {table} IN SHARE MODE")
    constraints = connection.exec_driver_sql(
        "SELECT quote_ident(conname), contype, pg_get_constraintdef(oid) FROM pg_constraint"
        f" WHERE conrelid = '{table}'::regclass AND contype IN {_CARRIED} ORDER BY conname"
    ).all()
    indexes = connection.exec_driver_sql(
        "SELECT quote_ident(c.relname), pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid"
        f" WHERE i.indrelid = '{table}'::regclass AND NOT EXISTS"
        " (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
        " ORDER BY c.relname"
    ).all()
    sequences = connection.exec_driver_sql(
        "SELECT a.attname, pg_get_serial_sequence(%s, a.attname) FROM pg_attribute a"
        f" WHERE a.attrelid = '{table}'::regclass AND a.attnum > 0 AND NOT a.attisdropped"
        " AND pg_get_serial_sequence(%s, a.attname) IS NOT NULL",
        (table, table),
    ).all()
    grants = connection.exec_driver_sql(
        "SELECT privilege_type, CASE WHEN grantee = 0 THEN 'PUBLIC'"
        " ELSE quote_ident(pg_get_userbyid(grantee)) END,"
        " CASE WHEN is_grantable THEN ' WITH GRANT OPTION' ELSE '' END"
        f" FROM aclexplode((SELECT relacl FROM pg_class WHERE oid = '{table}'::regclass))"
    ).all()
    owner = connection.exec_driver_sql(
        "SELECT quote_ident(pg_get_userbyid(relowner)) FROM pg_class"
        f" WHERE oid = '{table}'::regclass"
    ).scalar_one()
    run = connection.exec_driver_sql
    run(f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    run(f"ALTER TABLE {new} OWNER TO {owner}")  # the old table's owner, not the importer
    fill(new)
    # Index-backed constraints and indexes are built under temporary names (an index's name
    # is unique in the schema) and renamed once the old table, with its names, is gone.
    renames = []
    for position, (name, kind, definition) in enumerate(constraints):
        if kind == "f":  # a foreign key's name is the table's own
            run(f"ALTER TABLE {new} ADD CONSTRAINT {name} {definition}")
        else:
            run(f"ALTER TABLE {new} ADD CONSTRAINT {new}_c{position} {definition}")
            renames.append((f"{new}_c{position}", name))
    for position, (name, definition) in enumerate(indexes):
        head, _, method = definition.partition(" USING ")
        unique = "UNIQUE " if head.startswith("CREATE UNIQUE ") else ""
        run(f"CREATE {unique}INDEX {new}_i{position} ON {new} USING {method}")
        renames.append((f"{new}_i{position}", name))
    for privilege, grantee, option in grants:  # readers granted the old table read this one
        run(f"GRANT {privilege} ON {new} TO {grantee}{option}")
    for column, sequence in sequences:
        run(f"ALTER SEQUENCE {sequence} OWNED BY {new}.{column}")
    # Statistics for the planner's next plans, gathered while readers still read the old table.
    run(f"ANALYZE {new}")
    run(f"DROP TABLE {table}")
    run(f"ALTER TABLE {new} RENAME TO {table}")
    for temporary, name in renames:
        run(f"ALTER INDEX {temporary} RENAME TO {name}")

"""Alembic's environment for pdp: migrations run on the connection `pdp.schema` hands in, inside
the transaction (and the lock) it holds, so an upgrade is all or nothing."""

from __future__ import annotations

from alembic import context

from pdp.db import metadata
from pdp.schema import VERSION_TABLE

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    # SQLite cannot alter a column or a constraint: batch operations rebuild the table there.
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()

"""pdp's schema migrations (Alembic), run by `pdp db upgrade` through `pdp.schema`.

Adding one, when a change to `pdp/db.py` changes the schema:

1. `python scripts/new_migration.py "add an index on delegations by package"` writes
   `versions/NNNN_add_an_index_on_delegations_by_package.py`, numbered after the last one,
   with the operations Alembic finds between the migrations' head and `pdp.db.metadata`.
2. Read it and make it right, then `ruff check --fix` and `ruff format` it: batch operations
   (`op.batch_alter_table`) for anything SQLite cannot alter in place; data moved where a column
   changes meaning; no `downgrade` (upgrades go forward; a backup is the way back).
3. `pytest tests/test_schema.py` (and with `PDP_TEST_DATABASE_URL` for PostgreSQL) checks that
   the migrations' head equals the models, that there is one head, and that data survives.

Two branches that each add a migration make two heads with one number: on merge, renumber the
later one (file name, `revision`) and point its `down_revision` at the other; the tests refuse
two heads.
"""

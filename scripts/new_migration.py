#!/usr/bin/env python3
"""Write a new schema migration for what `pdp/db.py` says that the migrations do not yet.

Why: every change to the schema must reach databases that hold data, through a migration in
`pdp/migrations/versions/`; this writes its first draft, so adding one is a command and a read.

How: the migrations so far are run on an empty SQLite database in a temporary directory, and
Alembic's autogenerate compares the result with `pdp.db.metadata`; the differences become the
new revision's operations, numbered after the last revision. Read the draft before committing it
(see `pdp/migrations/__init__.py`): autogenerate sees only what SQLite can show.

Usage, from the project root:
    python scripts/new_migration.py "add an index on delegations by package"
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from alembic import command

from pdp.db import make_engine
from pdp.schema import alembic_config, head


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("message", help="what the migration does, in a few words")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        engine = make_engine(f"sqlite:///{Path(directory) / 'head.sqlite3'}")
        try:
            with engine.begin() as connection:
                config = alembic_config(connection)
                command.upgrade(config, "head")
                written = command.revision(
                    config,
                    message=arguments.message,
                    autogenerate=True,
                    rev_id=f"{int(head()) + 1:04d}",
                )
        finally:
            engine.dispose()
    for script in written if isinstance(written, list) else [written]:
        print(
            f"wrote {script.path}: read it, `ruff check --fix` and `ruff format` it, then run "
            "pytest tests/test_schema.py"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

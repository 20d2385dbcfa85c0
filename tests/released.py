"""A database as the last release before migrations made it, holding data in every table.

"Released" is the schema of revision 0001 (`pdp.db` at commit 4b13ba3): that pdp made its
tables on first use and kept no version table, which is how `released_database` leaves one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, MetaData, insert, text, update

from pdp import compiler, schema
from pdp.db import metadata
from pdp.repository import PolicyRepository
from pdp.subjects import ORGANIZATION, PERSON
from tests.helpers import new_organization, new_person

EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"
MOMENT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


#: The revision whose tables the last pdp without migrations made (by `metadata.create_all`,
#: which `tests/test_schema.py` checks the migrations' head against while they are the same).
JUST_BEFORE_MIGRATIONS = "0002"


def migrate(engine: Engine, target: str) -> None:
    """Run pdp's migrations up to `target` (replaying them, as `upgrade` does)."""
    with engine.begin() as connection:
        command.upgrade(schema.alembic_config(connection), target)


class Released:
    """What a released database holds: a published policy set activated back to version 1
    after a second was published, organisations with role holders (persons and an
    organisation), and delegations active and revoked, to a person and to an organisation."""

    def __init__(self) -> None:
        self.party = new_organization()
        self.accountant = new_organization()
        self.manager = new_person()
        self.board_member = new_person()
        self.delegate = new_person()
        self.former_delegate = new_person()
        self.delegation_to_person = str(uuid.uuid4())


def released_database(
    engine: Engine, catalog, facts: Released, *, just_before_migrations: bool = False
) -> None:
    """The released schema, as that pdp made it (no version table), holding `facts`; or, with
    `just_before_migrations`, the tables as the last pdp without migrations made them: those of
    revision `JUST_BEFORE_MIGRATIONS` (no version table either)."""
    migrate(engine, JUST_BEFORE_MIGRATIONS if just_before_migrations else schema.BASELINE)
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE {schema.VERSION_TABLE}"))
    documents = compiler.compile_catalog(catalog)
    # The policy tables did not change after the release: today's repository writes them so.
    repository = PolicyRepository(engine, _NoChanges())
    repository.store_version(catalog, documents, message="first", author="ops")
    repository.store_version(catalog, documents[:-1], message="second", author="ops")
    repository.activate(1)
    tables = MetaData()
    tables.reflect(engine)
    with engine.begin() as connection:
        connection.execute(update(tables.tables["change_counter"]).values(generation=7))
        connection.execute(
            insert(tables.tables["organizations"]),
            [
                {"organization_number": facts.party, "name": "ØRSTA AS", "org_form": "AS"},
                {"organization_number": facts.accountant, "name": "TALL ANS", "org_form": "ANS"},
            ],
        )
        connection.execute(
            insert(tables.tables["role_assignments"]),
            [
                _role(facts.party, "DAGL", PERSON, facts.manager),
                _role(facts.party, "MEDL", PERSON, facts.board_member),
                _role(facts.party, "REGN", ORGANIZATION, facts.accountant),
            ],
        )
        connection.execute(
            insert(tables.tables["delegations"]),
            [
                _delegation(facts.delegation_to_person, facts.party, PERSON, facts.delegate),
                _delegation(str(uuid.uuid4()), facts.party, ORGANIZATION, facts.accountant),
                {
                    **_delegation(str(uuid.uuid4()), facts.party, PERSON, facts.former_delegate),
                    "revoked_at": MOMENT,
                    "revoked_by": facts.manager,
                },
            ],
        )


def _role(party: str, code: str, kind: str, holder: str) -> dict[str, str]:
    return {
        "organization_number": party,
        "role_code": code,
        "holder_kind": kind,
        "holder_id": holder,
    }


def _delegation(id_: str, party: str, kind: str, recipient: str) -> dict:
    return {
        "id": id_,
        "party": party,
        "package": EVENTS,
        "delegator": new_person(),
        "recipient_kind": kind,
        "recipient_id": recipient,
        "created_at": MOMENT,
        "revoked_at": None,
        "revoked_by": None,
    }


class _NoChanges:
    """A change log for writing a database no process decides on yet."""

    def writing(self, transaction):
        return transaction()


def started_between_releases(engine: Engine) -> None:
    """What a pdp of after the release but before migrations did to a released database at
    start: it made the tables it missed (and gave a party an id), leaving delegations alone."""
    metadata.create_all(
        engine, tables=[metadata.tables[name] for name in ("parties", "persons", "system_users")]
    )
    with engine.begin() as connection:
        connection.execute(
            insert(metadata.tables["parties"]).values(
                kind=PERSON, identifier=new_person(), party_id=50001234
            )
        )

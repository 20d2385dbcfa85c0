"""Reverse queries read by index, never by scanning: checked on 10^5 delegations.

Every statement that authorized parties, holders and explanations send is captured and asked
of SQLite's query planner (`EXPLAIN QUERY PLAN`) with its own parameters: none may scan the
delegations, the role assignments or the organisations whole. The register holds 1,000
organisations; no statistics are gathered (ANALYZE), so SQLite's plan depends on the indexes
alone, which is what this checks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, insert

from pdp.db import delegations
from pdp.engine import DecisionRequest
from pdp.identities import Identifier
from pdp.service import Pdp
from pdp.subjects import PERSON, Subject
from pdp.vocabulary import PERSON_ID
from tests.helpers import new_organization, new_person, open_settings

DELEGATIONS = 100_000
TABLES = ("delegations", "role_assignments", "organizations")


@pytest.fixture(scope="module")
def crowded(tmp_path_factory, catalog) -> Iterator[tuple[Pdp, str, str]]:
    """A PDP whose database holds 10^5 delegations for 1,000 parties, and a party and a
    person (its DAGL) to ask about."""
    directory = tmp_path_factory.mktemp("indexes")
    service = Pdp.from_settings(
        open_settings(f"sqlite:///{directory / 'pdp.sqlite3'}", policy_refresh_seconds=0)
    )
    service.publish(catalog)
    party, person = new_organization(), new_person()
    service.register.import_document(
        {
            "organizations": [
                {
                    "organization_number": party,
                    "name": "CROWDED AS",
                    "org_form": "AS",
                    "roles": [{"code": "DAGL", "person": person}],
                }
            ]
        },
        catalog,
    )
    others = [new_organization() for _ in range(999)]
    service.register.import_document(
        {
            "organizations": [
                {
                    "organization_number": number,
                    "name": f"OTHER {n} AS",
                    "org_form": "AS",
                    "roles": [{"code": "DAGL", "person": new_person()}],
                }
                for n, number in enumerate(others)
            ]
        },
        catalog,
    )
    parties = [party, *others]
    now = datetime.now(UTC)
    rows = [
        {
            "id": str(uuid.UUID(int=n)),
            "party": parties[n % len(parties)],
            "package": "urn:altinn:accesspackage:maskinlesbarehendelser",
            "delegator": person,
            "recipient_kind": PERSON,
            "recipient_id": f"{n:011d}",
            "created_at": now,
        }
        for n in range(DELEGATIONS)
    ]
    with service.database.begin() as connection:
        connection.execute(insert(delegations), rows)
    yield service, party, person
    service.close()


@contextmanager
def statements(service: Pdp) -> Iterator[list[str]]:
    """The SELECTs sent to the database while the block runs, as SQLite ran them (bound
    values in place): through SQLAlchemy and through precompiled look-ups alike."""
    sent: list[str] = []

    def trace(dbapi_connection, _record) -> None:
        dbapi_connection.set_trace_callback(
            lambda sql: sent.append(sql) if sql.lstrip().upper().startswith("SELECT") else None
        )

    service.database.dispose()  # new connections, each traced
    event.listen(service.database, "connect", trace)
    try:
        yield sent
    finally:
        event.remove(service.database, "connect", trace)
        service.database.dispose()


def scans(service: Pdp, sent: list[str]) -> list[str]:
    """The plan lines of `sent` that read one of TABLES whole."""
    found = []
    with service.database.connect() as connection:
        raw = connection.connection.driver_connection
        for statement in sent:
            for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}"):
                detail = row[-1]
                if any(detail.startswith(f"SCAN {table}") for table in TABLES):
                    found.append(f"{detail}: {statement}")
    return found


def test_authorized_parties_read_by_index(crowded):
    service, party, person = crowded
    with statements(service) as sent:
        found = service.authorized_parties(Identifier(PERSON_ID, person))
    assert party in [access.party.organization_number for access in found]
    assert sent
    assert scans(service, sent) == []


def test_holders_read_by_index(crowded):
    service, party, _ = crowded
    with statements(service) as sent:
        page = service.holders(party, package="maskinlesbarehendelser", limit=5)
    assert page.total == DELEGATIONS // 1000 + 1
    assert scans(service, sent) == []


def test_explanations_read_by_index(crowded):
    service, party, person = crowded
    request = DecisionRequest(Subject(PERSON, person), party, "maskinlesbarehendelser", "access")
    with statements(service) as sent:
        explanation = service.explain(request)
    assert explanation.result.decision == "Permit"
    assert scans(service, sent) == []


def test_the_check_finds_a_scan(crowded):
    """The check is not blind: reading every delegation is a scan."""
    service, _, _ = crowded
    with statements(service) as sent:
        service.delegations.active()
    assert scans(service, sent)

"""Test helpers: valid identifiers on demand, XACML requests without the boilerplate, and
policy sources written out as directories."""

from __future__ import annotations

import os
from functools import cache
from itertools import count
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, create_engine, make_url, text

from pdp.config import Settings
from pdp.db import metadata
from pdp.identifiers import complete_national_identity_number, complete_organization_number
from pdp.schema import VERSION_TABLE

ACTION_ID = "urn:oasis:names:tc:xacml:1.0:action:action-id"
PERSON_ID = "urn:altinn:person:identifier-no"
ORGANIZATION_ID = "urn:altinn:organization:identifier-no"
PACKAGE_ID = "urn:altinn:accesspackage"

#: How many sessions on this test's own database wait for a lock. pg_locks shows the whole
#: server's, and other test processes (pytest-xdist's workers) take locks in their own databases.
LOCK_WAITERS = text(
    "SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid) "
    "WHERE NOT granted AND datname = current_database()"
)

_people = count(1)
_organizations = count(1)


def open_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for tests of what the PDP decides: anyone may call (tests of who may call are in
    tests/security), and the logs are off (tests of the logs switch them on)."""
    return Settings(
        database_url=database_url,
        auth_disabled=True,
        decision_log="off",
        audit_log="off",
        **overrides,
    )


def drop_schema(engine: Engine) -> None:
    """Drop every table of pdp's and the schema version with them: an empty database again (a
    PostgreSQL database the tests share). An unreachable server fails here, it does not skip."""
    metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))


@cache
def postgresql_url() -> str:
    """The PostgreSQL database this test process runs its PostgreSQL tests on: the one
    PDP_TEST_DATABASE_URL names, or under pytest-xdist a database of the worker's own beside it
    (`<database>_<worker>`, made here if missing), since the workers run tests at the same time
    and tests drop pdp's tables and listen for the database's notifications. An unreachable
    server fails the test that asks, each time: it does not skip, and nothing is cached."""
    url = os.environ["PDP_TEST_DATABASE_URL"]
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    shared = make_url(url)
    own = shared.set(database=f"{shared.database}_{worker}")
    engine = create_engine(shared, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}
            ).first()
            if exists is None:
                connection.execute(text(f'CREATE DATABASE "{own.database}"'))
    finally:
        engine.dispose()
    return own.render_as_string(hide_password=False)


def write_source(directory: Path, source: dict[str, Any]) -> Path:
    """Write a policy source mapping as a policy directory: YAML documents as YAML, resource
    policies (their XML text) as they are."""
    for name, document in source.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = (
            document if isinstance(document, str) else yaml.safe_dump(document, allow_unicode=True)
        )
        path.write_text(text, encoding="utf-8")
    return directory


def new_person() -> str:
    """A fresh valid synthetic national identity number (month + 80, as Tenor test persons),
    never the same twice in a session: day, year and individual number count through 2.8
    million combinations (day and month 01 and 88 alone gave only a few hundred, and a long
    session drew the same person twice)."""
    while True:
        n = next(_people)
        base = f"{n // 100_000 % 28 + 1:02d}88{n // 1000 % 100:02d}{n % 1000:03d}"
        if number := complete_national_identity_number(base):
            return number


def new_organization() -> str:
    """A fresh valid organisation number."""
    while True:
        if number := complete_organization_number(f"3{next(_organizations):07d}"):
            return number


def attribute(attribute_id: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"AttributeId": attribute_id, "Value": value, **extra}


def xacml_request(
    subject: list[dict[str, Any]],
    resource: list[dict[str, Any]],
    action: str = "access",
    return_policy_ids: bool = True,
) -> dict[str, Any]:
    """A single-decision XACML JSON request with these attributes."""
    return {
        "Request": {
            "ReturnPolicyIdList": return_policy_ids,
            "AccessSubject": [{"Attribute": subject}],
            "Action": [{"Attribute": [attribute(ACTION_ID, action)]}],
            "Resource": [{"Attribute": resource}],
        }
    }


def package_request(
    person: str, party: str, package: str, action: str = "access", **kwargs: Any
) -> dict[str, Any]:
    """May `person` perform `action` on `package` for organisation `party`?"""
    return xacml_request(
        [attribute(PERSON_ID, person)],
        [attribute(PACKAGE_ID, package), attribute(ORGANIZATION_ID, party)],
        action,
        **kwargs,
    )

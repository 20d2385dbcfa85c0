"""Shared fixtures: databases (SQLite always, PostgreSQL when PDP_TEST_DATABASE_URL is set),
a PDP with the shipped policies published, a register covering every granting role, and a
Flask app and client over them (as in Flask's own tutorial)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pdp import catalog as catalog_module
from pdp import schema
from pdp.api import create_app
from pdp.changes import ChangeLog
from pdp.config import Settings
from pdp.db import make_engine
from pdp.service import Pdp
from tests.helpers import drop_schema, new_organization, new_person, open_settings, postgresql_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = PROJECT_ROOT / "policies"
EXAMPLES_DIR = PROJECT_ROOT / "examples"
DATA_DIR = Path(__file__).resolve().parent / "data"

#: The eight ER roles that every Integrasjoner package is granted to.
KEY_ROLES = ("DAGL", "LEDE", "INNH", "DTSO", "DTPR", "KOMP", "BEST", "BOBE")
#: The shipped resource policies (policies/resources/) and the py-abac documents they compile
#: to, besides the grants' and delegations' 51.
RESOURCE_POLICIES = ("ttd-example-api", "ttd-example-events")
RESOURCE_DOCUMENTS = 6
#: Known roles that grant nothing in Integrasjoner.
NON_GRANTING_ROLES = ("MEDL", "REVI", "REGN", "NEST", "VARA", "KONT", "KNUF")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto` (setup.cfg) runs the suite on a pytest-xdist worker per core, but a command
    that names single tests (`tests/x.py::test_y`) runs them in this process: starting and
    preparing workers would take longer than the tests. None: pytest-xdist counts the cores."""
    if config.args and all("::" in argument for argument in config.args):
        return 0
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that asks for `database_url` on SQLite, and on PostgreSQL if configured."""
    if "database_url" in metafunc.fixturenames:
        backends = ["sqlite"]
        if os.environ.get("PDP_TEST_DATABASE_URL"):
            backends.append("postgresql")
        metafunc.parametrize("database_url", backends, indirect=True)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pdp.sqlite3'}"
    url = postgresql_url()
    engine = make_engine(url)
    drop_schema(engine)  # a clean schema for each test
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url: str):
    """A database engine with the schema created."""
    database = make_engine(database_url)
    schema.prepare(database)
    yield database
    database.dispose()


@pytest.fixture
def changes(engine) -> ChangeLog:
    """The change log that stores built directly by a test announce their writes on, as
    `Pdp.from_settings` builds one for a process's stores."""
    return ChangeLog.of(engine, refresh_seconds=0)


@pytest.fixture(scope="session")
def catalog() -> catalog_module.Catalog:
    return catalog_module.load(POLICY_DIR)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return open_settings(database_url, policy_refresh_seconds=0)


@pytest.fixture
def pdp(settings: Settings, catalog: catalog_module.Catalog):
    """A PDP with the shipped policies published and the test register imported."""
    service = Pdp.from_settings(settings)
    service.publish(catalog)
    service.register.import_document(REGISTER.document, catalog)
    yield service
    service.close()


@pytest.fixture
def app(settings: Settings, pdp: Pdp):
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["pdp"].close()


@pytest.fixture
def client(app):
    return app.test_client()


class RegisterFacts:
    """Who holds what in the test register.

    - `AS`: an AS where each key role and each non-granting role has its own holder;
    - `NUF`: a NUF organisation, likewise for the key roles;
    - `firm`: an AS holding REGN for `AS` (an organisation as role holder);
    - `stranger`: a person with no roles anywhere.
    """

    def __init__(self) -> None:
        self.as_org = new_organization()
        self.nuf_org = new_organization()
        self.firm = new_organization()
        self.as_holders = {code: new_person() for code in KEY_ROLES + NON_GRANTING_ROLES}
        self.nuf_holders = {code: new_person() for code in KEY_ROLES}
        self.stranger = new_person()

    @property
    def document(self) -> dict[str, Any]:
        def roles(holders: dict[str, str]) -> list[dict[str, str]]:
            return [{"code": code, "person": person} for code, person in holders.items()]

        return {
            "organizations": [
                {
                    "organization_number": self.as_org,
                    "name": "TEST AS",
                    "org_form": "AS",
                    "roles": [*roles(self.as_holders), {"code": "REGN", "organization": self.firm}],
                },
                {
                    "organization_number": self.nuf_org,
                    "name": "TEST NUF",
                    "org_form": "NUF",
                    "roles": roles(self.nuf_holders),
                },
                {
                    "organization_number": self.firm,
                    "name": "TEST REGNSKAP AS",
                    "org_form": "AS",
                    "roles": [],
                },
            ]
        }


REGISTER = RegisterFacts()


@pytest.fixture
def register_facts() -> RegisterFacts:
    return REGISTER

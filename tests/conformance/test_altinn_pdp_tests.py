"""Altinn's own PDP decision tests, run against `POST /authorization/api/v1/authorize`.

The cases (`data/cases/`) are sent byte for byte, and each answer is compared with Altinn's
expected response as Altinn's tests compare them (`assertion.py`). The policy source is the
full Altinn catalog (`policies/altinn-catalog`, where `ansettelsesforhold` lives) with the
cases' resource and app policies (`data/resources/`); the register and the delegations are
Altinn's mock facts in this PDP's import formats (`data/register.json`,
`data/delegations.json`, origin in `data/SOURCE.md`).

Left out, each for a reason: the cases decided by delegation policies (Altinn stores one XACML
policy per delegation; this PDP delegates access packages, not resource rules), by access lists
or consent, by app instances read from Altinn's storage, by Altinn 2 roles alone (REGNA,
APIADM, PRIV, ...; our register holds ER roles), by estate (OED) roles, and those Altinn answers
only on its internal endpoint.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pdp import catalog as catalog_module
from pdp.api import create_app
from pdp.service import Pdp
from tests.conformance.assertion import differences
from tests.conftest import PROJECT_ROOT
from tests.helpers import open_settings

DATA = Path(__file__).parent / "data"
CASES = sorted(path.name.removesuffix("Request.json") for path in DATA.glob("cases/*Request.json"))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    directory = tmp_path_factory.mktemp("conformance")
    source = shutil.copytree(PROJECT_ROOT / "policies" / "altinn-catalog", directory / "source")
    shutil.rmtree(source / "tests")
    shutil.copytree(DATA / "resources", source / "resources")
    settings = open_settings(
        f"sqlite:///{directory / 'pdp.sqlite3'}",
        policy_refresh_seconds=0,
        identifier_check_digits=False,
    )
    pdp = Pdp.from_settings(settings)
    catalog = catalog_module.load(source)
    pdp.publish(catalog)
    register = json.loads((DATA / "register.json").read_text(encoding="utf-8"))
    pdp.register.import_document(register, catalog, pdp.identifier_rules)
    pdp.close()
    app = create_app(settings)
    client = app.test_client()
    for delegation in json.loads((DATA / "delegations.json").read_text())["delegations"]:
        response = client.post("/api/v1/delegations", json=delegation)
        assert response.status_code == 201, response.get_json()
    yield client
    app.extensions["pdp"].close()


def test_the_suite_holds_the_cases_in_scope():
    assert len(CASES) == 23


@pytest.mark.parametrize("case", CASES)
def test_altinn_case(client, case):
    request = (DATA / "cases" / f"{case}Request.json").read_bytes()
    expected = json.loads((DATA / "cases" / f"{case}Response.json").read_text("utf-8-sig"))
    response = client.post(
        "/authorization/api/v1/authorize",
        data=request.removeprefix(b"\xef\xbb\xbf"),
        content_type="application/json",
    )
    assert response.status_code == 200, response.get_json()
    assert differences(expected, response.get_json()) == [], response.get_json()

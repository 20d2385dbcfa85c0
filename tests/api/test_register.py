"""/api/v1/register/imports over HTTP: the new sections, their problems, the check-digit setting."""

from __future__ import annotations

import json

import pytest

from pdp.api import create_app
from tests.conftest import EXAMPLES_DIR
from tests.helpers import open_settings

IMPORTS = "/api/v1/register/imports"


def altinn_test_party() -> dict:
    """Altinn's test organisation 897069651 and person 01039012345: wrong check digits both."""
    return {
        "organizations": [
            {
                "organization_number": "897069651",
                "name": "DDG Fitness Oslo",
                "org_form": "BEDR",
                "party_id": 500001,
                "party_uuid": "00000000-0000-0000-0000-000000500001",
            }
        ],
        "persons": [{"national_id": "01039012345", "user_id": 1337, "party_id": 501337}],
    }


def test_the_example_register_imports_with_its_persons_and_system_user(client):
    register = json.loads((EXAMPLES_DIR / "register.json").read_text(encoding="utf-8"))
    response = client.post(IMPORTS, json=register)
    assert response.status_code == 200
    assert response.get_json() == {
        "organizations": 6,
        "role_assignments": 14,
        "persons": 3,
        "system_users": 1,
    }


def test_a_clash_is_a_422_naming_both_entries(client):
    document = {
        "organizations": [
            {"organization_number": "910459880", "name": "X", "org_form": "AS", "party_id": 7}
        ],
        "persons": [{"national_id": "02056260016", "party_id": 7}],
    }
    response = client.post(IMPORTS, json=document)
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"path": "persons[0].party_id", "problem": "7 is also organizations[0].party_id"}
    ]


def test_by_default_altinns_test_numbers_are_refused(client):
    response = client.post(IMPORTS, json=altinn_test_party())
    assert response.status_code == 422
    assert [error["path"] for error in response.get_json()["errors"]] == [
        "organizations[0].organization_number",
        "persons[0].national_id",
    ]


@pytest.fixture
def relaxed_client(database_url, pdp):
    app = create_app(open_settings(database_url, identifier_check_digits=False))
    app.config["TESTING"] = True
    yield app.test_client()
    app.extensions["pdp"].close()


def test_with_check_digits_off_altinns_test_numbers_import(relaxed_client):
    response = relaxed_client.post(IMPORTS, json=altinn_test_party())
    assert response.status_code == 200
    assert response.get_json()["persons"] == 1


def test_the_openapi_document_describes_the_new_sections(client):
    spec = client.get("/openapi.json").get_json()
    body = spec["paths"][IMPORTS]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"organizations", "persons", "system_users"}
    assert body["required"] == ["organizations"]

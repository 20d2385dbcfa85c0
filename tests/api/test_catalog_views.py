"""/api/v1/packages, /api/v1/roles, /api/v1/grants: what the active version knows.

Read-only views of the active policy set's catalog: the packages (with their former URNs and
whether any grant makes them delegable), every ER role with the key roles marked, and one grant
entry per role per package with its actions and organisation-form limit. The grants also come
as the Markdown table the README shows. With nothing published there is nothing to show: 503.
"""

from __future__ import annotations

import pytest

from pdp import catalog as catalog_module
from pdp import grants_table
from pdp.api import create_app
from tests.conftest import KEY_ROLES, POLICY_DIR
from tests.helpers import open_settings
from tests.test_readme import readme_table

PACKAGES = "/api/v1/packages"
ROLES = "/api/v1/roles"
GRANTS = "/api/v1/grants"

PREFIX = "urn:altinn:accesspackage:"
API = f"{PREFIX}programmeringsgrensesnitt"
API_NUF = f"{PREFIX}programmeringsgrensesnittNUF"
EVENTS = f"{PREFIX}maskinlesbarehendelser"


def publish_with_alias(client, alias: str) -> None:
    """Publish the shipped source with Maskinlesbare hendelser renamed, `alias` its former URN."""
    source = catalog_module.read_source(POLICY_DIR)
    events = source["packages/integrasjoner.yaml"]["packages"][2]
    events["urn"], events["aliases"] = f"{PREFIX}hendelser", [alias]
    response = client.post(
        "/api/v1/policy-sets", json={"source": source}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 201, response.get_json()


# --- packages -------------------------------------------------------------------------------


def test_packages_lists_the_three_integrasjoner_packages_in_source_order(client):
    response = client.get(PACKAGES)
    assert response.status_code == 200
    body = response.get_json()
    assert body["version"] == 1
    assert [package["urn"] for package in body["packages"]] == [API, API_NUF, EVENTS]


def test_a_package_entry_has_its_code_name_area_aliases_and_delegability(client):
    events = client.get(PACKAGES).get_json()["packages"][2]
    assert events == {
        "urn": EVENTS,
        "code": "maskinlesbarehendelser",
        "name": "Maskinlesbare hendelser",
        "description": events["description"],
        "area": "integrasjoner",
        "aliases": [],
        "delegable": True,
    }
    assert events["description"].startswith("Denne tilgangspakken")


def test_a_package_without_a_delegable_grant_is_not_delegable(client):
    source = catalog_module.read_source(POLICY_DIR)
    source["packages/integrasjoner.yaml"]["packages"][0]["grants"][0]["delegable"] = False
    client.post("/api/v1/policy-sets", json={"source": source}, headers={"If-Match": '"1"'})
    delegable = {p["urn"]: p["delegable"] for p in client.get(PACKAGES).get_json()["packages"]}
    assert delegable == {API: False, API_NUF: True, EVENTS: True}


def test_after_publishing_a_rename_the_package_lists_its_former_urn(client):
    publish_with_alias(client, EVENTS)
    body = client.get(PACKAGES).get_json()
    assert body["version"] == 2
    renamed = body["packages"][2]
    assert (renamed["urn"], renamed["code"], renamed["aliases"]) == (
        f"{PREFIX}hendelser",
        "hendelser",
        [EVENTS],
    )


# --- roles ----------------------------------------------------------------------------------


def test_roles_lists_all_61_er_roles(client):
    body = client.get(ROLES).get_json()
    assert body["version"] == 1
    assert len(body["roles"]) == 61
    assert len({role["code"] for role in body["roles"]}) == 61


def test_exactly_the_eight_granting_roles_are_key_roles(client):
    roles = client.get(ROLES).get_json()["roles"]
    assert sorted(role["code"] for role in roles if role["key_role"]) == sorted(KEY_ROLES)


def test_a_role_entry_names_its_urns(client):
    roles = {role["code"]: role for role in client.get(ROLES).get_json()["roles"]}
    assert roles["DAGL"] == {
        "code": "DAGL",
        "name": roles["DAGL"]["name"],
        "urn": "urn:altinn:external-role:ccr:daglig-leder",
        "legacy_urn": "urn:altinn:rolecode:dagl",
        "key_role": True,
    }
    assert roles["MEDL"]["key_role"] is False


# --- grants ---------------------------------------------------------------------------------


def test_grants_has_one_entry_per_role_per_package(client):
    body = client.get(GRANTS).get_json()
    assert body["version"] == 1
    assert len(body["grants"]) == 24
    assert {(grant["package"], grant["role"]) for grant in body["grants"]} == {
        (package, role) for package in (API, API_NUF, EVENTS) for role in KEY_ROLES
    }


def test_every_shipped_grant_allows_access_and_delegate(client):
    grants = client.get(GRANTS).get_json()["grants"]
    assert {tuple(grant["actions"]) for grant in grants} == {("access", "delegate")}


def test_only_the_nuf_package_is_limited_and_only_to_nuf(client):
    grants = client.get(GRANTS).get_json()["grants"]
    limits = {(grant["package"], tuple(grant["org_forms"])) for grant in grants}
    assert limits == {(API, ()), (API_NUF, ("NUF",)), (EVENTS, ())}


def test_a_grant_that_is_not_delegable_allows_access_only(client):
    source = catalog_module.read_source(POLICY_DIR)
    source["packages/integrasjoner.yaml"]["packages"][2]["grants"].append(
        {"roles": ["REGN"], "delegable": False, "org_forms": ["AS", "ASA"]}
    )
    client.post("/api/v1/policy-sets", json={"source": source}, headers={"If-Match": '"1"'})
    grants = client.get(GRANTS).get_json()["grants"]
    assert len(grants) == 25
    assert grants[-1] == {
        "package": EVENTS,
        "role": "REGN",
        "actions": ["access"],
        "org_forms": ["AS", "ASA"],
    }


def test_grants_as_markdown_is_the_table_grants_table_renders(client, catalog):
    response = client.get(GRANTS, headers={"Accept": "text/markdown"})
    assert response.status_code == 200
    assert response.mimetype == "text/markdown"
    assert response.get_data(as_text=True) == grants_table.markdown(catalog)


def test_grants_as_markdown_is_the_readme_table(client):
    response = client.get(GRANTS, headers={"Accept": "text/markdown"})
    assert response.get_data(as_text=True) == readme_table()


def test_json_is_preferred_when_the_client_accepts_both(client):
    response = client.get(GRANTS, headers={"Accept": "application/json, text/markdown;q=0.5"})
    assert response.mimetype == "application/json"


def test_markdown_wins_when_preferred(client):
    response = client.get(GRANTS, headers={"Accept": "application/json;q=0.5, text/markdown"})
    assert response.mimetype == "text/markdown"


def test_the_views_follow_a_rollback(client):
    publish_with_alias(client, EVENTS)
    client.post("/api/v1/policy-sets/1/activate", headers={"If-Match": '"2"'})
    body = client.get(PACKAGES).get_json()
    assert body["version"] == 1
    assert body["packages"][2]["urn"] == EVENTS
    assert body["packages"][2]["aliases"] == []


# --- nothing published ----------------------------------------------------------------------


@pytest.fixture
def empty_client(database_url: str):
    """An app on a database where nothing has been published (no `pdp` fixture)."""
    application = create_app(open_settings(database_url, policy_refresh_seconds=0))
    yield application.test_client()
    application.extensions["pdp"].close()


@pytest.mark.parametrize("path", [PACKAGES, ROLES, GRANTS])
def test_with_nothing_published_every_view_is_503(empty_client, path):
    response = empty_client.get(path)
    assert response.status_code == 503
    assert response.get_json()["message"] == (
        "no policy-set version is active; run `pdp init` or `pdp compile`"
    )


def test_with_nothing_published_the_markdown_table_is_503_too(empty_client):
    response = empty_client.get(GRANTS, headers={"Accept": "text/markdown"})
    assert response.status_code == 503

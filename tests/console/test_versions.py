"""The Versions page: a version's or an uploaded source's diff and register impact, and
activation only of what was reviewed against the version active now."""

from __future__ import annotations

import io
import json

from pdp import catalog as catalog_module
from tests.conftest import POLICY_DIR
from tests.console.conftest import csrf, text_of


def _without_lede(source: dict) -> dict:
    edited = json.loads(json.dumps(source))
    for package in edited["packages/integrasjoner.yaml"]["packages"]:
        for grant in package["grants"]:
            grant["roles"] = [role for role in grant["roles"] if role != "LEDE"]
    return edited


def test_a_version_shows_its_rule_changes_and_register_impact(client, pdp, catalog):
    pdp.publish(catalog_module.parse(_without_lede(dict(catalog.source))), message="no LEDE")
    page = client.get("/console/versions/1").get_data(as_text=True)
    assert "LEDE may access" in page and "LEDE may delegate" in page
    # LEDE of the AS gains 2 packages (the NUF one is for NUFs), LEDE of the NUF 3; x 2 actions
    assert '<span class="n gained">+10</span>' in page


def test_activating_needs_a_confirmation_and_the_reviewed_base(client, pdp, catalog):
    pdp.publish(catalog_module.parse(_without_lede(dict(catalog.source))), message="no LEDE")
    path = "/console/versions/1/activate"
    token = csrf(client, "/console/versions/1")
    response = client.post(path, data={"base_version": "2", "csrf_token": token})
    assert response.status_code == 400
    assert "tick the box" in text_of(response.get_data(as_text=True), "confirm-error")
    assert pdp.versions().active == 2

    stale = client.post(path, data={"base_version": "1", "confirm": "yes", "csrf_token": token})
    assert stale.status_code == 409 and "review them again" in stale.get_data(as_text=True)
    assert pdp.versions().active == 2

    done = client.post(path, data={"base_version": "2", "confirm": "yes", "csrf_token": token})
    assert done.status_code == 303 and pdp.versions().active == 1


def test_an_uploaded_source_is_previewed_and_not_published(client, pdp, catalog):
    body = json.dumps({"source": _without_lede(dict(catalog.source))}).encode()
    response = client.post(
        "/console/versions/preview",
        data={
            "source": (io.BytesIO(body), "policies.json"),
            "csrf_token": csrf(client, "/console/versions"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "LEDE may access" in page and "policies.json" in page
    assert len(pdp.versions().versions) == 1


def test_an_invalid_upload_is_refused_next_to_the_file_field_naming_each_problem(client):
    source = catalog_module.read_source(POLICY_DIR)
    source["packages/integrasjoner.yaml"]["packages"][0]["grants"][0]["roles"] = ["NOPE"]
    for content, expected in (
        (b"{oops", "not JSON"),
        (json.dumps(source).encode(), "NOPE"),
    ):
        response = client.post(
            "/console/versions/preview",
            data={
                "source": (io.BytesIO(content), "bad.json"),
                "csrf_token": csrf(client, "/console/versions"),
            },
            content_type="multipart/form-data",
        )
        assert response.status_code == 422
        assert expected in text_of(response.get_data(as_text=True), "source-error")


def test_an_unknown_version_is_a_page_not_a_stack_trace(client):
    response = client.get("/console/versions/99")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "version 99 does not exist" in response.get_data(as_text=True)

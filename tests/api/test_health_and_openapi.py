"""GET /health and the OpenAPI document."""

from __future__ import annotations

from pdp.api import create_app
from tests.helpers import open_settings


def test_health_reports_the_active_policy_set_version(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "policy_set_version": 1,
        "authentication": "disabled-for-development",
    }


def test_health_is_503_before_anything_is_published(tmp_path):
    app = create_app(open_settings(f"sqlite:///{tmp_path / 'empty.sqlite3'}"))
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    assert "pdp init" in response.get_json()["message"]


def test_deciding_before_anything_is_published_is_a_processing_error(tmp_path):
    app = create_app(open_settings(f"sqlite:///{tmp_path / 'empty.sqlite3'}"))
    body = {"Request": {}}
    result = app.test_client().post("/authorization/api/v1/authorize", json=body).get_json()
    assert result["Response"][0]["Decision"] == "Indeterminate"


def test_the_openapi_document_describes_every_endpoint(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) >= {"/authorization/api/v1/authorize", "/api/v1/decision", "/health"}
    authorize = spec["paths"]["/authorization/api/v1/authorize"]["post"]
    assert "requestBody" in authorize
    assert "XacmlRequest" in spec["components"]["schemas"]

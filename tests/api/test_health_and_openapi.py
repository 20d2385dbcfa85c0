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


def test_live_answers_while_the_process_does(client):
    response = client.get("/health/live")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_ready_when_the_policy_set_the_database_and_the_change_feed_are_there(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "checks": {"policy_set": "ok", "database": "ok", "change_feed": "ok"},
    }


def test_not_ready_before_anything_is_published_naming_the_policy_set(tmp_path):
    app = create_app(open_settings(f"sqlite:///{tmp_path / 'empty.sqlite3'}"))
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not-ready"
    assert "pdp init" in body["checks"]["policy_set"]
    assert (body["checks"]["database"], body["checks"]["change_feed"]) == ("ok", "ok")


def test_not_ready_when_the_database_does_not_answer(tmp_path, catalog):
    database = tmp_path / "pdp.sqlite3"
    app = create_app(open_settings(f"sqlite:///{database}"))
    app.extensions["pdp"].publish(catalog)
    client = app.test_client()
    assert client.get("/health/ready").status_code == 200
    for path in tmp_path.glob("pdp.sqlite3*"):
        if path.suffix != ".changes":
            path.unlink()
    database.mkdir()  # in its place something SQLite cannot open
    app.extensions["pdp"].database.dispose()  # its open connections are gone too
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "the database does not answer"
    assert client.get("/health/live").status_code == 200


def test_not_ready_when_the_change_file_is_gone(tmp_path, catalog):
    database = tmp_path / "pdp.sqlite3"
    app = create_app(open_settings(f"sqlite:///{database}"))
    app.extensions["pdp"].publish(catalog)
    client = app.test_client()
    changes = app.extensions["pdp"].changes.path
    changes.unlink()
    changes.mkdir()  # in its place something that cannot be mapped
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert "was removed or replaced" in response.get_json()["checks"]["change_feed"]
    changes.rmdir()
    assert client.get("/health/ready").status_code == 200  # made again and mapped anew

"""The real thing: the `pdp` command sets up a SQLite database, gunicorn serves the app with two
worker processes, and clients speak HTTP to it over loopback."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import EXAMPLES_DIR
from tests.e2e.servers import call, post, prepared_database, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A gunicorn server on a fresh SQLite database set up with the `pdp` command line."""
    workdir = tmp_path_factory.mktemp("server")
    env = prepared_database(workdir)
    with running_server(env, workdir) as base:
        yield base


@pytest.mark.parametrize(
    ("example", "decisions"),
    [
        ("permit.json", ["Permit"]),
        ("not-applicable.json", ["NotApplicable"]),
        ("indeterminate.json", ["Indeterminate"]),
        ("multi.json", ["Permit", "Permit", "NotApplicable", "Permit"]),
    ],
)
def test_the_example_requests_get_their_decisions(server, example, decisions):
    body = (EXAMPLES_DIR / "requests" / example).read_bytes()
    status, answer = post(f"{server}/authorization/api/v1/authorize", body)
    assert status == 200
    assert [result["Decision"] for result in answer["Response"]] == decisions


def test_many_requests_across_both_workers_agree(server):
    body = (EXAMPLES_DIR / "requests" / "permit.json").read_bytes()
    decisions = {
        post(f"{server}/authorization/api/v1/authorize", body)[1]["Response"][0]["Decision"]
        for _ in range(50)
    }
    assert decisions == {"Permit"}


def test_malformed_bodies_get_http_errors(server):
    status, answer = post(f"{server}/authorization/api/v1/authorize", b"{oops")
    assert status == 400 and "JSON" in answer["message"]
    status, _ = post(f"{server}/authorization/api/v1/authorize", b"{}", "text/plain")
    assert status == 415


def test_an_oversized_body_is_refused_before_it_is_read(server):
    """The server answers 413 from the Content-Length alone, without reading the body."""
    host, port = server.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest("POST", "/authorization/api/v1/authorize")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(1024 * 1024 + 1))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["code"] == 413
    connection.close()


def test_health_and_openapi_are_served(server):
    with urllib.request.urlopen(f"{server}/health", timeout=5) as response:
        assert json.load(response) == {
            "status": "ok",
            "policy_set_version": 1,
            "authentication": "disabled-for-development",
        }
    with urllib.request.urlopen(f"{server}/openapi.json", timeout=5) as response:
        assert "/authorization/api/v1/authorize" in json.load(response)["paths"]


def test_a_delegation_takes_effect_and_its_revocation_reaches_every_worker(server):
    """Elena has no role in 910459880; Paula (its DAGL) delegates to her, then revokes."""
    asked = (EXAMPLES_DIR / "requests" / "delegated.json").read_bytes()

    def decisions() -> set[str]:
        return {
            post(f"{server}/authorization/api/v1/authorize", asked)[1]["Response"][0]["Decision"]
            for _ in range(20)
        }

    assert decisions() == {"NotApplicable"}
    status, made = post(
        f"{server}/api/v1/delegations", (EXAMPLES_DIR / "delegation.json").read_bytes()
    )
    assert status == 201
    assert decisions() == {"Permit"}
    status, _, _ = call(
        "DELETE", f"{server}/api/v1/delegations/{made['id']}?revoked_by=02056260016"
    )
    assert status == 200
    assert decisions() == {"NotApplicable"}


@pytest.mark.parametrize(
    ("arguments", "exit_code", "verdict"),
    [
        (["02056260016", "910459880", "maskinlesbarehendelser"], 0, "allow: Permit"),
        (["02056260016", "910459880", "programmeringsgrensesnittNUF"], 1, "deny: NotApplicable"),
        (["30856499983", "316289177", "programmeringsgrensesnittNUF"], 0, "allow: Permit"),
    ],
)
def test_the_example_pep_client(server, arguments, exit_code, verdict):
    completed = subprocess.run(
        [sys.executable, EXAMPLES_DIR / "pep_client.py", *arguments, "--pdp-url", server],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert completed.returncode == exit_code
    assert completed.stdout.startswith(verdict)

"""Cached decisions never outlive a write: gunicorn with two workers, each remembering its
decisions, and an hour between the times each asks the database whether anything changed
(`PDP_POLICY_REFRESH_SECONDS=3600`), so only the change file on this machine can tell them.

Both workers' caches are warmed with the same request many times; then a write is made (a
delegation made or revoked over HTTP, a register import with the `pdp` command line, a publish
and an activation over HTTP), and every one of the requests that follow at once, answered by
both workers, gets the new decision.
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES_DIR
from tests.e2e.servers import BIN, call, post, prepared_database, running_server
from tests.helpers import new_person, package_request

API = "urn:altinn:accesspackage:programmeringsgrensesnitt"
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"
#: In examples/register.json, at ØRSTA OG HEGGEDAL REGNSKAP AS: Paula is daglig leder, Ørjan a
#: board member (MEDL, which grants nothing), Elena holds no role.
PARTY, PAULA, ORJAN, ELENA = "910459880", "02056260016", "27099450067", "01025161013"
#: ... and at KARLSTAD OG ULOYBUKT AS, Margrethe is the auditor (REVI, which grants nothing).
KARLSTAD, MARGRETHE = "810418672", "01025181049"

#: Requests in a row: enough that both workers answer some.
ROUNDS = 20


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> tuple[str, dict[str, str], Path]:
    workdir = tmp_path_factory.mktemp("cache-invalidation")
    env = {**prepared_database(workdir), "PDP_POLICY_REFRESH_SECONDS": "3600"}
    with running_server(env, workdir, workers=2) as base:
        yield base, env, workdir


def answers(base: str, person: str, party: str, package: str) -> set[tuple[str, str]]:
    """(decision, policy-set version) of the same request asked ROUNDS times in a row."""
    body = json.dumps(package_request(person, party, package)).encode()
    seen = set()
    for _ in range(ROUNDS):
        status, answer = post(f"{base}/authorization/api/v1/authorize", body)
        assert status == 200, answer
        result = answer["Response"][0]
        versions = result.get("PolicyIdentifierList", {}).get("PolicySetIdReference", [])
        seen.add((result["Decision"], versions[0]["Version"] if versions else "?"))
    return seen


def decisions(base: str, person: str, party: str, package: str) -> set[str]:
    return {decision for decision, _ in answers(base, person, party, package)}


def warmed(base: str, person: str, party: str, package: str) -> set[str]:
    """Ask the same request many times, so both workers remember its decision."""
    for _ in range(2):
        seen = decisions(base, person, party, package)
    return seen


def delegate(base: str, recipient: str) -> dict:
    body = json.loads((EXAMPLES_DIR / "delegation.json").read_text(encoding="utf-8"))
    body["recipient"] = {"person": recipient}
    status, made = post(f"{base}/api/v1/delegations", json.dumps(body).encode())
    assert status == 201, made
    return made


def test_a_delegation_reaches_every_worker_at_once(server):
    base, _, _ = server
    assert warmed(base, ELENA, PARTY, EVENTS) == {"NotApplicable"}
    delegate(base, ELENA)
    assert decisions(base, ELENA, PARTY, EVENTS) == {"Permit"}


def test_a_revocation_reaches_every_worker_at_once(server):
    base, _, _ = server
    recipient = new_person()
    made = delegate(base, recipient)
    assert warmed(base, recipient, PARTY, EVENTS) == {"Permit"}
    status, revoked, _ = call(
        "DELETE", f"{base}/api/v1/delegations/{made['id']}?revoked_by={PAULA}"
    )
    assert status == 200, revoked
    assert decisions(base, recipient, PARTY, EVENTS) == {"NotApplicable"}


def test_a_register_import_from_the_command_line_reaches_every_worker_at_once(server):
    """Margrethe becomes styreleder (LEDE) of Karlstad in a register the CLI imports."""
    base, env, workdir = server
    register = json.loads((EXAMPLES_DIR / "register.json").read_text(encoding="utf-8"))
    karlstad = next(
        entry for entry in register["organizations"] if entry["organization_number"] == KARLSTAD
    )
    karlstad["roles"].append({"code": "LEDE", "person": MARGRETHE})
    changed = workdir / "register-changed.json"
    changed.write_text(json.dumps({"organizations": [karlstad]}), encoding="utf-8")

    assert warmed(base, MARGRETHE, KARLSTAD, API) == {"NotApplicable"}
    subprocess.run(
        [BIN / "pdp", "register", "import", str(changed)],
        env=env,
        cwd=workdir,
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert decisions(base, MARGRETHE, KARLSTAD, API) == {"Permit"}


def test_a_publish_and_an_activation_reach_every_worker_at_once(server):
    """A new version lets board members (MEDL) use the API; activating the version before it
    takes that back."""
    base, _, _ = server
    status, active, headers = call("GET", f"{base}/api/v1/policy-sets/active")
    assert status == 200
    before = active["number"]
    assert warmed(base, ORJAN, PARTY, API) == {"NotApplicable"}

    source = copy.deepcopy(active["source"])
    api = next(p for p in source["packages/integrasjoner.yaml"]["packages"] if p["urn"] == API)
    api["grants"].append({"roles": ["MEDL"], "delegable": False})
    body = json.dumps({"source": source, "message": "MEDL may use the API"}).encode()
    status, published, _ = call(
        "POST", f"{base}/api/v1/policy-sets", body, headers={"If-Match": headers["ETag"]}
    )
    assert status == 201, published
    after = published["version"]
    assert answers(base, ORJAN, PARTY, API) == {("Permit", str(after))}

    assert warmed(base, ORJAN, PARTY, API) == {"Permit"}
    status, activated, _ = call(
        "POST",
        f"{base}/api/v1/policy-sets/{before}/activate",
        headers={"If-Match": f'"{after}"'},
    )
    assert (status, activated) == (200, {"active": before})
    assert answers(base, ORJAN, PARTY, API) == {("NotApplicable", str(before))}

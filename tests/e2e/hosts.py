"""Two hosts on one PostgreSQL, for the end-to-end tests and the propagation benchmark.

Each host is a gunicorn server group (`launcher`) with a temporary directory of its own
(`TMPDIR`), so each has its own change file, as two machines have: only the database connects
them. Host B polls the database's change counter every `refresh_seconds`, so a change that
reaches B's next decision sooner than that was heard through a notification.

`propagation` makes changes through host A (a delegation made or revoked, alternately) and asks
host B after each until its decision follows, timing how long that took from A's answer, and
one more decision of B's as the floor. It needs nothing of pytest, so the benchmarks import it
too.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.e2e import launcher

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"
#: In examples/register.json: Paula is daglig leder of ØRSTA OG HEGGEDAL REGNSKAP AS, which
#: lets her delegate; Elena holds no role anywhere.
PARTY, PAULA, ELENA = "910459880", "02056260016", "01025161013"
PERMIT, NOT_APPLICABLE = "Permit", "NotApplicable"


@dataclass(frozen=True)
class Hosts:
    a: launcher.Server
    b: launcher.Server
    #: The environment of the `pdp` command line on host A.
    env: dict[str, str]


@contextmanager
def two_hosts(
    database_url: str, workdir: Path, *, refresh_seconds: float, workers: int = 2
) -> Iterator[Hosts]:
    """Hosts A and B serving the (empty) database at `database_url`, which the `pdp` command
    line first sets up with the shipped policies and the example register."""
    base = {
        **os.environ,
        "PDP_DATABASE_URL": database_url,
        "PDP_POLICY_DIR": str(ROOT / "policies"),
        "PDP_AUTH_DISABLED": "true",
        "PDP_DECISION_LOG": "off",
        "PDP_AUDIT_LOG": "off",
        "PDP_POLICY_REFRESH_SECONDS": str(refresh_seconds),
    }
    envs = {}
    for name in ("a", "b"):
        (workdir / name / "tmp").mkdir(parents=True)
        envs[name] = {**base, "TMPDIR": str(workdir / name / "tmp")}
    for command in (["init"], ["register", "import", str(ROOT / "examples" / "register.json")]):
        subprocess.run(
            [BIN / "pdp", *command], env=envs["a"], cwd=workdir, check=True, capture_output=True
        )
    with ExitStack() as stack:
        servers = {}
        for name in ("a", "b"):
            server = launcher.start(
                launcher.PDP_APP,
                envs[name],
                cwd=workdir / name,
                workers=workers,
                log=workdir / name / "gunicorn.log",
            )
            stack.callback(launcher.stop, server)
            servers[name] = server
        yield Hosts(servers["a"], servers["b"], envs["a"])


def send(
    server: launcher.Server,
    method: str,
    path: str,
    body: object = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict]:
    """One request on a connection of its own; (status, JSON answer)."""
    connection = http.client.HTTPConnection(launcher.HOST, server.port, timeout=10)
    try:
        connection.request(
            method,
            path,
            body=None if body is None else json.dumps(body),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def decision(
    server: launcher.Server, person: str, package: str = EVENTS, party: str = PARTY
) -> str:
    """May `person` use `package` for `party`, asked of `server`."""
    request = {
        "Request": {
            "AccessSubject": [
                {"Attribute": [{"AttributeId": "urn:altinn:person:identifier-no", "Value": person}]}
            ],
            "Action": [
                {
                    "Attribute": [
                        {
                            "AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id",
                            "Value": "access",
                        }
                    ]
                }
            ],
            "Resource": [
                {
                    "Attribute": [
                        {"AttributeId": "urn:altinn:accesspackage", "Value": package},
                        {"AttributeId": "urn:altinn:organization:identifier-no", "Value": party},
                    ]
                }
            ],
        }
    }
    status, answer = send(server, "POST", "/authorization/api/v1/authorize", request)
    assert status == 200, answer
    return answer["Response"][0]["Decision"]


def delegate(server: launcher.Server, recipient: str, package: str = EVENTS) -> str:
    """Paula delegates `package` for PARTY to `recipient` through `server`; the delegation id."""
    body = {
        "party": PARTY,
        "package": package,
        "delegator": PAULA,
        "recipient": {"person": recipient},
    }
    status, made = send(server, "POST", "/api/v1/delegations", body)
    assert status == 201, made
    return made["id"]


def revoke(server: launcher.Server, delegation_id: str) -> None:
    status, answer = send(
        server, "DELETE", f"/api/v1/delegations/{delegation_id}?revoked_by={PAULA}"
    )
    assert status == 200, answer


@dataclass(frozen=True)
class Lag:
    """From host A's answer to a write until host B's decision follows it."""

    seconds: float
    #: Decisions host B gave until one followed the change (1: its very next decision did).
    decisions: int
    #: The same decision asked of host B again at once, nothing changed: the floor under
    #: `seconds` (a request's round trip), measured in the same moment.
    floor: float


def propagation(
    hosts: Hosts, changes: int, person: str = ELENA, timeout: float = 10.0
) -> list[Lag]:
    """`changes` writes through host A, each followed by decisions of host B until they follow
    it. `person` must hold EVENTS for PARTY neither by a role nor by delegation to begin with."""
    assert decision(hosts.b, person) == NOT_APPLICABLE
    lags = []
    delegation = None
    for _ in range(changes):
        if delegation is None:
            delegation, expected = delegate(hosts.a, person), PERMIT
        else:
            revoke(hosts.a, delegation)
            delegation, expected = None, NOT_APPLICABLE
        answered = time.perf_counter()
        asked = 0
        while True:
            asked += 1
            if decision(hosts.b, person) == expected:
                seen = time.perf_counter()
                decision(hosts.b, person)
                lags.append(Lag(seen - answered, asked, time.perf_counter() - seen))
                break
            if time.perf_counter() - answered > timeout:
                raise AssertionError(f"host B did not follow a change within {timeout} s")
    if delegation is not None:
        revoke(hosts.a, delegation)
    return lags

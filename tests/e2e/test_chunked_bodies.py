"""A chunked body is held to the size limit like one with a Content-Length, by a real gunicorn:
over it is 413 with nothing decided or stored; exactly at it is read."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.e2e.servers import call, prepared_database, running_server

LIMIT = 16 * 1024
PERSON = "02056260016"  # Paula, daglig leder of 910459880 in the example register
PERMIT = {
    "Request": {
        "AccessSubject": {
            "Attribute": {"AttributeId": "urn:altinn:person:identifier-no", "Value": PERSON}
        },
        "Action": {
            "Attribute": {
                "AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id",
                "Value": "access",
            }
        },
        "Resource": {
            "Attribute": [
                {"AttributeId": "urn:altinn:accesspackage", "Value": "maskinlesbarehendelser"},
                {"AttributeId": "urn:altinn:organization:identifier-no", "Value": "910459880"},
            ]
        },
    }
}
DELEGATION = {
    "party": "910459880",
    "package": "maskinlesbarehendelser",
    "delegator": {"person": PERSON},
    "recipient": {"person": "30856499983"},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    workdir = tmp_path_factory.mktemp("chunked")
    env = prepared_database(workdir)
    log = workdir / "decisions.log"
    env |= {"PDP_MAX_BODY_BYTES": str(LIMIT), "PDP_DECISION_LOG": str(log)}
    with running_server(env, workdir, workers=1) as base:
        yield base, log


def padded(body: dict, size: int) -> bytes:
    text = json.dumps(body).encode()
    return text + b" " * (size - len(text))


def post_chunked(base: str, path: str, body: bytes) -> tuple[int, dict]:
    """`body` sent with Transfer-Encoding: chunked, in chunks of 1000 bytes."""
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        chunks = (body[i : i + 1000] for i in range(0, len(body), 1000))
        connection.request("POST", path, body=chunks, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def decided(log) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def decided_after(log, before: int, base: str) -> int:
    """How many decisions were logged since `before` was counted, up to and including one of
    a request sent now: the log is written off the decision path, in order, so once that
    request's line is there, every earlier decision's is too."""
    status, _ = post_chunked(base, "/authorization/api/v1/authorize", json.dumps(PERMIT).encode())
    assert status == 200
    deadline = time.monotonic() + 5
    while decided(log) == before and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # the writer drains every 10 ms: whatever was queued is written by now
    return decided(log) - before - 1


def test_a_chunked_body_over_the_limit_is_413_and_not_decided(server):
    base, log = server
    before = decided(log)
    # Whole JSON up to the limit, so that a body cut there would read as a request.
    status, _ = post_chunked(base, "/authorization/api/v1/authorize", padded(PERMIT, LIMIT) + b"}")
    assert status == 413
    assert decided_after(log, before, base) == 0


def test_a_chunked_delegation_over_the_limit_is_not_stored(server):
    base, _ = server
    status, _ = post_chunked(base, "/api/v1/delegations", padded(DELEGATION, LIMIT) + b" x")
    assert status == 413
    _, stored, _ = call("GET", f"{base}/api/v1/delegations")
    assert "30856499983" not in json.dumps(stored)


def test_a_chunked_body_exactly_at_the_limit_is_read(server):
    base, log = server
    before = decided(log)
    status, answer = post_chunked(base, "/authorization/api/v1/authorize", padded(PERMIT, LIMIT))
    assert status == 200
    assert answer["Response"][0]["Decision"] == "Permit"
    assert decided_after(log, before, base) == 1

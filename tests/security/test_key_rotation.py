"""Key rotation: once the issuer takes a key out of its key set, tokens signed with it are
refused, also those the verifier checked and remembered before.

The key set is served over real HTTP from a loopback server, as a JWKS URL is in production,
and kept by the verifier for a fraction of a second instead of 5 minutes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pdp.api.auth import AuthenticationFailed, JwksFile, JwksUrl, TokenVerifier
from tests.security.tokens import AUDIENCE, ISSUER, Issuer

#: How long the verifier keeps a fetched key set here.
LIFESPAN = 0.2


class JwksServer:
    """Serves `document` as a JSON Web Key Set at `url`, counting the fetches."""

    def __init__(self, document: dict[str, Any]):
        self.document = document
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                body = json.dumps(server.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_port}/jwks.json"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread.is_alive():
            self._http.shutdown()
            self._http.server_close()
            self._thread.join()


@pytest.fixture(scope="module")
def old() -> Issuer:
    return Issuer(prefix="old")


@pytest.fixture(scope="module")
def new() -> Issuer:
    return Issuer(prefix="new")


@pytest.fixture
def server(old: Issuer) -> Iterator[JwksServer]:
    serving = JwksServer(old.jwks)
    yield serving
    serving.close()


@pytest.fixture
def verifier(server: JwksServer) -> TokenVerifier:
    keys = JwksUrl(server.url, refresh_cooldown_seconds=0, lifespan_seconds=LIFESPAN)
    return TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)


def _rotate(server: JwksServer, *issuers: Issuer) -> None:
    """The issuer now publishes only these issuers' keys; wait until the verifier's copy of
    the old set is stale."""
    server.document = {"keys": [key for issuer in issuers for key in issuer.jwks["keys"]]}
    time.sleep(LIFESPAN * 1.5)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_remembered_token_is_refused_once_its_key_left_the_key_set(
    verifier, server, old, new, algorithm
):
    token = old.token(algorithm=algorithm)
    assert verifier.verify(token).subject == "test-client"
    assert verifier.verify(token).subject == "test-client"  # remembered
    _rotate(server, new)
    with pytest.raises(AuthenticationFailed, match="no usable key"):
        verifier.verify(token)
    with pytest.raises(AuthenticationFailed):
        verifier.verify(token)  # and stays refused


def test_a_new_token_with_a_removed_key_is_refused(verifier, server, old, new):
    """The key is not cached apart from its key set either."""
    verifier.verify(old.token())
    _rotate(server, new)
    with pytest.raises(AuthenticationFailed):
        verifier.verify(old.token(subject="another"))
    assert verifier.verify(new.token()).subject == "test-client"


def test_a_remembered_token_whose_key_stays_is_still_accepted(verifier, server, old, new):
    token = old.token()
    verifier.verify(token)
    _rotate(server, old, new)
    assert verifier.verify(token).subject == "test-client"
    fetches = server.fetches
    assert verifier.verify(token).subject == "test-client"
    assert server.fetches == fetches  # the fresh key set is used, not fetched again


def test_a_remembered_token_costs_no_fetch_while_the_key_set_is_fresh(verifier, server, old):
    token = old.token()
    verifier.verify(token)
    fetches = server.fetches
    for _ in range(100):
        verifier.verify(token)
    assert server.fetches == fetches


def test_with_a_jwks_file_a_remembered_token_is_checked_against_the_files_keys(old, tmp_path):
    """A JWKS file is read once at start: its keys stay until a restart, and so do tokens."""
    keys = JwksFile(str(old.write_jwks(tmp_path / "jwks.json")))
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    token = old.token()
    assert verifier.verify(token) == verifier.verify(token)


def test_while_the_issuer_cannot_be_reached_the_last_key_set_goes_on_serving(
    verifier, server, old, new
):
    """A key is known to be gone only from a set without it: an outage locks no one out."""
    token = old.token()
    verifier.verify(token)
    server.close()
    time.sleep(LIFESPAN * 1.5)
    assert verifier.verify(token).subject == "test-client"
    assert verifier.verify(old.token(subject="another")).subject == "another"
    with pytest.raises(AuthenticationFailed, match="cannot be fetched now"):
        verifier.verify(new.token())


def test_without_any_key_set_fetched_every_token_is_refused(old):
    keys = JwksUrl("http://127.0.0.1:9/jwks.json", refresh_cooldown_seconds=0)
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(AuthenticationFailed, match="cannot be fetched now"):
        verifier.verify(old.token())

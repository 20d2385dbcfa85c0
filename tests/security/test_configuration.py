"""The PDP will not start open by accident: keys, or an explicit and loud development setting.

Also how tokens are checked over time: a remembered token still expires, and keys may come from
a JWKS URL.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pdp.api import AUTH_DISABLED_WARNING, create_app
from pdp.api.auth import (
    AuthenticationFailed,
    ConfigurationError,
    JwksFile,
    JwksUrl,
    TokenVerifier,
    token_verifier,
)
from pdp.config import Settings
from tests.security.tokens import AUDIENCE, ISSUER, Issuer

BIN = Path(sys.executable).parent


def test_starting_with_neither_keys_nor_the_development_setting_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="PDP_JWKS_FILE or PDP_JWKS_URL"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path / 'pdp.sqlite3'}"))


def test_the_command_line_server_refuses_with_the_message_and_exit_code_1(tmp_path):
    env = {"PATH": str(BIN), "PDP_DATABASE_URL": f"sqlite:///{tmp_path / 'pdp.sqlite3'}"}
    run = subprocess.run(
        [BIN / "pdp", "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1
    assert "no token keys configured" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("value", ["yes", "1", "on", "tru"])
def test_the_development_setting_must_be_spelled_exactly(value):
    with pytest.raises(ValueError, match="PDP_AUTH_DISABLED must be true or false"):
        Settings.from_env({"PDP_AUTH_DISABLED": value})


def test_keys_and_the_development_setting_together_are_ambiguous(tmp_path, issuer):
    settings = Settings(
        auth_disabled=True,
        jwks_file=str(issuer.write_jwks(tmp_path / "jwks.json")),
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
    )
    with pytest.raises(ConfigurationError, match="ambiguous"):
        token_verifier(settings)


@pytest.mark.parametrize(
    ("missing", "message"),
    [("jwt_issuer", "PDP_JWT_ISSUER"), ("jwt_audience", "PDP_JWT_AUDIENCE")],
)
def test_keys_without_issuer_or_audience_are_refused(tmp_path, issuer, missing, message):
    values = {
        "jwks_file": str(issuer.write_jwks(tmp_path / "jwks.json")),
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        missing: None,
    }
    with pytest.raises(ConfigurationError, match=message):
        token_verifier(Settings(**values))


def test_an_unreadable_or_unusable_key_file_is_refused_at_start(tmp_path):
    with pytest.raises(ConfigurationError, match="PDP_JWKS_FILE"):
        JwksFile(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text('{"keys": "no"}')
    with pytest.raises(ConfigurationError, match="not a usable JWKS"):
        JwksFile(str(tmp_path / "bad.json"))


def test_running_without_authentication_warns_loudly_and_health_says_so(settings, pdp, caplog):
    with caplog.at_level(logging.WARNING, logger="pdp.api"):
        app = create_app(settings)
    assert AUTH_DISABLED_WARNING in caplog.text
    health = app.test_client().get("/health").get_json()
    assert health["authentication"] == "disabled-for-development"
    app.extensions["pdp"].close()


class _Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_remembered_token_still_expires(tmp_path, issuer):
    clock = _Clock()
    verifier = TokenVerifier(
        JwksFile(str(issuer.write_jwks(tmp_path / "jwks.json"))),
        issuer=ISSUER,
        audience=AUDIENCE,
        leeway_seconds=0,
        clock=clock,
    )
    token = issuer.token(lifetime=60)
    assert verifier.verify(token).subject == "test-client"
    clock.now += 61
    with pytest.raises(AuthenticationFailed, match="expired"):
        verifier.verify(token)


def test_the_leeway_tolerates_a_little_clock_skew_and_no_more(tmp_path, issuer):
    verifier = TokenVerifier(
        JwksFile(str(issuer.write_jwks(tmp_path / "jwks.json"))),
        issuer=ISSUER,
        audience=AUDIENCE,
        leeway_seconds=30,
    )
    assert verifier.verify(issuer.token(lifetime=-10)).subject == "test-client"
    with pytest.raises(AuthenticationFailed, match="expired"):
        verifier.verify(issuer.token(lifetime=-60))


def test_keys_can_come_from_a_jwks_url_and_rotate(issuer):
    """A token signed with a key the PDP has not seen makes it fetch the key set again."""
    served = {"jwks": Issuer(prefix="old").jwks}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(served["jwks"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
        verifier = TokenVerifier(
            JwksUrl(url, refresh_cooldown_seconds=0), issuer=ISSUER, audience=AUDIENCE
        )
        with pytest.raises(AuthenticationFailed, match="no usable key"):
            verifier.verify(issuer.token())
        served["jwks"] = issuer.jwks  # the issuer rotated to its new keys
        assert verifier.verify(issuer.token(algorithm="ES256")).subject == "test-client"
    finally:
        server.shutdown()


def test_an_unreachable_jwks_url_refuses_tokens_and_decides_nothing(issuer):
    verifier = TokenVerifier(
        JwksUrl("http://127.0.0.1:9/jwks.json"), issuer=ISSUER, audience=AUDIENCE
    )
    with pytest.raises(AuthenticationFailed, match="cannot be fetched"):
        verifier.verify(issuer.token())

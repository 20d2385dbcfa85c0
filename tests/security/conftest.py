"""Fixtures for who may call: an issuer, its JWKS file, and an app that checks tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdp.api import create_app
from pdp.config import Settings
from pdp.service import Pdp
from tests.security.tokens import AUDIENCE, ISSUER, Issuer


@pytest.fixture(scope="session")
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture(scope="session")
def stranger() -> Issuer:
    """Another issuer, same `iss` spelled the same: only the keys differ."""
    return Issuer(prefix="test")


@pytest.fixture
def jwks_file(issuer: Issuer, tmp_path: Path) -> Path:
    return issuer.write_jwks(tmp_path / "jwks.json")


@pytest.fixture
def secured_settings(database_url: str, jwks_file: Path) -> Settings:
    return Settings(
        database_url=database_url,
        policy_refresh_seconds=0,
        jwks_file=str(jwks_file),
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        decision_log="off",
        audit_log="off",
    )


@pytest.fixture
def secured_app(secured_settings: Settings, pdp: Pdp):
    application = create_app(secured_settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["pdp"].close()


@pytest.fixture
def secured_client(secured_app):
    return secured_app.test_client()

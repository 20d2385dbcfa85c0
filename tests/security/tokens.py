"""Signing keys, a JWKS file and bearer tokens made in the tests, as a token issuer would.

`Issuer` holds an RSA key (RS256) and a P-256 key (ES256) and signs tokens with either; its
`jwks` is what the PDP is configured with. A second `Issuer` stands in for a stranger whose
tokens must be refused.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pdp.api.auth import ALL_SCOPES

ISSUER = "https://test.maskinporten.example/"
AUDIENCE = "https://pdp.example/"
#: Every scope the PDP knows, as one `scope` claim.
EVERY_SCOPE = " ".join(ALL_SCOPES)


class Issuer:
    """A token issuer with one RSA and one EC signing key."""

    def __init__(self, issuer: str = ISSUER, prefix: str = "test"):
        self.issuer = issuer
        self.keys = {
            "RS256": (
                f"{prefix}-rsa",
                rsa.generate_private_key(public_exponent=65537, key_size=2048),
            ),
            "ES256": (f"{prefix}-ec", ec.generate_private_key(ec.SECP256R1())),
        }

    @property
    def jwks(self) -> dict[str, Any]:
        """The public keys as a JSON Web Key Set."""
        keys = []
        for algorithm, (kid, private) in self.keys.items():
            algorithm_class = (
                jwt.algorithms.RSAAlgorithm if algorithm == "RS256" else jwt.algorithms.ECAlgorithm
            )
            key = json.loads(algorithm_class.to_jwk(private.public_key()))
            keys.append(key | {"kid": kid, "use": "sig", "alg": algorithm})
        return {"keys": keys}

    def write_jwks(self, path: Path) -> Path:
        path.write_text(json.dumps(self.jwks), encoding="utf-8")
        return path

    def token(
        self,
        scopes: str | list[str] | None = EVERY_SCOPE,
        *,
        algorithm: str = "RS256",
        audience: str | None = AUDIENCE,
        issuer: str | None = None,
        lifetime: float = 300,
        not_before: float | None = None,
        person: str | None = None,
        subject: str = "test-client",
        kid: str | None = "default",
        **claims: Any,
    ) -> str:
        """A signed token; every claim can be set wrong on purpose (None leaves it out)."""
        now = time.time()
        body: dict[str, Any] = {
            "iss": issuer or self.issuer,
            "sub": subject,
            "client_id": subject,
            "iat": int(now),
            "exp": int(now + lifetime),
            **claims,
        }
        if audience is not None:
            body["aud"] = audience
        if scopes is not None:
            body["scope"] = scopes
        if not_before is not None:
            body["nbf"] = int(not_before)
        if person is not None:
            body["pid"] = person
        key_id, private = self.keys[algorithm]
        headers = {} if kid is None else {"kid": key_id if kid == "default" else kid}
        return jwt.encode(body, private, algorithm=algorithm, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

"""Configuration: one place, from `PDP_*` environment variables, with defaults that run on SQLite.

The Flask app factory and the command line build a `Settings` here and pass it down; nothing
deeper reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///pdp.sqlite3"


@dataclass(frozen=True)
class Settings:
    """Everything a PDP process can be configured with."""

    #: SQLAlchemy URL of the policy repository and register (`PDP_DATABASE_URL`). The default is
    #: a SQLite file in the working directory; PostgreSQL works with `postgresql+psycopg://...`.
    database_url: str = DEFAULT_DATABASE_URL
    #: Policy source directory that `pdp init` and `pdp compile` read (`PDP_POLICY_DIR`).
    policy_dir: str = "policies"
    #: Largest request body the HTTP API accepts, in bytes (`PDP_MAX_BODY_BYTES`).
    max_body_bytes: int = 1024 * 1024
    #: How often, at most, a process asks the database whether a process on another machine
    #: changed policies, register or delegations (`PDP_POLICY_REFRESH_SECONDS`); 0 asks before
    #: every decision. Processes on one machine learn of changes at once (`pdp.changes`).
    policy_refresh_seconds: float = 0.5
    #: How many decisions each process remembers until the next change (`PDP_DECISION_CACHE`);
    #: 0 decides every request afresh.
    decision_cache: int = 100_000
    #: Whether national identity numbers and organisation numbers must have valid mod-11 check
    #: digits (`PDP_IDENTIFIER_CHECK_DIGITS`). `false` accepts any 11 or 9 digits, for Altinn's
    #: test data (`01039012345`, `897069651`); never in production. Passed to readers of
    #: identifiers as `pdp.identifiers.IdentifierRules`.
    identifier_check_digits: bool = True

    # Who may call (see `pdp.api.auth`): bearer JWTs checked against these keys, or nothing at all.
    #: JSON Web Key Set file with the token issuer's public keys (`PDP_JWKS_FILE`).
    jwks_file: str | None = None
    #: JSON Web Key Set URL, fetched and cached (`PDP_JWKS_URL`); give this or `jwks_file`.
    jwks_url: str | None = None
    #: The `iss` every token must carry (`PDP_JWT_ISSUER`); required with keys.
    jwt_issuer: str | None = None
    #: The `aud` every token must carry (`PDP_JWT_AUDIENCE`); required with keys.
    jwt_audience: str | None = None
    #: Clock skew tolerated on `exp` and `nbf`, in seconds (`PDP_JWT_LEEWAY_SECONDS`).
    jwt_leeway_seconds: float = 30
    #: Serve without authentication, for development only (`PDP_AUTH_DISABLED=true`).
    auth_disabled: bool = False
    #: Whether decision requests may state the subject's roles instead of the register's
    #: (`PDP_STATED_ROLES`): then from callers whose token has the scope `pdp:stated-roles`
    #: (any caller when authentication is off); `false` refuses them from every caller.
    stated_roles: bool = True

    # Limits on request bodies (see `pdp.limits`); exceeding one is a 400 or 413 naming it.
    #: Deepest nesting of JSON objects and arrays (`PDP_MAX_JSON_DEPTH`).
    max_json_depth: int = 32
    #: Longest string, key or value, in a JSON body (`PDP_MAX_STRING_LENGTH`).
    max_string_length: int = 4096
    #: Most `MultiRequests.RequestReference` entries in one XACML request
    #: (`PDP_MAX_MULTI_REQUESTS`).
    max_multi_requests: int = 1000
    #: Most attributes in one XACML category (`PDP_MAX_ATTRIBUTES_PER_CATEGORY`).
    max_attributes_per_category: int = 64

    # Logs (see `pdp.api.logs`): `stdout`, `stderr`, a file path, or `off`.
    #: One JSON line per decision, national identity numbers masked (`PDP_DECISION_LOG`).
    decision_log: str = "stdout"
    #: One JSON line per publish, activation, import and delegation change (`PDP_AUDIT_LOG`).
    audit_log: str = "stdout"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `PDP_<FIELD NAME>` variables (`PDP_DATABASE_URL`, ...), each read by its
        field's type; a malformed value is refused with the variable's name."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in fields(cls):
            name = f"PDP_{setting.name.upper()}"
            if name in env:
                values[setting.name] = _READERS[setting.type](env, name)
        return cls(**values)


def _flag(env: Mapping[str, str], name: str) -> bool:
    """`true` or `false` (any case); anything else is refused, so that a typo cannot switch a
    safety off or on by accident. (Unset, a flag keeps its field's default.)"""
    raw = env[name].strip().lower()
    if raw not in ("true", "false"):
        raise ValueError(f"{name} must be true or false, got {env[name]!r}")
    return raw == "true"


def _number(env: Mapping[str, str], name: str, kind: type) -> float:
    raw = env[name]
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {raw!r}")
    return value


#: How a variable is read, by the type of its field (annotations are strings here).
_READERS: dict[str, Callable[[Mapping[str, str], str], Any]] = {
    "str": lambda env, name: env[name],
    "str | None": lambda env, name: env[name] or None,
    "int": lambda env, name: _number(env, name, int),
    "float": lambda env, name: _number(env, name, float),
    "bool": _flag,
}

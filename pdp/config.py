"""Configuration: one place, from `PDP_*` environment variables, with defaults that run on SQLite.

The Flask app factory and the command line build a `Settings` here and pass it down; nothing
deeper reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `PDP_*` variables; a malformed number is refused with its name."""
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            database_url=env.get("PDP_DATABASE_URL", defaults.database_url),
            policy_dir=env.get("PDP_POLICY_DIR", defaults.policy_dir),
            max_body_bytes=_number(env, "PDP_MAX_BODY_BYTES", int, defaults.max_body_bytes),
            policy_refresh_seconds=_number(
                env, "PDP_POLICY_REFRESH_SECONDS", float, defaults.policy_refresh_seconds
            ),
            decision_cache=_number(env, "PDP_DECISION_CACHE", int, defaults.decision_cache),
        )


def _number(env: Mapping[str, str], name: str, kind: type, default: float) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {raw!r}")
    return value

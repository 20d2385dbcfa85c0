"""Our PDP as the benchmarks run it: the real service over a SQLite file, filled through its
own API (publish, register import, delegation store) except for the scale runs' filler
delegations, which are bulk-inserted because a million one-row transactions would take longer
than everything else together."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.engine import make_url

from benchmarks.harness import Contender
from benchmarks.workload import Ask, Workload, filler_delegations
from pdp.config import Settings
from pdp.db import delegations as delegations_table
from pdp.engine import DecisionRequest
from pdp.service import Pdp
from pdp.subjects import Subject, subject
from pdp.vocabulary import NOT_APPLICABLE, PERMIT

#: The project root: where the servers run (so `benchmarks.floor_app` imports) and the
#: shipped policies are.
ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = ROOT / "policies"

_FILLER_CHUNK = 20_000
_FILLER_CACHE_KIB = 256 * 1024


def database_url(path: Path) -> str:
    return f"sqlite:///{path}"


def shown_url(url: str) -> str:
    """A database URL as a report may print it: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def server_env(url: str) -> dict[str, str]:
    """The environment the Python-load benchmarks start `pdp.api:create_app()` with: this
    process's, the database, and no authentication (`PDP_AUTH_DISABLED`, development only):
    the servers listen on loopback and those load generators hold no tokens, so their figures
    leave token checks out."""
    return {**os.environ, "PDP_DATABASE_URL": url, "PDP_AUTH_DISABLED": "true"}


def production_env(
    url: str, jwks_file: Path, issuer: str, audience: str, decision_log: Path
) -> dict[str, str]:
    """The environment of a server set up as in production: this process's, the database,
    bearer tokens checked against the keys in `jwks_file`, and a decision log written to a
    file."""
    return {
        **os.environ,
        "PDP_DATABASE_URL": url,
        "PDP_AUTH_DISABLED": "false",
        "PDP_JWKS_FILE": str(jwks_file),
        "PDP_JWT_ISSUER": issuer,
        "PDP_JWT_AUDIENCE": audience,
        "PDP_DECISION_LOG": str(decision_log),
    }


def open_pdp(path: Path) -> Pdp:
    """The service as `pdp serve` and gunicorn build it, on the SQLite file at `path`."""
    return Pdp.from_settings(Settings(database_url=database_url(path), policy_refresh_seconds=1.0))


def fill(pdp: Pdp, workload: Workload) -> dict[str, float]:
    """Publish the catalog, import the register and add the workload's delegations; seconds
    each step took."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    pdp.publish(workload.catalog, message="benchmark")
    seconds["publish"] = time.perf_counter() - started
    started = time.perf_counter()
    pdp.register.import_document(workload.register, workload.catalog)
    seconds["register import"] = time.perf_counter() - started
    started = time.perf_counter()
    for d in workload.delegations:
        recipient = subject(d.recipient_kind, d.recipient_id)
        pdp.delegations.add(d.party, d.package, d.delegator, recipient)
    seconds["delegations add"] = time.perf_counter() - started
    return seconds


def add_filler(pdp: Pdp, workload: Workload, start: int, stop: int, total: int) -> float:
    """Bulk-insert filler delegations `start`..`stop` (see `workload.filler_delegations`) in
    one transaction; seconds taken. A large page cache for this one connection keeps the
    random-order index inserts in memory (a third faster at 10^6 rows)."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    rows = filler_delegations(workload, start, stop, total)
    with pdp.database.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(f"PRAGMA cache_size = -{_FILLER_CACHE_KIB}")
        while chunk := list(islice(rows, _FILLER_CHUNK)):
            for row in chunk:
                row["created_at"] = now
            connection.execute(insert(delegations_table), chunk)
    return time.perf_counter() - started


def contender(pdp: Pdp) -> Contender:
    """`pdp.engine.decide` on a prepared DecisionRequest: everything a decision costs in
    process (policy-set check, PIP queries, py-abac evaluation), nothing of HTTP."""
    engine = pdp.engine

    def prepare(ask: Ask) -> DecisionRequest:
        return DecisionRequest(
            Subject(ask.subject_kind, ask.subject_id), ask.party, ask.package, ask.action
        )

    def decide(request: DecisionRequest) -> bool:
        return engine.decide(request).decision == PERMIT

    def check(request: DecisionRequest) -> bool:
        result = engine.decide(request)
        if result.decision not in (PERMIT, NOT_APPLICABLE):
            raise AssertionError(f"{request}: {result.decision} {result.message}")
        return result.decision == PERMIT

    return Contender("ours (pdp.engine.decide)", prepare, decide, check)

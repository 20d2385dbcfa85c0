"""Part: propagation, how soon a change made through one host reaches another host's decisions
on PostgreSQL (LISTEN/NOTIFY, `pdp.notifications`).

Setup: two gunicorn server groups with 2 sync workers each act as hosts A and B
(`tests.e2e.hosts`): each its own temporary directory and change file, both on one PostgreSQL
database, `PDP_POLICY_REFRESH_SECONDS=2` (a poll of the database every 2 s: only notifications
can be faster). The database is emptied and set up with the `pdp` command line (the shipped
policies, the example register).

Load: changes made through host A one after another, a delegation made then revoked, each
followed by decisions of host B's about it until one follows the change. The lag is the time
from host A's answer until host B's answer that follows it; the floor is the same decision
asked of B again at once (one round trip, nothing to wait for), measured right after each.
"Next decision" counts the changes whose very first decision of B's already followed them.

Needs PostgreSQL: `PDP_BENCH_POSTGRESQL_URL` (default
`postgresql+psycopg://postgres@127.0.0.1:5432/pdp_bench`), a database this part empties.
Skipped, saying so, when it cannot be reached.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import OperationalError

from benchmarks.ours import shown_url
from benchmarks.report import Part, load_average
from benchmarks.stats import number, percentile
from benchmarks.table import markdown, met
from pdp.db import make_engine
from tests.e2e.hosts import propagation, two_hosts
from tests.helpers import drop_schema

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/pdp_bench"
REFRESH_SECONDS = 2.0
P99_TARGET_MS = 100.0


@dataclass(frozen=True)
class Settings:
    changes: int


QUICK = Settings(changes=20)
FULL = Settings(changes=200)


def run(settings: Settings) -> Part:
    url = os.environ.get("PDP_BENCH_POSTGRESQL_URL", DEFAULT_URL)
    engine = make_engine(url)
    try:
        drop_schema(engine)
    except OperationalError as error:
        return Part(
            "propagation",
            "",
            [
                f"skipped: PostgreSQL cannot be reached at {shown_url(url)} "
                f"({str(error.orig).strip().splitlines()[0]}). Create the database with "
                "`createdb -h 127.0.0.1 -U postgres pdp_bench`, or name an empty one in "
                "PDP_BENCH_POSTGRESQL_URL, then run `python -m benchmarks --only propagation`."
            ],
        )
    finally:
        engine.dispose()
    load_before = load_average()
    with (
        tempfile.TemporaryDirectory(prefix="pdp-bench-propagation-") as name,
        two_hosts(url, Path(name), refresh_seconds=REFRESH_SECONDS) as hosts,
    ):
        lags = propagation(hosts, settings.changes)
    milliseconds = [lag.seconds * 1000 for lag in lags]
    floors = [lag.floor * 1000 for lag in lags]
    next_decision = sum(lag.decisions == 1 for lag in lags)
    p99 = percentile(milliseconds, 99)
    rows = [
        [
            "lag: A's answer to B's decision following it",
            *(number(percentile(milliseconds, q)) for q in (50, 95, 99)),
            number(max(milliseconds)),
            f"p99 <= {number(P99_TARGET_MS)} ms",
            met(p99 <= P99_TARGET_MS),
        ],
        [
            "floor: one decision of B's, nothing changed",
            *(number(percentile(floors, q)) for q in (50, 95, 99)),
            number(max(floors)),
            "",
            "",
        ],
    ]
    table = markdown(["ms", "p50", "p95", "p99", "max", "target", "met"], rows)
    return Part(
        "propagation",
        table,
        [
            f"{len(lags)} changes through host A (a delegation made, then revoked); B's very "
            f"next decision followed {next_decision} of them",
            f"two hosts of 2 gunicorn workers each on {shown_url(url)}, "
            f"PDP_POLICY_REFRESH_SECONDS={number(REFRESH_SECONDS)} (polling alone would take up "
            "to that long)",
            f"load average before: {load_before}, after: {load_average()} (on a shared machine "
            "the figures are noisy: compare the lag with the floor of the same run)",
        ],
    )

"""`python -m benchmarks --national`: a register the size of Norway, on SQLite and PostgreSQL.

Not part of the default run (it writes about 2 GB of files and takes half an hour). Steps, per
database:
1. a synthetic Norway (`benchmarks.national_data`: 1.2 million entities, 900,000 sub-units as
   Enhetsregisteret's bulk files, 4 million role assignments in the register format), written
   once into a temporary directory;
2. `pdp init`, then `pdp register import-brreg enheter.json.gz underenheter.json.gz` and
   `pdp register import roller.json.gz`, each the real command in a child process, timed, its
   peak RSS read from the kernel when it ends (`os.wait4`, in a small process that spawns it,
   `_PEAK_RSS`: spawned from this one, it would be said to peak at least as high as this);
3. 10^6 delegations bulk-inserted (filler: their recipients are persons no request names);
4. decisions about the register's role holders in a fresh process (`benchmarks.national_child`):
   warm and cold medians, against a small register (1,000 entities) built the same way in the
   same run, and a worker's RSS as more distinct requests pass than its caches hold.

PostgreSQL is `PDP_NATIONAL_DATABASE_URL` (default: database `pdp_national` on 127.0.0.1, which
must exist) and, for the small register, the same URL with `_small` appended to the database
name; both are emptied first. Without a reachable server the PostgreSQL rows are skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from benchmarks import ours
from benchmarks.national_data import NationalData, Sizes
from benchmarks.report import Part, load_average
from benchmarks.stats import number, summarise
from benchmarks.table import markdown, met
from pdp.db import copy_rows, delegations, make_engine, metadata
from pdp.schema import VERSION_TABLE

PACKAGE = "urn:altinn:accesspackage:maskinlesbarehendelser"
IMPORT_TARGET_S = {"postgresql": 180.0, "sqlite": 300.0}
RSS_TARGET_MB = 300
WARM_GROWTH_TARGET = 1.3
COLD_TARGET_US = 1000.0
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/pdp_national"


@dataclass(frozen=True)
class Settings:
    sizes: Sizes
    small: Sizes
    delegations: int
    asks: int
    distinct: int
    rounds: int


FULL = Settings(Sizes.national(), Sizes(1000, 750, 3333, 1250), 10**6, 2000, 150_000, 3)
QUICK = Settings(
    Sizes(120_000, 90_000, 400_000, 150_000), Sizes(1000, 750, 3333, 1250), 10**5, 1000, 20_000, 2
)


def run(settings: Settings) -> Part:
    rows: list[list[Any]] = []
    decisions: list[list[Any]] = []
    notes = [
        f"sizes: {settings.sizes.entities:,} entities, {settings.sizes.sub_units:,} sub-units, "
        f"{settings.sizes.roles:,} role assignments, {settings.delegations:,} delegations; "
        f"small register: {settings.small.entities:,} entities, {settings.small.roles:,} roles.",
        f"load average before: {load_average()}.",
    ]
    with tempfile.TemporaryDirectory(prefix="pdp-bench-national-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        national = NationalData.of(settings.sizes)
        paths = national.write(root / "national")
        small = NationalData.of(settings.small)
        small_paths = small.write(root / "small")
        sizes = {name: path.stat().st_size / 2**20 for name, path in paths.items()}
        notes.append(
            f"data written in {time.perf_counter() - started:.0f} s: "
            + ", ".join(f"{name}.json.gz {mb:.0f} MiB" for name, mb in sizes.items())
        )
        for backend, url, small_url in _databases(root, notes):
            imported = _fill(url, paths, settings.delegations)
            for step, (seconds, rss) in imported.items():
                limit = IMPORT_TARGET_S[backend]
                rows.append(
                    [
                        backend,
                        step,
                        f"{seconds:.0f}",
                        f"{rss:.0f}",
                        f"≤ {limit:.0f} s, ≤ {RSS_TARGET_MB} MB",
                        met(seconds <= limit and rss <= RSS_TARGET_MB),
                    ]
                )
            _fill(small_url, small_paths, 0)
            big = _measure(url, national, settings, root / f"{backend}-asks.json")
            little = _measure(small_url, small, settings, root / f"{backend}-small-asks.json")
            decisions += _decision_rows(backend, big, little)
    notes.append(f"load average after: {load_average()} (the machine was shared).")
    tables = [
        "### imports: the real commands in child processes",
        markdown(["database", "step", "seconds", "peak RSS MB", "target", "met?"], rows),
        "### decisions in a fresh process (pdp.engine.decide), national against small",
        markdown(["database", "figure", "national", "small", "ratio", "target", "met?"], decisions),
    ]
    return Part("national", "\n\n".join(tables), notes)


def _databases(root: Path, notes: list[str]) -> list[tuple[str, str, str]]:
    found = [("sqlite", ours.database_url(root / "n.sqlite3"), ours.database_url(root / "s.db"))]
    url = os.environ.get("PDP_NATIONAL_DATABASE_URL", DEFAULT_POSTGRES)
    parsed = make_url(url)
    small = parsed.set(database=f"{parsed.database}_small")
    try:
        for each in (url, small.render_as_string(hide_password=False)):
            _empty(each)
    except Exception as error:
        notes.append(f"PostgreSQL skipped: {ours.shown_url(url)} not usable ({error}).")
        return found
    return [*found, ("postgresql", url, small.render_as_string(hide_password=False))]


def _empty(url: str) -> None:
    engine = make_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
        metadata.drop_all(engine)
    finally:
        engine.dispose()


def _fill(url: str, paths: dict[str, Path], delegation_count: int) -> dict[str, tuple]:
    """Init, import-brreg, import: (seconds, peak RSS MB) of each import; then filler."""
    env = {**os.environ, "PDP_DATABASE_URL": url, "PDP_POLICY_DIR": str(ours.POLICY_DIR)}
    _command(env, "init")
    measured = {
        "import-brreg (entities + sub-units)": _command(
            env, "register", "import-brreg", str(paths["enheter"]), str(paths["underenheter"])
        ),
        "import (role assignments)": _command(env, "register", "import", str(paths["roller"])),
    }
    if delegation_count:
        _add_delegations(url, delegation_count)
    return measured


#: Runs the command given and says its peak RSS last on stderr. On Linux a child's ru_maxrss
#: counts the memory of the process that spawned it (exec records the high-water mark of the
#: memory it replaces), so a command spawned from this benchmark, which holds hundreds of MB
#: by then, would be said to peak at least there; spawned from this small process instead,
#: its figure is its own.
_PEAK_RSS = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(child.pid, 0)
print(f"peak RSS KiB {usage.ru_maxrss}", file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _command(env: dict[str, str], *arguments: str) -> tuple[float, float]:
    """Run `pdp ARGUMENTS` (as `python -m pdp.cli`), its seconds and peak RSS in MB."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, sys.executable, "-m", "pdp.cli", *arguments],
        env=env,
        cwd=ours.ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        output = done.stdout + done.stderr
        raise RuntimeError(f"pdp {' '.join(arguments)} failed:\n{output[-3000:]}")
    kib = int(done.stderr.splitlines()[-1].rpartition(" ")[2])
    return seconds, kib / 1024


def _add_delegations(url: str, count: int) -> None:
    """`count` delegations of the package to filler persons, for parties of the register."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        numbers = [
            number
            for (number,) in connection.execute(
                text("SELECT organization_number FROM organizations ORDER BY 1 LIMIT 200000")
            )
        ]
        batch: list[dict[str, Any]] = []
        for index in range(count):
            batch.append(
                {
                    "id": str(uuid.UUID(int=index + 1)),
                    "party": numbers[index % len(numbers)],
                    "package": PACKAGE,
                    "delegator": "01018000000",
                    "recipient_kind": "person",
                    "recipient_id": f"{index:011d}",
                    "created_at": now,
                }
            )
            if len(batch) == 20_000:
                _insert(connection, batch)
                batch = []
        if batch:
            _insert(connection, batch)
    engine.dispose()


def _insert(connection: Any, rows: list[dict[str, Any]]) -> None:
    """Rows into `delegations`: COPY on PostgreSQL (a statement per row otherwise)."""
    if connection.dialect.name != "postgresql":
        connection.execute(insert(delegations), rows)
        return
    copy_rows(connection, delegations, rows)


def _asks(data: NationalData, count: int, start: int = 0) -> list[list[str]]:
    """Role holders asking for the package for their own party (Permit for a granting role)
    and for the next party (NotApplicable), from entity `start` on."""
    asks: list[list[str]] = []
    index = start
    while len(asks) < count and index < data.sizes.entities:
        if data.has_roles(index):
            holder = data.roles_of(index)[0]
            if "person" in holder:
                party, other = data.entities[index], data.entities[index - 1]
                asks.append(["person", holder["person"], party, PACKAGE, "access"])
                asks.append(["person", holder["person"], other, PACKAGE, "access"])
        index += 1 + index % 7
    return asks[:count]


def _measure(url: str, data: NationalData, settings: Settings, asks_file: Path) -> dict:
    asks = _asks(data, settings.asks, 0)
    distinct = _asks(data, settings.distinct, 1)
    asks_file.write_text(json.dumps({"asks": asks, "distinct": distinct}))
    spec = {"url": url, "asks_file": str(asks_file), "rounds": settings.rounds}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.national_child", "measure", json.dumps(spec)],
        cwd=ours.ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"national child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _decision_rows(backend: str, big: dict, little: dict) -> list[list[Any]]:
    warm, warm_small = summarise(big["warm"], 1e-3), summarise(little["warm"], 1e-3)
    cold, cold_small = summarise(big["cold"], 1e-3), summarise(little["cold"], 1e-3)
    growth = warm.median / warm_small.median
    rows = [
        [
            backend,
            "warm median µs (p99)",
            f"{number(warm.median)} ({number(warm.p99)})",
            f"{number(warm_small.median)} ({number(warm_small.p99)})",
            f"{growth:.2f}x",
            f"≤ {WARM_GROWTH_TARGET}x",
            met(growth <= WARM_GROWTH_TARGET),
        ],
        [
            backend,
            "cold median µs (p99)",
            f"{number(cold.median)} ({number(cold.p99)})",
            f"{number(cold_small.median)} ({number(cold_small.p99)})",
            f"{cold.median / cold_small.median:.2f}x",
            f"≤ {COLD_TARGET_US:.0f} µs" if backend == "postgresql" else "",
            met(cold.median <= COLD_TARGET_US) if backend == "postgresql" else met(None),
        ],
        [
            backend,
            f"worker RSS MB before / after {big['distinct']:,} distinct requests",
            f"{big['rss_before_mb']:.0f} / {big['rss_after_mb']:.0f}",
            f"{little['rss_before_mb']:.0f} / {little['rss_after_mb']:.0f}",
            "",
            f"bounded: caches hold ≤ {big['cache_bound']:,} entries of each kind",
            met(None),
        ],
    ]
    return rows

"""Part, reverse: who may act for whom, and why, in process (the `Pdp` facade's use cases).

Measured on one SQLite database that holds, besides the shipped policies: a person holding
DAGL in 1,000 organisations; a typical person holding roles in 3; an organisation with 10,000
delegations of a package (to 10,000 persons) among 100,000 delegations in all. The targets:

- authorized parties of the person with 1,000 organisations ≤ 50 ms, of the typical person
  ≤ 2 ms (roles and access packages; with resources too, each resource and action asked of the
  engine for each party, as figures to read);
- holders of the package for the organisation with 10,000 delegations ≤ 200 ms;
- an explanation ≤ 5 ms.

Each is timed as a median over rounds (the decision cache on, as in production; the reverse
queries read the database every time). The figures are noisy on a shared machine.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from benchmarks import ours
from benchmarks.report import Part, load_average
from benchmarks.stats import number, plural, summarise
from benchmarks.table import markdown, met
from pdp import catalog as catalog_module
from pdp.db import delegations
from pdp.engine import DecisionRequest
from pdp.identifiers import complete_national_identity_number, complete_organization_number
from pdp.identities import Identifier
from pdp.service import Pdp
from pdp.subjects import PERSON, Subject
from pdp.vocabulary import PERSON_ID

PACKAGE = "urn:altinn:accesspackage:maskinlesbarehendelser"


@dataclass(frozen=True)
class Settings:
    organizations: int
    crowd: int
    delegations: int
    rounds: int
    repeats: int


QUICK = Settings(organizations=100, crowd=1000, delegations=5000, rounds=3, repeats=5)
FULL = Settings(organizations=1000, crowd=10_000, delegations=100_000, rounds=5, repeats=10)


@dataclass(frozen=True)
class _World:
    busy: str
    typical: str
    crowded: str
    dagl_of_crowded: str


def run(settings: Settings) -> Part:
    with tempfile.TemporaryDirectory() as directory:
        pdp = ours.open_pdp(Path(directory) / "reverse.sqlite3")
        try:
            world = _fill(pdp, settings)
            return _measure(pdp, world, settings)
        finally:
            pdp.close()


def _fill(pdp: Pdp, settings: Settings) -> _World:
    source = catalog_module.load(ours.POLICY_DIR)
    pdp.publish(source, message="benchmark")
    people = _numbers(complete_national_identity_number, "0188", 5, settings.crowd + 3)
    organizations = _numbers(complete_organization_number, "3", 7, settings.organizations + 1)
    busy, typical, dagl_of_crowded, *crowd = people
    crowded, *others = organizations
    entries = [
        {
            "organization_number": number,
            "name": f"BENCH {n} AS",
            "org_form": "AS",
            "roles": [{"code": "DAGL", "person": busy}]
            + ([{"code": "LEDE", "person": typical}] if n < 3 else []),
        }
        for n, number in enumerate(others)
    ]
    entries.append(
        {
            "organization_number": crowded,
            "name": "CROWDED AS",
            "org_form": "AS",
            "roles": [{"code": "DAGL", "person": dagl_of_crowded}],
        }
    )
    pdp.register.import_document({"organizations": entries}, source)
    now = datetime.now(UTC)
    rows = [
        {
            "id": str(uuid.UUID(int=n + 1)),
            "party": crowded if n < settings.crowd else others[n % len(others)],
            "package": PACKAGE,
            "delegator": dagl_of_crowded,
            "recipient_kind": PERSON,
            "recipient_id": crowd[n % len(crowd)] if n < settings.crowd else f"9{n:010d}",
            "created_at": now,
        }
        for n in range(settings.delegations)
    ]
    with pdp.database.begin() as connection:
        for start in range(0, len(rows), 20_000):
            connection.execute(insert(delegations), rows[start : start + 20_000])
    return _World(busy, typical, crowded, dagl_of_crowded)


def _numbers(complete: Callable[[str], str | None], prefix: str, width: int, count: int):
    found, n = [], 0
    while len(found) < count:
        number = complete(f"{prefix}{n:0{width}d}")
        n += 1
        if number is not None:
            found.append(number)
    return found


def _measure(pdp: Pdp, world: _World, settings: Settings) -> Part:
    busy = Identifier(PERSON_ID, world.busy)
    typical = Identifier(PERSON_ID, world.typical)
    ask = DecisionRequest(Subject(PERSON, world.dagl_of_crowded), world.crowded, PACKAGE, "access")
    cases: list[tuple[str, Callable[[], object], float | None, Callable[[object], str]]] = [
        (
            f"authorized parties, DAGL of {settings.organizations:,} organisations",
            lambda: pdp.authorized_parties(busy, resources=False),
            50.0,
            lambda found: f"{len(found):,} parties",
        ),
        (
            f"  … with resources ({settings.organizations:,} parties, each resource and action)",
            lambda: pdp.authorized_parties(busy),
            None,
            lambda found: f"{len(found):,} parties",
        ),
        (
            "authorized parties, typical person (3 parties)",
            lambda: pdp.authorized_parties(typical, resources=False),
            2.0,
            lambda found: f"{len(found)} parties",
        ),
        (
            "  … with resources",
            lambda: pdp.authorized_parties(typical),
            None,
            lambda found: f"{len(found)} parties",
        ),
        (
            f"holders of a package, organisation with {settings.crowd:,} delegations",
            lambda: pdp.holders(world.crowded, package=PACKAGE),
            200.0,
            lambda page: f"{page.total:,} holders, first page of 100",
        ),
        (
            "explain a package decision",
            lambda: pdp.explain(ask),
            5.0,
            lambda explanation: f"{explanation.result.decision}, {len(explanation.steps)} steps",
        ),
        (
            "  decide the same request (no cache: the floor explain builds on)",
            lambda: pdp.engine._decide_fresh(pdp.active_policy_set(), [ask], None),
            None,
            lambda results: results[0].decision,
        ),
    ]
    rows = []
    for name, call, target, describe in cases:
        answer = call()  # warm: policies parsed, caches filled
        rounds, cpu_rounds = [], []
        for _ in range(settings.rounds):
            timings, cpu = [], []
            for _ in range(settings.repeats):
                started, cpu_started = time.perf_counter(), time.process_time()
                call()
                timings.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
            rounds.append(timings)
            cpu_rounds.append(cpu)
        summary = summarise(rounds, 1e3)
        cpu_summary = summarise(cpu_rounds, 1e3)
        rows.append(
            [
                name,
                describe(answer),
                number(summary.median),
                number(summary.p99),
                number(cpu_summary.median),
                f"≤ {target:g} ms" if target is not None else "",
                met(None if target is None else summary.median <= target),
            ]
        )
    return Part(
        "reverse",
        markdown(["question", "answer", "median ms", "p99 ms", "CPU ms", "target", "met"], rows),
        [
            f"{settings.delegations:,} delegations in the database, "
            f"{settings.organizations + 1:,} organisations; SQLite file, in process",
            f"{plural(settings.rounds, 'round')} of {settings.repeats} calls each after one "
            "warm-up call; median of round medians",
            "met: the wall-clock median within the target. CPU ms: this process's CPU time "
            "per call (median), which other processes on a shared machine inflate less",
            f"load average before the run ended: {load_average()} (2 shared cores: noisy)",
        ],
    )

"""What the soak sends: the request kinds and their shares, and the bodies of each kind with
the answers they must get, prepared once before the server starts.

The decisions expected are the in-process engine's for the same requests, and the delegation
writes only use (party, delegator, package) triples the PDP itself permits to delegate, so that
a wrong decision or a refused write is the server's fault, never the load's.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from benchmarks import ours, workload
from pdp import catalog as catalog_module
from pdp.config import Settings
from pdp.engine import DecisionRequest
from pdp.service import Pdp
from pdp.subjects import Subject
from pdp.vocabulary import PERMIT

ORGANIZATIONS = 1000
ASKS = 2000
MULTI_SIZE = 20
#: Share of requests of each kind; "write" creates a delegation or revokes one.
MIX = (("authorize", 0.55), ("decision", 0.37), ("multi", 0.03), ("write", 0.05))
#: Share of writes that revoke the connection's oldest live delegation (when it has one).
REVOKE_SHARE = 0.5
#: How long the request kinds' seeded sequence is before it repeats.
PLAN_LENGTH = 10_000


@dataclass(frozen=True)
class Mix:
    """What the connections send, prepared once: the stream's bodies, the decisions the
    in-process engine gave them, and who the PDP permits to delegate what for whom."""

    authorize: list[bytes]
    decision: list[bytes]
    expected: list[str]
    multis: list[bytes]
    multi_expected: list[list[str]]
    #: (party, delegator, package) for which the PDP permits action `delegate`.
    grantors: list[tuple[str, str, str]]
    kinds: list[str]


def prepare(url: str) -> tuple[Mix, int]:
    """Fill the database at `url` with the workload; the mix and how many delegations it
    holds. ValueError if the database is not empty."""
    catalog = catalog_module.load(ours.POLICY_DIR)
    load = workload.build(catalog, ORGANIZATIONS, asks=ASKS)
    pdp = Pdp.from_settings(Settings(database_url=url, policy_refresh_seconds=1.0))
    try:
        if pdp.repository.active_version() is not None:
            raise ValueError(f"{ours.shown_url(url)} is not empty: the soak needs a fresh database")
        ours.fill(pdp, load)
        decide = pdp.engine.decide
        prepare_ask = ours.contender(pdp).prepare
        expected = [decide(prepare_ask(ask)).decision for ask in load.stream]
        grantors = _grantors(pdp, load)
    finally:
        pdp.close()
    rng = random.Random(5)
    names, weights = zip(*MIX, strict=True)
    starts = range(0, len(load.stream), MULTI_SIZE)
    mix = Mix(
        authorize=[encode(workload.xacml_body(ask)) for ask in load.stream],
        decision=[encode(_decision_body(ask)) for ask in load.stream],
        expected=expected,
        multis=[encode(workload.xacml_multi_body(load.stream[i : i + MULTI_SIZE])) for i in starts],
        multi_expected=[expected[i : i + MULTI_SIZE] for i in starts],
        grantors=grantors,
        kinds=rng.choices(names, weights, k=PLAN_LENGTH),
    )
    return mix, len(load.delegations)


def ask_body(recipient: str, party: str, package: str) -> bytes:
    """The XACML request: may person `recipient` access `package` for `party`?"""
    return encode(workload.xacml_body(workload.Ask("person", recipient, party, package, "access")))


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _grantors(pdp: Pdp, load: workload.Workload) -> list[tuple[str, str, str]]:
    """Every (party, person, package) for which the PDP permits the register's role holders
    action `delegate`: asking the PDP itself keeps the writes valid whatever the catalog says
    (a NUF-only package, say), so a write that fails is the server's fault."""
    grantors = []
    for org in load.register["organizations"]:
        party = org["organization_number"]
        for role in org["roles"]:
            if "person" not in role:
                continue
            for package in load.catalog.packages:
                if not package.delegable:
                    continue
                request = DecisionRequest(
                    Subject("person", role["person"]), party, package.urn, "delegate"
                )
                if pdp.engine.decide(request).decision == PERMIT:
                    grantors.append((party, role["person"], package.urn))
    return grantors


def _decision_body(ask: workload.Ask) -> dict[str, Any]:
    """The request in py-abac's shape (`POST /api/v1/decision`)."""
    return {
        "subject": {"id": ask.subject_urn, "attributes": {}},
        "resource": {"id": ask.package, "attributes": {"party": ask.party}},
        "action": {"id": ask.action, "attributes": {}},
        "context": {},
    }

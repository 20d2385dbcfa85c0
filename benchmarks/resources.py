"""Part, resources: a service resource decision against a package decision, in process.

PEPs ask about service resources; the packages a resource's policy names are package decisions
of the same engine. So a resource decision should cost about what a package decision does:
warm (the decision cache on, as in production) within 1.5x, cold (no decision cache, every
fact read from the database) within 2x, and flat as the policy set grows from Integrasjoner to
the full Altinn catalog and from tens to thousands of resource policies.

The workload is the latency part's (`benchmarks.workload`): its stream of package questions is
asked twice, once as it is (`access` to package P) and once of a resource `bench-<P>` whose
policy permits `read` to whoever holds P. The two must agree on every question before anything
is timed. Further resource policies, each naming a package and a role, fill the source up to
the size measured.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks import harness, ours, workload
from benchmarks.harness import Contender
from benchmarks.report import Part
from benchmarks.stats import number, plural, summarise
from benchmarks.table import markdown, met
from pdp import catalog as catalog_module
from pdp.config import Settings as PdpSettings
from pdp.engine import DecisionRequest
from pdp.engine.request import ResourceRequest
from pdp.identities import Identifier
from pdp.service import Pdp
from pdp.subjects import PERSON, Subject
from pdp.vocabulary import ACCESS, ACTION_ID, ORGANIZATION_ID, PERMIT, PERSON_ID, XML_STRING

WARM_TARGET = 1.5
COLD_TARGET = 2.0
FLAT_TARGET = 1.3


@dataclass(frozen=True)
class Settings:
    #: (name, policy source directory, resource policies in it) for each source measured.
    sources: tuple[tuple[str, Path, int], ...]
    organizations: int
    asks: int
    rounds: int
    warmup: int


_INTEGRASJONER, _CATALOG = ours.POLICY_DIR, ours.POLICY_DIR / "altinn-catalog"
QUICK = Settings(
    sources=(("Integrasjoner", _INTEGRASJONER, 10), ("Integrasjoner", _INTEGRASJONER, 200)),
    organizations=200,
    asks=300,
    rounds=3,
    warmup=100,
)
FULL = Settings(
    sources=(
        ("Integrasjoner", _INTEGRASJONER, 10),
        ("Integrasjoner", _INTEGRASJONER, 10_000),
        ("full catalog", _CATALOG, 250),
    ),
    organizations=1000,
    asks=2000,
    rounds=5,
    warmup=500,
)

_POLICY = """<?xml version="1.0" encoding="utf-8"?>
<Policy xmlns="urn:oasis:names:tc:xacml:3.0:core:schema:wd-17" PolicyId="bench:{name}"
        Version="1.0"
        RuleCombiningAlgId="urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides">
  <Target/>
  <Rule RuleId="bench:{name}:read" Effect="Permit">
    <Target>
      <AnyOf><AllOf>
        <Match MatchId="urn:oasis:names:tc:xacml:3.0:function:string-equal-ignore-case">
          <AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">{package}</AttributeValue>
          <AttributeDesignator AttributeId="urn:altinn:accesspackage"
            Category="urn:oasis:names:tc:xacml:1.0:subject-category:access-subject"
            DataType="http://www.w3.org/2001/XMLSchema#string" MustBePresent="false"/>
        </Match>
      </AllOf>{role}</AnyOf>
      <AnyOf><AllOf>
        <Match MatchId="urn:oasis:names:tc:xacml:1.0:function:string-equal">
          <AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">read</AttributeValue>
          <AttributeDesignator AttributeId="urn:oasis:names:tc:xacml:1.0:action:action-id"
            Category="urn:oasis:names:tc:xacml:3.0:attribute-category:action"
            DataType="http://www.w3.org/2001/XMLSchema#string" MustBePresent="false"/>
        </Match>
      </AllOf></AnyOf>
    </Target>
  </Rule>
  <ObligationExpressions>
    <ObligationExpression FulfillOn="Permit" ObligationId="bench:level">
      <AttributeAssignmentExpression AttributeId="urn:altinn:obligation-assignment:1"
        Category="urn:altinn:minimum-authenticationlevel">
        <AttributeValue DataType="http://www.w3.org/2001/XMLSchema#integer">3</AttributeValue>
      </AttributeAssignmentExpression>
    </ObligationExpression>
  </ObligationExpressions>
</Policy>
"""
_ROLE = """<AllOf>
        <Match MatchId="urn:oasis:names:tc:xacml:3.0:function:string-equal-ignore-case">
          <AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">{role}</AttributeValue>
          <AttributeDesignator AttributeId="urn:altinn:rolecode"
            Category="urn:oasis:names:tc:xacml:1.0:subject-category:access-subject"
            DataType="http://www.w3.org/2001/XMLSchema#string" MustBePresent="false"/>
        </Match>
      </AllOf>"""


def run(settings: Settings) -> Part:
    rows, notes = [], []
    warm_base = cold_base = None
    for name, directory, count in settings.sources:
        with tempfile.TemporaryDirectory(prefix="pdp-bench-resources-") as tmp:
            source, resources = _source(directory, Path(tmp) / "source", count)
            figures = _measure(settings, source, Path(tmp))
        label = f"{name}, {resources:,} resource policies"
        warm = figures["resource warm"] / figures["package warm"]
        cold = figures["resource cold"] / figures["package cold"]
        warm_base = warm_base or figures["resource warm"]
        cold_base = cold_base or figures["resource cold"]
        rows.append(
            [
                label,
                number(figures["package warm"]),
                number(figures["resource warm"]),
                f"{warm:.2f}x",
                number(figures["package cold"]),
                number(figures["resource cold"]),
                f"{cold:.2f}x",
                f"{figures['resource warm'] / warm_base:.2f}x / "
                f"{figures['resource cold'] / cold_base:.2f}x",
                met(
                    warm <= WARM_TARGET
                    and cold <= COLD_TARGET
                    and figures["resource warm"] / warm_base <= FLAT_TARGET
                ),
            ]
        )
    headers = [
        "policy source",
        "package warm µs",
        "resource warm µs",
        "ratio",
        "package cold µs",
        "resource cold µs",
        "ratio",
        "resource vs first row (warm / cold)",
        "met?",
    ]
    notes.append(
        f"medians of {plural(settings.rounds, 'round')} over {settings.asks} questions "
        f"({settings.organizations:,} organisations); warm: decision cache on "
        f"(PDP_DECISION_CACHE default), cold: off, every fact read from SQLite. Targets: "
        f"resource ≤ {WARM_TARGET:g}x package warm, ≤ {COLD_TARGET:g}x cold, warm resource "
        f"figure within {FLAT_TARGET:g}x of the first row's."
    )
    return Part("resources", markdown(headers, rows), notes)


def _source(directory: Path, target: Path, count: int) -> tuple[Path, int]:
    """A copy of the policy source at `directory` with a resource `bench-<code>` per package
    and filler resources up to `count` in all; the path and the number written."""
    shutil.copytree(directory, target, ignore=shutil.ignore_patterns("tests", "resources"))
    catalog = catalog_module.load(target)
    codes = [package.code for package in catalog.packages]
    roles = [role.code for role in catalog.roles]
    names = [(f"bench-{code.lower()}", code, "") for code in codes]
    for index in range(max(0, count - len(names))):
        role = _ROLE.format(role=roles[index % len(roles)])
        names.append((f"bench-filler-{index}", codes[index % len(codes)], role))
    for name, code, role in names:
        policy = target / "resources" / name / "policy.xml"
        policy.parent.mkdir(parents=True)
        policy.write_text(_POLICY.format(name=name, package=code, role=role), encoding="utf-8")
    return target, len(names)


def _measure(settings: Settings, source: Path, tmp: Path) -> dict[str, float]:
    catalog = catalog_module.load(source)
    load = workload.build(catalog, settings.organizations, settings.asks)
    asks = [ask for ask in load.stream if ask.action == ACCESS]
    figures: dict[str, float] = {}
    database = tmp / "bench.sqlite3"
    filled = ours.open_pdp(database)
    try:
        ours.fill(filled, load)
    finally:
        filled.close()
    for warmth, cache in (("warm", 100_000), ("cold", 0)):
        pdp = Pdp.from_settings(
            PdpSettings(
                database_url=ours.database_url(database),
                decision_cache=cache,
                policy_refresh_seconds=1.0,
            )
        )
        try:
            package, resource = _contenders(pdp)
            expected = harness.answers(package, asks)
            if harness.answers(resource, asks) != expected:
                raise AssertionError("resource and package decisions disagree")
            samples = harness.time_rounds(
                [package, resource], asks, settings.rounds, settings.warmup
            )
        finally:
            pdp.close()
        for contender in (package, resource):
            summary = summarise(samples[contender.name], 1e-3)
            figures[f"{contender.name} {warmth}"] = summary.median
    return figures


def _contenders(pdp: Pdp) -> tuple[Contender, Contender]:
    engine = pdp.engine

    def package_request(ask: workload.Ask) -> DecisionRequest:
        return DecisionRequest(
            Subject(ask.subject_kind, ask.subject_id), ask.party, ask.package, ACCESS
        )

    def resource_request(ask: workload.Ask) -> ResourceRequest:
        subject = PERSON_ID if ask.subject_kind == PERSON else ORGANIZATION_ID
        code = ask.package.rsplit(":", 1)[-1].lower()
        return ResourceRequest(
            subject=(Identifier(subject, ask.subject_id),),
            party=Identifier(ORGANIZATION_ID, ask.party),
            resource=f"bench-{code}",
            action="read",
            attributes=(("action", ((ACTION_ID, XML_STRING, ("read",)),)),),
        )

    def decide(request: DecisionRequest | ResourceRequest) -> bool:
        return engine.decide(request).decision == PERMIT

    return (
        Contender("package", package_request, decide),
        Contender("resource", resource_request, decide),
    )

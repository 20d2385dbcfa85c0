"""The parts of a PDP process, built once from Settings and shared by the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine as DatabaseEngine

from pdp import compiler
from pdp.catalog import Catalog
from pdp.changes import ChangeLog
from pdp.config import Settings
from pdp.db import create_schema, make_engine
from pdp.delegating import DelegationService
from pdp.delegations import DelegationStore
from pdp.diff import SourceDiff, diff
from pdp.engine import DecisionEngine
from pdp.errors import NoActivePolicySet
from pdp.impact import Impact, impact
from pdp.register import Register
from pdp.repository import ActivePolicySet, PolicyRepository, PolicySet, PublishResult


@dataclass(frozen=True)
class Preview:
    """A proposed policy source against the active version (None: nothing published yet)."""

    base_version: int | None
    source: SourceDiff
    impact: Impact
    #: The proposed source is the active one, word for word: publishing it would change nothing.
    unchanged: bool


@dataclass(frozen=True)
class Pdp:
    """A policy repository, a register and a decision engine over one database.

    `from_settings` is where a process's parts are built and wired: the one change log is made
    here and handed to every store that announces writes and to the engine that reads them.
    """

    settings: Settings
    database: DatabaseEngine
    changes: ChangeLog
    repository: PolicyRepository
    register: Register
    delegations: DelegationStore
    policy_sets: ActivePolicySet
    engine: DecisionEngine
    delegating: DelegationService

    @classmethod
    def from_settings(cls, settings: Settings) -> Pdp:
        database = make_engine(settings.database_url)
        create_schema(database)
        changes = ChangeLog.of(database, settings.policy_refresh_seconds)
        repository = PolicyRepository(database, changes)
        register = Register(database, changes)
        delegations = DelegationStore(database, changes)
        policy_sets = ActivePolicySet(repository, changes)
        engine = DecisionEngine(
            policy_sets, register, delegations, changes, cache_size=settings.decision_cache
        )
        delegating = DelegationService(engine, delegations, policy_sets)
        return cls(
            settings,
            database,
            changes,
            repository,
            register,
            delegations,
            policy_sets,
            engine,
            delegating,
        )

    def publish(
        self,
        catalog: Catalog,
        *,
        message: str = "",
        author: str = "",
        expected_active: int | None = None,
    ) -> PublishResult:
        """Compile `catalog` and publish it as the active version (a no-op if already active);
        VersionConflict if `expected_active` is given and another version is active."""
        return self.repository.store_version(
            catalog,
            compiler.compile_catalog(catalog),
            message=message,
            author=author,
            expected_active=expected_active,
        )

    def preview(self, catalog: Catalog) -> Preview:
        """What publishing `catalog` would change, against the active version and the register;
        nothing is written."""
        proposed = PolicySet(0, catalog, compiler.compile_catalog(catalog))
        self.policy_sets.refresh_now()  # compare with what is active now, not a moment ago
        try:
            active = self.policy_sets.current()
        except NoActivePolicySet:
            active = None
        return Preview(
            base_version=active.version if active else None,
            source=diff(active.catalog if active else None, catalog),
            impact=impact(
                active,
                proposed,
                self.register.assignments(),
                self.delegations.active(),
                self.register.org_forms(),
            ),
            unchanged=active is not None and dict(active.catalog.source) == dict(catalog.source),
        )

    def close(self) -> None:
        self.database.dispose()

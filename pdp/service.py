"""`Pdp`: the use cases of a PDP process, the one thing the API and the command line call.

`from_settings` builds a process's parts once (repository, register, delegations, engine) over
one database and one change log. The views and the commands call the use cases below (decide,
preview, publish, activate, import the register, delegate, revoke, read what they show) and
never reach into the parts themselves: which part does what, and what must follow a write (the
active policy set read again), is decided here, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy import select

from pdp import compiler, schema
from pdp.brreg import EntityFile
from pdp.brreg_import import BrregSummary, import_files
from pdp.catalog import Catalog
from pdp.changes import ChangeLog
from pdp.config import Settings
from pdp.db import change_counter, make_engine
from pdp.delegation_rights import DelegationRights, InvalidDelegation
from pdp.delegations import (
    Delegation,
    DelegationNotFound,
    DelegationPage,
    DelegationStore,
    RecipientRefused,
)
from pdp.diff import SourceDiff, diff
from pdp.engine import DecisionEngine, Result
from pdp.engine.request import Request
from pdp.errors import InvalidFields, NoActivePolicySet, PdpError
from pdp.explain import Explanation, explain
from pdp.identifiers import IdentifierRules
from pdp.identities import Identifier, identify
from pdp.impact import Impact, impact
from pdp.progress import Progress
from pdp.register import ImportSummary, Organization, Register
from pdp.register_file import sections_in
from pdp.repository import (
    ActivePolicySet,
    PolicyRepository,
    PolicySet,
    PublishResult,
    UnknownVersion,
    VersionInfo,
)
from pdp.reverse import HolderPage, PartyAccess, authorized_parties, holders
from pdp.subjects import ORGANIZATION, Subject
from pdp.vocabulary import ACCESS


@dataclass(frozen=True)
class Preview:
    """A proposed policy source against the active version (None: nothing published yet)."""

    base_version: int | None
    source: SourceDiff
    impact: Impact
    #: The proposed source is the active one, word for word: publishing it would change nothing.
    unchanged: bool


@dataclass(frozen=True)
class VersionHistory:
    """Every published version, oldest first, and the number of the active one."""

    active: int | None
    versions: list[VersionInfo]


@dataclass(frozen=True)
class PublishedVersion:
    """One published version with the policy source it was published from."""

    info: VersionInfo
    source: dict[str, Any]
    #: The version active when this was read: what an edit of it is based on.
    active: int | None


@dataclass(frozen=True)
class Readiness:
    """Whether this process can decide: under which version, or why not."""

    version: int | None
    problem: str | None = None


@dataclass(frozen=True)
class RegisterCounts:
    """How much the register and the delegations hold, for an overview."""

    organizations: int
    #: Delegations in force (not revoked).
    delegations: int


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
    delegation_rights: DelegationRights

    @classmethod
    def from_settings(cls, settings: Settings) -> Pdp:
        database = make_engine(settings.database_url)
        try:
            schema.prepare(database)
        except BaseException:
            database.dispose()
            raise
        changes = ChangeLog.of(database, settings.policy_refresh_seconds)
        repository = PolicyRepository(database, changes)
        register = Register(database, changes)
        delegations = DelegationStore(database, changes)
        policy_sets = ActivePolicySet(repository, changes)
        engine = DecisionEngine(
            policy_sets, register, delegations, changes, cache_size=settings.decision_cache
        )
        return cls(
            settings,
            database,
            changes,
            repository,
            register,
            delegations,
            policy_sets,
            engine,
            DelegationRights(engine),
        )

    # --- deciding -------------------------------------------------------------------------------

    def decide(self, requests: Sequence[Request]) -> list[Result]:
        """A result for each request, in order, all under one policy-set version."""
        return self.engine.decide_all(requests)

    def explain(self, request: Request) -> Explanation:
        """The decision for `request`, as `decide` gives it, and why (`pdp.explain`)."""
        return explain(
            self.engine, self.register, self.delegations, self.policy_sets.current(), request
        )

    # --- asking the other way -------------------------------------------------------------------

    def authorized_parties(
        self,
        who: Identifier,
        *,
        resources: bool = True,
        any_of_resources: Sequence[str] = (),
        party_filter: Sequence[Identifier] | None = None,
    ) -> list[PartyAccess]:
        """The parties the subject `who` names may act for (`pdp.reverse`); none for an
        identifier that names no one. `party_filter` keeps only the parties it names."""
        identified = identify(self.register, [who, *(party_filter or ())])
        subject = identified[who]
        if subject is None:
            return []
        parties = None
        if party_filter is not None:
            parties = {
                found.subject.identifier
                for each in party_filter
                if (found := identified[each]) is not None and found.subject.kind == ORGANIZATION
            }
        return authorized_parties(
            self.register,
            self.delegations,
            self.policy_sets.current(),
            self.decide,
            subject.subject,
            resources=resources,
            any_of_resources=any_of_resources,
            parties=parties,
        )

    def holders(
        self,
        party: str,
        *,
        package: str | None = None,
        resource: str | None = None,
        action: str = ACCESS,
        limit: int = 100,
        offset: int = 0,
    ) -> HolderPage:
        """Who may perform `action` on `package` (by URN, former URN or code) or on service
        `resource` for organisation `party` (`pdp.reverse`); InvalidFields for either unknown."""
        policy_set = self.policy_sets.current()
        urn = None
        if package is not None:
            urn = policy_set.package_urn(package)
            if urn is None:
                problem = f"unknown access package {package!r}"
                raise InvalidFields(problem, {"package": [problem]})
        if resource is not None and resource not in {
            policy.resource_id for policy in policy_set.catalog.resources
        }:
            problem = f"no policy for resource {resource!r}"
            raise InvalidFields(problem, {"resource": [problem]})
        return holders(
            self.register,
            self.delegations,
            policy_set,
            self.decide,
            party,
            package=urn,
            resource=resource,
            action=action,
            limit=limit,
            offset=offset,
        )

    def readiness(self) -> Readiness:
        """The active version, or why there is none to decide under (never raises)."""
        try:
            return Readiness(self.policy_sets.current().version)
        except PdpError as error:
            return Readiness(None, str(error))
        except Exception:
            return Readiness(None, "the policy repository is unavailable")

    def readiness_checks(self) -> dict[str, str | None]:
        """What deciding needs, each with its problem (None: fine): the active policy set
        loaded, the database answering, the change feed alive (never raises)."""
        readiness = self.readiness()
        checks = {"policy_set": readiness.problem if readiness.version is None else None}
        try:
            with self.database.connect() as connection:
                # A table of ours, not `SELECT 1`: SQLite answers that without its file.
                connection.execute(select(change_counter.c.generation)).all()
            checks["database"] = None
        except Exception:
            checks["database"] = "the database does not answer"
        try:
            checks["change_feed"] = self.changes.problem()
        except Exception:
            checks["change_feed"] = "the change feed cannot be read"
        return checks

    def active_policy_set(self) -> PolicySet:
        """The active policy set, with its catalog; NoActivePolicySet before the first publish."""
        return self.policy_sets.current()

    # --- authoring ------------------------------------------------------------------------------

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

    @property
    def identifier_rules(self) -> IdentifierRules:
        """How identifiers entering this PDP are checked (`PDP_IDENTIFIER_CHECK_DIGITS`)."""
        return IdentifierRules(check_digits=self.settings.identifier_check_digits)

    def publish(
        self,
        catalog: Catalog,
        *,
        message: str = "",
        author: str = "",
        expected_active: int | None = None,
    ) -> PublishResult:
        """Compile `catalog` and store it as the active version (a no-op if already active);
        VersionConflict if `expected_active` is given and another version is active. This
        process decides under it from its next decision on."""
        result = self.repository.store_version(
            catalog,
            compiler.compile_catalog(catalog),
            message=message,
            author=author,
            expected_active=expected_active,
        )
        self.policy_sets.refresh_now()
        return result

    def activate(self, number: int, *, expected_active: int | None = None) -> int:
        """Make published version `number` active again, exactly as published; returns it.
        UnknownVersion, or VersionConflict as for `publish`."""
        active = self.repository.activate(number, expected_active=expected_active)
        self.policy_sets.refresh_now()
        return active

    def versions(self) -> VersionHistory:
        return VersionHistory(self.repository.active_version(), self.repository.versions())

    def version(self, number: int | None = None) -> PublishedVersion:
        """Version `number` (by default the active one) with its source; UnknownVersion if
        there is no such version."""
        history = self.versions()
        if number is None and history.active is None:
            raise UnknownVersion(str(NoActivePolicySet()))
        number = history.active if number is None else number
        info = next((v for v in history.versions if v.number == number), None)
        if info is None:
            raise UnknownVersion(f"policy-set version {number} does not exist")
        return PublishedVersion(info, self.repository.source(number), history.active)

    # --- the register ---------------------------------------------------------------------------

    def import_register(self, document: Any) -> ImportSummary:
        """Import a register document all or nothing (RegisterImportError naming every
        problem), its role codes and forms checked against the active policy set."""
        return self.register.import_document(
            document,
            self.policy_sets.current().catalog,
            self.identifier_rules,
        )

    def import_register_file(self, path: Path) -> ImportSummary:
        """`import_register` for a document in a file, read a part at a time
        (`pdp.register_file`), so that a national register fits in bounded memory."""
        return self.register.import_sections(
            sections_in(path),
            self.policy_sets.current().catalog,
            self.identifier_rules,
        )

    def import_brreg(self, paths: list[Path], progress: Progress | None = None) -> BrregSummary:
        """Import Enhetsregisteret's bulk files (main units, sub-units) all or nothing
        (`pdp.brreg_import`), their organisation forms checked against the active policy
        set; `progress` is told how far it has come."""
        return import_files(
            self.database,
            self.changes,
            [EntityFile(Path(path)) for path in paths],
            frozenset(form.code for form in self.policy_sets.current().catalog.org_forms),
            self.identifier_rules,
            progress or Progress(),
        )

    def register_counts(self) -> RegisterCounts:
        """How many organisations the register holds and how many delegations are in force
        (the console's overview)."""
        return RegisterCounts(
            self.register.organization_count(), self.delegations.find(limit=1).total
        )

    def organizations(self, numbers: Iterable[str]) -> dict[str, Organization | None]:
        """The register's organisation (its name and form) for each organisation number
        (None: not in the register)."""
        return self.register.organizations_by("organization_number", numbers)

    # --- delegations ----------------------------------------------------------------------------

    def delegate(
        self, party: str, package: str, delegator: Subject, recipient: Subject
    ) -> Delegation:
        """Record that `delegator` gives `package` for `party` to `recipient`, if the PDP
        permits the delegator (`pdp.delegation_rights`).

        A system user as recipient must be one that `party` owns (InvalidDelegation naming the
        recipient otherwise); that is asked only once the delegator is known to be permitted,
        so that who owns which system user is not told to whoever asks.
        """
        package_urn, *former_urns = self._package_names(package)
        self.delegation_rights.check_delegate(delegator, recipient, party, package_urn)
        try:
            return self.delegations.add(
                party, package_urn, delegator.identifier, recipient, tuple(former_urns)
            )
        except RecipientRefused as error:
            raise InvalidDelegation("recipient", str(error)) from None

    def revoke(self, delegation_id: str, actor: Subject) -> Delegation:
        """Revoke a delegation on behalf of `actor`: its delegator, or a permitted delegator."""
        delegation = self.delegation(delegation_id)
        self.delegation_rights.check_revoke(actor, delegation)
        return self.delegations.revoke(delegation_id, actor.identifier)

    def delegation(self, delegation_id: str) -> Delegation:
        """One delegation, revoked or not; DelegationNotFound if there is none with this id."""
        delegation = self.delegations.get(delegation_id)
        if delegation is None:
            raise DelegationNotFound(f"no delegation {delegation_id}")
        return delegation

    def find_delegations(
        self,
        *,
        party: str | None = None,
        recipient: Subject | None = None,
        package: str | None = None,
        include_revoked: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> DelegationPage:
        """Delegations matching every given filter, oldest first; `package` by URN, former URN
        or code (InvalidDelegation if the active version knows no such package)."""
        return self.delegations.find(
            party=party,
            recipient=recipient,
            package=None if package is None else self._package_names(package),
            include_revoked=include_revoked,
            limit=limit,
            offset=offset,
        )

    def _package_names(self, package: str) -> tuple[str, ...]:
        """Every URN a package named by URN, former URN or code has had, the current one
        first: the delegations of it are stored under any of them."""
        policy_set = self.policy_sets.current()
        urn = policy_set.package_urn(package)
        if urn is None:
            raise InvalidDelegation("package", f"unknown access package {package!r}")
        return (urn, *policy_set.catalog.package(urn).aliases)

    def listen_for_changes(self) -> None:
        """Hear at once of changes other hosts make (PostgreSQL), for a long-running server
        process; see `pdp.notifications`. Until `close`."""
        self.changes.listen()

    def close(self) -> None:
        self.changes.close()
        self.database.dispose()

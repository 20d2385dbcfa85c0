"""The policy repository (PRP): compiled policies stored as numbered policy-set versions.

Publishing writes a whole version and makes it active in one transaction; versions are never
changed afterwards. A running process holds the active version as a `PolicySet`: py-abac
`Policy` objects (parsed when first needed) indexed in memory by target (package URN, action),
so finding the candidates for a request is one dictionary look-up, never a scan.
`ActivePolicySet` notices when another process activates a new version and swaps the whole set
at once, so no decision ever sees half of one version and half of another.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from py_abac import Policy
from py_abac.exceptions import PolicyCreateError
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from pdp import catalog as catalog_module
from pdp.bounded import BoundedMap
from pdp.catalog import Catalog, canonical_json, package_urn_form
from pdp.changes import ChangeLog, NothingChanged
from pdp.db import active_policy_set, as_utc, policies, policy_set_versions, write_transaction
from pdp.errors import NoActivePolicySet, PdpError
from pdp.vocabulary import ascii_lower

_PATTERN_CHARACTERS = frozenset("*?[")


class VersionConflict(PdpError):
    """Another publish or activation happened since the change was based; nothing was written."""


class UnknownVersion(PdpError):
    """No policy-set version has this number."""


@dataclass(frozen=True)
class VersionInfo:
    """What a published version is: its number, when, by whom, and a digest of its content."""

    number: int
    created_at: datetime
    content_hash: str
    message: str
    author: str


@dataclass(frozen=True)
class PublishResult:
    """The version now active, whether this publish created it (False: identical content), and
    how many policies it holds."""

    version: int
    created: bool
    policies: int


class PolicySet:
    """One published version, indexed by target; never changed once built.

    Candidates are indexed by (package URN case-folded, action). Requests may name a package in
    any case, or by a former URN (an alias), so the index also maps each case-folded name to the
    package's URN as published.

    The index is built from the policy documents; py-abac parses a target's policies only when
    the target is first asked for (about 0.3 ms a policy: the full Altinn catalog's 2,200 would
    hold up a process's start by most of a second, for targets it may never decide). Documents
    are checked whole when published (`check_documents`); one py-abac refuses after all fails
    the decisions of its own target, as a processing error, never with a Permit.

    What deciding a target reads, and whether it can be remembered, the engine works out from
    the target's `documents` (`pdp.engine.targets`): the repository only stores and indexes.
    """

    def __init__(self, version: int, catalog: Catalog, documents: Sequence[dict[str, Any]]):
        #: The version number; 0 for a policy set not published (yet).
        self.version = version
        self.catalog = catalog
        self._candidates: dict[tuple[str, str], tuple[Policy, ...]] = {}
        self._package_urns: dict[str, str] = {
            ascii_lower(name): package.urn
            for package in catalog.packages
            for name in (package.urn, *package.aliases)
        }
        uids: set[str] = set()
        grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for document in documents:
            uid, resource_id, action_id = _index_entry(document)
            if uid in uids:
                raise PdpError(f"policy {uid}: uid used more than once")
            uids.add(uid)
            grouped.setdefault((ascii_lower(resource_id), action_id), []).append(document)
            self._package_urns.setdefault(ascii_lower(resource_id), resource_id)
        self._documents = {key: tuple(documents) for key, documents in grouped.items()}
        #: Every (package URN, action) that some policy targets, sorted.
        self.targets: tuple[tuple[str, str], ...] = tuple(
            sorted({(self._package_urns[urn], action) for urn, action in grouped})
        )

    def package_urn(self, name: str) -> str | None:
        """The published URN for a package named by URN, former URN or bare code, in any case;
        else None."""
        urn = package_urn_form(name)
        return None if urn is None else self._package_urns.get(ascii_lower(urn))

    def candidates(self, resource_id: str, action_id: str) -> tuple[Policy, ...]:
        """The policies whose resource and action targets are these (the package URN in any
        case), parsed when first asked for; subject targets are left to `Policy.fits`, which
        checks every target again. Threads that parse a target at once all get the first
        parse kept."""
        key = (ascii_lower(resource_id), action_id)
        candidates = self._candidates.get(key)
        if candidates is None:
            parsed = tuple(_load_policy(document) for document in self._documents.get(key, ()))
            candidates = self._candidates.setdefault(key, parsed)
        return candidates

    def documents(self, resource_id: str, action_id: str) -> tuple[dict[str, Any], ...]:
        """The policy documents `candidates` are parsed from, as published."""
        return self._documents.get((ascii_lower(resource_id), action_id), ())


def check_documents(documents: Sequence[dict[str, Any]]) -> None:
    """Refuse, naming the first problem, policy documents py-abac cannot load, two with one
    uid, or targets the index cannot hold."""
    uids: set[str] = set()
    for document in documents:
        policy = _load_policy(document)
        if policy.uid in uids:
            raise PdpError(f"policy {policy.uid}: uid used more than once")
        uids.add(policy.uid)
        _exact_target(policy.uid, policy.targets.resource_id, policy.targets.action_id)


def _index_entry(document: dict[str, Any]) -> tuple[str, str, str]:
    """A document's uid, resource target and action target, as py-abac would read them
    (a target left out is `*`); py-abac's own refusal if the document is not a policy."""
    try:
        uid, targets = document["uid"], document["targets"]
        resource_id = targets.get("resource_id", "*")
        action_id = targets.get("action_id", "*")
    except (KeyError, TypeError, AttributeError):
        policy = _load_policy(document)  # raises, naming what is wrong
        uid, resource_id, action_id = (
            policy.uid,
            policy.targets.resource_id,
            policy.targets.action_id,
        )
    return uid, *_exact_target(uid, resource_id, action_id)


def _load_policy(document: dict[str, Any]) -> Policy:
    try:
        return Policy.from_json(document)
    except PolicyCreateError as error:
        raise PdpError(
            f"policy {document.get('uid')!r} is not a valid py-abac policy: {error}"
        ) from None


def _exact_target(uid: str, resource_id: Any, action_id: Any) -> tuple[str, str]:
    """The single, literal resource and action target the index needs, or a clear refusal."""
    for name, value in (("resource_id", resource_id), ("action_id", action_id)):
        if not isinstance(value, str) or _PATTERN_CHARACTERS & set(value):
            raise PdpError(f"policy {uid}: targets.{name} must be one literal value, got {value!r}")
    return resource_id, action_id


def content_hash(catalog: Catalog, documents: Sequence[dict[str, Any]]) -> str:
    """Digest of a version's whole content: its source and its compiled policies."""
    digest = hashlib.sha256(canonical_json(dict(catalog.source)))
    digest.update(canonical_json(list(documents)))
    return digest.hexdigest()


class PolicyRepository:
    """Versioned policy sets in the database.

    Writers may state the version their change was based on (`expected_active`, 0 for "no
    version yet"); if another publish or activation happened since, they get VersionConflict
    and nothing is written, so no author silently overwrites another's work.
    """

    def __init__(self, engine: Engine, changes: ChangeLog):
        self._engine = engine
        self._changes = changes

    def _write_transaction(self) -> AbstractContextManager[Connection]:
        return write_transaction(self._engine)

    def store_version(
        self,
        catalog: Catalog,
        documents: Sequence[dict[str, Any]],
        *,
        message: str = "",
        author: str = "",
        expected_active: int | None = None,
    ) -> PublishResult:
        """Store `documents` (compiled from `catalog`) as a new active version, in one transaction.

        Publishing the content that is already active changes nothing and says so.
        """
        # Check before writing: a policy py-abac cannot load, or the index cannot hold, is refused.
        check_documents(documents)
        digest = content_hash(catalog, documents)
        now = datetime.now(UTC)
        try:
            with self._changes.writing(self._write_transaction) as connection:
                active = _check_active(connection, expected_active)
                if active is not None and active.content_hash == digest:
                    raise NothingChanged
                number = (
                    connection.execute(select(func.max(policy_set_versions.c.number))).scalar() or 0
                ) + 1
                connection.execute(
                    insert(policy_set_versions).values(
                        number=number,
                        created_at=now,
                        content_hash=digest,
                        source=json.dumps(dict(catalog.source), ensure_ascii=False),
                        message=message,
                        author=author,
                    )
                )
                if documents:
                    connection.execute(
                        insert(policies),
                        [
                            {
                                "version": number,
                                "uid": document["uid"],
                                "resource_id": document["targets"]["resource_id"],
                                "action_id": document["targets"]["action_id"],
                                "body": json.dumps(document, ensure_ascii=False, sort_keys=True),
                            }
                            for document in documents
                        ],
                    )
                _set_active(connection, number, now, first=active is None)
        except NothingChanged:
            return PublishResult(active.version, created=False, policies=len(documents))
        except IntegrityError as error:
            raise VersionConflict(
                "another publish happened at the same time; nothing was written, try again"
            ) from error
        return PublishResult(number, created=True, policies=len(documents))

    def activate(self, number: int, *, expected_active: int | None = None) -> int:
        """Make an earlier (or later) published version the active one again; returns it.

        Nothing is copied: the version's own compiled policies become active, exactly as they
        were published.
        """
        try:
            with self._changes.writing(self._write_transaction) as connection:
                active = _check_active(connection, expected_active)
                exists = connection.execute(
                    select(policy_set_versions.c.number).where(
                        policy_set_versions.c.number == number
                    )
                ).scalar()
                if exists is None:
                    raise UnknownVersion(f"policy-set version {number} does not exist")
                if active is not None and active.version == number:
                    raise NothingChanged
                _set_active(connection, number, datetime.now(UTC), first=active is None)
        except NothingChanged:
            pass  # already active
        return number

    def active_version(self) -> int | None:
        """The number of the active version, or None before the first publish."""
        with self._engine.connect() as connection:
            return connection.execute(
                select(active_policy_set.c.version).where(active_policy_set.c.id == 1)
            ).scalar()

    def versions(self) -> list[VersionInfo]:
        """Every published version, oldest first."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(
                    policy_set_versions.c.number,
                    policy_set_versions.c.created_at,
                    policy_set_versions.c.content_hash,
                    policy_set_versions.c.message,
                    policy_set_versions.c.author,
                ).order_by(policy_set_versions.c.number)
            )
            return [VersionInfo(row[0], as_utc(row[1]), *row[2:]) for row in rows]

    def source(self, number: int) -> dict[str, Any]:
        """The policy source a version was published from (file name -> document)."""
        with self._engine.connect() as connection:
            source = connection.execute(
                select(policy_set_versions.c.source).where(policy_set_versions.c.number == number)
            ).scalar()
        if source is None:
            raise UnknownVersion(f"policy-set version {number} does not exist")
        return json.loads(source)

    def load(self, number: int) -> PolicySet:
        """Read one version and build its indexed PolicySet."""
        source = self.source(number)
        with self._engine.connect() as connection:
            bodies = connection.execute(
                select(policies.c.body).where(policies.c.version == number).order_by(policies.c.uid)
            ).scalars()
            documents = [json.loads(body) for body in bodies]
        return PolicySet(number, catalog_module.parse(source), documents)


def _check_active(connection: Connection, expected_active: int | None) -> _Active | None:
    """The active version and its content hash; VersionConflict if it is not the expected one.

    The active row stays locked until the transaction ends (PostgreSQL; SQLite's writer already
    holds the database), so no other writer can change it between this check and the write.
    It is locked on its own and the hash read by a second statement: a writer that waited for
    the lock then sees the version the other writer committed, which one joined statement,
    evaluated on its earlier snapshot, would miss.
    """
    version = connection.execute(
        select(active_policy_set.c.version).where(active_policy_set.c.id == 1).with_for_update()
    ).scalar()
    active = None
    if version is not None:
        digest = connection.execute(
            select(policy_set_versions.c.content_hash).where(
                policy_set_versions.c.number == version
            )
        ).scalar_one()
        active = _Active(version, digest)
    if expected_active is not None:
        current = 0 if active is None else active.version
        if current != expected_active:
            raise VersionConflict(
                f"the change was based on version {expected_active}, but version {current} is "
                "active now; nothing was written. Look at the active version and try again"
            )
    return active


@dataclass(frozen=True)
class _Active:
    version: int
    content_hash: str


def _set_active(connection: Connection, number: int, now: datetime, *, first: bool) -> None:
    if first:
        connection.execute(insert(active_policy_set).values(id=1, version=number, activated_at=now))
    else:
        connection.execute(
            update(active_policy_set)
            .where(active_policy_set.c.id == 1)
            .values(version=number, activated_at=now)
        )


class ActivePolicySet:
    """This process's view of the active version, switched when any process publishes or
    activates one.

    Publishing and activating are announced through the change log (`pdp.changes`): on this
    machine at once, from other machines within the refresh interval. Only then is the active
    version read again; the switch replaces the whole PolicySet in one assignment. The last
    few versions stay parsed, so a rollback to one of them switches without reading it again.
    """

    _KEPT_VERSIONS = 4

    def __init__(self, repository: PolicyRepository, changes: ChangeLog):
        self._repository = repository
        self._changes = changes
        self._current: PolicySet | None = None
        self._stamp: int | None = None
        self._loaded: BoundedMap[int, PolicySet] = BoundedMap(self._KEPT_VERSIONS)
        self._lock = threading.Lock()

    def current(self, stamp: int | None = None) -> PolicySet:
        """The active PolicySet as of change-log `stamp` (read now if not given); raises
        NoActivePolicySet before the first publish."""
        stamp = self._changes.stamp() if stamp is None else stamp
        current = self._current
        if current is not None and stamp == self._stamp:
            return current
        with self._lock:
            number = self._repository.active_version()
            if number is None:
                raise NoActivePolicySet()
            if self._current is None or self._current.version != number:
                self._current = self._parsed(number)
            self._stamp = stamp
            return self._current

    def refresh_now(self) -> None:
        """Read the active version again before the next decision."""
        self._stamp = None

    def _parsed(self, number: int) -> PolicySet:
        policy_set = self._loaded.pop(number, None) or self._repository.load(number)
        self._loaded.keep(number, policy_set)  # most recently used last
        return policy_set

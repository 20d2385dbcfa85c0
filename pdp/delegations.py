"""Delegations of access packages: facts the PIP serves, stored with who made and revoked them.

A delegation gives one package for one party to a recipient: a person, an organisation, or a
system user that the party owns. When the recipient is an organisation, persons holding a key
role in it (as `policies/roles.yaml` marks them) act on its behalf. A system user holds only
what was delegated to it, and only for its owner: it holds no ER roles and is never reached
through anyone's key roles. Delegations are facts read during a decision through an indexed
query, not policies: the cost of a decision does not grow with their number.

Rows are never deleted; revoking records who and when. Every create and revoke is announced
through the change log (`pdp.changes`), so no process keeps a decision cached past it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DataError, IntegrityError

from pdp.changes import ChangeLog, NothingChanged
from pdp.db import Lookup, as_utc, delegations, looking_up, role_assignments, system_users
from pdp.errors import PdpError
from pdp.subjects import ORGANIZATION, PERSON, SYSTEM_USER, Subject


class DelegationExists(PdpError):
    """The recipient already holds this package for this party by delegation."""


class DelegationNotFound(PdpError):
    """No delegation has this id."""


class DelegationAlreadyRevoked(PdpError):
    """The delegation was revoked before."""


class RecipientRefused(PdpError):
    """The recipient cannot hold packages for this party: a system user that is not in the
    register, or that another organisation owns."""


class DelegationsTableOutdated(PdpError):
    """The delegations table was made by a version of pdp without system-user recipients."""


@dataclass(frozen=True)
class Delegation:
    id: str
    party: str
    package: str
    delegator: str
    recipient: Subject
    created_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None


@dataclass(frozen=True, slots=True)
class Given:
    """A delegation as the facts of a decision need it: which package, for which party, to
    whom (what `pdp.impact.holding_facts` reads of a `Delegation` too)."""

    party: str
    package: str
    recipient: Subject


@dataclass(frozen=True)
class DelegationPage:
    items: list[Delegation]
    total: int


class DelegationStore:
    """Delegations in the database."""

    def __init__(self, engine: Engine, changes: ChangeLog):
        self._engine = engine
        self._changes = changes

    def add(
        self,
        party: str,
        package: str,
        delegator: str,
        recipient: Subject,
        former_urns: tuple[str, ...] = (),
    ) -> Delegation:
        """Record a delegation; DelegationExists if the recipient already holds it (also when
        another request creates the same delegation at the same moment, or holds it under one
        of the package's `former_urns`, from before it was renamed). A system user receives
        packages only for the organisation that owns it (RecipientRefused otherwise), checked
        in the same transaction."""
        delegation = Delegation(
            id=str(uuid.uuid4()),
            party=party,
            package=package,
            delegator=delegator,
            recipient=recipient,
            created_at=datetime.now(UTC),
        )
        exists = DelegationExists(
            f"{recipient.urn} already holds {package} for {party} by delegation"
        )
        try:
            with self._changes.writing(self._engine.begin) as connection:
                if (
                    former_urns
                    and connection.execute(
                        select(delegations.c.id).where(
                            *_active_to(party, recipient), delegations.c.package.in_(former_urns)
                        )
                    ).first()
                ):
                    raise exists
                if recipient.kind == SYSTEM_USER:
                    _require_owner(connection, recipient.identifier, party)
                connection.execute(
                    insert(delegations).values(
                        id=delegation.id,
                        party=party,
                        package=package,
                        delegator=delegator,
                        recipient_kind=recipient.kind,
                        recipient_id=recipient.identifier,
                        created_at=delegation.created_at,
                    )
                )
        except (IntegrityError, DataError):
            if (
                recipient.kind == SYSTEM_USER
                and not self.find(party=party, recipient=recipient, package=package, limit=1).total
            ):
                # Not a duplicate: a table from before system users refuses the row itself.
                raise DelegationsTableOutdated(
                    "the delegations table was created by an earlier version of pdp and cannot "
                    "hold system-user recipients; see the README on upgrading"
                ) from None
            raise exists from None
        return delegation

    def get(self, delegation_id: str) -> Delegation | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(delegations).where(delegations.c.id == delegation_id)
            ).first()
        return None if row is None else _delegation(row._mapping)

    def find(
        self,
        *,
        party: str | None = None,
        recipient: Subject | None = None,
        package: str | tuple[str, ...] | None = None,
        include_revoked: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> DelegationPage:
        """Delegations matching every given filter, oldest first, one page at a time.

        `package` may be several names of one package (its URN and former URNs), since a
        delegation keeps the URN its package had when it was made.
        """
        conditions = []
        if party is not None:
            conditions.append(delegations.c.party == party)
        if recipient is not None:
            conditions.append(delegations.c.recipient_kind == recipient.kind)
            conditions.append(delegations.c.recipient_id == recipient.identifier)
        if package is not None:
            names = (package,) if isinstance(package, str) else package
            conditions.append(delegations.c.package.in_(names))
        if not include_revoked:
            conditions.append(delegations.c.revoked_at.is_(None))
        where = and_(True, *conditions)
        with self._engine.connect() as connection:
            total = connection.execute(
                select(func.count()).select_from(delegations).where(where)
            ).scalar_one()
            rows = connection.execute(
                select(delegations)
                .where(where)
                .order_by(delegations.c.created_at, delegations.c.id)
                .limit(limit)
                .offset(offset)
            )
            return DelegationPage([_delegation(row._mapping) for row in rows], total)

    def revoke(self, delegation_id: str, actor: str) -> Delegation:
        """Mark a delegation revoked by `actor` now; it stays in the history.

        A revocation that finds nothing to revoke (unknown, or revoked before, perhaps by a
        request racing this one) rolls back: it is not counted or announced as a change, so no
        process drops its cached decisions for it.
        """
        try:
            with self._changes.writing(self._engine.begin) as connection:
                revoked = connection.execute(
                    update(delegations)
                    .where(delegations.c.id == delegation_id, delegations.c.revoked_at.is_(None))
                    .values(revoked_at=datetime.now(UTC), revoked_by=actor)
                ).rowcount
                if not revoked:
                    raise NothingChanged
        except NothingChanged:
            if self.get(delegation_id) is None:
                raise DelegationNotFound(f"no delegation {delegation_id}") from None
            raise DelegationAlreadyRevoked(
                f"delegation {delegation_id} is already revoked"
            ) from None
        return self.get(delegation_id)

    def active(self) -> list[Delegation]:
        """Every delegation not revoked (for whole-register analyses)."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(delegations).where(delegations.c.revoked_at.is_(None)))
            return [_delegation(row._mapping) for row in rows]

    def active_to(self, recipients: Iterable[Subject]) -> list[Delegation]:
        """The delegations not revoked to any of these recipients, for any party: read by
        recipient (ix_delegations_recipient). A system user's count only for the organisation
        that owns it now, as in a decision."""
        wanted = {(recipient.kind, recipient.identifier) for recipient in recipients}
        ids = sorted({identifier for _, identifier in wanted})
        query = select(delegations, system_users.c.owner).select_from(
            delegations.outerjoin(system_users, system_users.c.uuid == delegations.c.recipient_id)
        )
        with self._engine.connect() as connection:
            rows = [
                row._mapping
                for chunk in _chunks(ids)
                for row in connection.execute(
                    query.where(
                        delegations.c.recipient_id.in_(chunk), delegations.c.revoked_at.is_(None)
                    )
                )
            ]
        return [
            _delegation(row)
            for row in rows
            if (row["recipient_kind"], row["recipient_id"]) in wanted and _owner_holds(row)
        ]

    def given_for(self, party: str) -> list[Given]:
        """What the delegations not revoked for one party give, to anyone: read by party
        (ix_delegations_party), only the columns facts need (a party may have tens of
        thousands). A system user's count only while the party owns it."""
        query = (
            select(
                delegations.c.package,
                delegations.c.recipient_kind,
                delegations.c.recipient_id,
                system_users.c.owner,
            )
            .select_from(
                delegations.outerjoin(
                    system_users, system_users.c.uuid == delegations.c.recipient_id
                )
            )
            .where(delegations.c.party == party, delegations.c.revoked_at.is_(None))
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            Given(party, package, Subject(kind, recipient))
            for package, kind, recipient, owner in rows
            if kind != SYSTEM_USER or owner == party
        ]

    def revoked_to(self, recipients: Iterable[Subject], party: str) -> list[Delegation]:
        """The revoked delegations for `party` to any of these recipients, newest first: what
        an explanation names as a near miss."""
        found = []
        with self._engine.connect() as connection:
            for recipient in set(recipients):
                rows = connection.execute(
                    select(delegations).where(
                        delegations.c.recipient_id == recipient.identifier,
                        delegations.c.party == party,
                        delegations.c.revoked_at.is_not(None),
                    )
                )
                found += [
                    _delegation(row._mapping)
                    for row in rows
                    if row._mapping["recipient_kind"] == recipient.kind
                ]
        return sorted(found, key=lambda d: d.revoked_at or d.created_at, reverse=True)

    def packages_delegated_to(
        self, holdings: Iterable[tuple[Subject, str]], key_roles: Collection[str]
    ) -> dict[tuple[Subject, str], frozenset[str]]:
        """The packages each subject holds for its party by delegation, all read on one
        connection (the delegations a batch of decisions needs): given to the subject itself,
        or, for a person, to an organisation in which the person holds one of `key_roles`. A
        system user holds them only for the organisation that owns it."""
        with looking_up(self._engine) as lookup:
            key_organizations = _KeyOrganizations(lookup, frozenset(key_roles))
            return {
                (subject, party): _packages_delegated(
                    lookup, subject, party, key_organizations(subject)
                )
                for subject, party in set(holdings)
            }


# What a decision not made before reads (see `pdp.db.Lookup`), each written so that the
# database has one obvious index to use however many delegations a party has: a holder's roles
# by holder (ix_role_assignments_holder), a party's delegations to one recipient by recipient
# (ix_delegations_recipient). The recipient kind is compared here rather than in SQL, where it
# would make ix_delegations_party (party, recipient_kind) look as good.
_ROLES_OF_PERSON = Lookup(
    select(role_assignments.c.organization_number, role_assignments.c.role_code).where(
        role_assignments.c.holder_id == bindparam("person"),
        role_assignments.c.holder_kind == PERSON,
    )
)
_DELEGATED_TO = Lookup(
    select(delegations.c.recipient_kind, delegations.c.package).where(
        delegations.c.recipient_id == bindparam("recipient"),
        delegations.c.party == bindparam("party"),
        delegations.c.revoked_at.is_(None),
    )
)

#: As `_DELEGATED_TO`, for a system user: only while the party is still its owner, so that a
#: system user re-imported under another owner holds nothing for the former one.
_DELEGATED_TO_SYSTEM_USER = Lookup(
    select(delegations.c.recipient_kind, delegations.c.package)
    .select_from(delegations.join(system_users, system_users.c.uuid == delegations.c.recipient_id))
    .where(
        delegations.c.recipient_id == bindparam("recipient"),
        delegations.c.party == bindparam("party"),
        delegations.c.revoked_at.is_(None),
        system_users.c.owner == delegations.c.party,
    )
)

_Lookup = Callable[[Lookup, dict[str, Any]], list[tuple]]


class _KeyOrganizations:
    """The organisations in which a person holds a key role, read once per person."""

    def __init__(self, lookup: _Lookup, key_roles: frozenset[str]):
        self._lookup = lookup
        self._key_roles = key_roles
        self._known: dict[str, frozenset[str]] = {}

    def __call__(self, subject: Subject) -> frozenset[str]:
        if subject.kind != PERSON or not self._key_roles:
            return frozenset()
        if subject.identifier not in self._known:
            rows = self._lookup(_ROLES_OF_PERSON, {"person": subject.identifier})
            self._known[subject.identifier] = frozenset(
                organization for organization, role in rows if role in self._key_roles
            )
        return self._known[subject.identifier]


def _packages_delegated(
    lookup: _Lookup, subject: Subject, party: str, key_organizations: frozenset[str]
) -> frozenset[str]:
    """Packages delegated for `party` to `subject`, or to one of `key_organizations`."""
    recipients = [subject, *(Subject(ORGANIZATION, number) for number in key_organizations)]
    return frozenset(
        package
        for recipient in recipients
        for kind, package in lookup(
            _DELEGATED_TO_SYSTEM_USER if recipient.kind == SYSTEM_USER else _DELEGATED_TO,
            {"recipient": recipient.identifier, "party": party},
        )
        if kind == recipient.kind
    )


def _owner_holds(row: Any) -> bool:
    """Whether a delegation row (joined with its system user's owner) gives anything now: a
    system user holds only for the organisation that owns it."""
    return row["recipient_kind"] != SYSTEM_USER or row["owner"] == row["party"]


#: Values per IN list (keeps statements within driver limits).
_CHUNK = 500


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _require_owner(connection: Connection, uuid: str, party: str) -> None:
    """RecipientRefused unless system user `uuid` is in the register and `party` owns it."""
    owner = connection.execute(
        select(system_users.c.owner).where(system_users.c.uuid == uuid)
    ).scalar()
    if owner is None:
        raise RecipientRefused(f"system user {uuid} is not in the register")
    if owner != party:
        raise RecipientRefused(
            f"system user {uuid} belongs to organisation {owner}: it can be given packages "
            f"for {owner} only, not for {party}"
        )


def _active_to(party: str, recipient: Subject) -> tuple[ColumnElement[bool], ...]:
    """Conditions for the active delegations to `recipient` for `party`."""
    return (
        delegations.c.party == party,
        delegations.c.recipient_kind == recipient.kind,
        delegations.c.recipient_id == recipient.identifier,
        delegations.c.revoked_at.is_(None),
    )


def _delegation(row: Any) -> Delegation:
    return Delegation(
        id=row["id"],
        party=row["party"],
        package=row["package"],
        delegator=row["delegator"],
        recipient=Subject(row["recipient_kind"], row["recipient_id"]),
        created_at=as_utc(row["created_at"]),
        revoked_at=as_utc(row["revoked_at"]),
        revoked_by=row["revoked_by"],
    )

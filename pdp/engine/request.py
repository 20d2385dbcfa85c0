"""What the context handler asks the engine: a decision request, as the caller wrote it."""

from __future__ import annotations

from dataclasses import dataclass

from pdp.subjects import Subject


@dataclass(frozen=True)
class RoleClaim:
    """A role the caller says the subject holds for the party, as the request named it."""

    attribute_id: str
    value: str


@dataclass(frozen=True)
class DecisionRequest:
    """May `subject` perform `action` on access package `package` on behalf of `party`?

    `package` is a package URN or bare code as the caller wrote it. `role_claims`, when not
    None, are the subject's roles for the party as the caller states them, used instead of the
    register's.
    """

    subject: Subject
    party: str
    package: str
    action: str
    role_claims: tuple[RoleClaim, ...] | None = None

"""What the context handler asks the engine: decision requests, as the caller wrote them.

Two questions are asked. A `DecisionRequest` asks whether a subject holds an access package for
a party (the package named in the request's resource). A `ResourceRequest` asks what PEPs of
Altinn's services ask: may the subject perform an action on a service resource for a party,
under the resource's own XACML policy. A request the context handler could not read is an
`Unreadable` value, answered Indeterminate with its status, never an exception in a list.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, TypeGuard

from pdp.identities import Identifier
from pdp.subjects import Subject
from pdp.vocabulary import STATUS_SYNTAX_ERROR


@dataclass(frozen=True)
class RoleClaim:
    """A role the caller says the subject holds for the party, as the request named it."""

    attribute_id: str
    value: str


#: Why a request's stated roles are refused when nobody said its caller may state them.
ROLES_NOT_PERMITTED = "its caller was given no right to state them"


@dataclass(frozen=True)
class DecisionRequest:
    """May `subject` perform `action` on access package `package` on behalf of `party`?

    `package` is a package URN or bare code as the caller wrote it. `role_claims`, when not
    None, are the subject's roles for the party as the caller states them, used instead of the
    register's, but only when the caller may state them: `roles_refused` says why it may not
    (None: it may). Stated roles make anyone hold any role, so by default they are refused,
    and a request that states them is Indeterminate naming the reason; the caller's right is
    given by whoever made the request (`stating_roles`).
    """

    subject: Subject
    party: str
    package: str
    action: str
    role_claims: tuple[RoleClaim, ...] | None = None
    roles_refused: str | None = ROLES_NOT_PERMITTED


#: Attributes as a request gives them, for a policy to match: (attribute id, data type named in
#: full, values of that type), sorted.
GivenAttributes = tuple[tuple[str, str, tuple[Any, ...]], ...]


@dataclass(frozen=True)
class ResourceRequest:
    """May the subject perform `action` on service resource `resource` for `party`?

    `subject` names the subject by one identifier or several that must name the same one (a
    national identity number and a user id, say); `party` is the party acted for, None when
    the request names none, and `other_parties` any further identifiers of it the request
    gives (they must name the same party). `resource` is the resource id as the policy source
    names it (`app_<org>_<app>` for an app). The categories' attributes as given are kept for
    the policy to match, under py-abac's access control elements (`subject`, `resource`,
    `action`, and `context` for the environment).
    """

    subject: tuple[Identifier, ...]
    party: Identifier | None
    resource: str
    action: str
    attributes: tuple[tuple[str, GivenAttributes], ...]
    other_parties: tuple[Identifier, ...] = ()

    def given(self, ace: str) -> GivenAttributes:
        """The attributes the request gives for one access control element."""
        return next((attributes for name, attributes in self.attributes if name == ace), ())


@dataclass(frozen=True)
class Unreadable:
    """A request the context handler could not read, and why: answered Indeterminate with
    `status` (syntax-error, or processing-error where Altinn's PDP pins that)."""

    message: str
    status: str = STATUS_SYNTAX_ERROR


#: Anything the engine is asked to decide.
Request = DecisionRequest | ResourceRequest | Unreadable


def states_roles(request: Request) -> TypeGuard[DecisionRequest]:
    """Whether `request` states the subject's roles (a package request with role claims): only
    such a request needs to know whether its caller may state them."""
    return type(request) is DecisionRequest and request.role_claims is not None


def stating_roles(request: Request, refused: str | None) -> Request:
    """`request` as its caller may make it: a package request that states roles with
    `roles_refused` set to `refused` (None: honoured), anything else as it is. Requests that
    state no roles are left alone, so their decisions are remembered alike for every caller."""
    if states_roles(request) and request.roles_refused != refused:
        return replace(request, roles_refused=refused)
    return request

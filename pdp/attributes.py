"""The PIP: facts from the register and the delegations, and the py-abac attribute provider
that serves them to the policies.

Compiled policies ask for facts the request does not carry: the ER roles the subject holds for
the party (`subject $.roles`), the packages delegated to the subject for the party
(`subject $.delegated_packages`), and the party's organisation form (`resource $.org_form`).
py-abac asks the request first and the provider only when the request lacks the attribute, so
roles a caller asserts in the request are used as given, while delegations and the organisation
form always come from the database.

Reading them one decision at a time costs a few database round trips per decision, so `Facts`
reads them for a whole batch of requests first (once per (subject, party), however many of the
batch's requests need it) into its `KnownFacts`. A batch of an engine without a cache has
its own; a caching engine hands every batch the ones its `FactsCache` (`pdp.engine.caches`)
keeps for the current change stamp, so a MultiRequests, or the next request about the same
people, finds them read already. A fact the batch could not read (the database failed) is read
again by the one decision that asks for it, which then fails alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from typing import Any, TypeVar

from py_abac.context import EvaluationContext
from py_abac.provider.base import AttributeProvider

from pdp.bounded import BoundedMap
from pdp.cache_counts import FACTS, CacheCounts
from pdp.delegations import DelegationStore
from pdp.identities import Identified, Identifier, identify
from pdp.register import Register
from pdp.repository import PolicySet
from pdp.subjects import Subject
from pdp.vocabulary import DELEGATED_PACKAGES_PATH, ORG_FORM_PATH, PARTY_PATH, ROLES_PATH

LOG = logging.getLogger(__name__)

#: Who, for which party: the key of the facts about a subject.
Holding = tuple[Subject, str]
_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


def delegated_packages(policy_set: PolicySet, stored: Iterable[str]) -> set[str]:
    """Delegated packages by their URN in `policy_set`: a delegation made before its package
    was renamed names a former URN, and still gives the package."""
    return {policy_set.package_urn(urn) or urn for urn in stored}


class KnownFacts:
    """The facts read so far: roles and delegated packages (as stored) per (subject, party),
    organisation forms per party; of each kind at most `limit` (None: all, for one batch)."""

    def __init__(self, limit: int | None = None):
        self.roles: BoundedMap[Holding, frozenset[str]] = BoundedMap(limit)
        self.delegated: BoundedMap[Holding, frozenset[str]] = BoundedMap(limit)
        self.org_forms: BoundedMap[str, str | None] = BoundedMap(limit)
        self.identities: BoundedMap[Identifier, Identified | None] = BoundedMap(limit)


class Facts:
    """What the register and the delegations say, for the decisions of one policy set: the
    facts in `known` (a fresh `KnownFacts` if none is given), and those read on demand.

    Whoever hands in `known` answers for it being stale neither by policy set nor by stamp.
    """

    def __init__(
        self,
        register: Register,
        delegations: DelegationStore,
        policy_set: PolicySet,
        known: KnownFacts | None = None,
        counts: CacheCounts | None = None,
    ):
        self._register = register
        self._delegations = delegations
        self._policy_set = policy_set
        self._known = KnownFacts() if known is None else known
        #: Where facts known (hits) and read from the database (misses) are counted.
        self._counts = counts

    def read_ahead(
        self, wanted: Iterable[tuple[Subject, str, Collection[tuple[str, str]]]]
    ) -> None:
        """Read in one go the facts these decisions will ask for that are not known yet: for
        each (subject, party, attribute paths the decision asks the PIP), those facts.

        Best effort: what cannot be read now is read by the decision that asks for it.
        """
        for_roles, for_delegations, parties = set(), set(), set()
        for subject, party, paths in wanted:
            if ("subject", ROLES_PATH) in paths:
                for_roles.add((subject, party))
            if ("subject", DELEGATED_PACKAGES_PATH) in paths:
                for_delegations.add((subject, party))
            if ("resource", ORG_FORM_PATH) in paths:
                parties.add(party)
        known = self._known
        self._read_ahead(known.roles, for_roles, self._register.roles_held_by)
        self._read_ahead(known.delegated, for_delegations, self._packages_delegated_to)
        self._read_ahead(known.org_forms, parties, self._register.org_forms_of)

    def provider(self, subject: Subject) -> PipAttributeProvider:
        """The attribute provider for one decision about `subject`."""
        return PipAttributeProvider(self, subject)

    def roles(self, subject: Subject, party: str) -> frozenset[str]:
        return self._fact(self._known.roles, (subject, party), self._register.roles_held_by)

    def delegated(self, subject: Subject, party: str) -> set[str]:
        """Packages delegated to `subject` for `party`, by their URN in this policy set."""
        stored = self._fact(self._known.delegated, (subject, party), self._packages_delegated_to)
        return delegated_packages(self._policy_set, stored)

    def org_form(self, party: str) -> str | None:
        return self._fact(self._known.org_forms, party, self._register.org_forms_of)

    def identified(self, identifier: Identifier) -> Identified | None:
        """Who `identifier` names in the register (`pdp.identities`), and all its
        identifiers; None when nobody."""
        return self._fact(self._known.identities, identifier, self._identify)

    def _identify(self, identifiers: list[Identifier]) -> dict[Identifier, Identified | None]:
        return identify(self._register, identifiers)

    def _packages_delegated_to(self, holdings: list[Holding]) -> dict[Holding, frozenset[str]]:
        key_roles = self._policy_set.catalog.key_roles
        return self._delegations.packages_delegated_to(holdings, key_roles)

    def _read_ahead(
        self,
        known: BoundedMap[_Key, _Value],
        wanted: Iterable[_Key],
        read: Callable[[list[_Key]], dict[_Key, _Value]],
    ) -> None:
        missing = [key for key in set(wanted) if key not in known]
        if not missing:
            return
        try:
            found = read(missing)
        except Exception:
            LOG.warning("reading facts ahead failed; each decision reads its own", exc_info=True)
            return
        if self._counts is not None:
            self._counts.add(FACTS, 0, len(found))
        for key, value in found.items():
            known.keep(key, value)

    def _fact(
        self,
        known: BoundedMap[_Key, _Value],
        key: _Key,
        read: Callable[[list[_Key]], dict[_Key, _Value]],
    ) -> _Value:
        """The fact at `key`, read now (alone: a failure fails this decision only) if it is
        not known yet."""
        try:
            value = known[key]
        except KeyError:
            value = read([key])[key]
            known.keep(key, value)
            hit = False
        else:
            hit = True
        if self._counts is not None:
            self._counts.add(FACTS, int(hit), int(not hit))
        return value


class PipAttributeProvider(AttributeProvider):
    """Roles, delegated packages and organisation form for one decision, from `Facts`.

    Made for every decision, for its already checked subject (the one named by the request's
    `subject.id`); the party is the request's `resource.party`. Each answer is remembered, so
    the candidate policies of a request share one look-up of each fact.
    """

    def __init__(self, facts: Facts, subject: Subject):
        self._facts = facts
        self._subject = subject
        self._memo: dict[tuple[str, str], Any] = {}

    def get_attribute_value(self, ace: str, attribute_path: str, ctx: EvaluationContext) -> Any:
        key = (ace, attribute_path)
        if key not in self._memo:
            self._memo[key] = self._look_up(ace, attribute_path, ctx)
        return self._memo[key]

    def _look_up(self, ace: str, attribute_path: str, ctx: EvaluationContext) -> Any:
        party = ctx.get_attribute_value("resource", PARTY_PATH)
        if not isinstance(party, str):
            return None
        if ace == "subject" and attribute_path == ROLES_PATH:
            return sorted(self._facts.roles(self._subject, party))
        if ace == "subject" and attribute_path == DELEGATED_PACKAGES_PATH:
            return sorted(self._facts.delegated(self._subject, party))
        if ace == "resource" and attribute_path == ORG_FORM_PATH:
            return self._facts.org_form(party)
        return None

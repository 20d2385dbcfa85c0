"""py-abac attribute providers over the register and delegations: the PIP seam of the decision.

Compiled policies ask for facts the request does not carry: the ER roles the subject holds for
the party (`subject $.roles`), the packages delegated to the subject for the party
(`subject $.delegated_packages`), and the party's organisation form (`resource $.org_form`).
py-abac asks the request first and this provider only when the request lacks the attribute, so
roles a caller asserts in the request are used as given, while delegations and the organisation
form always come from the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from py_abac.context import EvaluationContext
from py_abac.provider.base import AttributeProvider

from pdp.compiler import DELEGATED_PACKAGES_PATH, ORG_FORM_PATH, PARTY_PATH, ROLES_PATH
from pdp.delegations import DelegationStore
from pdp.register import Register
from pdp.repository import PolicySet
from pdp.subjects import Subject


def delegated_packages(policy_set: PolicySet, stored: Iterable[str]) -> set[str]:
    """Delegated packages by their URN in `policy_set`: a delegation made before its package
    was renamed names a former URN, and still gives the package."""
    return {policy_set.package_urn(urn) or urn for urn in stored}


class PipAttributeProvider(AttributeProvider):
    """Roles, delegated packages and organisation form, each read at most once per decision.

    A new provider is made for every decision, for its already checked subject (the one named
    by the request's `subject.id`) and the policy set deciding it. It memoises what it read, so
    the candidate policies of a request share one look-up of each fact.
    """

    def __init__(
        self,
        register: Register,
        delegations: DelegationStore,
        policy_set: PolicySet,
        subject: Subject,
    ):
        self._register = register
        self._delegations = delegations
        self._policy_set = policy_set
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
        subject = self._subject
        if ace == "subject" and attribute_path == ROLES_PATH:
            return sorted(self._register.roles_held(subject.kind, subject.identifier, party))
        if ace == "subject" and attribute_path == DELEGATED_PACKAGES_PATH:
            return sorted(
                delegated_packages(
                    self._policy_set,
                    self._delegations.packages_delegated(
                        subject, party, self._policy_set.catalog.key_roles
                    ),
                )
            )
        if ace == "resource" and attribute_path == ORG_FORM_PATH:
            organization = self._register.organization(party)
            return None if organization is None else organization.org_form
        return None

"""py-abac attribute providers over the register: the PIP seam of the decision flow.

Compiled policies ask for two facts the request does not carry: the ER roles the subject holds
for the party (`subject $.roles`), and the party's organisation form (`resource $.org_form`).
py-abac asks the request first and this provider only when the request lacks the attribute, so
roles a caller asserts in the request are used as given, while the organisation form always
comes from the register.
"""

from __future__ import annotations

from typing import Any

from py_abac.context import EvaluationContext
from py_abac.provider.base import AttributeProvider

from pdp.compiler import ORG_FORM_PATH, PARTY_PATH, ROLES_PATH
from pdp.register import Register
from pdp.subjects import parse_subject_urn


class RegisterAttributeProvider(AttributeProvider):
    """Roles and organisation form from the register, each read at most once per decision.

    A new provider is made for every decision: it memoises what it read, so the eight or so
    candidate policies of a request share one register look-up.
    """

    def __init__(self, register: Register):
        self._register = register
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
            subject = parse_subject_urn(ctx.subject_id)
            return sorted(self._register.roles_held(subject.kind, subject.identifier, party))
        if ace == "resource" and attribute_path == ORG_FORM_PATH:
            organization = self._register.organization(party)
            return None if organization is None else organization.org_form
        return None

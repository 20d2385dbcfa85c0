"""Compile a Catalog's grants into py-abac policies.

Every grant (role -> package) becomes one policy permitting action `access`, and, where the grant
is delegable, one permitting `delegate`. The policies read two attributes that the PIP supplies
(see `pdp.attributes`): the subject's ER roles for the party (`$.roles`), and the party's
organisation form (`$.org_form`). Targets name the package URN and the action exactly, so the
repository can index candidates by them.

Output is deterministic: the same catalog always gives the same policies in the same order, and
`render` gives byte-identical JSON.
"""

from __future__ import annotations

from typing import Any

from pdp.catalog import Catalog, Grant, canonical_json

ACCESS = "access"
DELEGATE = "delegate"
ACTIONS = (ACCESS, DELEGATE)

ROLES_PATH = "$.roles"
ORG_FORM_PATH = "$.org_form"
PARTY_PATH = "$.party"


def compile_catalog(catalog: Catalog) -> list[dict[str, Any]]:
    """The py-abac policy documents for every grant in `catalog`, sorted by uid."""
    policies = [
        _grant_policy(catalog, grant, action)
        for grant in catalog.grants
        for action in ((ACCESS, DELEGATE) if grant.delegable else (ACCESS,))
    ]
    return sorted(policies, key=lambda policy: policy["uid"])


def render(policies: list[dict[str, Any]]) -> bytes:
    """Canonical JSON for a compiled policy list (what `pdp compile --output` writes)."""
    return canonical_json({"policies": policies})


def policy_uid(grant: Grant, action: str) -> str:
    package_code = grant.package.removeprefix("urn:altinn:accesspackage:")
    return f"grant:{package_code}:{grant.role}:{action}"


def _grant_policy(catalog: Catalog, grant: Grant, action: str) -> dict[str, Any]:
    role = catalog.role(grant.role)
    package = catalog.package(grant.package)
    verb = "access" if action == ACCESS else "delegate"
    description = f"{role.name} ({role.code}) may {verb} {package.name} ({package.urn})"
    resource_rules: dict[str, Any] = {}
    if grant.org_forms:
        description += f" for organisations of form {', '.join(grant.org_forms)}"
        resource_rules[ORG_FORM_PATH] = {
            "condition": "AnyOf",
            "values": [
                {"condition": "Equals", "value": form, "case_insensitive": False}
                for form in grant.org_forms
            ],
        }
    return {
        "uid": policy_uid(grant, action),
        "description": description,
        "effect": "allow",
        "priority": 0,
        "targets": {"subject_id": "*", "resource_id": package.urn, "action_id": action},
        "rules": {
            "subject": {ROLES_PATH: {"condition": "AnyIn", "values": [role.code]}},
            "resource": resource_rules,
            "action": {},
            "context": {},
        },
    }

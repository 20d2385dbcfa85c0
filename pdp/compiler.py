"""Compile a Catalog's grants into py-abac policies.

Every grant (role -> package) becomes one policy permitting action `access`, and, where the grant
is delegable, one permitting `delegate`. Every package that can be delegated also gets one
policy permitting `access` to whoever holds it by delegation for the party. The policies read
attributes that the PIP supplies (see `pdp.attributes`): the subject's ER roles for the party
(`$.roles`), the packages delegated to the subject for the party (`$.delegated_packages`), and
the party's organisation form (`$.org_form`). Targets name the package URN and the action
exactly, so the repository can index candidates by them.

Each service resource's XACML policy is compiled by `pdp.resource_compiler`, into documents
targeting the resource (`urn:altinn:resource:<id>`) and an action.

Output is deterministic: the same catalog always gives the same policies in the same order, and
`policies_json` gives byte-identical JSON.
"""

from __future__ import annotations

from typing import Any

from pdp.catalog import Catalog, Grant, Package, canonical_json
from pdp.resource_compiler import compile_resources
from pdp.vocabulary import (
    ACCESS,
    DELEGATE,
    DELEGATED_PACKAGES_PATH,
    ORG_FORM_PATH,
    PACKAGE_URN_PREFIX,
    ROLES_PATH,
)


def compile_catalog(catalog: Catalog) -> list[dict[str, Any]]:
    """The py-abac policy documents for every grant and every resource policy rule in
    `catalog`, sorted by uid."""
    policies = [
        _grant_policy(catalog, grant, action)
        for grant in catalog.grants
        for action in ((ACCESS, DELEGATE) if grant.delegable else (ACCESS,))
    ]
    policies += [
        _delegation_policy(package)
        for package in catalog.packages
        if any(grant.delegable for grant in package.grants)
    ]
    policies += compile_resources(catalog)
    return sorted(policies, key=lambda policy: policy["uid"])


def policies_json(policies: list[dict[str, Any]]) -> bytes:
    """Canonical JSON for a compiled policy list (what `pdp compile --output` writes)."""
    return canonical_json({"policies": policies})


def policy_uid(grant: Grant, action: str) -> str:
    package_code = grant.package.removeprefix(PACKAGE_URN_PREFIX)
    return f"grant:{package_code}:{grant.role}:{action}"


def _org_form_rule(org_forms: tuple[str, ...]) -> dict[str, Any]:
    """Resource rules limiting a policy to parties of these organisation forms (none: no limit)."""
    if not org_forms:
        return {}
    return {
        ORG_FORM_PATH: {
            "condition": "AnyOf",
            "values": [
                {"condition": "Equals", "value": form, "case_insensitive": False}
                for form in org_forms
            ],
        }
    }


def _delegation_policy(package: Package) -> dict[str, Any]:
    """Access for whoever holds `package` by delegation for the party.

    A delegation can only carry what its delegator's grant allowed, so the package's
    organisation-form limits still hold: if every delegable grant is limited, so is this.
    """
    delegable = [grant for grant in package.grants if grant.delegable]
    limited = all(grant.org_forms for grant in delegable)
    org_forms = (
        tuple(sorted({f for grant in delegable for f in grant.org_forms})) if limited else ()
    )
    return _allow_policy(
        uid=f"delegation:{package.code}:{ACCESS}",
        description=f"Holders of a delegation of {package.name} ({package.urn}) may access it",
        package_urn=package.urn,
        action=ACCESS,
        subject_rule=(DELEGATED_PACKAGES_PATH, package.urn),
        org_forms=org_forms,
    )


def _grant_policy(catalog: Catalog, grant: Grant, action: str) -> dict[str, Any]:
    role = catalog.role(grant.role)
    package = catalog.package(grant.package)
    return _allow_policy(
        uid=policy_uid(grant, action),
        description=f"{role.name} ({role.code}) may {action} {package.name} ({package.urn})",
        package_urn=package.urn,
        action=action,
        subject_rule=(ROLES_PATH, role.code),
        org_forms=grant.org_forms,
    )


def _allow_policy(
    *,
    uid: str,
    description: str,
    package_urn: str,
    action: str,
    subject_rule: tuple[str, str],
    org_forms: tuple[str, ...],
) -> dict[str, Any]:
    """An allow policy targeting (package, action) for subjects whose attribute at
    `subject_rule[0]` holds `subject_rule[1]`, limited to `org_forms` if any."""
    path, value = subject_rule
    if org_forms:
        description += f" for organisations of form {', '.join(org_forms)}"
    return {
        "uid": uid,
        "description": description,
        "effect": "allow",
        "priority": 0,
        "targets": {"subject_id": "*", "resource_id": package_urn, "action_id": action},
        "rules": {
            "subject": {path: {"condition": "AnyIn", "values": [value]}},
            "resource": _org_form_rule(org_forms),
            "action": {},
            "context": {},
        },
    }

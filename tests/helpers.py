"""Test helpers: valid identifiers on demand, and XACML requests without the boilerplate."""

from __future__ import annotations

from itertools import count
from typing import Any

from pdp.config import Settings
from pdp.identifiers import complete_national_identity_number, complete_organization_number

ACTION_ID = "urn:oasis:names:tc:xacml:1.0:action:action-id"
PERSON_ID = "urn:altinn:person:identifier-no"
ORGANIZATION_ID = "urn:altinn:organization:identifier-no"
PACKAGE_ID = "urn:altinn:accesspackage"

_people = count(1)
_organizations = count(1)


def open_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for tests of what the PDP decides: anyone may call (tests of who may call are in
    tests/security), and the logs are off (tests of the logs switch them on)."""
    return Settings(
        database_url=database_url,
        auth_disabled=True,
        decision_log="off",
        audit_log="off",
        **overrides,
    )


def new_person() -> str:
    """A fresh valid synthetic national identity number (month + 80, as Tenor test persons)."""
    while True:
        base = f"0188{next(_people) % 100:02d}{next(_people) % 1000:03d}"
        if number := complete_national_identity_number(base):
            return number


def new_organization() -> str:
    """A fresh valid organisation number."""
    while True:
        if number := complete_organization_number(f"3{next(_organizations):07d}"):
            return number


def attribute(attribute_id: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"AttributeId": attribute_id, "Value": value, **extra}


def xacml_request(
    subject: list[dict[str, Any]],
    resource: list[dict[str, Any]],
    action: str = "access",
    return_policy_ids: bool = True,
) -> dict[str, Any]:
    """A single-decision XACML JSON request with these attributes."""
    return {
        "Request": {
            "ReturnPolicyIdList": return_policy_ids,
            "AccessSubject": [{"Attribute": subject}],
            "Action": [{"Attribute": [attribute(ACTION_ID, action)]}],
            "Resource": [{"Attribute": resource}],
        }
    }


def package_request(
    person: str, party: str, package: str, action: str = "access", **kwargs: Any
) -> dict[str, Any]:
    """May `person` perform `action` on `package` for organisation `party`?"""
    return xacml_request(
        [attribute(PERSON_ID, person)],
        [attribute(PACKAGE_ID, package), attribute(ORGANIZATION_ID, party)],
        action,
        **kwargs,
    )

"""Who is asking: a person or an organisation, named by a Norwegian identifier, or a system
user, named by its UUID.

Decisions refer to subjects by URN (`urn:altinn:person:identifier-no:<11 digits>`,
`urn:altinn:organization:identifier-no:<9 digits>` or `urn:altinn:systemuser:uuid:<uuid>`),
the attribute ids Altinn's PDP uses with the value appended. This is the id py-abac sees as
`subject.id`. A system user is a vendor's system (an accounting system calling an API) that a
customer organisation registered; it holds only what was delegated to it for that organisation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema

from pdp.identifiers import (
    InvalidIdentifier,
    validate_national_identity_number,
    validate_organization_number,
    validate_uuid,
)
from pdp.vocabulary import ORGANIZATION_ID, PERSON_ID, SYSTEM_USER_UUID_ID

PERSON = "person"
ORGANIZATION = "organization"
SYSTEM_USER = "system_user"


_ATTRIBUTE_BY_KIND = {
    PERSON: PERSON_ID,
    ORGANIZATION: ORGANIZATION_ID,
    SYSTEM_USER: SYSTEM_USER_UUID_ID,
}
_VALIDATOR_BY_KIND = {
    PERSON: validate_national_identity_number,
    ORGANIZATION: validate_organization_number,
    SYSTEM_USER: validate_uuid,
}


@dataclass(frozen=True, slots=True)
class Subject:
    """A checked subject identifier."""

    kind: str
    identifier: str

    @property
    def urn(self) -> str:
        return f"{_ATTRIBUTE_BY_KIND[self.kind]}:{self.identifier}"


def subject(kind: str, identifier: object) -> Subject:
    """A Subject of `kind` (person, organization or system_user); raises InvalidIdentifier if
    malformed."""
    return Subject(kind, _VALIDATOR_BY_KIND[kind](identifier))


def parse_subject_urn(urn: str) -> Subject:
    """The Subject a subject URN names; raises InvalidIdentifier for anything else."""
    for kind, attribute in _ATTRIBUTE_BY_KIND.items():
        if urn.startswith(attribute + ":"):
            return subject(kind, urn.removeprefix(attribute + ":"))
    raise InvalidIdentifier(
        f"subject {urn!r} must be {PERSON_ID}:<national identity number>, "
        f"{ORGANIZATION_ID}:<organisation number> or {SYSTEM_USER_UUID_ID}:<uuid>"
    )


def identifier_field(
    check: Callable[[object], str], *, required: bool = False, **kwargs: Any
) -> fields.String:
    """A marshmallow string field checked with one of `pdp.identifiers`' validators."""

    def run(value: str) -> None:
        try:
            check(value)
        except InvalidIdentifier as error:
            raise ValidationError(str(error)) from None

    return fields.String(required=required, validate=run, **kwargs)


class OneSubjectSchema(Schema):
    """`{"person": <national identity number>}` or `{"organization": <organisation number>}`;
    a subclass may add `system_user` (a UUID) as a third choice."""

    class Meta:
        unknown = RAISE

    person = identifier_field(validate_national_identity_number)
    organization = identifier_field(validate_organization_number)

    @validates_schema
    def _exactly_one(self, data: dict[str, Any], **_: Any) -> None:
        kinds = [kind for kind in _ATTRIBUTE_BY_KIND if kind in self.fields]
        if sum(kind in data for kind in kinds) != 1:
            *others, last = (f"`{kind}`" for kind in kinds)
            raise ValidationError(f"give exactly one of {', '.join(others)} or {last}")


def subject_of(data: dict[str, Any]) -> Subject:
    """The Subject a document loaded with OneSubjectSchema (or a subclass) names."""
    kind = next(kind for kind in _ATTRIBUTE_BY_KIND if kind in data)
    return Subject(kind, data[kind])

"""Who is asking: a person or an organisation, named by a Norwegian identifier.

Decisions refer to subjects by URN (`urn:altinn:person:identifier-no:<11 digits>` or
`urn:altinn:organization:identifier-no:<9 digits>`), the attribute ids Altinn's PDP uses with
the value appended. This is the id py-abac sees as `subject.id`.
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
)
from pdp.vocabulary import ORGANIZATION_ID, PERSON_ID

PERSON = "person"
ORGANIZATION = "organization"


_ATTRIBUTE_BY_KIND = {PERSON: PERSON_ID, ORGANIZATION: ORGANIZATION_ID}
_VALIDATOR_BY_KIND = {
    PERSON: validate_national_identity_number,
    ORGANIZATION: validate_organization_number,
}


@dataclass(frozen=True)
class Subject:
    """A checked subject identifier."""

    kind: str
    identifier: str

    @property
    def urn(self) -> str:
        return f"{_ATTRIBUTE_BY_KIND[self.kind]}:{self.identifier}"


def subject(kind: str, identifier: object) -> Subject:
    """A Subject of `kind` (person or organization); raises InvalidIdentifier if malformed."""
    return Subject(kind, _VALIDATOR_BY_KIND[kind](identifier))


def parse_subject_urn(urn: str) -> Subject:
    """The Subject a subject URN names; raises InvalidIdentifier for anything else."""
    for kind, attribute in _ATTRIBUTE_BY_KIND.items():
        if urn.startswith(attribute + ":"):
            return subject(kind, urn.removeprefix(attribute + ":"))
    raise InvalidIdentifier(
        f"subject {urn!r} must be {PERSON_ID}:<national identity number> "
        f"or {ORGANIZATION_ID}:<organisation number>"
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
    """`{"person": <national identity number>}` or `{"organization": <organisation number>}`."""

    class Meta:
        unknown = RAISE

    person = identifier_field(validate_national_identity_number)
    organization = identifier_field(validate_organization_number)

    @validates_schema
    def _exactly_one(self, data: dict[str, Any], **_: Any) -> None:
        if (PERSON in data) == (ORGANIZATION in data):
            raise ValidationError("give exactly one of `person` or `organization`")


def subject_of(data: dict[str, Any]) -> Subject:
    """The Subject a document loaded with OneSubjectSchema names."""
    kind = PERSON if PERSON in data else ORGANIZATION
    return Subject(kind, data[kind])

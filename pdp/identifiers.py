"""Norwegian identifiers and their mod-11 check digits, and Altinn's UUIDs.

A PDP that accepted a mistyped organisation number would answer for the wrong party, so every
identifier that enters (requests, register imports) is checked here first. The rules are those
of Brønnøysundregistrene (organisation numbers) and Skatteetaten (national identity numbers,
D-numbers, synthetic test persons whose month has 80 added, and the 2032 scheme's relaxed first
check digit).

Altinn's own test data names a few parties by numbers whose check digits are wrong
(`01039012345`, `897069651`). `IdentifierRules` says whether check digits are checked
(`PDP_IDENTIFIER_CHECK_DIGITS`); it is built from `Settings` and handed to whatever reads
identifiers, so that no module-level switch decides it for the whole process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_ORG_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
#: What the first ten digits of a national identity number may leave modulo 11 (weights
#: `_K1_WEIGHTS` and 1): 0 before 2032, 0 to 3 from then on (see `_first_check_digit_fits`).
_K1_REMAINDERS_2032 = frozenset({0, 1, 2, 3})
#: A UUID in canonical form: a JSON Schema pattern (for the API's documents), and the rule of
#: `validate_uuid`.
UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_UUID = re.compile(UUID_PATTERN)


class InvalidIdentifier(ValueError):
    """An identifier that is not well-formed; the message says why, for a person to act on."""


def _mod11_check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    """The check digit for `digits`, or None where the rule gives 10 (no valid number)."""
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11
    check = (11 - remainder) % 11
    return None if check == 10 else check


def complete_organization_number(first_eight: str) -> str | None:
    """The organisation number whose first 8 digits these are, or None if none is valid (for
    making test and benchmark registers)."""
    check = _mod11_check_digit(first_eight, _ORG_WEIGHTS)
    return None if check is None else f"{first_eight}{check}"


def complete_national_identity_number(first_nine: str) -> str | None:
    """The national identity number whose first 9 digits (date and individual number) these
    are, or None if the check digits rule it out (for making test and benchmark registers)."""
    k1 = _mod11_check_digit(first_nine, _K1_WEIGHTS)
    k2 = None if k1 is None else _mod11_check_digit(f"{first_nine}{k1}", _K2_WEIGHTS)
    return None if k2 is None else f"{first_nine}{k1}{k2}"


def _require_digits(value: object, length: int, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidIdentifier(f"{what} must be a string of {length} digits")
    if len(value) != length or not value.isascii() or not value.isdigit():
        raise InvalidIdentifier(f"{what} must be {length} digits, got {value!r}")
    return value


def validate_organization_number(value: object) -> str:
    """Return `value` if it is a valid 9-digit organisation number, else raise InvalidIdentifier."""
    number = _require_digits(value, 9, "organisation number")
    if _mod11_check_digit(number[:8], _ORG_WEIGHTS) != int(number[8]):
        raise InvalidIdentifier(f"organisation number {number} has an invalid check digit")
    return number


def validate_national_identity_number(value: object) -> str:
    """Return `value` if it is a valid 11-digit fødselsnummer or D-number, else raise.

    D-numbers add 40 to the day; synthetic test persons (Tenor) add 80 to the month. Both check
    digits must match (the first one as the 2032 scheme allows, see `_first_check_digit_fits`),
    and the date they encode must exist.
    """
    number = _require_digits(value, 11, "national identity number")
    k2 = _mod11_check_digit(number[:10], _K2_WEIGHTS)
    if not _first_check_digit_fits(number) or k2 is None or k2 != int(number[10]):
        raise InvalidIdentifier(f"national identity number {number} has invalid check digits")
    return _with_valid_date(number)


def _first_check_digit_fits(number: str) -> bool:
    """Whether the first check digit (k1) is one the 2032 scheme allows.

    From 2032 Skatteetaten gives out national identity numbers whose k1 may be any of four
    digits: the weighted sum of the first ten digits (weights 3 7 6 1 8 9 4 5 2 1) leaves a
    remainder of 0, 1, 2 or 3 modulo 11, where numbers issued before 2032 always leave 0. Every
    older number is therefore valid under it. This is the rule of Altinn's register,
    `PersonIdentifier.IsValidPersonIdentifier` (Altinn/altinn-register,
    src/Altinn.Register/src/Altinn.Register.Core/Parties/PersonIdentifier.cs, commit 97d4374a),
    which accepts k1 when it equals (11 - r) % 11, (12 - r) % 11, (13 - r) % 11 or
    (14 - r) % 11 for r the weighted sum of the first nine digits modulo 11. k2 is unchanged:
    the ordinary mod-11 digit over the first ten digits, k1 included.
    """
    remainder = sum(int(d) * w for d, w in zip(number, _K1_WEIGHTS, strict=False)) % 11
    return (remainder + int(number[9])) % 11 in _K1_REMAINDERS_2032


def _with_valid_date(number: str) -> str:
    """`number` if the date of birth it encodes exists, else raise InvalidIdentifier."""
    day, month, year = int(number[0:2]), int(number[2:4]), int(number[4:6])
    if day > 40:
        day -= 40
    if month > 80:
        month -= 80
    try:
        # Only 29 February depends on the century; 2000 + yy is a leap year whenever some
        # century makes yy one, so every date a real century allows is accepted.
        date(2000 + year, month, day)
    except ValueError:
        raise InvalidIdentifier(
            f"national identity number {number} does not encode a valid date of birth"
        ) from None
    return number


def validate_uuid(value: object) -> str:
    """Return `value` if it is a UUID in canonical form (lower-case hex, 8-4-4-4-12), else raise.

    Only the canonical spelling is accepted, so that one party or system user is stored and
    looked up under one string. Version and variant bits are not checked: Altinn's own party
    UUIDs (`00000000-0000-0000-0005-000000005545`) have neither.
    """
    if not isinstance(value, str):
        raise InvalidIdentifier("a UUID must be a string")
    if not _UUID.fullmatch(value):
        raise InvalidIdentifier(
            f"a UUID must be 32 lower-case hex digits as 8-4-4-4-12, got {value!r}"
        )
    return value


@dataclass(frozen=True)
class IdentifierRules:
    """How identifiers that enter the PDP are checked, as configured (`Settings`).

    Built once from `Settings.identifier_check_digits` and passed to each reader of identifiers
    (the register import and the XACML request reader), rather than read from a global,
    so that two PDPs in one process (tests, tools) can be configured apart.
    """

    #: False accepts national identity numbers and organisation numbers of the right number of
    #: digits whatever their mod-11 check digits say (`PDP_IDENTIFIER_CHECK_DIGITS=false`), for
    #: Altinn's test data; the date a national identity number encodes is still checked.
    check_digits: bool = True

    def organization_number(self, value: object) -> str:
        """`value` if it is an organisation number under these rules, else raise."""
        if self.check_digits:
            return validate_organization_number(value)
        return _require_digits(value, 9, "organisation number")

    def national_identity_number(self, value: object) -> str:
        """`value` if it is a national identity number under these rules, else raise."""
        if self.check_digits:
            return validate_national_identity_number(value)
        return _with_valid_date(_require_digits(value, 11, "national identity number"))


#: The rules by default: every check digit checked.
CHECKED = IdentifierRules()

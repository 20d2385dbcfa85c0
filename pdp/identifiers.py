"""Norwegian identifiers and their mod-11 check digits.

A PDP that accepted a mistyped organisation number would answer for the wrong party, so every
identifier that enters (requests, register imports) is checked here first. The rules are those
of Brønnøysundregistrene (organisation numbers) and Skatteetaten (national identity numbers,
D-numbers, and synthetic test persons whose month has 80 added).
"""

from __future__ import annotations

from datetime import date

_ORG_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


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
    digits must match, and the date they encode must exist.
    """
    number = _require_digits(value, 11, "national identity number")
    k1 = _mod11_check_digit(number[:9], _K1_WEIGHTS)
    k2 = _mod11_check_digit(number[:10], _K2_WEIGHTS)
    if k1 is None or k2 is None or k1 != int(number[9]) or k2 != int(number[10]):
        raise InvalidIdentifier(f"national identity number {number} has invalid check digits")
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

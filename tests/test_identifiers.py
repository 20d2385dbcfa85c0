"""Organisation numbers and national identity numbers: mod-11 check digits, lengths, dates."""

from __future__ import annotations

import pytest

from pdp.identifiers import (
    InvalidIdentifier,
    validate_national_identity_number,
    validate_organization_number,
)


def _mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    """Skatteetaten's rule, written out independently of the code under test."""
    check = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return {11: 0, 10: None}.get(check, check)


def _with_check_digits(first_nine: str) -> str | None:
    """`first_nine` completed with its two check digits, or None where the rule gives none."""
    k1 = _mod11(first_nine, (3, 7, 6, 1, 8, 9, 4, 5, 2))
    if k1 is None:
        return None
    k2 = _mod11(f"{first_nine}{k1}", (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
    return None if k2 is None else f"{first_nine}{k1}{k2}"


def _first_with_check_digits(first_six: str) -> str:
    return next(n for n in (_with_check_digits(f"{first_six}{i:03d}") for i in range(1000)) if n)


def test_independent_check_digit_rule_agrees_with_known_numbers():
    """Guards the helpers above, which construct numbers for the date tests below."""
    assert _with_check_digits("020562600") == "02056260016"
    assert _with_check_digits("308564999") == "30856499983"


def _fullwidth(digits: str) -> str:
    return digits.translate({ord("0") + d: 0xFF10 + d for d in range(10)})


# --- organisation numbers -------------------------------------------------------------------


@pytest.mark.parametrize("number", ["910459880", "991825827", "316289177", "974760673"])
def test_valid_organisation_number_is_returned_unchanged(number):
    assert validate_organization_number(number) == number


@pytest.mark.parametrize("number", ["974760674", "123456789", "897069651"])
def test_organisation_number_with_wrong_check_digit_is_refused(number):
    with pytest.raises(InvalidIdentifier, match="invalid check digit"):
        validate_organization_number(number)


def test_organisation_number_whose_check_digit_would_be_ten_is_refused():
    # 8 digits whose weighted sum leaves remainder 1 have no valid check digit at all.
    base = next(
        f"{n:08d}"
        for n in range(10_000_000, 100_000_000)
        if _mod11(f"{n:08d}", (3, 2, 7, 6, 5, 4, 3, 2)) is None
    )
    for check in range(10):
        with pytest.raises(InvalidIdentifier):
            validate_organization_number(f"{base}{check}")


@pytest.mark.parametrize("number", ["91045988", "9104598800", "", "9"])
def test_organisation_number_of_wrong_length_is_refused(number):
    with pytest.raises(InvalidIdentifier, match="must be 9 digits"):
        validate_organization_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "91045988O",  # letter O, not zero
        "910 45988",
        " 91045988",
        "-91045988",
        _fullwidth("910459880"),  # digits to str.isdigit, but not ASCII
        "910459880".translate({ord("0") + d: 0x0660 + d for d in range(10)}),  # Arabic-Indic
    ],
)
def test_organisation_number_with_non_digits_is_refused(number):
    with pytest.raises(InvalidIdentifier, match="must be 9 digits"):
        validate_organization_number(number)


@pytest.mark.parametrize("value", [910459880, None, 9.1e8, b"910459880", ["910459880"]])
def test_organisation_number_that_is_not_a_string_is_refused(value):
    with pytest.raises(InvalidIdentifier, match="must be a string"):
        validate_organization_number(value)


def test_invalid_identifier_is_a_value_error():
    with pytest.raises(ValueError):
        validate_organization_number("123456789")


# --- national identity numbers --------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "02056260016",  # ordinary fødselsnummer
        "07124912037",
        "01025161013",
        "30856499983",  # synthetic test person: month + 80
        "47827602783",  # D-number (day + 40) of a synthetic person (month + 80)
    ],
)
def test_valid_national_identity_number_is_returned_unchanged(number):
    assert validate_national_identity_number(number) == number


@pytest.mark.parametrize("number", ["01039012345", "01017012345"])
def test_national_identity_number_with_wrong_check_digits_is_refused(number):
    with pytest.raises(InvalidIdentifier, match="invalid check digits"):
        validate_national_identity_number(number)


def test_national_identity_number_with_only_the_second_check_digit_wrong_is_refused():
    valid = "02056260016"
    for k2 in "0123456789":
        if k2 != valid[10]:
            with pytest.raises(InvalidIdentifier, match="invalid check digits"):
                validate_national_identity_number(valid[:10] + k2)


def test_national_identity_number_with_only_the_first_check_digit_wrong_is_refused():
    valid = "02056260016"
    for k1 in "0123456789":
        if k1 != valid[9]:
            with pytest.raises(InvalidIdentifier, match="invalid check digits"):
                validate_national_identity_number(valid[:9] + k1 + valid[10])


@pytest.mark.parametrize(
    "date_part",
    [
        pytest.param("310290", id="31 February"),
        pytest.param("290290", id="29 February in a year that is never a leap year"),
        pytest.param("000190", id="day 0"),
        pytest.param("320190", id="day 32"),
        pytest.param("011390", id="month 13"),
        pytest.param("010090", id="month 0"),
        pytest.param("718290", id="D-number and synthetic month, day 31 February"),
        pytest.param("019390", id="synthetic month 93 (13 + 80)"),
    ],
)
def test_national_identity_number_with_valid_check_digits_but_impossible_date_is_refused(date_part):
    number = _first_with_check_digits(date_part)
    with pytest.raises(InvalidIdentifier, match="does not encode a valid date of birth"):
        validate_national_identity_number(number)


def test_29_february_is_accepted_when_some_century_makes_it_a_leap_year():
    # 29.02.00 exists in 2000, 29.02.04 in 1904 and 2004.
    for year in ("00", "04"):
        number = _first_with_check_digits(f"2902{year}")
        assert validate_national_identity_number(number) == number


@pytest.mark.parametrize("number", ["0205626001", "020562600160", "", "0"])
def test_national_identity_number_of_wrong_length_is_refused(number):
    with pytest.raises(InvalidIdentifier, match="must be 11 digits"):
        validate_national_identity_number(number)


@pytest.mark.parametrize(
    "number", ["0205626001a", "02056 60016", "+2056260016", _fullwidth("02056260016")]
)
def test_national_identity_number_with_non_digits_is_refused(number):
    with pytest.raises(InvalidIdentifier, match="must be 11 digits"):
        validate_national_identity_number(number)


@pytest.mark.parametrize("value", [2056260016, None, b"02056260016", ("02056260016",)])
def test_national_identity_number_that_is_not_a_string_is_refused(value):
    with pytest.raises(InvalidIdentifier, match="must be a string"):
        validate_national_identity_number(value)


def test_organisation_number_is_not_a_national_identity_number_and_vice_versa():
    with pytest.raises(InvalidIdentifier):
        validate_national_identity_number("910459880")
    with pytest.raises(InvalidIdentifier):
        validate_organization_number("02056260016")

"""Organisation numbers and national identity numbers: mod-11 check digits (with the 2032
scheme's relaxed first one), lengths, dates; UUIDs; and the configured rules."""

from __future__ import annotations

import pytest

from pdp.config import Settings
from pdp.identifiers import (
    CHECKED,
    IdentifierRules,
    InvalidIdentifier,
    validate_national_identity_number,
    validate_organization_number,
    validate_uuid,
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


# --- the 2032 scheme ------------------------------------------------------------------------


def _k1_remainder(first_ten: str) -> int:
    """What the first ten digits leave modulo 11, weights 3 7 6 1 8 9 4 5 2 1 (0: old scheme)."""
    return (
        sum(int(d) * w for d, w in zip(first_ten, (3, 7, 6, 1, 8, 9, 4, 5, 2, 1), strict=True)) % 11
    )


def _with_k1(first_nine: str, k1: int) -> str | None:
    """`first_nine`, this k1, and the k2 the ordinary rule gives (None where it gives none)."""
    k2 = _mod11(f"{first_nine}{k1}", (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
    return None if k2 is None else f"{first_nine}{k1}{k2}"


@pytest.mark.parametrize("number", ["02013299997", "30108299939", "42013299980"])
def test_altinns_examples_of_2032_scheme_numbers_are_valid(number):
    """The examples of Altinn's register `PersonIdentifier` (Altinn/altinn-register); the
    second one's first check digit is not the old scheme's."""
    assert validate_national_identity_number(number) == number


def test_the_old_schemes_first_check_digit_is_not_the_only_one_accepted():
    assert _with_check_digits("301082999") != "30108299939"
    assert 1 <= _k1_remainder("3010829993") <= 3


@pytest.mark.parametrize("first_nine", ["020562600", "010190123", "308564999", "478276027"])
def test_a_first_check_digit_is_valid_when_the_first_ten_digits_leave_0_to_3(first_nine):
    """From 2032 k1 may leave remainder 0, 1, 2 or 3; k2 stays the ordinary mod-11 digit."""
    for k1 in range(10):
        number = _with_k1(first_nine, k1)
        if number is None:
            continue
        if _k1_remainder(number[:10]) <= 3:
            assert validate_national_identity_number(number) == number
        else:
            with pytest.raises(InvalidIdentifier, match="invalid check digits"):
                validate_national_identity_number(number)


def test_each_base_has_up_to_four_valid_first_check_digits():
    valid = [
        k1
        for k1 in range(10)
        if (number := _with_k1("020562600", k1)) and _k1_remainder(number[:10]) <= 3
    ]
    assert 1 <= len(valid) <= 4
    assert int("02056260016"[9]) in valid


# --- UUIDs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "e2eba2c3-b369-4ff9-8418-99a810d6bb58",
        "00000000-0000-0000-0005-000000005545",  # Altinn's party UUIDs: no version, no variant
    ],
)
def test_a_uuid_in_canonical_form_is_returned_unchanged(value):
    assert validate_uuid(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "E2EBA2C3-B369-4FF9-8418-99A810D6BB58",
        "{e2eba2c3-b369-4ff9-8418-99a810d6bb58}",
        "e2eba2c3b3694ff9841899a810d6bb58",
        "e2eba2c3-b369-4ff9-8418-99a810d6bb5",
        "e2eba2c3-b369-4ff9-8418-99a810d6bb58\n",
        "g2eba2c3-b369-4ff9-8418-99a810d6bb58",
        "",
    ],
)
def test_a_uuid_in_another_form_is_refused(value):
    with pytest.raises(InvalidIdentifier, match="8-4-4-4-12"):
        validate_uuid(value)


@pytest.mark.parametrize("value", [None, 1, b"e2eba2c3-b369-4ff9-8418-99a810d6bb58"])
def test_a_uuid_that_is_not_a_string_is_refused(value):
    with pytest.raises(InvalidIdentifier, match="must be a string"):
        validate_uuid(value)


# --- the configured rules -------------------------------------------------------------------


def test_by_default_check_digits_are_checked():
    assert CHECKED == IdentifierRules() == IdentifierRules(check_digits=True)
    with pytest.raises(InvalidIdentifier, match="invalid check digits"):
        CHECKED.national_identity_number("01039012345")
    with pytest.raises(InvalidIdentifier, match="invalid check digit"):
        CHECKED.organization_number("897069651")
    assert CHECKED.national_identity_number("30108299939") == "30108299939"
    assert CHECKED.organization_number("910459880") == "910459880"


def test_without_check_digits_altinns_test_numbers_are_accepted():
    relaxed = IdentifierRules(check_digits=False)
    assert relaxed.national_identity_number("01039012345") == "01039012345"
    assert relaxed.organization_number("897069651") == "897069651"
    assert relaxed.national_identity_number("02056260016") == "02056260016"


@pytest.mark.parametrize("number", ["0103901234", "0103901234a", _fullwidth("01039012345")])
def test_without_check_digits_a_national_identity_number_is_still_eleven_digits(number):
    with pytest.raises(InvalidIdentifier, match="must be 11 digits"):
        IdentifierRules(check_digits=False).national_identity_number(number)


def test_without_check_digits_a_national_identity_number_still_encodes_a_date():
    with pytest.raises(InvalidIdentifier, match="valid date of birth"):
        IdentifierRules(check_digits=False).national_identity_number("31029012345")


@pytest.mark.parametrize("number", ["89706965", "8970696510", "89706965O", 897069651])
def test_without_check_digits_an_organisation_number_is_still_nine_digits(number):
    with pytest.raises(InvalidIdentifier, match="must be"):
        IdentifierRules(check_digits=False).organization_number(number)


@pytest.mark.parametrize(
    ("environ", "checked"),
    [
        ({}, True),
        ({"PDP_IDENTIFIER_CHECK_DIGITS": "true"}, True),
        ({"PDP_IDENTIFIER_CHECK_DIGITS": "FALSE"}, False),
        ({"PDP_IDENTIFIER_CHECK_DIGITS": "false"}, False),
    ],
)
def test_the_setting_says_whether_check_digits_are_checked(environ, checked):
    assert Settings.from_env(environ).identifier_check_digits is checked


@pytest.mark.parametrize("value", ["no", "0", "off", ""])
def test_the_setting_must_be_spelled_exactly(value):
    with pytest.raises(ValueError, match="PDP_IDENTIFIER_CHECK_DIGITS must be true or false"):
        Settings.from_env({"PDP_IDENTIFIER_CHECK_DIGITS": value})

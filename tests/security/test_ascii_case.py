"""Case-insensitive means ASCII only: member names, attribute ids, role codes and package names
match in any case of A-Z, and a character that only Unicode folds onto ASCII makes another,
unknown name.

Python's `str.casefold` reads `Acce\u017f\u017fSubject` (long s) as `AccessSubject`,
`urn:altinn:per\u017fon:identi\ufb01er-no` (long s, fi ligature) as the person identifier and
`\u212aomp` (Kelvin sign) as the role KOMP; a PEP or an attacker that spells a name so must not
be read as having spelt the known one.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdp.vocabulary import (
    INDETERMINATE,
    PERMIT,
    ROLECODE_ID,
    STATUS_SYNTAX_ERROR,
    ascii_lower,
)
from tests.conftest import REGISTER
from tests.helpers import attribute, package_request

AUTHORIZE = "/authorization/api/v1/authorize"
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"
LONG_S, FI, KELVIN = "\u017f", "\ufb01", "\u212a"


def _decide(client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(AUTHORIZE, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    (result,) = response.get_json()["Response"]
    return result


def _renamed_subject_category(body: dict[str, Any], name: str) -> dict[str, Any]:
    request = body["Request"]
    request[name] = request.pop("AccessSubject")
    return body


def _stranger_stating(code: str) -> dict[str, Any]:
    body = package_request(REGISTER.stranger, REGISTER.as_org, EVENTS)
    body["Request"]["AccessSubject"][0]["Attribute"].append(attribute(ROLECODE_ID, code))
    return body


class TestUnicodeLookalikesAreUnknown:
    def test_a_member_name_with_a_long_s(self, client):
        body = package_request(REGISTER.as_holders["DAGL"], REGISTER.as_org, EVENTS)
        result = _decide(client, _renamed_subject_category(body, f"Acce{LONG_S}{LONG_S}Subject"))
        assert (result["Decision"], result["Status"]["StatusCode"]["Value"]) == (
            INDETERMINATE,
            STATUS_SYNTAX_ERROR,
        )

    def test_an_attribute_id_with_a_long_s_and_a_ligature(self, client):
        body = package_request(REGISTER.as_holders["DAGL"], REGISTER.as_org, EVENTS)
        subject = body["Request"]["AccessSubject"][0]["Attribute"][0]
        subject["AttributeId"] = f"urn:altinn:per{LONG_S}on:identi{FI}er-no"
        result = _decide(client, body)
        assert result["Decision"] == INDETERMINATE
        assert "has no urn:altinn:person:identifier-no" in result["Status"]["StatusMessage"]

    def test_a_stated_role_code_with_the_kelvin_sign(self, client):
        result = _decide(client, _stranger_stating(f"{KELVIN}omp"))
        assert result["Decision"] == INDETERMINATE
        assert result["Status"]["StatusMessage"] == (f"{ROLECODE_ID}: unknown role '{KELVIN}omp'")

    def test_a_package_name_with_a_long_s(self, client):
        package = f"urn:altinn:accesspackage:ma{LONG_S}kinlesbarehendelser"
        body = package_request(REGISTER.as_holders["DAGL"], REGISTER.as_org, package)
        result = _decide(client, body)
        assert (result["Decision"], result["Status"]["StatusCode"]["Value"]) == (
            INDETERMINATE,
            STATUS_SYNTAX_ERROR,
        )


class TestAsciiCaseStillMatches:
    def test_a_member_name_in_upper_case(self, client):
        body = package_request(REGISTER.as_holders["DAGL"], REGISTER.as_org, EVENTS)
        assert _decide(client, _renamed_subject_category(body, "ACCESSSUBJECT"))["Decision"] == (
            PERMIT
        )

    def test_an_attribute_id_in_upper_case(self, client):
        body = package_request(REGISTER.as_holders["DAGL"], REGISTER.as_org, EVENTS)
        subject = body["Request"]["AccessSubject"][0]["Attribute"][0]
        subject["AttributeId"] = "URN:ALTINN:PERSON:IDENTIFIER-NO"
        assert _decide(client, body)["Decision"] == PERMIT

    @pytest.mark.parametrize("code", ["KOMP", "komp", "Komp"])
    def test_a_stated_role_code_in_any_ascii_case(self, client, code):
        assert _decide(client, _stranger_stating(code))["Decision"] == PERMIT

    def test_a_package_name_in_upper_case(self, client):
        body = package_request(REGISTER.as_holders["DAGL"], REGISTER.as_org, EVENTS.upper())
        assert _decide(client, body)["Decision"] == PERMIT


@given(st.text())
def test_ascii_lower_lowers_a_to_z_and_nothing_else(text):
    expected = "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)
    assert ascii_lower(text) == expected


@pytest.mark.parametrize("text", [f"Acce{LONG_S}{LONG_S}Subject", f"identi{FI}er", f"{KELVIN}OMP"])
def test_ascii_lower_never_makes_ascii_of_other_characters(text):
    assert not ascii_lower(text).isascii()


@pytest.mark.parametrize("code", ["ffør", "FFØR", "FFøR", "ffØr"])
def test_a_role_with_a_non_ascii_letter_is_named_by_its_altinn_value_or_its_code(catalog, code):
    """`urn:altinn:rolecode:ffør` is the role FFØR: both spellings in any ASCII case."""
    assert catalog.role_code_for(ROLECODE_ID, code) == "FFØR"

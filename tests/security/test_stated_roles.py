"""Stated roles: a request may name the subject's roles itself (`urn:altinn:rolecode`,
`urn:altinn:external-role:ccr`, `roles` on `/api/v1/decision`) only when its caller may.

Stated roles make anyone hold any role, so they are honoured only for a token with the scope
`pdp:stated-roles`, and for no one with `PDP_STATED_ROLES=false`. Any other request that states
them is Indeterminate, processing-error with the minor status
`urn:pdp:status:stated-roles-refused`, and a message saying why: never silently decided on the
register's roles instead, and never Permit.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pdp.api import create_app
from pdp.api.auth import SCOPE_AUTHORIZE, SCOPE_STATED_ROLES
from pdp.config import Settings
from pdp.vocabulary import (
    CCR_ROLE_ID,
    INDETERMINATE,
    PERMIT,
    ROLECODE_ID,
    STATUS_OK,
    STATUS_PROCESSING_ERROR,
    STATUS_STATED_ROLES_REFUSED,
)
from tests.conftest import REGISTER
from tests.helpers import attribute, open_settings, package_request
from tests.security.tokens import bearer

EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"
API_NUF = "urn:altinn:accesspackage:programmeringsgrensesnittNUF"
AUTHORIZE = "/authorization/api/v1/authorize"
#: Ways a request states that the stranger (no roles anywhere) is daglig leder.
STATED_DAGL = {
    "rolecode": (ROLECODE_ID, "dagl"),
    "ccr role": (CCR_ROLE_ID, "daglig-leder"),
}
LACKS_SCOPE = f"the caller's token lacks the scope {SCOPE_STATED_ROLES}"
SWITCHED_OFF = "this PDP accepts no stated roles (PDP_STATED_ROLES=false)"


def _stating(
    attribute_id: str, value: str, package: str = EVENTS, action: str = "access", **kwargs: Any
) -> dict[str, Any]:
    """The stranger asks for `package` at the AS, stating a role there."""
    body = package_request(REGISTER.stranger, REGISTER.as_org, package, action, **kwargs)
    body["Request"]["AccessSubject"][0]["Attribute"].append(attribute(attribute_id, value))
    return body


def _decision_body(roles: list[str] | None) -> dict[str, Any]:
    subject: dict[str, Any] = {"id": f"urn:altinn:person:identifier-no:{REGISTER.stranger}"}
    if roles is not None:
        subject["attributes"] = {"roles": roles}
    return {
        "subject": subject,
        "resource": {"id": EVENTS, "attributes": {"party": REGISTER.as_org}},
        "action": {"id": "access"},
    }


def _only_result(response) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    (result,) = response.get_json()["Response"]
    return result


def _assert_refused(result: dict[str, Any], reason: str) -> None:
    assert result["Decision"] == INDETERMINATE
    assert result["Status"]["StatusCode"] == {
        "Value": STATUS_PROCESSING_ERROR,
        "StatusCode": {"Value": STATUS_STATED_ROLES_REFUSED},
    }
    assert result["Status"]["StatusMessage"] == (
        f"the request states the subject's roles, but {reason}"
    )


class TestWithAuthentication:
    """With tokens checked, as in production."""

    @pytest.mark.parametrize("stated", STATED_DAGL.values(), ids=STATED_DAGL.keys())
    @pytest.mark.parametrize(
        ("package", "action"), [(EVENTS, "access"), (EVENTS, "delegate"), (API_NUF, "access")]
    )
    def test_a_pep_token_stating_roles_is_indeterminate_naming_the_scope(
        self, secured_client, issuer, stated, package, action
    ):
        token = bearer(issuer.token(scopes=SCOPE_AUTHORIZE))
        body = _stating(*stated, package=package, action=action)
        result = _only_result(secured_client.post(AUTHORIZE, json=body, headers=token))
        _assert_refused(result, LACKS_SCOPE)

    @pytest.mark.parametrize("stated", STATED_DAGL.values(), ids=STATED_DAGL.keys())
    def test_a_token_with_the_scope_has_its_stated_roles_honoured(
        self, secured_client, issuer, stated
    ):
        token = bearer(issuer.token(scopes=f"{SCOPE_AUTHORIZE} {SCOPE_STATED_ROLES}"))
        result = _only_result(secured_client.post(AUTHORIZE, json=_stating(*stated), headers=token))
        assert (result["Decision"], result["Status"]["StatusCode"]) == (
            PERMIT,
            {"Value": STATUS_OK},
        )

    def test_the_scope_alone_opens_no_endpoint(self, secured_client, issuer):
        token = bearer(issuer.token(scopes=SCOPE_STATED_ROLES))
        response = secured_client.post(AUTHORIZE, json=_stating(*STATED_DAGL["rolecode"]))
        assert response.status_code == 401
        response = secured_client.post(
            AUTHORIZE, json=_stating(*STATED_DAGL["rolecode"]), headers=token
        )
        assert response.status_code == 403

    def test_a_request_stating_no_roles_is_decided_on_the_register_as_before(
        self, secured_client, issuer
    ):
        token = bearer(issuer.token(scopes=SCOPE_AUTHORIZE))
        body = package_request(REGISTER.as_holders["DAGL"], REGISTER.as_org, EVENTS)
        assert _only_result(secured_client.post(AUTHORIZE, json=body, headers=token))[
            "Decision"
        ] == (PERMIT)

    def test_in_a_batch_only_the_requests_stating_roles_are_refused(self, secured_client, issuer):
        body = _stating(*STATED_DAGL["rolecode"])
        request = body["Request"]
        request["AccessSubject"][0]["Id"] = "stranger"
        request["AccessSubject"].append(
            {
                "Id": "dagl",
                "Attribute": [
                    attribute("urn:altinn:person:identifier-no", REGISTER.as_holders["DAGL"])
                ],
            }
        )
        request["Action"][0]["Id"] = "access"
        request["Resource"][0]["Id"] = "events"
        request["MultiRequests"] = {
            "RequestReference": [
                {"ReferenceId": ["stranger", "access", "events"]},
                {"ReferenceId": ["dagl", "access", "events"]},
            ]
        }
        token = bearer(issuer.token(scopes=SCOPE_AUTHORIZE))
        response = secured_client.post(AUTHORIZE, json=body, headers=token)
        stranger, dagl = response.get_json()["Response"]
        _assert_refused(stranger, LACKS_SCOPE)
        assert dagl["Decision"] == PERMIT

    def test_roles_on_the_decision_endpoint_are_refused_likewise(self, secured_client, issuer):
        token = bearer(issuer.token(scopes=SCOPE_AUTHORIZE))
        response = secured_client.post(
            "/api/v1/decision", json=_decision_body(["DAGL"]), headers=token
        )
        assert response.status_code == 200, response.get_json()
        answer = response.get_json()
        assert answer["decision"] == INDETERMINATE
        assert answer["status"] == STATUS_PROCESSING_ERROR
        assert answer["minor_status"] == STATUS_STATED_ROLES_REFUSED
        assert LACKS_SCOPE in answer["message"]
        # An empty list states roles too (the subject then holds none): still the caller's word.
        response = secured_client.post("/api/v1/decision", json=_decision_body([]), headers=token)
        assert response.get_json()["minor_status"] == STATUS_STATED_ROLES_REFUSED

    def test_roles_on_the_decision_endpoint_are_honoured_with_the_scope(
        self, secured_client, issuer
    ):
        token = bearer(issuer.token(scopes=f"{SCOPE_AUTHORIZE} {SCOPE_STATED_ROLES}"))
        response = secured_client.post(
            "/api/v1/decision", json=_decision_body(["DAGL"]), headers=token
        )
        answer = response.get_json()
        assert (answer["decision"], answer["status"]) == (PERMIT, STATUS_OK)
        assert "minor_status" not in answer

    def test_switched_off_even_the_scope_states_no_roles(self, secured_settings, issuer, pdp):
        app = create_app(replace(secured_settings, stated_roles=False))
        try:
            token = bearer(issuer.token(scopes=f"{SCOPE_AUTHORIZE} {SCOPE_STATED_ROLES}"))
            client = app.test_client()
            result = _only_result(
                client.post(AUTHORIZE, json=_stating(*STATED_DAGL["rolecode"]), headers=token)
            )
            _assert_refused(result, SWITCHED_OFF)
            answer = client.post(
                "/api/v1/decision", json=_decision_body(["DAGL"]), headers=token
            ).get_json()
            assert (answer["decision"], answer["minor_status"]) == (
                INDETERMINATE,
                STATUS_STATED_ROLES_REFUSED,
            )
        finally:
            app.extensions["pdp"].close()


class TestWithoutAuthentication:
    """With authentication off (development), every caller may do everything: stated roles
    are honoured, unless the setting switches them off."""

    def test_stated_roles_are_honoured(self, client):
        result = _only_result(client.post(AUTHORIZE, json=_stating(*STATED_DAGL["rolecode"])))
        assert result["Decision"] == PERMIT

    def test_the_setting_switches_them_off(self, database_url, pdp):
        app = create_app(open_settings(database_url, stated_roles=False))
        try:
            response = app.test_client().post(AUTHORIZE, json=_stating(*STATED_DAGL["ccr role"]))
            _assert_refused(_only_result(response), SWITCHED_OFF)
        finally:
            app.extensions["pdp"].close()


def test_the_setting_is_read_from_pdp_stated_roles():
    assert Settings.from_env({}).stated_roles is True
    assert Settings.from_env({"PDP_STATED_ROLES": "false"}).stated_roles is False

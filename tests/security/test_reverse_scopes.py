"""Who may ask who may act for whom: Altinn's authorized parties scope (or `pdp:admin`) for
authorized parties; `pdp:admin` for holders and explanations, which tell who holds what."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLES_DIR
from tests.security.tokens import bearer

PARTIES = "/accessmanagement/api/v1/resourceowner/authorizedparties"
PERSON_ID = "urn:altinn:person:identifier-no"
PAULA, ORSTA = "02056260016", "910459880"


class TestScopes:
    BODY = {"type": PERSON_ID, "value": PAULA}

    @pytest.mark.parametrize(
        "scope", ["altinn:accessmanagement/authorizedparties.resourceowner", "pdp:admin"]
    )
    def test_altinns_scope_or_admin_may_ask_for_authorized_parties(
        self, secured_client, issuer, scope
    ):
        response = secured_client.post(PARTIES, json=self.BODY, headers=bearer(issuer.token(scope)))
        assert response.status_code == 200

    @pytest.mark.parametrize("scope", ["altinn:authorization/authorize", "pdp:delegations"])
    def test_other_scopes_may_not(self, secured_client, issuer, scope):
        response = secured_client.post(PARTIES, json=self.BODY, headers=bearer(issuer.token(scope)))
        assert response.status_code == 403

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("GET", f"/api/v1/parties/{ORSTA}/holders?package=maskinlesbarehendelser", None),
            (
                "POST",
                "/api/v1/explain",
                json.loads((EXAMPLES_DIR / "requests/permit.json").read_text()),
            ),
        ],
    )
    def test_holders_and_explanations_are_for_administrators(
        self, secured_client, issuer, method, path, body
    ):
        for scope, status in (
            ("altinn:accessmanagement/authorizedparties.resourceowner", 403),
            ("altinn:authorization/authorize", 403),
            ("pdp:admin", 200),
        ):
            response = secured_client.open(
                path, method=method, json=body, headers=bearer(issuer.token(scope))
            )
            assert response.status_code == status, scope

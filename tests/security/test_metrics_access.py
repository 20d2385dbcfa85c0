"""Who may read /metrics, and token refusals counted by reason (`pdp.api.metrics`). Which
routes need which scope is in test_authentication's table."""

from __future__ import annotations

import time

from pdp.api.auth import SCOPE_ADMIN, SCOPE_AUTHORIZE
from pdp.api.metrics import SCOPE_METRICS
from tests.api.test_metrics import grew, scrape
from tests.security.tokens import bearer


class _Authorized:
    def __init__(self, client, token: str):
        self._client, self._headers = client, bearer(token)

    def get(self, path: str):
        return self._client.get(path, headers=self._headers)


def test_metrics_need_the_metrics_or_the_admin_scope(secured_client, issuer):
    for scope in (SCOPE_METRICS, SCOPE_ADMIN):
        headers = bearer(issuer.token(scopes=scope))
        assert secured_client.get("/metrics", headers=headers).status_code == 200
    deciding = bearer(issuer.token(scopes=SCOPE_AUTHORIZE))
    assert secured_client.get("/metrics", headers=deciding).status_code == 403
    assert secured_client.get("/metrics").status_code == 401


def test_token_refusals_are_counted_by_reason(secured_client, issuer, stranger):
    reader = _Authorized(secured_client, issuer.token(scopes=SCOPE_METRICS))
    before = scrape(reader)
    secured_client.get("/api/v1/packages")
    secured_client.get("/api/v1/packages", headers=bearer(issuer.token(lifetime=-120)))
    secured_client.get("/api/v1/packages", headers=bearer(issuer.token(audience="https://x/")))
    secured_client.get("/api/v1/packages", headers=bearer(stranger.token()))
    secured_client.get("/api/v1/packages", headers=bearer("not-a-token"))
    secured_client.get(
        "/api/v1/packages", headers=bearer(issuer.token(not_before=time.time() + 600))
    )
    secured_client.get("/api/v1/policy-sets", headers=bearer(issuer.token(scopes="openid")))
    after = scrape(reader)
    counted = {
        reason: grew(before, after, "pdp_token_refusals_total", reason=reason)
        for reason in (
            "missing",
            "expired",
            "audience",
            "signature",
            "malformed",
            "not-yet-valid",
            "insufficient-scope",
        )
    }
    assert counted == {reason: 1 for reason in counted}

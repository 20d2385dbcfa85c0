"""The PDP does what its served OpenAPI document says, checked with schemathesis.

Schemathesis reads `/openapi.json` and generates requests for every documented operation: the
document's examples, boundary and malformed values (its coverage phase) and random ones.

- To a caller whose token holds every scope, with authentication on as in production: no
  answer is a 5xx; every status code is listed for its operation (the catch-all `default` that
  flask-smorest adds does not count); content types, bodies and documented headers are as
  documented; schema-violating requests are refused; undeclared methods get 405 with `Allow`;
  and whatever succeeded with the token is refused without it (schemathesis' `ignored_auth`).
- To a caller without a token: every operation but the public ones answers 401 with a
  `WWW-Authenticate: Bearer` challenge, and that answer is as documented too.

Each operation runs against a fresh app and database (`secured_app`), which lives for all the
requests generated for it, as a server does. Generation is derandomized with a fixed seed, so
every run sends the same requests.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from pdp.api import create_app
from tests.helpers import open_settings
from tests.security.tokens import bearer

#: Random requests per operation, on top of its examples and coverage cases.
AUTHENTICATED_EXAMPLES = 25
ANONYMOUS_EXAMPLES = 5
SEED = 20261124


def _config(max_examples: int, *, with_token: bool) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
                # Schemathesis generates no Authorization header of its own: with a token, the
                # test sends it on every request (a negative case that "removed" it would be
                # judged on a request that has it); without one, none at all.
                "with-security-parameters": False,
                "mode": "all" if with_token else "positive",
            },
            # Without a token, nothing past the token check matters: valid requests only (a
            # malformed path may not even reach an operation), and no coverage phase.
            "phases": {"coverage": {"enabled": with_token}},
        }
    )


class AppUnderTest:
    """The WSGI app schemathesis calls: it forwards to the running test's own app.

    Schemathesis binds a schema to one app when this module is imported, but every test builds
    its app from fixtures; its own follow-up requests (the `ignored_auth` probes) go here too.
    (`schemathesis.pytest.from_fixture`, meant for this, fails on pytest 9.2: it sets
    `Function._nodeid`, which pytest no longer has.)
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.app is None:
            raise RuntimeError("no app under test: use the `app_under_test` fixture")
        return self.app(environ, start_response)


def _document_and_schemas() -> tuple[dict[str, Any], Any, Any]:
    # The document does not depend on configuration; an app that checks no tokens serves it
    # here, and `test_the_app_under_test_serves_the_document_checked` holds it to that.
    documenting = create_app(open_settings("sqlite://"))
    try:
        APP_UNDER_TEST.app = documenting
        document = documenting.test_client().get("/openapi.json").get_json()
        authenticated = schemathesis.openapi.from_wsgi(
            "/openapi.json",
            APP_UNDER_TEST,
            config=_config(AUTHENTICATED_EXAMPLES, with_token=True),
        )
        anonymous = schemathesis.openapi.from_wsgi(
            "/openapi.json", APP_UNDER_TEST, config=_config(ANONYMOUS_EXAMPLES, with_token=False)
        )
    finally:
        APP_UNDER_TEST.app = None
        documenting.extensions["pdp"].close()
    return document, authenticated, anonymous


APP_UNDER_TEST = AppUnderTest(None)
DOCUMENT, AUTHENTICATED, ANONYMOUS = _document_and_schemas()

#: Operations anyone may call (`@public`): they document no security requirement.
PUBLIC_OPERATIONS = {
    f"{method.upper()} {path}"
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
    if method != "parameters" and not operation.get("security")
}

#: Schemathesis checks that do not fit, each for a documented reason.
#: - positive_data_acceptance expects every schema-valid request to succeed, but the PDP also
#:   checks what JSON Schema cannot say, and answers as documented: identifiers' mod-11 check
#:   digits and dates (400), packages, roles and organisation forms the active policy set must
#:   know (400/422), a delegator or revoker required when the token names no person (400), a
#:   whole policy source's consistency (422), and a write's base version (428).
NOT_APPLICABLE_ANYWHERE = [positive_data_acceptance]
#: - negative_data_rejection expects a malformed request to be refused, but the XACML JSON
#:   profile answers it 200 with Indeterminate, status syntax-error, as Altinn's PDP does (the
#:   200 response's description says so).
NOT_APPLICABLE_TO = {"POST /authorization/api/v1/authorize": [negative_data_rejection]}


def status_code_is_listed(ctx: Any, response: Any, case: Any) -> None:
    """The answer's status code is listed for the operation, not only covered by `default`.

    flask-smorest adds `default: DEFAULT_ERROR` to every operation, with which schemathesis'
    `status_code_conformance` accepts any code. A request with a method the operation does not
    have gets Flask's 405, which `unsupported_method` checks.
    """
    if case.method.upper() != case.operation.method.upper():
        return
    listed = sorted(
        code for code in case.operation.definition.raw["responses"] if code != "default"
    )
    assert str(response.status_code) in listed, (
        f"{response.status_code} is not listed for {case.operation.label}: {', '.join(listed)}"
    )


def refused_without_a_token(ctx: Any, response: Any, case: Any) -> None:
    """An operation that needs a token answers 401 with a Bearer challenge (RFC 6750) when it
    gets none; a public one answers anyone."""
    if case.method.upper() != case.operation.method.upper():
        return
    if case.operation.label in PUBLIC_OPERATIONS:
        assert response.status_code != 401, f"{case.operation.label} is public"
        return
    assert response.status_code == 401, f"{case.operation.label} answered {response.status_code}"
    challenges = response.headers.get("www-authenticate", [])
    assert challenges and challenges[0].startswith('Bearer realm="pdp"'), challenges


@pytest.fixture
def app_under_test(secured_app):
    APP_UNDER_TEST.app = secured_app
    yield secured_app
    APP_UNDER_TEST.app = None


@pytest.fixture
def every_scope_token(issuer) -> str:
    return issuer.token()


def test_the_app_under_test_serves_the_document_checked(secured_client):
    response = secured_client.get("/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == DOCUMENT


def test_only_the_health_checks_are_public():
    assert {"GET /health", "GET /health/live", "GET /health/ready"} == PUBLIC_OPERATIONS


# The app and its database live for all requests generated for one operation, as a server's do;
# hypothesis would rather have fixtures reset between them.
@AUTHENTICATED.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_operation_answers_as_documented_to_a_caller_with_every_scope(
    case, app_under_test, every_scope_token
):
    case.call_and_validate(
        headers=bearer(every_scope_token),
        additional_checks=[status_code_is_listed],
        excluded_checks=NOT_APPLICABLE_ANYWHERE + NOT_APPLICABLE_TO.get(case.operation.label, []),
    )


@ANONYMOUS.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_operation_refuses_a_caller_without_a_token_as_documented(case, app_under_test):
    case.call_and_validate(additional_checks=[status_code_is_listed, refused_without_a_token])

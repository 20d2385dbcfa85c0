"""POST /authorization/api/v1/authorize: decisions in the XACML JSON profile over HTTP."""

from __future__ import annotations

import json

import pytest

from tests.conftest import KEY_ROLES, NON_GRANTING_ROLES
from tests.helpers import (
    ACTION_ID,
    ORGANIZATION_ID,
    PACKAGE_ID,
    PERSON_ID,
    attribute,
    package_request,
    xacml_request,
)

AUTHORIZE = "/authorization/api/v1/authorize"
API = "urn:altinn:accesspackage:programmeringsgrensesnitt"
API_NUF = "urn:altinn:accesspackage:programmeringsgrensesnittNUF"
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"
PACKAGES = (API, API_NUF, EVENTS)
SYNTAX_ERROR = "urn:oasis:names:tc:xacml:1.0:status:syntax-error"
PROCESSING_ERROR = "urn:oasis:names:tc:xacml:1.0:status:processing-error"
OK = "urn:oasis:names:tc:xacml:1.0:status:ok"
XML_STRING = "http://www.w3.org/2001/XMLSchema#string"


def decide(client, body) -> dict:
    response = client.post(AUTHORIZE, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["Response"]
    assert len(results) == 1
    return results[0]


def policy_ids(result: dict) -> list[str]:
    return [ref["Id"] for ref in result["PolicyIdentifierList"]["PolicyIdReference"]]


@pytest.mark.parametrize("action", ["access", "delegate"])
@pytest.mark.parametrize("package", PACKAGES)
@pytest.mark.parametrize("role", KEY_ROLES)
def test_every_key_role_holds_every_package_for_a_nuf_organisation(
    client, register_facts, role, package, action
):
    result = decide(
        client,
        package_request(register_facts.nuf_holders[role], register_facts.nuf_org, package, action),
    )
    assert result["Decision"] == "Permit"
    assert result["Status"]["StatusCode"]["Value"] == OK
    code = package.removeprefix("urn:altinn:accesspackage:")
    assert policy_ids(result) == [f"grant:{code}:{role}:{action}"]


@pytest.mark.parametrize("action", ["access", "delegate"])
@pytest.mark.parametrize("package", [API, EVENTS])
@pytest.mark.parametrize("role", KEY_ROLES)
def test_every_key_role_holds_the_unlimited_packages_for_an_as(
    client, register_facts, role, package, action
):
    result = decide(
        client,
        package_request(register_facts.as_holders[role], register_facts.as_org, package, action),
    )
    assert result["Decision"] == "Permit"


@pytest.mark.parametrize("action", ["access", "delegate"])
@pytest.mark.parametrize("role", KEY_ROLES)
def test_the_nuf_package_does_not_apply_to_an_as(client, register_facts, role, action):
    result = decide(
        client,
        package_request(register_facts.as_holders[role], register_facts.as_org, API_NUF, action),
    )
    assert result["Decision"] == "NotApplicable"
    assert policy_ids(result) == []


@pytest.mark.parametrize("package", PACKAGES)
@pytest.mark.parametrize("role", NON_GRANTING_ROLES)
def test_roles_that_grant_nothing_get_not_applicable(client, register_facts, role, package):
    result = decide(
        client, package_request(register_facts.as_holders[role], register_facts.as_org, package)
    )
    assert result["Decision"] == "NotApplicable"
    assert result["Status"]["StatusCode"]["Value"] == OK


def test_a_person_with_no_roles_gets_not_applicable(client, register_facts):
    result = decide(client, package_request(register_facts.stranger, register_facts.as_org, API))
    assert result["Decision"] == "NotApplicable"


def test_a_role_in_another_organisation_does_not_count(client, register_facts):
    dagl_of_as = register_facts.as_holders["DAGL"]
    result = decide(client, package_request(dagl_of_as, register_facts.nuf_org, API))
    assert result["Decision"] == "NotApplicable"


def test_an_unknown_party_gets_not_applicable(client, register_facts):
    result = decide(client, package_request(register_facts.as_holders["DAGL"], "974760673", API))
    assert result["Decision"] == "NotApplicable"


def test_an_organisation_holding_a_non_granting_role_gets_not_applicable(client, register_facts):
    body = xacml_request(
        [attribute(ORGANIZATION_ID, register_facts.firm)],
        [attribute(PACKAGE_ID, API), attribute(ORGANIZATION_ID, register_facts.as_org)],
    )
    assert decide(client, body)["Decision"] == "NotApplicable"


def test_an_unknown_package_gets_not_applicable(client, register_facts):
    result = decide(
        client,
        package_request(register_facts.as_holders["DAGL"], register_facts.as_org, "skatt-og-mva"),
    )
    assert result["Decision"] == "NotApplicable"


@pytest.mark.parametrize(
    "package",
    [
        "programmeringsgrensesnitt",
        "PROGRAMMERINGSGRENSESNITT",
        "urn:altinn:accesspackage:ProgrammeringsGrensesnitt",
        "URN:ALTINN:ACCESSPACKAGE:programmeringsgrensesnitt",
    ],
)
def test_packages_are_named_by_urn_or_code_in_any_case(client, register_facts, package):
    result = decide(
        client, package_request(register_facts.as_holders["DAGL"], register_facts.as_org, package)
    )
    assert result["Decision"] == "Permit"


class TestRolesStatedInTheRequest:
    """Roles the caller sends as urn:altinn:rolecode are used instead of the register's."""

    def request_with_roles(self, person, party, *roles, attribute_id="urn:altinn:rolecode"):
        return xacml_request(
            [attribute(PERSON_ID, person), attribute(attribute_id, list(roles))],
            [attribute(PACKAGE_ID, EVENTS), attribute(ORGANIZATION_ID, party)],
        )

    def test_a_stated_granting_role_permits(self, client, register_facts):
        body = self.request_with_roles(register_facts.stranger, register_facts.as_org, "dagl")
        assert decide(client, body)["Decision"] == "Permit"

    def test_stated_roles_count_only_for_a_party_in_the_register(self, client, register_facts):
        body = self.request_with_roles(register_facts.stranger, "974760673", "dagl")
        assert decide(client, body)["Decision"] == "NotApplicable"

    def test_stated_roles_replace_the_register(self, client, register_facts):
        body = self.request_with_roles(
            register_facts.as_holders["DAGL"], register_facts.as_org, "medl"
        )
        assert decide(client, body)["Decision"] == "NotApplicable"

    def test_altinn_3_role_values_are_understood(self, client, register_facts):
        body = self.request_with_roles(
            register_facts.stranger,
            register_facts.as_org,
            "styreleder",
            attribute_id="urn:altinn:external-role:ccr",
        )
        result = decide(client, body)
        assert result["Decision"] == "Permit"
        assert policy_ids(result) == ["grant:maskinlesbarehendelser:LEDE:access"]

    def test_an_unknown_role_is_a_syntax_error(self, client, register_facts):
        body = self.request_with_roles(register_facts.stranger, register_facts.as_org, "boss")
        result = decide(client, body)
        assert result["Decision"] == "Indeterminate"
        assert result["Status"]["StatusCode"]["Value"] == SYNTAX_ERROR
        assert "'boss'" in result["Status"]["StatusMessage"]


def test_the_response_names_the_policy_set_version(client, register_facts):
    result = decide(
        client, package_request(register_facts.as_holders["DAGL"], register_facts.as_org, API)
    )
    assert result["PolicyIdentifierList"]["PolicyIdReference"][0]["Version"] == "1"
    assert result["PolicyIdentifierList"]["PolicySetIdReference"] == [
        {"Id": "pdp:policy-set", "Version": "1"}
    ]


def test_policy_ids_are_left_out_unless_asked_for(client, register_facts):
    body = package_request(
        register_facts.as_holders["DAGL"], register_facts.as_org, API, return_policy_ids=False
    )
    assert "PolicyIdentifierList" not in decide(client, body)


class TestMalformedRequests:
    """Each class of malformed request: Indeterminate, syntax-error, a message naming it."""

    def assert_syntax_error(self, client, body, *fragments):
        result = decide(client, body)
        assert result["Decision"] == "Indeterminate"
        assert result["Status"]["StatusCode"]["Value"] == SYNTAX_ERROR
        for fragment in fragments:
            assert fragment in result["Status"]["StatusMessage"]

    def test_no_subject(self, client, register_facts):
        body = package_request(register_facts.stranger, register_facts.as_org, API)
        body["Request"]["AccessSubject"] = []
        self.assert_syntax_error(client, body, "no AccessSubject")

    def test_a_subject_without_a_supported_identifier(self, client, register_facts):
        body = xacml_request(
            [attribute("urn:altinn:userid", "1337")],
            [attribute(PACKAGE_ID, API), attribute(ORGANIZATION_ID, register_facts.as_org)],
        )
        self.assert_syntax_error(client, body, PERSON_ID, "urn:altinn:userid")

    def test_an_ambiguous_subject(self, client, register_facts):
        body = xacml_request(
            [
                attribute(PERSON_ID, register_facts.as_holders["DAGL"]),
                attribute(ORGANIZATION_ID, register_facts.firm),
            ],
            [attribute(PACKAGE_ID, API), attribute(ORGANIZATION_ID, register_facts.as_org)],
        )
        self.assert_syntax_error(client, body, "ambiguous")

    def test_no_party(self, client, register_facts):
        body = xacml_request(
            [attribute(PERSON_ID, register_facts.as_holders["DAGL"])], [attribute(PACKAGE_ID, API)]
        )
        self.assert_syntax_error(client, body, f"Resource has no {ORGANIZATION_ID}")

    def test_no_package(self, client, register_facts):
        body = xacml_request(
            [attribute(PERSON_ID, register_facts.as_holders["DAGL"])],
            [attribute(ORGANIZATION_ID, register_facts.as_org)],
        )
        self.assert_syntax_error(client, body, f"Resource has no {PACKAGE_ID}")

    @pytest.mark.parametrize("package", ["urn:altinn:resource:x", "-leading-dash", "a b", ""])
    def test_a_package_value_that_is_not_a_package_name(self, client, register_facts, package):
        body = package_request(register_facts.as_holders["DAGL"], register_facts.as_org, package)
        self.assert_syntax_error(client, body, f"{package!r} is neither an access package URN")

    def test_invalid_check_digits_in_the_subject(self, client, register_facts):
        body = package_request("01039012345", register_facts.as_org, API)
        self.assert_syntax_error(client, body, "01039012345", "check digits")

    def test_invalid_check_digits_in_the_party(self, client, register_facts):
        body = package_request(register_facts.as_holders["DAGL"], "897069651", API)
        self.assert_syntax_error(client, body, "897069651", "check digit")

    @pytest.mark.parametrize("action", ["read", "write", "", "ACCESS "])
    def test_an_unknown_action(self, client, register_facts, action):
        body = package_request(
            register_facts.as_holders["DAGL"], register_facts.as_org, API, action
        )
        self.assert_syntax_error(client, body, "action")

    def test_no_action(self, client, register_facts):
        body = package_request(register_facts.as_holders["DAGL"], register_facts.as_org, API)
        body["Request"]["Action"] = [{"Attribute": []}]
        self.assert_syntax_error(client, body, ACTION_ID)

    def test_a_value_of_the_wrong_json_type(self, client, register_facts):
        body = package_request(register_facts.as_holders["DAGL"], 910459880, API)
        self.assert_syntax_error(client, body, "must be a string")

    def test_a_value_of_the_wrong_data_type(self, client, register_facts):
        body = xacml_request(
            [
                attribute(
                    PERSON_ID,
                    register_facts.as_holders["DAGL"],
                    DataType="http://www.w3.org/2001/XMLSchema#integer",
                )
            ],
            [attribute(PACKAGE_ID, API), attribute(ORGANIZATION_ID, register_facts.as_org)],
        )
        self.assert_syntax_error(client, body, "DataType")

    def test_two_values_for_one_party(self, client, register_facts):
        body = package_request(register_facts.as_holders["DAGL"], register_facts.as_org, API)
        body["Request"]["Resource"][0]["Attribute"][1]["Value"] = [
            register_facts.as_org,
            register_facts.nuf_org,
        ]
        self.assert_syntax_error(client, body, "one value")

    def test_the_same_key_in_two_casings(self, client, register_facts):
        body = package_request(register_facts.as_holders["DAGL"], register_facts.as_org, API)
        body["Request"]["Resource"][0]["Attribute"][1]["value"] = register_facts.nuf_org
        self.assert_syntax_error(client, body, "more than once")

    def test_no_request_member(self, client):
        self.assert_syntax_error(client, {"request_": {}}, "Request")

    def test_a_json_array_instead_of_an_object(self, client):
        self.assert_syntax_error(client, [1, 2], "Invalid input type")

    def test_repeated_categories_without_multirequests(self, client, register_facts):
        body = package_request(register_facts.as_holders["DAGL"], register_facts.as_org, API)
        body["Request"]["AccessSubject"] *= 2
        self.assert_syntax_error(client, body, "2 AccessSubject", "MultiRequests")


def test_camel_case_keys_are_read_like_pascal_case(client, register_facts):
    def camel(value):
        if isinstance(value, dict):
            return {key[0].lower() + key[1:]: camel(item) for key, item in value.items()}
        if isinstance(value, list):
            return [camel(item) for item in value]
        return value

    body = camel(package_request(register_facts.as_holders["DAGL"], register_facts.as_org, API))
    assert "request" in body and "accessSubject" in body["request"]
    assert decide(client, body)["Decision"] == "Permit"


def test_categories_by_category_id_are_read_like_shorthand(client, register_facts):
    body = {
        "Request": {
            "Category": [
                {
                    "CategoryId": "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject",
                    "Attribute": [attribute(PERSON_ID, register_facts.as_holders["DAGL"])],
                },
                {
                    "CategoryId": "urn:oasis:names:tc:xacml:3.0:attribute-category:resource",
                    "Attribute": [
                        attribute(PACKAGE_ID, API),
                        attribute(ORGANIZATION_ID, register_facts.as_org),
                    ],
                },
                {
                    "CategoryId": "urn:oasis:names:tc:xacml:3.0:attribute-category:action",
                    "Attribute": attribute(ACTION_ID, "access"),
                },
            ]
        }
    }
    assert decide(client, body)["Decision"] == "Permit"


class TestMultiRequests:
    def body(self, register_facts, references):
        return {
            "Request": {
                "ReturnPolicyIdList": True,
                "AccessSubject": [
                    {
                        "Id": "dagl",
                        "Attribute": [attribute(PERSON_ID, register_facts.as_holders["DAGL"])],
                    },
                    {
                        "Id": "medl",
                        "Attribute": [attribute(PERSON_ID, register_facts.as_holders["MEDL"])],
                    },
                ],
                "Action": [{"Id": "a", "Attribute": [attribute(ACTION_ID, "access")]}],
                "Resource": [
                    {
                        "Id": "api",
                        "Attribute": [
                            attribute(PACKAGE_ID, API, IncludeInResult=True),
                            attribute(ORGANIZATION_ID, register_facts.as_org),
                        ],
                    },
                    {
                        "Id": "nuf",
                        "Attribute": [
                            attribute(PACKAGE_ID, API_NUF, IncludeInResult=True),
                            attribute(ORGANIZATION_ID, register_facts.as_org),
                        ],
                    },
                ],
                "MultiRequests": {"RequestReference": [{"ReferenceId": ids} for ids in references]},
            }
        }

    def decisions(self, client, body):
        response = client.post(AUTHORIZE, json=body)
        assert response.status_code == 200
        return response.get_json()["Response"]

    def test_results_come_in_reference_order(self, client, register_facts):
        results = self.decisions(
            client,
            self.body(
                register_facts,
                [
                    ["dagl", "a", "api"],
                    ["medl", "a", "api"],
                    ["dagl", "a", "nuf"],
                    ["dagl", "a", "api"],
                ],
            ),
        )
        assert [r["Decision"] for r in results] == [
            "Permit",
            "NotApplicable",
            "NotApplicable",
            "Permit",
        ]

    def test_include_in_result_attributes_are_echoed_as_altinn_echoes_them(
        self, client, register_facts
    ):
        """With their data type named in full (the request left it out), and without
        IncludeInResult, as Altinn's PDP writes them."""
        results = self.decisions(client, self.body(register_facts, [["dagl", "a", "nuf"]]))
        echoed = results[0]["Category"]
        assert echoed == [
            {
                "CategoryId": "urn:oasis:names:tc:xacml:3.0:attribute-category:resource",
                "Attribute": [
                    {"AttributeId": PACKAGE_ID, "Value": API_NUF, "DataType": XML_STRING}
                ],
            }
        ]

    def test_a_bad_reference_spoils_only_its_own_result(self, client, register_facts):
        results = self.decisions(
            client,
            self.body(
                register_facts, [["dagl", "a", "api"], ["nobody", "a", "api"], ["dagl", "api"]]
            ),
        )
        assert [r["Decision"] for r in results] == ["Permit", "Indeterminate", "Indeterminate"]
        assert "'nobody'" in results[1]["Status"]["StatusMessage"]
        assert "no Action" in results[2]["Status"]["StatusMessage"]

    def test_a_reference_picking_two_subjects_is_refused(self, client, register_facts):
        results = self.decisions(client, self.body(register_facts, [["dagl", "medl", "a", "api"]]))
        assert results[0]["Decision"] == "Indeterminate"
        assert "2 AccessSubject" in results[0]["Status"]["StatusMessage"]

    def test_duplicate_category_ids_are_refused(self, client, register_facts):
        body = self.body(register_facts, [["dagl", "a", "api"]])
        body["Request"]["Resource"][1]["Id"] = "api"
        results = self.decisions(client, body)
        assert len(results) == 1
        assert results[0]["Decision"] == "Indeterminate"
        assert "category Id used more than once: api" in results[0]["Status"]["StatusMessage"]


class TestHttp:
    def test_a_body_that_is_not_json_is_a_400(self, client):
        response = client.post(AUTHORIZE, data="{not json", content_type="application/json")
        assert response.status_code == 400
        assert "not valid JSON" in response.get_json()["message"]

    def test_another_content_type_is_a_415(self, client):
        response = client.post(AUTHORIZE, data="<Request/>", content_type="application/xml")
        assert response.status_code == 415
        assert "application/json" in response.get_json()["message"]

    def test_xacml_json_content_type_is_accepted(self, client, register_facts):
        body = package_request(register_facts.as_holders["DAGL"], register_facts.as_org, API)
        response = client.post(
            AUTHORIZE, data=json.dumps(body), content_type="application/xacml+json; charset=utf-8"
        )
        assert response.status_code == 200
        assert response.get_json()["Response"][0]["Decision"] == "Permit"

    def test_a_body_over_the_limit_is_a_413(self, client, app):
        limit = app.config["MAX_CONTENT_LENGTH"]
        response = client.post(
            AUTHORIZE, data=b"[" + b" " * limit + b"]", content_type="application/json"
        )
        assert response.status_code == 413
        assert response.is_json

    def test_get_is_not_allowed(self, client):
        assert client.get(AUTHORIZE).status_code == 405


def test_a_failure_inside_is_a_processing_error_never_a_permit(app, client, register_facts):
    """With the register gone, a request that would be a Permit becomes Indeterminate."""
    from sqlalchemy import text

    body = package_request(register_facts.as_holders["DAGL"], register_facts.as_org, API)
    assert decide(client, body)["Decision"] == "Permit"
    with app.extensions["pdp"].database.begin() as connection:
        connection.execute(text("DROP TABLE role_assignments"))
    not_yet_asked = package_request(register_facts.as_holders["LEDE"], register_facts.as_org, API)
    result = decide(client, not_yet_asked)
    assert result["Decision"] == "Indeterminate"
    assert result["Status"]["StatusCode"]["Value"] == PROCESSING_ERROR
    assert "Traceback" not in result["Status"]["StatusMessage"]
    assert "role_assignments" not in result["Status"]["StatusMessage"]


class TestCombinedDecision:
    """CombinedDecision: one answer for a whole MultiRequests ("may they do all of these?")."""

    def body(self, register_facts, packages):
        resources = [
            {
                "Id": f"r{index}",
                "Attribute": [
                    attribute(PACKAGE_ID, package),
                    attribute(ORGANIZATION_ID, register_facts.as_org),
                ],
            }
            for index, package in enumerate(packages)
        ]
        return {
            "Request": {
                "CombinedDecision": True,
                "ReturnPolicyIdList": True,
                "AccessSubject": {
                    "Id": "s",
                    "Attribute": [attribute(PERSON_ID, register_facts.as_holders["DAGL"])],
                },
                "Action": {"Id": "a", "Attribute": [attribute(ACTION_ID, "access")]},
                "Resource": resources,
                "MultiRequests": {
                    "RequestReference": [
                        {"ReferenceId": ["s", "a", resource["Id"]]} for resource in resources
                    ]
                },
            }
        }

    def test_all_permitted_is_one_permit_naming_every_deciding_policy(self, client, register_facts):
        result = decide(client, self.body(register_facts, [API, EVENTS]))
        assert result["Decision"] == "Permit"
        assert policy_ids(result) == [
            "grant:programmeringsgrensesnitt:DAGL:access",
            "grant:maskinlesbarehendelser:DAGL:access",
        ]

    def test_differing_decisions_are_indeterminate_never_permit(self, client, register_facts):
        result = decide(client, self.body(register_facts, [API, API_NUF]))
        assert result["Decision"] == "Indeterminate"
        assert result["Status"]["StatusCode"]["Value"] == PROCESSING_ERROR

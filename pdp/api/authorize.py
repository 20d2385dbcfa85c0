"""`POST /authorization/api/v1/authorize`: decisions in the XACML 3.0 JSON profile.

The path and the wire format are those of Altinn's own PDP, so existing Altinn PEPs can call
this PDP unchanged, about service resources (under their own XACML policies) and about access
packages.
"""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from pdp import xacml
from pdp.api.auth import SCOPE_AUTHORIZE
from pdp.api.common import current_pdp, decide_and_log, error_response, json_body
from pdp.api.security import requires
from pdp.vocabulary import DENY, INDETERMINATE, NOT_APPLICABLE, PERMIT
from pdp.xacml.schema import XacmlRequestSchema

blp = Blueprint(
    "authorize",
    __name__,
    url_prefix="/authorization/api/v1",
    description="Decisions in the XACML 3.0 JSON profile, as Altinn's PDP speaks it",
)

#: The answer (XACML 3.0 JSON profile, section 4.2): one result per individual request.
XACML_RESPONSE = {
    "type": "object",
    "required": ["Response"],
    "properties": {
        "Response": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["Decision", "Status"],
                "properties": {
                    "Decision": {
                        "type": "string",
                        "enum": [PERMIT, DENY, NOT_APPLICABLE, INDETERMINATE],
                    },
                    "Status": {
                        "type": "object",
                        "required": ["StatusCode"],
                        "properties": {
                            "StatusCode": {
                                "type": "object",
                                "required": ["Value"],
                                "properties": {
                                    "Value": {"type": "string"},
                                    # A minor code saying more precisely why: e.g.
                                    # urn:pdp:status:stated-roles-refused.
                                    "StatusCode": {
                                        "type": "object",
                                        "required": ["Value"],
                                        "properties": {"Value": {"type": "string"}},
                                    },
                                },
                            },
                            "StatusMessage": {"type": "string"},
                        },
                    },
                    "PolicyIdentifierList": {"type": "object"},
                    "Category": {"type": "array", "items": {"type": "object"}},
                    "AssociatedAdvice": {"type": "array", "items": {"type": "object"}},
                },
            },
        }
    },
}

#: The README's example (examples/requests/permit.json): Paula, daglig leder of 910459880.
XACML_EXAMPLE = {
    "Request": {
        "ReturnPolicyIdList": True,
        "AccessSubject": [
            {
                "Attribute": [
                    {"AttributeId": "urn:altinn:person:identifier-no", "Value": "02056260016"}
                ]
            }
        ],
        "Action": [
            {
                "Attribute": [
                    {
                        "AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id",
                        "Value": "access",
                    }
                ]
            }
        ],
        "Resource": [
            {
                "Attribute": [
                    {"AttributeId": "urn:altinn:accesspackage", "Value": "maskinlesbarehendelser"},
                    {"AttributeId": "urn:altinn:organization:identifier-no", "Value": "910459880"},
                ]
            }
        ],
    }
}


@blp.route("/authorize", methods=["POST"])
@requires(SCOPE_AUTHORIZE)
@blp.doc(
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": XacmlRequestSchema, "example": XACML_EXAMPLE}},
    },
    responses={
        "200": {
            "description": "One result per individual request (MultiRequests: in reference "
            "order). Malformed requests give Indeterminate with status syntax-error.",
            "content": {"application/json": {"schema": XACML_RESPONSE}},
        },
        "400": error_response(
            "The body is not JSON, exceeds a limit (pdp.limits) or names a member twice"
        ),
        "413": error_response("The body is larger than the configured limit"),
        "415": error_response("The Content-Type is not JSON"),
    },
)
def authorize():
    """Decide one request, or a MultiRequests batch, for access packages or service
    resources."""
    rules = current_pdp().identifier_rules
    parsed = json_body(lambda document, limits: xacml.read(document, limits, rules))
    results = decide_and_log([item.request for item in parsed.items])
    return Response(xacml.render_json(parsed, results), mimetype="application/json")

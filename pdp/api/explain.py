"""`POST /api/v1/explain`: a decision as `/authorize` gives it, and why.

The body is a request in either form the PDP reads: the XACML 3.0 JSON profile (a body with a
`Request` member, MultiRequests too) or py-abac's shape (`/api/v1/decision`'s). The answer has
`response`, exactly what `/authorize` (or `/api/v1/decision`) would answer, and
`explanations`, one per individual request, each the decision with its steps in data and in
one sentence each (`pdp.explain`). Explaining reads facts and changes nothing.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.error_handler import ErrorSchema
from marshmallow import Schema, ValidationError, fields

from pdp import xacml
from pdp.api.auth import SCOPE_ADMIN
from pdp.api.authorize import XACML_EXAMPLE
from pdp.api.common import current_pdp, json_body, takes_json_body, within_limits
from pdp.api.decision import DecisionRequestSchema, engine_request
from pdp.api.security import requires
from pdp.engine.request import Request
from pdp.errors import InvalidFields, RequestSyntaxError
from pdp.identifiers import IdentifierRules
from pdp.limits import Limits
from pdp.vocabulary import STATUS_SYNTAX_ERROR

blp = Blueprint(
    "explain",
    __name__,
    url_prefix="/api/v1",
    description="Decisions that explain themselves",
)


def is_xacml(document: Any) -> bool:
    """Whether a body is an XACML JSON request (it has a `Request` member, in any case)."""
    return isinstance(document, dict) and any(
        isinstance(key, str) and key.casefold() == "request" for key in document
    )


def requests_of(
    document: Any, rules: IdentifierRules
) -> tuple[xacml.ParsedRequest | None, list[Request]]:
    """The engine's requests for a body in either form: the parsed XACML request (None for
    py-abac's shape) and its individual requests. InvalidFields (400) for a py-abac body
    with a malformed field."""
    if is_xacml(document):
        parsed = xacml.parse(document, rules=rules)
        return parsed, [item.request for item in parsed.items]
    try:
        body = DecisionRequestSchema().load(document)
    except ValidationError as error:
        raise InvalidFields("the request has malformed fields", error.messages) from None
    return None, [engine_request(body, rules)]


class ExplainSchema(Schema):
    response = fields.Dict(
        metadata={"description": "what /authorize (or /api/v1/decision) answers"}
    )
    explanations = fields.List(
        fields.Dict(),
        metadata={"description": "per request: decision, status, policies, version, steps"},
    )


@blp.route("/explain", methods=["POST"])
@requires(SCOPE_ADMIN)
@blp.doc(
    requestBody={
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object"},
                "example": XACML_EXAMPLE,
            }
        },
    }
)
@takes_json_body
@blp.response(200, ExplainSchema)
@blp.alt_response(
    400, schema=ErrorSchema, description="Not JSON, over a limit, or a malformed py-abac field"
)
def explain():
    """Decide a request as `/authorize` does and explain the decision step by step."""
    pdp = current_pdp()
    rules = pdp.identifier_rules

    def read(document: Any, limits: Limits) -> tuple[Any, int]:
        if is_xacml(document):
            parsed, members = xacml.read(document, limits, rules)
            return (parsed, [item.request for item in parsed.items]), members
        checked, members = within_limits(document, limits)
        return requests_of(checked, rules), members

    parsed, requests = json_body(read)
    explanations = [pdp.explain(request) for request in requests]
    results = [explanation.result for explanation in explanations]
    if parsed is not None:
        response: dict[str, Any] = xacml.render(parsed, results)
    else:
        (result,) = results
        if result.status == STATUS_SYNTAX_ERROR:
            raise RequestSyntaxError(result.message)
        response = explanations[0].data()
        response.pop("steps")
    return {"response": response, "explanations": [e.data() for e in explanations]}

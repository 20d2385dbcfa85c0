"""`POST /authorization/api/v1/authorize`: decisions in the XACML 3.0 JSON profile.

The path and the wire format are those of Altinn's own PDP, so existing Altinn PEPs can call
this PDP unchanged for access package decisions.
"""

from __future__ import annotations

from flask import jsonify
from flask_smorest import Blueprint

from pdp import xacml
from pdp.api.common import decide_and_log, json_body
from pdp.api.security import requires
from pdp.auth import SCOPE_AUTHORIZE

blp = Blueprint(
    "authorize",
    __name__,
    url_prefix="/authorization/api/v1",
    description="Decisions in the XACML 3.0 JSON profile, as Altinn's PDP speaks it",
)


@blp.route("/authorize", methods=["POST"])
@requires(SCOPE_AUTHORIZE)
@blp.doc(
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": xacml.XacmlRequestSchema}},
    },
    responses={
        "200": {
            "description": "One result per individual request (MultiRequests: in reference "
            "order). Malformed requests give Indeterminate with status syntax-error."
        },
        "400": {"description": "The body is not JSON"},
        "413": {"description": "The body is larger than the configured limit"},
        "415": {"description": "The Content-Type is not JSON"},
    },
)
def authorize():
    """Decide one request, or a MultiRequests batch, for access packages."""
    parsed = xacml.parse(json_body(xacml=True))
    results = decide_and_log([item.request for item in parsed.items])
    return jsonify(xacml.render(parsed, results))

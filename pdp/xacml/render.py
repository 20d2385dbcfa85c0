"""Results into the XACML 3.0 JSON profile's response, as Altinn's PDP writes it.

One result per item of the request, in its order (for a CombinedDecision, one for them all),
with the IncludeInResult attributes echoed, the deciding policies when ReturnPolicyIdList asked
for them, a service resource policy's obligations and advice, and advice naming a package's
current URN when the request used a former one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from pdp.catalog import package_urn_form
from pdp.engine import DecisionRequest, Result
from pdp.resource_policies import Expression
from pdp.vocabulary import (
    INDETERMINATE,
    PACKAGE_ID,
    RESOURCE_CATEGORY,
    STATUS_OK,
    STATUS_PROCESSING_ERROR,
    XML_STRING,
    ascii_lower,
)
from pdp.xacml.model import Item, ParsedRequest

#: Advice on a result whose request named a package by a former URN: the URN it has now.
PACKAGE_RENAMED_ADVICE = "urn:pdp:advice:package-renamed"


def render(parsed: ParsedRequest, results: Sequence[Result]) -> dict[str, Any]:
    """The XACML JSON response for `results`, one per parsed item, in the same order; or, for
    a CombinedDecision, one result for them all."""
    if parsed.combined:
        return {"Response": [_render_result(combine(results), (), parsed.return_policy_ids)]}
    return {
        "Response": [
            _render_result(result, item.echoed, parsed.return_policy_ids)
            | _renamed_package_advice(item, result)
            for item, result in zip(parsed.items, results, strict=True)
        ]
    }


def render_json(parsed: ParsedRequest, results: Sequence[Result]) -> bytes:
    """`render` as the body of the HTTP answer: compact JSON with sorted keys and a final
    newline, as Flask's `jsonify` writes it, by orjson in a tenth of the time (non-ASCII
    characters are written as UTF-8 rather than escaped)."""
    return orjson.dumps(render(parsed, results), option=_JSON_OPTIONS)


_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


def _renamed_package_advice(item: Item, result: Result) -> dict[str, Any]:
    """Advice naming the package's current URN when the request used a former one."""
    if (
        result.package is None
        or not isinstance(item.request, DecisionRequest)
        or item.request.package == result.package  # the usual case, and cheap to see
    ):
        return {}
    named = package_urn_form(item.request.package)
    if named is None or ascii_lower(named) == ascii_lower(result.package):
        return {}
    return {
        "AssociatedAdvice": [
            {
                "Id": PACKAGE_RENAMED_ADVICE,
                "AttributeAssignment": [
                    {
                        "AttributeId": PACKAGE_ID,
                        "Category": RESOURCE_CATEGORY,
                        "DataType": XML_STRING,
                        "Value": result.package,
                    }
                ],
            }
        ]
    }


def combine(results: Sequence[Result]) -> Result:
    """One decision for many: the shared decision when every result has it with status ok,
    otherwise Indeterminate (XACML 3.0 multiple decision profile, section 3)."""
    first = results[0]
    if all(r.decision == first.decision and r.status == STATUS_OK for r in results):
        policies = {policy.uid: policy for result in results for policy in result.policies}
        return Result(
            first.decision,
            policies=tuple(policies.values()),
            version=first.version,
            # Every item's obligations bind the one decision (in order, each once).
            obligations=tuple(dict.fromkeys(o for result in results for o in result.obligations)),
            advice=tuple(dict.fromkeys(a for result in results for a in result.advice)),
        )
    return Result(
        INDETERMINATE,
        STATUS_PROCESSING_ERROR,
        "CombinedDecision: the individual decisions differ or one could not be made",
        version=first.version,
    )


def _render_result(
    result: Result, echoed: tuple[dict[str, Any], ...], return_policy_ids: bool
) -> dict[str, Any]:
    status: dict[str, Any] = {"StatusCode": {"Value": result.status}}
    if result.minor_status is not None:
        status["StatusCode"]["StatusCode"] = {"Value": result.minor_status}
    if result.message and result.status != STATUS_OK:
        status["StatusMessage"] = result.message
    rendered: dict[str, Any] = {"Decision": result.decision, "Status": status}
    if return_policy_ids and result.version is not None:
        version = str(result.version)
        rendered["PolicyIdentifierList"] = {
            "PolicyIdReference": [
                {"Id": policy.uid, "Version": version} for policy in result.policies
            ],
            "PolicySetIdReference": [{"Id": "pdp:policy-set", "Version": version}],
        }
    if result.obligations:
        rendered["Obligations"] = [_expression(obligation) for obligation in result.obligations]
    if result.advice:
        rendered["AssociatedAdvice"] = [_expression(advice) for advice in result.advice]
    if echoed:
        rendered["Category"] = list(echoed)
    return rendered


def _expression(expression: Expression) -> dict[str, Any]:
    """An obligation or advice of a resource policy, as the JSON profile writes it."""
    return {
        "Id": expression.id,
        "AttributeAssignment": [
            {
                "AttributeId": assignment.attribute_id,
                "Value": assignment.value,
                "DataType": assignment.data_type,
            }
            | ({"Category": assignment.category} if assignment.category is not None else {})
            | ({"Issuer": assignment.issuer} if assignment.issuer is not None else {})
            for assignment in expression.assignments
        ],
    }

"""Ask: a question to the PDP (subject, party, package or resource, action; or a pasted XACML
request) and its answer, with the exact XACML JSON request and response a PEP would exchange,
and, for `pdp:admin`, why (`Pdp.explain`, as `POST /api/v1/explain` gives it).

The form is turned into the XACML 3.0 JSON request an Altinn PEP sends, and that request goes
the way `POST /authorization/api/v1/authorize` takes: read by `pdp.xacml` within the same limits,
decided and logged by `decide_and_log`, rendered by `xacml.render`. What the page shows is what
the API would answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson
from flask import current_app, render_template, request

from pdp import xacml
from pdp.api.auth import SCOPE_ADMIN, SCOPE_AUTHORIZE
from pdp.api.common import current_pdp, decide_and_log
from pdp.catalog import Catalog
from pdp.console.access import console_requires, may
from pdp.console.blueprint import blueprint
from pdp.duplicate_members import DuplicateMember, refuse_duplicates
from pdp.engine import DecisionRequest
from pdp.engine.request import ResourceRequest
from pdp.explain import Explanation
from pdp.identifiers import IdentifierRules, InvalidIdentifier, validate_uuid
from pdp.limits import LimitExceeded, Limits
from pdp.vocabulary import (
    ACTION_ID,
    ACTIONS,
    ORGANIZATION_ID,
    PACKAGE_ID,
    PACKAGE_URN_PREFIX,
    PERSON_ID,
    RESOURCE_ID,
    RESOURCE_URN_PREFIX,
    SYSTEM_USER_UUID_ID,
)

FORM_FIELDS = ("subject", "party", "target", "action")


@dataclass
class Question:
    """What the form holds, and what is wrong with it, field by field."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


@blueprint.route("/ask", methods=["GET", "POST"])
@console_requires(SCOPE_AUTHORIZE)
def ask():
    pdp = current_pdp()
    catalog = pdp.active_policy_set().catalog
    question = Question({name: request.form.get(name, "").strip() for name in FORM_FIELDS})
    question.values["xacml"] = request.form.get("xacml", "").strip()
    answer = None
    if request.method == "POST":
        raw = question.values["xacml"].encode() or None
        if raw is not None:
            document = _pasted(raw, question)
        else:
            document = _built(question, pdp.identifier_rules, catalog)
        if document is not None:
            answer = _decide(document, raw, question)
    status = 400 if question.errors else 200
    parties = _party_names(answer)
    return render_template(
        "ask.html",
        question=question,
        answer=answer,
        parties=parties,
        packages=catalog.packages,
        resources=catalog.resources,
        actions=sorted({*ACTIONS, *(a for p in catalog.resources for a in p.actions())}),
    ), status


def _pasted(raw: bytes, question: Question) -> Any | None:
    """A pasted XACML request, parsed; None (the field's error noted) if it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        question.errors["xacml"] = f"not valid JSON: {error}"
        return None


def _built(question: Question, rules: IdentifierRules, catalog: Catalog) -> Any | None:
    """The XACML request the fields describe, as a PEP would send it; None when a field is
    wrong (its error noted)."""
    values = question.values
    for name in FORM_FIELDS:
        if not values[name]:
            question.errors[name] = "required (or paste a whole XACML request below)"
    subject = _subject(values["subject"], rules, question) if values["subject"] else None
    party = _party(values["party"], rules, question) if values["party"] else None
    target = _target(values["target"], catalog, question) if values["target"] else None
    if question.errors or subject is None or party is None or target is None:
        return None
    return {
        "Request": {
            "ReturnPolicyIdList": True,
            "AccessSubject": [{"Attribute": [_attribute(*subject)]}],
            "Action": [{"Attribute": [_attribute(ACTION_ID, values["action"])]}],
            "Resource": [{"Attribute": [_attribute(*target), _attribute(*party)]}],
        }
    }


def _attribute(attribute_id: str, value: str) -> dict[str, str]:
    return {"AttributeId": attribute_id, "Value": value}


def _subject(value: str, rules: IdentifierRules, question: Question) -> tuple[str, str] | None:
    """A subject by national identity number, organisation number, system user UUID, or as
    `<attribute id>:<value>`."""
    try:
        if value.startswith("urn:"):
            attribute_id, _, identifier = value.rpartition(":")
            return attribute_id, identifier
        if value.isascii() and value.isdigit() and len(value) == 11:
            return PERSON_ID, rules.national_identity_number(value)
        if value.isascii() and value.isdigit() and len(value) == 9:
            return ORGANIZATION_ID, rules.organization_number(value)
        return SYSTEM_USER_UUID_ID, validate_uuid(value)
    except InvalidIdentifier as error:
        question.errors["subject"] = (
            f"{error}; give a national identity number (11 digits), an organisation number "
            "(9), a system user's UUID or <attribute id>:<value>"
        )
        return None


def _party(value: str, rules: IdentifierRules, question: Question) -> tuple[str, str] | None:
    """The party by organisation number, national identity number, or as a URN."""
    try:
        if value.startswith("urn:"):
            attribute_id, _, identifier = value.rpartition(":")
            return attribute_id, identifier
        if value.isascii() and value.isdigit() and len(value) == 11:
            return PERSON_ID, rules.national_identity_number(value)
        return ORGANIZATION_ID, rules.organization_number(value)
    except InvalidIdentifier as error:
        question.errors["party"] = str(error)
        return None


def _target(value: str, catalog: Catalog, question: Question) -> tuple[str, str] | None:
    """An access package (URN or code) or a service resource (`urn:altinn:resource:<id>`, or a
    bare id no package has)."""
    if value.startswith(RESOURCE_URN_PREFIX):
        return RESOURCE_ID, value.removeprefix(RESOURCE_URN_PREFIX)
    if value.startswith(PACKAGE_URN_PREFIX) or catalog.package_named(value) is not None:
        return PACKAGE_ID, value
    if any(policy.resource_id == value for policy in catalog.resources):
        return RESOURCE_ID, value
    question.errors["target"] = (
        f"no access package or service resource {value!r} in the active version"
    )
    return None


@dataclass(frozen=True)
class Answer:
    request: str
    response: str
    results: list[dict[str, Any]]
    policies: list[tuple[str, str]]
    #: The organisation numbers of the parties asked about.
    parties: frozenset[str]
    #: Why, per individual request (`Pdp.explain`), for callers that may ask it (`pdp:admin`,
    #: as `POST /api/v1/explain`); None for others.
    explanations: list[Explanation] | None


def _decide(document: Any, raw: bytes | None, question: Question) -> Answer | None:
    """Decide `document` (pasted as `raw`, or built from the fields) as the XACML endpoint
    does; None (the error noted) when it is refused before deciding, as the endpoint refuses
    it with 400."""
    pdp = current_pdp()
    limits: Limits = current_app.extensions["pdp.limits"]
    try:
        parsed, members = xacml.read(document, limits, pdp.identifier_rules)
        if raw is not None:
            refuse_duplicates(raw, members)
    except (LimitExceeded, DuplicateMember) as error:
        question.errors["xacml"] = str(error)
        return None
    requests = [item.request for item in parsed.items]
    results = decide_and_log(requests)
    rendered = xacml.render(parsed, results)
    explanations = [pdp.explain(each) for each in requests] if may(SCOPE_ADMIN) else None
    policies = {
        policy.uid: policy.description or "" for result in results for policy in result.policies
    }
    return Answer(
        request=_pretty(document),
        response=_pretty(rendered),
        results=rendered["Response"],
        policies=sorted(policies.items()),
        parties=frozenset(_organization_numbers(requests)),
        explanations=explanations,
    )


def _organization_numbers(requests: Any) -> set[str]:
    numbers = set()
    for each in requests:
        if isinstance(each, DecisionRequest):
            numbers.add(each.party)
        elif (
            isinstance(each, ResourceRequest)
            and each.party is not None
            and each.party.attribute_id == ORGANIZATION_ID
        ):
            numbers.add(str(each.party.value))
    return numbers


def _pretty(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


def _party_names(answer: Answer | None) -> dict[str, str]:
    """The register's names of the organisations the answered requests are for."""
    if answer is None:
        return {}
    found = current_pdp().organizations(answer.parties)
    return {number: org.name for number, org in found.items() if org is not None}

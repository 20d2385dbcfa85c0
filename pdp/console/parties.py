"""Parties and holders: for whom a subject may act (with the roles, access packages and service
resources it holds at each party), and who holds a package, or may perform an action on a
resource, for a party, with how each holds it.

The answers are `Pdp.authorized_parties` and `Pdp.holders` (`pdp.reverse`), the same that
`POST /accessmanagement/api/v1/resourceowner/authorizedparties` and `GET /api/v1/parties/<org>/
holders` give, under the same scopes: the parties need Altinn's resource-owner scope or
`pdp:admin`, the holders `pdp:admin`. A subject is sent in a POST form (it may be a national
identity number, which has no place in an address); a party and a package in the query.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from pdp.api.auth import SCOPE_ADMIN, SCOPE_AUTHORIZED_PARTIES
from pdp.api.common import current_pdp
from pdp.console.access import console_requires
from pdp.console.blueprint import blueprint
from pdp.errors import InvalidFields
from pdp.identifiers import InvalidIdentifier, validate_organization_number
from pdp.vocabulary import (
    ACCESS,
    ORGANIZATION_ID,
    PARTY_UUID_ID,
    PERSON_ID,
    PERSON_UUID_ID,
    SYSTEM_USER_UUID_ID,
    USERID_ID,
)
from pdp.xacml.items import identifier_named

#: What a subject may be named by, as Altinn's authorized parties endpoint takes it.
SUBJECT_TYPES = (
    (PERSON_ID, "National identity number"),
    (ORGANIZATION_ID, "Organisation number"),
    (SYSTEM_USER_UUID_ID, "System user UUID"),
    (USERID_ID, "Altinn user id"),
    (PERSON_UUID_ID, "Person UUID"),
    (PARTY_UUID_ID, "Party UUID"),
)
HOLDERS_PAGE_SIZE = 50


@blueprint.route("/parties", methods=["GET", "POST"])
@console_requires(SCOPE_AUTHORIZED_PARTIES, SCOPE_ADMIN)
def parties():
    pdp = current_pdp()
    form = {
        "type": request.form.get("type", PERSON_ID),
        "value": request.form.get("value", "").strip(),
    }
    errors: dict[str, str] = {}
    found = None
    if request.method == "POST":
        if form["type"] not in dict(SUBJECT_TYPES):
            errors["type"] = "choose what the identifier is"
        elif not form["value"]:
            errors["value"] = "required"
        else:
            try:
                who = identifier_named(
                    f"{form['type']}:{form['value']}", rules=pdp.identifier_rules
                )
            except InvalidIdentifier as error:
                errors["value"] = str(error)
            else:
                found = pdp.authorized_parties(who)
    return _page(form=form, errors=errors, found=found, status=400 if errors else 200)


@blueprint.route("/parties/holders")
@console_requires(SCOPE_ADMIN)
def holders():
    pdp = current_pdp()
    query = {
        name: request.args.get(name, "").strip()
        for name in ("party", "package", "resource", "action")
    }
    errors: dict[str, str] = {}
    page = None
    offset = _offset()
    try:
        party = validate_organization_number(query["party"]) if query["party"] else None
    except InvalidIdentifier as error:
        errors["party"], party = str(error), None
    if not query["party"]:
        errors["party"] = "required"
    if bool(query["package"]) == bool(query["resource"]):
        errors["package"] = "name a package or a service resource (one of them)"
    if not errors and party is not None:
        try:
            page = pdp.holders(
                party,
                package=query["package"] or None,
                resource=query["resource"] or None,
                action=query["action"] or ACCESS,
                limit=HOLDERS_PAGE_SIZE,
                offset=offset,
            )
        except InvalidFields as error:
            errors |= {
                name: "; ".join(map(str, problems)) for name, problems in error.fields.items()
            }
    package = pdp.active_policy_set().catalog.package_named(query["package"] or "")
    return _page(
        holders_query=query,
        holders_of=package.name
        if package
        else f"{query['resource']} ({query['action'] or ACCESS})",
        holders_errors=errors,
        holders=page,
        offset=offset,
        status=400 if errors else 200,
    )


def _page(
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    found: Any = None,
    holders_query: dict[str, str] | None = None,
    holders_errors: dict[str, str] | None = None,
    holders: Any = None,
    holders_of: str = "",
    offset: int = 0,
    status: int = 200,
):
    pdp = current_pdp()
    catalog = pdp.active_policy_set().catalog
    numbers = {access.party.organization_number for access in found or ()}
    for holder in holders.items if holders else ():
        numbers |= {way.via for way in holder.ways if way.via}
        if holder.subject.kind == "organization":
            numbers.add(holder.subject.identifier)
    if holders_query and holders_query.get("party"):
        numbers.add(holders_query["party"])
    names = {n: org.name for n, org in pdp.organizations(numbers).items() if org is not None}
    return render_template(
        "parties.html",
        subject_types=SUBJECT_TYPES,
        form=form or {"type": PERSON_ID, "value": ""},
        errors=errors or {},
        found=found,
        holders_query=holders_query or {},
        holders_errors=holders_errors or {},
        holders=holders,
        holders_of=holders_of,
        offset=offset,
        page_size=HOLDERS_PAGE_SIZE,
        names=names,
        package_names={package.urn: package.name for package in catalog.packages},
        role_names={role.code: role.name for role in catalog.roles},
        packages=catalog.packages,
        resources=catalog.resources,
    ), status


def _offset() -> int:
    raw = request.args.get("offset", "0")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 9 else 0

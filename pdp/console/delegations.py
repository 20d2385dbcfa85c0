"""Delegations: list and filter them (revoked ones too: the history), delegate a package (the PDP
decides whether the delegator may; a refusal is shown with its reason), revoke one after a
confirmation.

The same use cases as `/api/v1/delegations` (`Pdp.delegate`, `revoke`, `find_delegations`), the
same rule for who acts (`acting_person`: the token's person when it names one), the same audit
lines.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for

from pdp.api.auth import SCOPE_DELEGATIONS
from pdp.api.common import current_pdp
from pdp.api.delegations import acting_person
from pdp.api.errors import ActingForAnother, answer_for
from pdp.console.access import console_requires
from pdp.console.blueprint import audit, blueprint
from pdp.delegation_rights import DelegationRefused, DelegationUndecided
from pdp.delegations import (
    Delegation,
    DelegationAlreadyRevoked,
    DelegationExists,
    DelegationPage,
)
from pdp.errors import InvalidFields, PdpError
from pdp.identifiers import (
    InvalidIdentifier,
    validate_national_identity_number,
    validate_organization_number,
)
from pdp.subjects import ORGANIZATION, PERSON, SYSTEM_USER, Subject, subject

PAGE_SIZE = 50
RECIPIENT_KINDS = ((PERSON, "Person"), (ORGANIZATION, "Organisation"), (SYSTEM_USER, "System user"))
_REFUSALS = (DelegationRefused, DelegationUndecided, DelegationExists, DelegationAlreadyRevoked)


@blueprint.route("/delegations")
@console_requires(SCOPE_DELEGATIONS)
def delegations():
    filters = {
        name: request.args.get(name, "").strip() for name in ("party", "recipient", "package")
    }
    include_revoked = request.args.get("include_revoked") == "on"
    offset = _offset()
    errors: dict[str, str] = {}
    query: dict[str, Any] = {"include_revoked": include_revoked, "limit": PAGE_SIZE}
    if filters["party"]:
        _check(errors, "party", validate_organization_number, filters["party"], query)
    if filters["recipient"]:
        _check(errors, "recipient", _recipient, filters["recipient"], query)
    if filters["package"]:
        query["package"] = filters["package"]
    page = None
    if not errors:
        try:
            page = current_pdp().find_delegations(offset=offset, **query)
        except InvalidFields as error:
            errors.update(_field_errors(error))
    filter_errors = {f"f-{name}": problem for name, problem in errors.items()}
    return _list_page(
        filters=filters,
        include_revoked=include_revoked,
        offset=offset,
        page=page,
        filter_errors=filter_errors,
    )


@blueprint.route("/delegations/new", methods=["POST"])
@console_requires(SCOPE_DELEGATIONS)
def create_delegation():
    form = {
        name: request.form.get(name, "").strip()
        for name in ("party", "package", "delegator", "recipient_kind", "recipient")
    }
    errors: dict[str, str] = {}
    for name in ("party", "package"):
        if not form[name]:
            errors[name] = "required"
    if form["party"]:
        _check(errors, "party", validate_organization_number, form["party"], {})
    recipient = None
    if form["recipient_kind"] not in dict(RECIPIENT_KINDS):
        errors["recipient"] = "choose a person, an organisation or a system user"
    elif not form["recipient"]:
        errors["recipient"] = "required"
    else:
        try:
            recipient = subject(form["recipient_kind"], form["recipient"])
        except InvalidIdentifier as error:
            errors["recipient"] = str(error)
    delegator = _acting(form["delegator"], "delegator", errors)
    if errors or recipient is None or delegator is None:
        return _list_page(errors=errors, form=form, status=400)
    details = {
        "party": form["party"],
        "package": form["package"],
        "delegator": delegator.identifier,
        "recipient": recipient.urn,
    }
    try:
        delegation = current_pdp().delegate(form["party"], form["package"], delegator, recipient)
    except (InvalidFields, *_REFUSALS) as error:
        audit("delegation.create", error, **details)
        problem = None if isinstance(error, InvalidFields) else str(error)
        errors = _field_errors(error) if isinstance(error, InvalidFields) else {}
        return _list_page(errors=errors, form=form, problem=problem, status=_status(error))
    audit("delegation.create", None, success=201, **details, delegation_id=delegation.id)
    return redirect(url_for("console.delegations", created=delegation.id), 303)


@blueprint.route("/delegations/<delegation_id>/revoke", methods=["GET", "POST"])
@console_requires(SCOPE_DELEGATIONS)
def revoke_delegation(delegation_id: str):
    pdp = current_pdp()
    delegation = pdp.delegation(delegation_id)
    errors: dict[str, str] = {}
    problem = None
    status = 200
    revoked_by = request.form.get("revoked_by", "").strip()
    if request.method == "POST":
        revoker = _acting(revoked_by, "revoked_by", errors)
        if revoker is not None:
            try:
                pdp.revoke(delegation_id, revoker)
            except _REFUSALS as error:
                audit(
                    "delegation.revoke",
                    error,
                    delegation_id=delegation_id,
                    revoked_by=revoker.identifier,
                )
                problem, status = str(error), _status(error)
            else:
                audit(
                    "delegation.revoke",
                    None,
                    delegation_id=delegation_id,
                    revoked_by=revoker.identifier,
                )
                return redirect(url_for("console.delegations", revoked=delegation_id), 303)
    return render_template(
        "revoke.html",
        delegation=delegation,
        names=_names([delegation]),
        errors=errors,
        problem=problem,
        revoked_by=revoked_by,
    ), 400 if errors else status


def _list_page(
    *,
    filters: dict[str, str] | None = None,
    include_revoked: bool = False,
    offset: int = 0,
    page: DelegationPage | None = None,
    filter_errors: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
):
    """The Delegations page: the filters and the list (`filter_errors` by `f-<field>`), the
    form to delegate (`errors` by field, `problem` for a refusal), a notice of what was just
    made or revoked."""
    pdp = current_pdp()
    filters, filter_errors = filters or {}, filter_errors or {}
    if page is None and not filter_errors:
        page = pdp.find_delegations(include_revoked=include_revoked, limit=PAGE_SIZE)
    catalog = pdp.active_policy_set().catalog
    notice_id = request.args.get("created") or request.args.get("revoked")
    notice = None
    if notice_id:
        try:
            notice = pdp.delegation(notice_id)
        except PdpError:
            notice = None
    items = page.items if page else []
    return render_template(
        "delegations.html",
        filters=filters,
        include_revoked=include_revoked,
        page=page,
        offset=offset,
        page_size=PAGE_SIZE,
        filter_errors=filter_errors,
        errors=errors or {},
        form=form or {},
        problem=problem,
        notice=notice,
        notice_kind="created" if request.args.get("created") else "revoked",
        names=_names(items + ([notice] if notice else [])),
        packages=[package for package in catalog.packages if package.delegable],
        package_names={package.urn: package.name for package in catalog.packages},
        recipient_kinds=RECIPIENT_KINDS,
    ), status


def _names(items: list[Delegation]) -> dict[str, str]:
    """The register's names of the organisations in `items` (parties and recipients)."""
    numbers = {item.party for item in items} | {
        item.recipient.identifier for item in items if item.recipient.kind == ORGANIZATION
    }
    found = current_pdp().organizations(numbers)
    return {number: org.name for number, org in found.items() if org is not None}


def _acting(stated: str, field: str, errors: dict[str, str]) -> Subject | None:
    """The person making a change (`acting_person`), or None with the field's error noted."""
    if stated:
        try:
            validate_national_identity_number(stated)
        except InvalidIdentifier as error:
            errors[field] = str(error)
            return None
    try:
        return acting_person(stated or None, field)
    except ActingForAnother as error:
        errors[field] = str(error)
    except InvalidFields as error:
        errors.update(_field_errors(error))
    return None


def _status(error: PdpError) -> int:
    entry = answer_for(error)
    return entry.status if entry else 500


def _recipient(value: str) -> Subject:
    kind = {11: PERSON, 9: ORGANIZATION}.get(len(value), SYSTEM_USER)
    return subject(kind, value)


def _check(errors: dict[str, str], name: str, check: Any, value: str, query: dict) -> None:
    try:
        query[name] = check(value)
    except InvalidIdentifier as error:
        errors[name] = str(error)


def _field_errors(error: PdpError) -> dict[str, str]:
    """An error's message by the form field it concerns (its own fields, else `problem`)."""
    if isinstance(error, InvalidFields):
        return {
            name: "; ".join(map(str, problems)) if isinstance(problems, list) else str(problems)
            for name, problems in error.fields.items()
        }
    return {"problem": str(error)}


def _offset() -> int:
    raw = request.args.get("offset", "0")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 9 else 0

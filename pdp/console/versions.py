"""Versions: every published policy-set version; what activating one would change (the rule diff
and the register impact, `Pdp.preview`) or what an uploaded source would change; activation
(rolling back or forward) after a confirmation.

An activation names the version it was reviewed against, as the API's `If-Match` does: the form
carries it, and `Pdp.activate(expected_active=...)` refuses (409) if another version became
active in the meantime, so nobody activates what they did not review.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
from flask import current_app, redirect, render_template, request, url_for

from pdp import catalog as catalog_module
from pdp.api.auth import SCOPE_ADMIN
from pdp.api.common import current_pdp
from pdp.console.access import console_requires
from pdp.console.blueprint import audit, blueprint
from pdp.duplicate_members import DuplicateMember, refuse_duplicates
from pdp.errors import SourceError
from pdp.limits import LimitExceeded, Limits
from pdp.repository import VersionConflict
from pdp.safe_xml import MAX_XML_BYTES

#: How many individual access changes a preview lists; the counts cover all of them.
CHANGES_SHOWN = 200


@blueprint.route("/versions")
@console_requires(SCOPE_ADMIN)
def versions():
    history = current_pdp().versions()
    return render_template(
        "versions.html",
        history=history,
        versions=list(reversed(history.versions)),
        activated=request.args.get("activated"),
        upload_error=None,
    )


@blueprint.route("/versions/<int:number>")
@console_requires(SCOPE_ADMIN)
def version(number: int):
    """What making version `number` active would change, and the form to do it."""
    pdp = current_pdp()
    published = pdp.version(number)
    preview = pdp.preview(catalog_module.parse(published.source))
    return _preview_page(preview, published=published)


@blueprint.route("/versions/preview", methods=["POST"])
@console_requires(SCOPE_ADMIN)
def preview_upload():
    """What publishing an uploaded policy source would change (nothing is published)."""
    upload = request.files.get("source")
    problems: list[str] = []
    source = None
    if upload is None or not upload.filename:
        problems.append("choose a policy source file (JSON)")
    else:
        source = _source(upload.read(), problems)
    catalog = None
    if source is not None:
        try:
            catalog = catalog_module.parse(source)
        except SourceError as error:
            problems += [str(problem) for problem in error.problems]
    if catalog is None:
        history = current_pdp().versions()
        return render_template(
            "versions.html",
            history=history,
            versions=list(reversed(history.versions)),
            activated=None,
            upload_error=problems,
        ), 422
    return _preview_page(current_pdp().preview(catalog), published=None, name=upload.filename)


@blueprint.route("/versions/<int:number>/activate", methods=["POST"])
@console_requires(SCOPE_ADMIN)
def activate(number: int):
    pdp = current_pdp()
    published = pdp.version(number)  # 404 page for a version that does not exist
    errors: dict[str, str] = {}
    raw_base = request.form.get("base_version", "")
    if not (raw_base.isascii() and raw_base.isdigit() and len(raw_base) <= 9):
        errors["base_version"] = "the form names no version it was reviewed against"
    if request.form.get("confirm") != "yes":
        errors["confirm"] = "tick the box to confirm that you reviewed the changes"
    conflict = None
    if not errors:
        base = int(raw_base)
        try:
            pdp.activate(number, expected_active=base)
        except VersionConflict as error:
            audit("policy_set.activate", error, version=number, base_version=base)
            conflict = str(error)
        else:
            audit("policy_set.activate", None, version=number, base_version=base)
            return redirect(url_for("console.versions", activated=number), 303)
    preview = pdp.preview(catalog_module.parse(published.source))
    return _preview_page(
        preview,
        published=published,
        errors=errors,
        conflict=conflict,
        status=409 if conflict else 400,
    )


def _source(data: bytes, problems: list[str]) -> dict[str, Any] | None:
    """The policy source in an uploaded JSON file: the mapping of file names to documents, as
    `GET /api/v1/policy-sets/active` and `POST /api/v1/policy-sets` carry it under `source`.
    Read as the API reads a published source: within the limits, strings up to an XML
    policy's size, no member named twice (a body over `PDP_MAX_BODY_BYTES` never gets here)."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        problems.append(f"the file is not JSON: {error}")
        return None
    limits: Limits = current_app.extensions["pdp.limits"]
    try:
        refuse_duplicates(data, replace(limits, max_string_length=MAX_XML_BYTES).check(document))
    except (LimitExceeded, DuplicateMember) as error:
        problems.append(str(error))
        return None
    if isinstance(document, dict) and isinstance(document.get("source"), dict):
        document = document["source"]
    if not isinstance(document, dict):
        problems.append('the file must hold a policy source: {"roles.yaml": ..., ...}')
        return None
    return document


def _preview_page(
    preview: Any,
    *,
    published: Any,
    name: str | None = None,
    errors: dict[str, str] | None = None,
    conflict: str | None = None,
    status: int = 200,
):
    impact = preview.impact
    return render_template(
        "preview.html",
        preview=preview,
        published=published,
        name=name,
        diff=preview.source,
        impact=impact,
        by_package=impact.by_package(),
        changes=impact.changes[:CHANGES_SHOWN],
        errors=errors or {},
        conflict=conflict,
    ), status

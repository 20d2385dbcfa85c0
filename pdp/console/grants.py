"""Grants: the role x package matrix of the active version, or of any published version (which
needs `pdp:admin`, as reading a version's source through the API does), filterable by area."""

from __future__ import annotations

from flask import render_template, request

from pdp import catalog as catalog_module
from pdp.api.auth import ENDPOINT_SCOPES, SCOPE_ADMIN, InsufficientScope
from pdp.api.common import current_pdp
from pdp.api.errors import MalformedParameter
from pdp.console.access import console_requires, may
from pdp.console.blueprint import blueprint
from pdp.console.matrix import matrix


@blueprint.route("/grants")
@console_requires(*ENDPOINT_SCOPES)
def grants():
    pdp = current_pdp()
    number = _version_argument()
    if number is None:
        policy_set = pdp.active_policy_set()
        catalog, shown = policy_set.catalog, policy_set.version
    else:
        if not may(SCOPE_ADMIN):
            raise InsufficientScope([SCOPE_ADMIN])
        catalog, shown = catalog_module.parse(pdp.version(number).source), number
    area = request.args.get("area") or None
    if area is not None and area not in {each.code for each in catalog.areas}:
        raise MalformedParameter(f"version {shown} has no area {area!r}")
    return render_template(
        "grants.html",
        catalog=catalog,
        version=shown,
        active=pdp.versions().active,
        versions=pdp.versions().versions if may(SCOPE_ADMIN) else [],
        area=area,
        matrix=matrix(catalog, area),
    )


def _version_argument() -> int | None:
    raw = request.args.get("version") or None
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise MalformedParameter(f"version must be a version number, got {raw!r}")
    return int(raw)

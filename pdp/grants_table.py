"""The role x package table of a catalog, as the README and `GET /api/v1/grants` show it.

One renderer, so the README's table, the API's and the CLI's are the same table, derived from
the policy source and never kept by hand.
"""

from __future__ import annotations

from pdp.catalog import Catalog, Package

HEADER = "| package URN | name | granted to | delegable | limited to |\n|---|---|---|---|---|\n"


def markdown(catalog: Catalog) -> str:
    """A Markdown table with one row per package, in source order."""
    return HEADER + "".join(_row(package) for package in catalog.packages)


def _row(package: Package) -> str:
    roles = [grant.role for grant in package.grants]
    delegable = [grant.role for grant in package.grants if grant.delegable]
    if not delegable:
        delegable_cell = "no"
    elif delegable == roles:
        delegable_cell = "yes"
    else:
        delegable_cell = f"{', '.join(delegable)} only"
    limits = {grant.org_forms for grant in package.grants}
    if limits == {()} or not limits:
        limited_cell = ""
    elif len(limits) == 1:
        limited_cell = f"{', '.join(next(iter(limits)))} organisations"
    else:
        limited_cell = "; ".join(
            f"{grant.role}: {', '.join(grant.org_forms)}"
            for grant in package.grants
            if grant.org_forms
        )
    cells = [f"`{package.urn}`", package.name, ", ".join(roles), delegable_cell, limited_cell]
    return "| " + " | ".join(cells) + " |\n"

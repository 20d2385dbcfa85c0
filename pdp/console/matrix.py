"""The role x package matrix of a catalog, for the Grants page: one row per package, one column
per role that grants any of the packages shown.

The same grants `pdp.grants_table` writes as Markdown, arranged as a matrix a person can scan:
a cell says whether the role gives the package, whether its holders may delegate it, and to
which organisation forms the grant is limited.
"""

from __future__ import annotations

from dataclasses import dataclass

from pdp.catalog import Area, Catalog, Package, Role


@dataclass(frozen=True)
class Cell:
    """One role's grant of one package."""

    delegable: bool
    #: Only for organisations of these forms; empty: any form.
    org_forms: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    package: Package
    area: Area | None
    #: One per column of the matrix, None where the role does not give the package.
    cells: tuple[Cell | None, ...]


@dataclass(frozen=True)
class Matrix:
    roles: tuple[Role, ...]
    rows: tuple[Row, ...]


def matrix(catalog: Catalog, area: str | None = None) -> Matrix:
    """The matrix of the packages of `area` (every package when None), in source order; the
    columns are the roles granting any of them, in the order of `roles.yaml`."""
    packages = [p for p in catalog.packages if area is None or p.area == area]
    granting = {grant.role for package in packages for grant in package.grants}
    roles = tuple(role for role in catalog.roles if role.code in granting)
    areas = {each.code: each for each in catalog.areas}
    rows = []
    for package in packages:
        by_role = {grant.role: grant for grant in package.grants}
        cells = tuple(
            None
            if (grant := by_role.get(role.code)) is None
            else Cell(grant.delegable, tuple(grant.org_forms))
            for role in roles
        )
        rows.append(Row(package, areas.get(package.area), cells))
    return Matrix(roles, tuple(rows))

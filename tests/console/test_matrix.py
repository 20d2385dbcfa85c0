"""The role x package matrix the Grants page shows."""

from __future__ import annotations

from pdp import catalog as catalog_module
from pdp.console.matrix import Cell, matrix
from tests.conftest import KEY_ROLES, POLICY_DIR


def test_the_columns_are_the_granting_roles_in_the_order_of_roles_yaml():
    catalog = catalog_module.load(POLICY_DIR)
    table = matrix(catalog)
    assert {role.code for role in table.roles} == set(KEY_ROLES)
    order = [role.code for role in catalog.roles]
    assert [role.code for role in table.roles] == sorted(
        (role.code for role in table.roles), key=order.index
    )
    assert [row.package.urn for row in table.rows] == [p.urn for p in catalog.packages]


def test_a_cell_says_whether_the_role_may_delegate_and_where_the_grant_is_limited():
    table = matrix(catalog_module.load(POLICY_DIR))
    nuf = next(row for row in table.rows if row.package.code == "programmeringsgrensesnittNUF")
    assert set(nuf.cells) == {Cell(delegable=True, org_forms=("NUF",))}


def test_an_area_keeps_its_packages_and_the_roles_that_grant_them():
    catalog = catalog_module.load(POLICY_DIR / "altinn-catalog")
    table = matrix(catalog, "integrasjoner")
    assert 0 < len(table.rows) < len(catalog.packages)
    assert {row.package.area for row in table.rows} == {"integrasjoner"}
    granting = {grant.role for row in table.rows for grant in row.package.grants}
    assert {role.code for role in table.roles} == granting
    assert len(matrix(catalog).rows) == 223

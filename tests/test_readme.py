"""The README's grants table says what policies/ says."""

from __future__ import annotations

import re

from tests.conftest import PROJECT_ROOT


def readme_rows() -> list[list[str]]:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = re.search(r"<!-- grants-table.*?-->\n(.*?)<!-- /grants-table -->", text, re.S).group(1)
    rows = [line.strip().strip("|").split("|") for line in table.strip().splitlines()[2:]]
    return [[cell.strip() for cell in row] for row in rows]


def catalog_rows(catalog) -> list[list[str]]:
    rows = []
    for package in catalog.packages:
        forms = sorted({form for grant in package.grants for form in grant.org_forms})
        rows.append(
            [
                f"`{package.urn}`",
                package.name,
                ", ".join(grant.role for grant in package.grants),
                "yes" if all(grant.delegable for grant in package.grants) else "no",
                f"{', '.join(forms)} organisations" if forms else "",
            ]
        )
    return rows


def test_the_readme_grants_table_matches_the_policy_source(catalog):
    assert readme_rows() == catalog_rows(catalog)

"""The README's grants table says what policies/ says."""

from __future__ import annotations

import re

from pdp import grants_table
from tests.conftest import PROJECT_ROOT


def readme_table() -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    return re.search(r"<!-- grants-table.*?-->\n(.*?)<!-- /grants-table -->", text, re.S).group(1)


def test_the_readme_grants_table_matches_the_policy_source(catalog):
    assert readme_table() == grants_table.markdown(catalog)

"""Fixtures for the console's pages: the app with tokens checked (from tests/security) or with
authentication off (tests/conftest.py's `client`), and reading what a page shows."""

from __future__ import annotations

import html
import re

from tests.security.conftest import (  # noqa: F401 - fixtures, used by name
    issuer,
    jwks_file,
    secured_app,
    secured_client,
    secured_settings,
)


def csrf(client, path: str) -> str:
    """The CSRF value a console page hands the browser (and sets as its cookie)."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"{path} has no form with a CSRF field"
    return match.group(1)


def text_of(page: str, element_id: str) -> str:
    """The text of the element with this id (its tags stripped, entities decoded)."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:p|pre|div|section)>', page, re.S)
    assert match, f"no element {element_id!r} on the page"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()

"""The context handler: the XACML 3.0 JSON profile in and out, as Altinn's PDP speaks it.

`reader` reads a parsed body into a `ParsedRequest` in one walk, limits enforced as it goes;
`items` turns its categories into individual decision requests; `render` writes the results
back; `schema` describes the body for the OpenAPI document.
"""

from pdp.xacml.model import Category, Item, ParsedRequest
from pdp.xacml.reader import parse, read
from pdp.xacml.render import PACKAGE_RENAMED_ADVICE, combine, render, render_json

__all__ = [
    "PACKAGE_RENAMED_ADVICE",
    "Category",
    "Item",
    "ParsedRequest",
    "combine",
    "parse",
    "read",
    "render",
    "render_json",
]

"""The console: pages under `/console/` for policy authors, service owners and administrators,
served by the PDP itself and built on the same use cases as the API (`pdp.service.Pdp`).

`blueprint` holds the frame, sign-in and error pages (`pdp.console.blueprint`); each page module
adds its routes to it: overview, grants, resources, ask, parties (and holders), delegations,
versions.
"""

from pdp.console import ask, delegations, grants, overview, parties, resources, versions
from pdp.console.blueprint import blueprint

__all__ = [
    "ask",
    "blueprint",
    "delegations",
    "grants",
    "overview",
    "parties",
    "resources",
    "versions",
]

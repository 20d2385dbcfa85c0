"""Resources: the active version's service resources, each policy's rules as sentences, and
its XACML source one click away."""

from __future__ import annotations

from flask import render_template

from pdp.api.auth import ENDPOINT_SCOPES
from pdp.api.common import current_pdp
from pdp.console.access import console_requires
from pdp.console.blueprint import blueprint
from pdp.console.sentences import rule_sentences
from pdp.resource_policies import resource_file


@blueprint.route("/resources")
@console_requires(*ENDPOINT_SCOPES)
def resources():
    policy_set = current_pdp().active_policy_set()
    catalog = policy_set.catalog
    return render_template(
        "resources.html",
        version=policy_set.version,
        policies=[(policy, rule_sentences(policy, catalog)) for policy in catalog.resources],
    )


@blueprint.route("/resources/<resource_id>/policy.xml")
@console_requires(*ENDPOINT_SCOPES)
def resource_source(resource_id: str):
    """A resource's policy as its author wrote it, shown as text."""
    policy_set = current_pdp().active_policy_set()
    text = policy_set.catalog.source.get(resource_file(resource_id))
    if not isinstance(text, str):
        return render_template(
            "error.html",
            status=404,
            title="No such resource",
            message=f"version {policy_set.version} has no policy for resource {resource_id!r}",
        ), 404
    return render_template(
        "resource_source.html", resource_id=resource_id, version=policy_set.version, text=text
    )

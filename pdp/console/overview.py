"""Overview: the active policy-set version (author, message), what it and the register hold,
whether this process can decide, and the latest audit events."""

from __future__ import annotations

from flask import current_app, render_template

from pdp.api.auth import ENDPOINT_SCOPES, SCOPE_ADMIN
from pdp.api.common import current_pdp
from pdp.api.logs import AuditLog
from pdp.console.access import console_requires, may
from pdp.console.blueprint import blueprint

#: How many audit events the overview lists.
AUDIT_EVENTS = 12


@blueprint.route("/")
@console_requires(*ENDPOINT_SCOPES)
def overview():
    pdp = current_pdp()
    readiness = pdp.readiness()
    history = pdp.versions()
    active = next((v for v in history.versions if v.number == history.active), None)
    policy_set = pdp.active_policy_set() if readiness.version is not None else None
    audit_log: AuditLog = current_app.extensions["pdp.audit_log"]
    return render_template(
        "overview.html",
        readiness=readiness,
        active=active,
        versions=len(history.versions),
        catalog=policy_set.catalog if policy_set else None,
        counts=pdp.register_counts(),
        audit_events=audit_log.latest(AUDIT_EVENTS) if may(SCOPE_ADMIN) else None,
        audit_target=current_app.extensions["pdp"].settings.audit_log,
        decision_log=current_app.extensions["pdp.decision_log"],
    )

"""Upgrading for real: gunicorn refuses a database whose schema is behind, naming the command;
`pdp db upgrade` upgrades it; the server then starts and decides on the rows it held."""

from __future__ import annotations

import json
import os
import subprocess

from pdp import schema
from pdp.db import make_engine
from tests.e2e import launcher
from tests.e2e.servers import BIN, post, running_server
from tests.helpers import package_request
from tests.released import EVENTS, Released, released_database


def test_a_server_refuses_a_database_behind_until_pdp_db_upgrade(database_url, tmp_path, catalog):
    facts = Released()
    engine = make_engine(database_url)
    released_database(engine, catalog, facts)
    engine.dispose()
    env = {
        **os.environ,
        "PDP_DATABASE_URL": database_url,
        "PDP_AUTH_DISABLED": "true",
        "PDP_DECISION_LOG": "off",
        "PDP_AUDIT_LOG": "off",
    }

    try:
        server = launcher.start(launcher.PDP_APP, env, cwd=tmp_path, workers=1)
    except launcher.ServerDidNotStart as refused:
        assert "run `pdp db upgrade`" in refused.output
    else:
        launcher.stop(server)
        raise AssertionError("a server started on a database whose schema is behind")

    upgraded = subprocess.run(
        [BIN / "pdp", "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert (upgraded.returncode, upgraded.stderr) == (0, "")
    assert upgraded.stdout == (
        f"upgraded the database schema from revision {schema.BASELINE} "
        f"(made before schema versions) to {schema.head()}\n"
    )
    with running_server(env, tmp_path) as base:
        for who, decision in ((facts.delegate, "Permit"), (facts.former_delegate, "NotApplicable")):
            body = json.dumps(package_request(who, facts.party, EVENTS)).encode()
            status, answer = post(f"{base}/authorization/api/v1/authorize", body)
            assert (status, answer["Response"][0]["Decision"]) == (200, decision)

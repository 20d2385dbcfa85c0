"""Every example request in examples/requests/ answers what the README says it answers, from a
real server set up the README's way: `pdp init` and `pdp register import
examples/register.json` on a fresh database, the delegations of examples/ made over HTTP.

The README says it twice: in the one-line comments beside the curl commands (the decisions
named, outside parentheses, in order), and in the answers pasted after a curl command for one
example, which must be the server's answer exactly."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import EXAMPLES_DIR, PROJECT_ROOT
from tests.e2e.servers import call, post, prepared_database, running_server

REQUESTS_DIR = EXAMPLES_DIR / "requests"
README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
AUTHORIZE = "/authorization/api/v1/authorize"
#: The decisions of each example, once the delegations in examples/ are made.
DECISIONS = {
    "permit.json": ["Permit"],
    "not-applicable.json": ["NotApplicable"],
    "indeterminate.json": ["Indeterminate"],
    "multi.json": ["Permit", "Permit", "NotApplicable", "Permit"],
    "delegated.json": ["Permit"],
    "resource-system-user.json": ["Permit"],
    "resource-multi.json": ["Permit", "Permit", "NotApplicable", "NotApplicable"],
    "resource-userid-partyid.json": ["Permit"],
}
#: Each delegation example, and the examples that are decided otherwise until it is made.
DELEGATIONS = {
    "delegation.json": {"delegated.json": ["NotApplicable"]},
    "delegation-system-user.json": {"resource-system-user.json": ["NotApplicable"]},
}
_DECISION = re.compile(r"\b(Permit|NotApplicable|Indeterminate|Deny)\b")


def readme_comments() -> dict[str, str]:
    """The README's one-line comment on each example request, by file name."""
    return dict(re.findall(r"-d @examples/requests/(\S+\.json)\s+# (.*)", README))


def readme_answers() -> dict[str, str]:
    """The answers the README pastes after a curl command that posts an example request."""
    found = re.findall(
        r"-d @examples/requests/(\S+\.json)\n```\n\n```json\n(.*?)\n```", README, re.S
    )
    return dict(found)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A gunicorn server on a fresh SQLite database set up with the `pdp` command line."""
    workdir = tmp_path_factory.mktemp("examples")
    env = prepared_database(workdir)
    with running_server(env, workdir) as base:
        yield base


def decide(server: str, example: str) -> dict:
    status, answer = post(f"{server}{AUTHORIZE}", (REQUESTS_DIR / example).read_bytes())
    assert status == 200, answer
    return answer


def decisions(answer: dict) -> list[str]:
    return [result["Decision"] for result in answer["Response"]]


@pytest.fixture(scope="module")
def answers(server) -> dict[str, dict]:
    """Every example's answer once the delegations are made; before, those that depend on
    one are decided otherwise."""
    for delegation, before in DELEGATIONS.items():
        for example, expected in before.items():
            assert decisions(decide(server, example)) == expected, example
        body = (EXAMPLES_DIR / delegation).read_bytes()
        status, created, _ = call("POST", f"{server}/api/v1/delegations", body)
        assert status == 201, created
    return {path.name: decide(server, path.name) for path in sorted(REQUESTS_DIR.glob("*.json"))}


def test_every_example_request_is_known_here_and_shown_in_the_readme():
    examples = {path.name for path in REQUESTS_DIR.glob("*.json")}
    assert examples == set(DECISIONS)
    assert {name for name in examples if f"examples/requests/{name}" not in README} == set()
    assert set(DELEGATIONS) == {path.name for path in EXAMPLES_DIR.glob("delegation*.json")}


@pytest.mark.parametrize("example", sorted(DECISIONS))
def test_each_example_gets_its_decisions(answers, example):
    assert decisions(answers[example]) == DECISIONS[example]


@pytest.mark.parametrize("example", sorted(readme_comments()))
def test_the_decisions_the_readme_names_beside_an_example_are_the_servers(answers, example):
    comment = re.sub(r"\(.*?\)", "", readme_comments()[example])
    named = _DECISION.findall(comment)
    if named:
        assert named == decisions(answers[example]), comment


def test_the_readme_pastes_answers_for_the_resource_examples():
    assert {"permit.json", *(name for name in DECISIONS if name.startswith("resource-"))} <= set(
        readme_answers()
    )


@pytest.mark.parametrize("example", sorted(readme_answers()))
def test_an_answer_pasted_in_the_readme_is_the_servers(answers, example):
    assert json.loads(readme_answers()[example]) == answers[example]

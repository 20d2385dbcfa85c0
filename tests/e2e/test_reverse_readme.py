"""README's "Who may act for whom" works as pasted: each curl command and `pdp` command in it
is run, as written, against a real server set up the README's way (the quick start's database,
the delegations of examples/ made), and each answer pasted after one is the answer given."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES_DIR, PROJECT_ROOT
from tests.e2e.servers import call, prepared_database, running_server

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Who may act for whom", 1)[1].split("\n## ", 1)[0]
QUICK_START = "http://127.0.0.1:8000"
BIN = Path(sys.executable).parent


def blocks() -> list[tuple[list[str], str | None]]:
    """Each `sh` block's commands, with the block pasted right after it (its answer), if any."""
    found = re.findall(
        r"```sh\n(.*?)\n```\n\n(?:[^`]*?\n\n)?(?:```(?:json|text)\n(.*?)\n```)?", SECTION, re.S
    )
    return [(commands.splitlines(), answer or None) for commands, answer in found]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("reverse-readme")
    (workdir / "examples").symlink_to(EXAMPLES_DIR)
    env = prepared_database(workdir)
    with running_server(env, workdir) as base:
        for delegation in sorted(EXAMPLES_DIR.glob("delegation*.json")):
            status, created, _ = call("POST", f"{base}/api/v1/delegations", delegation.read_bytes())
            assert status == 201, created
        yield base, env, workdir


def run(command: str, server) -> str:
    base, env, workdir = server
    words = shlex.split(command.replace(QUICK_START, base))
    if words[0] == ".venv/bin/pdp":
        words[0] = str(BIN / "pdp")
    done = subprocess.run(words, env=env, cwd=workdir, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_section_has_commands_and_answers():
    assert len(blocks()) >= 4
    assert sum(answer is not None for _, answer in blocks()) >= 4


@pytest.mark.parametrize("index", range(len(blocks())))
def test_each_command_works_as_pasted_and_the_last_gives_the_answer_shown(server, index):
    commands, answer = blocks()[index]
    outputs = [run(command, server) for command in commands]
    if answer is None:
        return
    last = outputs[-1]
    if answer.lstrip().startswith(("{", "[")):
        assert json.loads(last) == json.loads(answer)
    else:
        assert last.strip() == answer.strip()

"""One soak connection's requests and the checks of their answers.

Every answer is checked: its status, and each decision against the in-process engine's answer
for the same request. After each write, the connection's next single decision asks about the
recipient: Permit after a delegation, NotApplicable after its revocation, whichever worker
answers; this checks that every worker sees a write at once.
"""

from __future__ import annotations

import http.client
import json
import random
from collections import deque

from benchmarks.ids import iter_person_numbers
from benchmarks.soak.mix import REVOKE_SHARE, Mix, ask_body, encode
from pdp.vocabulary import NOT_APPLICABLE, PERMIT
from tests.e2e import launcher

AUTHORIZE = "/authorization/api/v1/authorize"
DECISION = "/api/v1/decision"
DELEGATIONS = "/api/v1/delegations"
#: Seconds a request may take before it counts as an error.
TIMEOUT = 10.0
#: Delegation recipients come from this range of `benchmarks.ids` (disjoint from the
#: workload's pools), `_LANE_RANGE` numbers per connection so no two ever pick the same person.
_RECIPIENTS, _LANE_RANGE = 24_000_000, 1_000_000

_JSON = {"Content-Type": "application/json"}


class Client:
    """One connection's requests and the checks of their answers. `index` picks its
    recipients and random choices: no two clients with different indexes ever use the same
    recipient."""

    def __init__(self, mix: Mix, index: int, port: int):
        self.mix = mix
        self.rng = random.Random(index)
        self.recipients = iter_person_numbers(_RECIPIENTS + index * _LANE_RANGE)
        self.connection = http.client.HTTPConnection(launcher.HOST, port, timeout=TIMEOUT)
        self.cursor = self.rng.randrange(len(self.mix.expected))
        #: (id, party, package, delegator, recipient) of the live delegations it made.
        self.live: deque[tuple[str, str, str, str, str]] = deque()
        #: The next single decision instead of the stream's: a body and the decision due.
        self.follow_up: tuple[bytes, str] | None = None
        self.created = self.revoked = 0

    def send(self, kind: str) -> tuple[str, str | None]:
        """Send a request of `kind` (a MIX kind, or one of `create`, `revoke`); what was sent
        (`create` or `revoke` for a write, `after write` for the follow-up decision) and an
        error label or None."""
        if kind == "write":
            kind = "revoke" if self.live and self.rng.random() < REVOKE_SHARE else "create"
        elif kind in ("authorize", "decision") and self.follow_up:
            kind = "after write"
        try:
            return kind, self._send(kind)
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            return kind, f"{kind}: {type(error).__name__}"
        except (ValueError, KeyError, TypeError):
            return kind, f"{kind}: an answer that is not the JSON expected"

    def _send(self, kind: str) -> str | None:
        if kind == "create":
            return self._create()
        if kind == "revoke":
            return self._revoke()
        if kind == "after write" and self.follow_up:
            (body, expected), self.follow_up = self.follow_up, None
            return self._decide(kind, AUTHORIZE, body, [expected])
        if kind == "multi":
            index = self.rng.randrange(len(self.mix.multis))
            return self._decide(
                kind, AUTHORIZE, self.mix.multis[index], self.mix.multi_expected[index]
            )
        index = self.cursor = (self.cursor + 1) % len(self.mix.expected)
        bodies = self.mix.authorize if kind == "authorize" else self.mix.decision
        path = AUTHORIZE if kind == "authorize" else DECISION
        return self._decide(kind, path, bodies[index], [self.mix.expected[index]])

    def _create(self) -> str | None:
        party, delegator, package = self.rng.choice(self.mix.grantors)
        recipient = next(self.recipients)
        body = {
            "party": party,
            "package": package,
            "delegator": delegator,
            "recipient": {"person": recipient},
        }
        status, data = self._request("POST", DELEGATIONS, encode(body))
        if status != 201:
            return f"create: HTTP {status}"
        self.live.append((json.loads(data)["id"], party, package, delegator, recipient))
        self.follow_up = (ask_body(recipient, party, package), PERMIT)
        self.created += 1
        return None

    def _revoke(self) -> str | None:
        identifier, party, package, delegator, recipient = self.live.popleft()
        path = f"{DELEGATIONS}/{identifier}?revoked_by={delegator}"
        status, _ = self._request("DELETE", path, None)
        if status != 200:
            return f"revoke: HTTP {status}"
        self.follow_up = (ask_body(recipient, party, package), NOT_APPLICABLE)
        self.revoked += 1
        return None

    def _decide(self, kind: str, path: str, body: bytes, expected: list[str]) -> str | None:
        status, data = self._request("POST", path, body)
        if status != 200:
            return f"{kind}: HTTP {status}"
        answer = json.loads(data)
        if path == DECISION:
            decisions = [answer["decision"]]
        else:
            decisions = [result["Decision"] for result in answer["Response"]]
        wrong = [(a, b) for a, b in zip(decisions, expected, strict=True) if a != b]
        return f"{kind}: {wrong[0][0]} instead of {wrong[0][1]}" if wrong else None

    def _request(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        self.connection.request(method, path, body, _JSON if body else {})
        response = self.connection.getresponse()
        return response.status, response.read()


def preflight(port: int, mix: Mix) -> None:
    """One request of each kind, so that a broken server stops the run before it starts
    (RuntimeError). It is client 0: the phases' clients are numbered from 1."""
    client = Client(mix, 0, port)
    for kind in ("authorize", "decision", "multi", "create", "authorize", "revoke", "decision"):
        if error := client.send(kind)[1]:
            raise RuntimeError(f"the server is not answering as expected ({error})")
    client.connection.close()


def delegation_totals(port: int) -> tuple[int, int]:
    """How many delegations the database holds at the end: in all, and not revoked."""
    connection = http.client.HTTPConnection(launcher.HOST, port, timeout=TIMEOUT)
    totals = []
    try:
        for revoked in ("true", "false"):
            connection.request("GET", f"{DELEGATIONS}?include_revoked={revoked}&limit=1")
            totals.append(json.loads(connection.getresponse().read())["total"])
    finally:
        connection.close()
    return totals[0], totals[1]

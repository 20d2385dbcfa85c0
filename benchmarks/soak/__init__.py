"""`python -m benchmarks.soak`: the real server for ten minutes at 80% of its measured maximum
rate, under a mix of decisions and delegation writes; errors, p99 over time and memory.

Why: the other benchmarks run for seconds. A leak, a cache that only grows, a lock queue that
builds up, or a worker that stops seeing other workers' writes shows over minutes of mixed
reads and writes, not in a burst.

Setup, as the http benchmark: gunicorn with the shipped configuration and 2 workers on
127.0.0.1, on a fresh SQLite database in a temporary directory (or `--database-url`, an empty
database, e.g. PostgreSQL) holding the shared workload (1,000 organisations). The server runs
with `PDP_AUTH_DISABLED=true`: it only listens on loopback and the load generator holds no
tokens.

The mix, per request (`MIX`): single XACML decisions (`/authorization/api/v1/authorize`),
py-abac-shaped decisions (`/api/v1/decision`), MultiRequests of `MULTI_SIZE`, and delegation
writes: a new delegation from a role holder the PDP permits to delegate to a person never used
before (so 201, never 409), or the revocation of the connection's oldest live one by its
delegator. Every answer is checked: its status, and each decision against the in-process
engine's answer for the same request (the writes only concern fresh recipients, so those never
change). After each write, the connection's next single decision asks about the recipient:
Permit after a delegation, NotApplicable after its revocation, whichever worker answers; this
checks that every worker sees a write at once.

Phase 1 measures the maximum rate of the mix: closed loop, 2 connections (each its own process,
as `loadgen`), for `--probe-seconds`, the first fifth discounted as warm-up; it also warms the
server up before memory is measured. Phase 2 sends the same mix open loop at 80% of it (or
`--rate`, to compare runs at one rate) for `--minutes`: request k of a connection is due at a
fixed time; one that falls behind sends at once until it catches up, and stops at the end
whatever is left (reported as not sent).

Reported per window (a twentieth of the run by default): requests, writes, errors, p50 and p99
from sending to the last byte of the answer, p99 from when the request was due (including the
wait behind the connection's previous request: what a caller at that rate sees), and the
workers' RSS. Memory is VmRSS of gunicorn's master and each worker after server start, at the
start of phase 2 (warm), and at the end. Targets: 0 errors, RSS growth < 10% in every process.

The modules, one job each: `mix` (what is sent and the answers due), `client` (one
connection's requests and their checks), `schedule` (the connections' processes, closed loop or
paced at a rate), `sampling` (latencies per window, RSS), `report` (the Markdown), and
`__main__` (the command line, which runs them in order).

Bounded: each phase stops at its deadline, each request times out after `TIMEOUT` seconds, the
server is stopped at the end, on Ctrl-C and on SIGTERM. Exit status 0 when it ran, whatever
the verdict (figures, not a test); 1 when it could not.
"""

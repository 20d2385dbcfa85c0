"""The soak's Markdown report: setup, phase 1 (the maximum rate), phase 2 window by window
and by kind, memory, errors, and the verdict against the targets.

Figures, not a test: the verdict says whether the targets were met, and the exit status does
not depend on it.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from benchmarks import ours
from benchmarks.report import load_average
from benchmarks.soak.mix import MIX, MULTI_SIZE, ORGANIZATIONS, REVOKE_SHARE, Mix
from benchmarks.soak.sampling import Window, growth, merged
from benchmarks.soak.schedule import CONNECTIONS, Phase
from benchmarks.stats import number, percentile, plural
from benchmarks.table import markdown, met
from pdp.vocabulary import PERMIT
from tests.e2e import launcher

RSS_GROWTH_TARGET = 0.10


def setup_section(url: str, mix: Mix, delegations: int, server: launcher.Server) -> str:
    """How the server was started, the data, the mix and the machine's load."""
    shares = ", ".join(f"{name} {share:.0%}" for name, share in MIX)
    return "\n".join(
        [
            "",
            "## setup",
            "",
            f"- server: gunicorn -c gunicorn.conf.py --workers 2 on 127.0.0.1:{server.port}, "
            f"PDP_AUTH_DISABLED=true, database {ours.shown_url(url)}; started in "
            f"{server.start_seconds:.2f} s",
            f"- data: {ORGANIZATIONS:,} organisations, {delegations} delegations, a stream of "
            f"{len(mix.expected):,} requests ({mix.expected.count(PERMIT) / len(mix.expected):.0%}"
            f" Permit), {len(mix.grantors):,} (party, delegator, package) the PDP lets delegate",
            f"- mix: {shares}; authorize = one XACML decision, decision = /api/v1/decision, "
            f"multi = MultiRequests of {MULTI_SIZE}, write = a new delegation or "
            f"({REVOKE_SHARE:.0%}) the revocation of the connection's oldest live one",
            f"- {CONNECTIONS} connections, each its own process; every answer checked "
            "(status, each decision against the in-process engine, the recipient's decision "
            "right after each write)",
            f"- load average before phase 1: {load_average()} (the machine is shared: "
            "compare with 2 CPUs)",
        ]
    )


def probe_section(probe: Phase, seconds: float, maximum: float, rate: float) -> str:
    """Phase 1: the maximum rate, its first fifth left out, and the soak rate taken from it."""
    measured = merged(probe.windows[1:])
    headers = ["requests", "seconds", "req/s", "writes", "errors", "p50 ms", "p99 ms"]
    row = [
        f"{measured.requests:,}",
        number(seconds * 4 / 5),
        number(maximum),
        measured.writes,
        measured.errors.total() + probe.windows[0].errors.total(),
        ms(measured.latencies_ns, 50),
        ms(measured.latencies_ns, 99),
    ]
    return "\n\n".join(
        [
            "## phase 1: maximum rate",
            markdown(headers, [row]),
            f"- closed loop, {CONNECTIONS} connections, {number(seconds)} s, the first fifth "
            f"not counted (warm-up; its errors are). Soak rate: **{number(rate)} requests/s** "
            f"({rate / maximum:.0%} of it).",
        ]
    )


def soak_section(
    rows: list[tuple[Window, dict[int, int]]],
    window_seconds: float,
    rate: float,
    soak: Phase,
    master: int,
) -> str:
    """Phase 2 window by window (with the workers' RSS at each window's end), and by kind."""
    headers = [
        "window",
        "requests",
        "req/s",
        "writes",
        "errors",
        "p50 ms",
        "p99 ms",
        "p99 from due ms",
        "worker RSS MiB",
    ]
    table = []
    for index, (window, rss) in enumerate(rows):
        table.append(
            [
                f"{_clock(index * window_seconds)}-{_clock((index + 1) * window_seconds)}",
                f"{window.requests:,}",
                number(window.requests / window_seconds),
                window.writes,
                window.errors.total(),
                ms(window.latencies_ns, 50),
                ms(window.latencies_ns, 99),
                ms(window.from_due_ns, 99),
                workers_mib(rss, master),
            ]
        )
    created = sum(end.created for end in soak.ends)
    revoked = sum(end.revoked for end in soak.ends)
    notes = [
        f"open loop at {number(rate)} requests/s in all, {CONNECTIONS} connections; "
        f"{created:,} delegations created, {revoked:,} revoked; "
        f"{plural(soak.unsent, 'request')} due but not sent (behind schedule at the end); "
        f"load average at the end: {load_average()}.",
        "Rows are by when requests were due. p50/p99: sending to the last byte of the answer; "
        "p99 from due: from when the request was due, including the wait behind the "
        "connection's previous request (it grows when the server falls behind the rate).",
    ]
    return "\n\n".join(
        [
            "## phase 2: soak",
            markdown(headers, table),
            "\n".join(f"- {note}" for note in notes),
            _kinds_table(soak),
        ]
    )


def _kinds_table(soak: Phase) -> str:
    """Latency by what was sent, over the whole soak: where the time goes."""
    whole = merged(soak.windows)
    rows = [
        [
            kind,
            f"{len(values):,}",
            f"{len(values) / whole.requests:.1%}",
            ms(values, 50),
            ms(values, 99),
            number(max(values) / 1e6),
        ]
        for kind, values in sorted(whole.by_kind.items(), key=lambda item: -len(item[1]))
    ]
    return markdown(["sent", "requests", "share", "p50 ms", "p99 ms", "max ms"], rows)


def memory_section(
    master: int, idle: dict[int, int], before: dict[int, int], after: dict[int, int]
) -> str:
    """VmRSS of each process after start, at the soak's start and end, and its growth."""
    changes = growth(before, after)
    rows = []
    for pid in before:
        change = changes[pid]
        rows.append(
            [
                "master" if pid == master else "worker",
                pid,
                _mib(idle.get(pid)),
                _mib(before[pid]),
                _mib(after[pid]) if pid in after else "gone",
                "gone" if change is None else f"{change:+.1%}",
            ]
        )
    headers = ["process", "pid", "after start", "soak start", "soak end", "growth"]
    return "\n\n".join(
        [
            "## memory (VmRSS, MiB)",
            markdown(headers, rows),
            "- soak start is after phase 1, the server warm; growth is soak start to soak end.",
        ]
    )


def errors_section(probe: Phase, soak: Phase, log: Path) -> str:
    """Errors of both phases by label, and the end of what gunicorn wrote."""
    errors = merged([*probe.windows, *soak.windows]).errors
    parts = ["## errors"]
    if errors:
        parts.append(markdown(["error", "count"], errors.most_common()))
    else:
        parts.append("None.")
    lines = log.read_text(errors="replace").splitlines()
    if lines:
        tail = "\n".join(lines[-20:])
        parts.append(f"gunicorn wrote {len(lines)} lines, the last ones:\n\n```\n{tail}\n```")
    return "\n\n".join(parts)


def verdict(
    probe: Phase,
    soak: Phase,
    before: dict[int, int],
    after: dict[int, int],
    delegations: int,
    totals: tuple[int, int],
) -> str:
    """The targets (0 errors, RSS growth below `RSS_GROWTH_TARGET` in every process) and
    what else to read before trusting the run."""
    errors = sum(w.errors.total() for w in [*probe.windows, *soak.windows])
    worst = max(growth(before, after).values(), key=lambda g: math.inf if g is None else g)
    shown = "a process is gone" if worst is None else f"largest {worst:+.1%}"
    rss_ok = worst is not None and worst < RSS_GROWTH_TARGET
    p99s = [percentile(w.latencies_ns, 99) / 1e6 for w in soak.windows if w.latencies_ns]
    rows = [
        ["errors, both phases", "0", errors, met(errors == 0)],
        ["RSS growth, each process", f"< {RSS_GROWTH_TARGET:.0%}", shown, met(rss_ok)],
        [
            "p99 per window",
            "",
            f"{number(min(p99s))}-{number(max(p99s))} ms, median {number(statistics.median(p99s))}",
            "",
        ],
        ["requests due but not sent", "", f"{soak.unsent:,}", ""],
        [
            "delegations in the database",
            "",
            f"{delegations} at start, {totals[0]:,} at end ({totals[1]:,} not revoked)",
            "",
        ],
    ]
    ok = errors == 0 and rss_ok
    line = (
        f"**verdict: {'targets met' if ok else 'target missed'}** "
        f"(errors {errors}, RSS growth {shown})"
    )
    return "\n\n".join(["## verdict", markdown(["what", "target", "measured", "met?"], rows), line])


def ms(values_ns: list[int], q: float) -> str:
    return number(percentile(values_ns, q) / 1e6) if values_ns else "-"


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f}"


def workers_mib(rss: dict[int, int], master: int) -> str:
    return ", ".join(_mib(kib) for pid, kib in rss.items() if pid != master)


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"

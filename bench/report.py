"""docs/benchmarks.md from one run: the targets first, each shown met or not, then the figures.

The targets are those the engine holds itself to (the performance issue's table); each is
judged from what this run measured, and one this run did not measure says so."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench import cases, decision, replay_memory, startup
from bench import profile as profiles
from bench import replay as replays

# The read model's target: each staff query's p50 at a book of this many claims and events.
TARGET_MS = 20
TARGET_BOOK = (1_000_000, 10_000_000)
CLAIMS_RATIO = 0.8
PAID_P50_MS = 50
WORKER_MB = 300
# `claims audit replay` before it streamed: 17-19 histories a second (one process); the target
# is twice that on two cores.
REPLAY_BEFORE = 18.0


@dataclass
class Findings:
    """What one run measured; a phase not run leaves its field empty."""

    throughput: dict[int, tuple[cases.Run | None, cases.Run | None]] = field(default_factory=dict)
    latency: dict[str, float] | None = None
    decision: dict[str, Any] | None = None
    memory: dict[str, Any] | None = None
    startup: startup.Timings | None = None
    replays: replays.Replays | None = None
    replay_memory: replay_memory.ReplayMemory | None = None
    readmodel: dict[str, Any] = field(default_factory=dict)
    profile: profiles.Profile | None = None


@dataclass(frozen=True)
class Target:
    what: str
    target: str
    figure: str
    met: bool | None  # None: not measured by this run


def _mark(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "not measured"}[met]


def targets(f: Findings) -> list[Target]:
    return [
        _startup(f),
        _decision(f),
        _throughput(f),
        _latency(f),
        _replay(f),
        _replay_memory(f),
        _memory(f),
        _read_model(f),
    ]


def _startup(f: Findings) -> Target:
    what, goal = "any staff command, start to exit (the slowest of them)", "<= 6x python -c pass"
    if f.startup is None:
        return Target(what, goal, "-", None)
    worst = f.startup.worst_ratio()
    return Target(what, goal, f"{worst:.1f}x", worst <= startup.TARGET)


def _decision(f: Findings) -> Target:
    what, goal = "a staff decision (`claims claim approve ... --as`), start to exit", "<= 300 ms"
    if f.decision is None:
        return Target(what, goal, "-", None)
    p50 = f.decision["p50_ms"]
    return Target(what, goal, f"{p50:.0f} ms p50", p50 <= decision.TARGET_MS)


def _throughput(f: Findings) -> Target:
    what = "fast-track claims per second, one worker, against bare six-activity workflows"
    goal = f">= {CLAIMS_RATIO} (ratio)"
    claims, bare = f.throughput.get(1, (None, None))
    if not (claims and bare and claims.rate and bare.rate) or claims.stalled or bare.stalled:
        return Target(what, goal, "-", None)
    ratio = claims.rate / bare.rate
    return Target(
        what, goal, f"{ratio:.2f} ({claims.rate:.1f} vs {bare.rate:.1f}/s)", ratio >= CLAIMS_RATIO
    )


def _latency(f: Findings) -> Target:
    what, goal = "report to paid, p50, idle engine", f"<= {PAID_P50_MS} ms"
    if f.latency is None:
        return Target(what, goal, "-", None)
    p50 = f.latency["paid_p50_ms"]
    return Target(what, goal, f"{p50:.0f} ms", p50 <= PAID_P50_MS)


def _replay(f: Findings) -> Target:
    what = "histories replayed per second (`claims audit replay --jobs 2`, once started)"
    goal = f">= 2x {REPLAY_BEFORE:.0f}/s"
    if f.replays is None:
        return Target(what, goal, "-", None)
    rate = f.replays.claims[2][1]
    return Target(what, goal, f"{rate:.1f}/s", rate >= 2 * REPLAY_BEFORE)


def _replay_memory(f: Findings) -> Target:
    what = "replay memory, 1,000 -> 10,000 histories (`claims audit replay --jobs 1`, VmRSS)"
    goal = f"growth <= {replay_memory.GROWTH_MB:.0f} MB"
    s = f.replay_memory.one() if f.replay_memory else None
    if s is None:
        return Target(what, goal, "-", None)
    first, last = s.samples[0], s.samples[-1]
    full = s.histories >= replay_memory.TARGET_CASES and first.replayed <= 1000
    figure = f"{s.growth_mb():+.1f} MB ({first.rss_mb:.0f} -> {last.rss_mb:.0f} MB)"
    if not full:
        figure += f" ({first.replayed:,} -> {last.replayed:,} histories)"
    return Target(what, goal, figure, s.flat() if full else None)


def _memory(f: Findings) -> Target:
    what = "worker memory with 5,000 claims waiting for approval"
    goal = f"<= {WORKER_MB} MB"
    if f.memory is None:
        return Target(what, goal, "-", None)
    rss, n = f.memory["rss_mb"], f.memory["run"].total
    figure = f"{rss:.0f} MB" + ("" if n == 5000 else f" (with {n:,} claims)")
    return Target(what, goal, figure, rss <= WORKER_MB if n >= 5000 else None)


def _read_model(f: Findings) -> Target:
    what = "`claims tasks` and `claims claim list` at 1,000,000 claims, p50, SQLite and PostgreSQL"
    goal = f"<= {TARGET_MS} ms"
    rm = f.readmodel
    if not rm:
        return Target(what, goal, "-", None)
    worst = max(p for r in rm.values() for p in r["p50_ms"].values())
    claims = min(r["rows"].get("claims", 0) for r in rm.values())
    both = {"SQLite", "PostgreSQL"} <= set(rm)
    full = claims >= TARGET_BOOK[0] and both
    figure = f"{worst:.1f} ms, the slowest" + ("" if full else f" (at {claims:,} claims)")
    return Target(what, goal, figure, worst <= TARGET_MS if full else None)


def targets_section(ts: list[Target]) -> list[str]:
    return [
        "## Targets",
        "",
        "| what | target | this run | |",
        "| --- | --- | --- | --- |",
        *[f"| {t.what} | {t.target} | {t.figure} | {_mark(t.met)} |" for t in ts],
        "",
    ]


def read_model_section(rm: dict[str, Any], repeat: int, book_claims: int) -> list[str]:
    first = next(iter(rm.values()))
    books = {
        b: ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in r["rows"].items())
        for b, r in rm.items()
    }
    book = "; ".join(f"{b}: {c}" for b, c in books.items())
    if len(set(books.values())) == 1:
        book = next(iter(books.values()))
    backends = list(rm)
    return [
        f"Read model of {book}: p50 of {repeat} calls of each function the CLI calls, in "
        "ms (in bold: over the target). Target: `claims tasks`, with or without `--for`, "
        f"and `claims claim list` <= {TARGET_MS} ms p50 on SQLite and on PostgreSQL at "
        f"{TARGET_BOOK[0]:,} claims and {TARGET_BOOK[1]:,} audit events"
        + (" (a smaller book here)." if book_claims < TARGET_BOOK[0] else "."),
        "",
        "| query | " + " | ".join(f"{b} ms" for b in backends) + " |",
        "| --- |" + " --- |" * len(backends),
        *[
            f"| `{q}` | " + " | ".join(_ms(rm[b]["p50_ms"][q]) for b in backends) + " |"
            for q in first["p50_ms"]
        ],
        "| bulk load of the rows, seconds | "
        + " | ".join(f"{rm[b]['load_s']:.0f}" for b in backends)
        + " |",
        "",
    ]


def _ms(p50: float) -> str:
    return f"**{p50:.1f}**" if p50 > TARGET_MS else f"{p50:.1f}"


NOTES = [
    "How: a claim counts as completed when its row in the read model reaches CLOSED, a bare",
    "workflow when a visibility count sees it completed; one query every 100 ms, so the worker",
    "is not loaded by the measuring. Starts go out 64 at a time; the clock runs from the first",
    "start to the last completion. Memory is VmRSS / VmHWM of the worker process from /proc.",
    "Other jobs share this machine: compare figures within one run (the ratios), not across",
    "runs.",
    "",
    "The two-worker ratio is not the engine's figure, the one-worker ratio is: the server, the",
    "workers and this benchmark share two cores, so a second worker process mostly takes CPU",
    "from the server. The bare workflows, whose cost is nearly all the server's, slow down with",
    "it, while the claims, whose cost is mostly their worker's, gain; the ratio rises for that",
    "reason alone.",
    "",
    "Replay memory: the histories are claim histories repeated under distinct workflow ids",
    "(links to the same files, each read, decrypted and replayed as a new case), VmRSS read",
    f"every tenth of the way. The target allows {replay_memory.GROWTH_MB:.0f} MB from 1,000 to",
    "10,000 histories, about 1 KB a history: keeping any part of a case (a decoded history is",
    "some 50 KB) would exceed it many times over, the allocator's own ups and downs do not.",
    "",
]


def render(
    command: str,
    rows: list[tuple[str, str]],
    f: Findings,
    extra: dict[str, Any],
    repeat: int,
    book_claims: int,
) -> str:
    """The whole page: how it was run, the targets, the figures, the profile, history sizes."""
    lines = [
        "# Benchmarks",
        "",
        f"`{command}` on this machine, {extra['setting']}; {extra['load_before']} at the start, "
        f"{extra['load_after']} at the end; {extra['minutes']:.1f} minutes. Workers are separate "
        "processes with the engine's worker settings.",
        "",
        *targets_section(targets(f)),
        "## Figures",
        "",
        "| measure | figure |",
        "| --- | --- |",
        *[f"| {m} | {v} |" for m, v in rows],
        *(
            [f"| committed histories replayed per second, one replayer | {extra['replay']:.1f} |"]
            if extra["replay"] is not None
            else []
        ),
        "",
    ]
    if f.readmodel:
        lines += read_model_section(f.readmodel, repeat, book_claims)
    if f.profile is not None:
        lines += profiles.section(f.profile)
    lines += [
        "History events per case (recorded paths; targets: fast track <= 40, three levels <= 150):",
        "",
        "| path | events |",
        "| --- | --- |",
        *[f"| {k} | {v} |" for k, v in extra["sizes"].items()],
        "",
        *NOTES,
    ]
    return "\n".join(lines)

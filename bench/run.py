"""Measure the engine against Temporal itself on this machine and write docs/benchmarks.md.

    .venv/bin/python -m bench.run [--quick] [--claims 500] [--latency 50] [--memory-claims 5000]
        [--decisions 10]

1. throughput: fast-track claims started at once, completed (CLOSED in the read model) per
   second, against a bare workflow of six no-op activities on the same server and worker
   settings; and the ratio; with one worker process and with two;
2. latency: report to paid (the time on the ledger row) and to closed (polled) of one
   fast-track claim on an idle engine, p50, p95;
3. history size: events per case for each recorded path (tests/histories);
4. replay: histories replayed per second: the committed ones, one replayer; then the throughput
   phase's fast-track claims against its bare workflows, streamed as `claims audit replay`
   streams them, with one process and with two (bench/replay.py); then `replay-memory`:
   10,000 claim histories replayed as `claims audit replay --jobs 1` replays them (and 2,000
   with `--jobs 2`), the replaying processes' memory read every 1,000 (bench/replay_memory.py);
5. read model: `claims tasks` and `claims claim list` p50 at 100,000 claims and 1,000,000
   audit events (`--book-claims 1000000` for the target's book, ten events a claim), on SQLite
   and on PostgreSQL (a scratch schema, dropped afterwards);
6. memory: resident memory of one worker process with 5,000 claims waiting for approval;
7. startup: `claims tasks`, `claims --help` and other staff commands, process start to exit,
   against `python -c pass` (bench/startup.py);
8. decision: `claims claim approve` as staff run it, a fresh process per claim, start to exit,
   and until the claim leaves PENDING_APPROVAL in the read model (bench/decision.py).
The server is the embedded dev server on a SQLite file, started with the flags `claims run`
starts it with (engine.server_storage_flags: the WAL pragmas, the transfer queue's read rate),
and payloads are encrypted as in production (a key made for the run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import demo  # noqa: E402
from bench import cases, decision, readmodel, report, startup  # noqa: E402
from bench import profile as profiles  # noqa: E402
from bench import replay as replays  # noqa: E402
from bench import replay_memory as replay_memories  # noqa: E402
from bench.cases import log  # noqa: E402
from client import data_converter  # noqa: E402
from database import make_engine  # noqa: E402
from engine import server_storage_flags  # noqa: E402
from security.codec import new_key_entry  # noqa: E402
from settings import Settings  # noqa: E402
from workflows import search  # noqa: E402

PG_URL = os.environ.get("CLAIMS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T = TypeVar("T")
# The production path: every payload sealed with AES-GCM, under a key made for the run.
BENCH_KEYS = new_key_entry("bench")
CONVERTER = data_converter(Settings(payload_keys=BENCH_KEYS))
PHASES = (
    "startup",
    "throughput",
    "replay",
    "replay-memory",
    "latency",
    "decision",
    "memory",
    "profile",
    "readmodel",
)
# The generated claim ids have seven digits (bench/readmodel.py).
MAX_BOOK_CLAIMS = 9_999_999
QUICK = {
    "claims": 100,
    "latency": 10,
    "decisions": 5,
    "memory_claims": 500,
    "book_claims": 10_000,
    "book_events": 100_000,
    "repeat": 5,
    "startup_repeat": 5,
    "replay_cases": 2_000,
}


def history_sizes() -> dict[str, int]:
    return {
        p.stem: len(json.loads(p.read_text())["events"])
        for p in sorted((ROOT / "tests" / "histories").glob("*.json"))
    }


async def engine_figures(
    a: argparse.Namespace, tmp: Path, found: report.Findings
) -> list[tuple[str, str]]:
    http_port = cases.free_port()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=CONVERTER,
        search_attributes=list(search.ALL),
        ui=False,
        dev_server_log_level="error",
        dev_server_extra_args=[
            "--http-port",  # the HTTP API staff decisions go over, as `claims run` serves it
            str(http_port),
            *server_storage_flags(tmp / "temporal.db"),
        ],
    )
    rows: list[tuple[str, str]] = []
    stack = contextlib.ExitStack()
    try:
        url = f"sqlite:///{tmp / 'claims.db'}"
        if a.engine_db == "postgresql":  # the read model as a cluster runs it
            url = stack.enter_context(readmodel.scratch_postgres(a.pg_url))
        engine = make_engine(url)
        demo.load(engine)
        host = env.client.service_client.config.target_host
        target = cases.Target(
            address=host,
            db_url=url,
            data_dir=tmp,
            payload_keys=BENCH_KEYS,
            http=f"http://127.0.0.1:{http_port}",
        )
        client, n, stall = env.client, a.claims, a.stall
        ctx = EnginePhase(a, rows, client, target, engine, tmp, found)
        if "throughput" in a.only:
            await throughput(ctx)
        if "replay" in a.only:
            if "throughput" not in a.only:  # the histories replayed are a throughput run's
                log(f"replay: {n} bare workflows and {n} fast-track claims to replay")
                await phase(rows, cases.bare_rate(client, target, n, 1, stall))
                await phase(rows, cases.claims_rate(client, target, engine, n, 1, stall))
            log(f"replay: {n} claims' and {n} bare histories, 1 and 2 processes")
            found.replays = await phase(rows, replays.replay_figures(client, tmp, n, BENCH_KEYS))
            rows += replays.rows(found.replays) if found.replays else []
        if "replay-memory" in a.only:
            mem = replay_memories.figures(tmp, a.replay_cases, stall, BENCH_KEYS)
            found.replay_memory = await phase(rows, mem)
            rows += replay_memories.rows(found.replay_memory) if found.replay_memory else []
        if "latency" in a.only:
            await latency(ctx)
        if "decision" in a.only:
            log(f"decision: {a.decisions} claims approved with the CLI, one at a time")
            dec = await phase(rows, decision.measure(client, target, engine, a.decisions, stall))
            found.decision = dec
            rows += decision.rows(dec) if dec else []
        if "memory" in a.only:
            await memory(ctx)
        if "profile" in a.only:
            log(f"profile: {n} fast-track claims through one worker, sampled by py-spy")
            prof = await phase(rows, profiles.profile(client, target, engine, n, stall))
            found.profile = prof
        engine.dispose()
        return rows
    finally:
        stack.close()
        await env.shutdown()


@dataclass
class EnginePhase:
    """What the engine phases share: the options, the table so far, the server's client, where
    the workers point, the read model and the run's folder."""

    a: argparse.Namespace
    rows: list[tuple[str, str]]
    client: Client
    target: cases.Target
    engine: Engine
    tmp: Path
    found: report.Findings


async def throughput(e: EnginePhase) -> None:
    """Bare workflows, then fast-track claims, all at once, with each worker count."""
    n, stall, rows = e.a.claims, e.a.stall, e.rows
    for w in e.a.workers:
        log(f"throughput: {n} bare workflows, {w} worker process(es)")
        bare = await phase(rows, cases.bare_rate(e.client, e.target, n, w, stall))
        log(f"throughput: {n} fast-track claims, {w} worker process(es)")
        claims = await phase(rows, cases.claims_rate(e.client, e.target, e.engine, n, w, stall))
        e.found.throughput[w] = (claims, bare)
        rows += [
            (f"fast-track claims completed per second ({n} at once, {w} worker(s))", _rate(claims)),
            (f"bare six-activity workflows per second ({n} at once, {w} worker(s))", _rate(bare)),
        ]
        if claims and bare and claims.rate and bare.rate:
            target = " (target >= 0.8)" if w == 1 else " (beside the one-worker ratio, see below)"
            rows.append(
                (f"ratio claims / bare, {w} worker(s){target}", f"{claims.rate / bare.rate:.2f}")
            )


async def latency(e: EnginePhase) -> None:
    log(f"latency: {e.a.latency} claims one at a time")
    lat = await phase(e.rows, cases.latency(e.client, e.target, e.engine, e.a.latency))
    e.found.latency = lat
    if lat:
        e.rows += [
            (
                f"report-to-paid latency p50 / p95, idle engine ({e.a.latency} claims; "
                "target: p50 <= 50 ms): from the report sent to the time on the ledger row",
                f"{lat['paid_p50_ms']:.0f} ms / {lat['paid_p95_ms']:.0f} ms",
            ),
            (
                "report to paid as a poll every 10 ms first saw the ledger row, p50",
                f"{lat['paid_seen_p50_ms']:.0f} ms",
            ),
            (
                "report-to-closed latency p50 / p95",
                f"{lat['closed_p50_ms']:.0f} ms / {lat['closed_p95_ms']:.0f} ms",
            ),
        ]


async def memory(e: EnginePhase) -> None:
    m = e.a.memory_claims
    log(f"memory: {m} claims to PENDING_APPROVAL")
    mem = await phase(e.rows, cases.memory(e.client, e.target, e.engine, m, e.a.stall))
    e.found.memory = mem
    if mem:
        e.rows += [
            (
                f"worker RSS idle / with {m} claims awaiting approval / peak "
                f"(max_cached_workflows {mem['max_cached_workflows']}, workflow task slots "
                f"{mem['workflow_task_slots']}; target <= 300 MB)",
                f"{mem['idle_mb']:.0f} / {mem['rss_mb']:.0f} / {mem['peak_mb']:.0f} MB",
            ),
            ("claims brought to PENDING_APPROVAL for that, per second", _rate(mem["run"])),
        ]


async def phase(rows: list[tuple[str, str]], measure: Awaitable[T]) -> T | None:
    """One measure; a failure is reported in the table and the run goes on."""
    try:
        result = await measure
        log(f"result: {result}")
        return result
    except Exception as exc:  # noqa: BLE001 - any failure is a figure to report
        log(f"failed: {exc!r}")
        rows.append(("failed", f"{type(exc).__name__}: {exc}"))
        return None


def _rate(run: cases.Run | None) -> str:
    if run is None:
        return "-"
    figure = f"{run.rate:.1f}"
    if run.stalled:
        figure += f" (stalled: {run.done} of {run.total} done, then none for the stall period)"
    return figure


def read_model_figures(a: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    out = {}
    log(f"read model: {a.book_claims} claims, {a.book_events} audit events on SQLite")
    sqlite_url = f"sqlite:///{tmp / 'book.db'}"
    out["SQLite"] = readmodel.measure(sqlite_url, a.book_claims, a.book_events, a.repeat)
    if a.pg:
        log("read model: the same on PostgreSQL")
        with readmodel.scratch_postgres(a.pg_url) as url:
            out["PostgreSQL"] = readmodel.measure(url, a.book_claims, a.book_events, a.repeat)
    return out


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


async def main(a: argparse.Namespace) -> str:
    t0 = time.perf_counter()
    load_before = _load()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rows = []
        found = report.Findings()
        if "startup" in a.only:  # first: the machine is quietest before the server starts
            log(f"startup: staff commands, {a.startup_repeat} runs each")
            found.startup = await asyncio.to_thread(
                startup.measure, tmp / "startup", a.startup_repeat
            )
            rows += startup.rows(found.startup)
        rows += await engine_figures(a, tmp, found)
        if a.book_claims and "readmodel" in a.only:
            found.readmodel = read_model_figures(a, tmp)
    extra = {
        "setting": "embedded dev server on SQLite (WAL), the workers' read model on " + a.engine_db,
        "sizes": history_sizes(),
        "replay": await replays.committed_rate(CONVERTER) if "replay" in a.only else None,
        "load_before": load_before,
        "load_after": _load(),
        "minutes": (time.perf_counter() - t0) / 60,
    }
    command = (
        f"python -m bench.run{' --quick' if a.quick else ''}"
        f"{' --engine-db postgresql' if a.engine_db == 'postgresql' else ''}"
        f"{f' --book-claims {a.book_claims}' if a.book_claims != 100_000 else ''}"
    )
    text = report.render(command, rows, found, extra, a.repeat, a.book_claims)
    if a.out:
        Path(a.out).write_text(text)
    return text


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="A smaller run: " + str(QUICK))
    p.add_argument("--claims", type=int, help="Claims (and bare workflows) at once (500).")
    p.add_argument("--latency", type=int, help="Claims timed one at a time (50).")
    p.add_argument("--decisions", type=int, help="Claims approved with the CLI (10).")
    p.add_argument("--memory-claims", type=int, help="Claims waiting for approval (5000).")
    p.add_argument(
        "--book-claims",
        type=int,
        help=f"Read-model claims, up to {MAX_BOOK_CLAIMS:,}; 0 skips it (100000).",
    )
    p.add_argument(
        "--book-events", type=int, help="Read-model audit events (10 per claim: 1000000)."
    )
    p.add_argument("--repeat", type=int, help="Calls per read-model query (20).")
    p.add_argument("--startup-repeat", type=int, help="Runs of each staff command (10).")
    p.add_argument("--replay-cases", type=int, help="Histories for the replay memory (10000).")
    p.add_argument("--workers", default="1,2", help="Worker process counts to compare (1,2).")
    p.add_argument(
        "--stall", type=float, default=120, help="Seconds without progress that end a phase."
    )
    p.add_argument("--pg-url", default=PG_URL, help="PostgreSQL for the read-model figures.")
    p.add_argument("--no-pg", dest="pg", action="store_false", help="SQLite only.")
    p.add_argument(
        "--engine-db",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="The workers' read model for throughput, latency and memory (sqlite).",
    )
    p.add_argument(
        "--only", default=",".join(PHASES), help=f"Comma-separated phases ({','.join(PHASES)})."
    )
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="'' to skip.")
    a = p.parse_args(argv)
    if a.book_claims is not None and a.book_events is None:
        a.book_events = 10 * a.book_claims
    if a.book_claims is not None and not 0 <= a.book_claims <= MAX_BOOK_CLAIMS:
        p.error(f"--book-claims: from 0 to {MAX_BOOK_CLAIMS:,}")
    defaults = (
        QUICK
        if a.quick
        else {
            "claims": 500,
            "latency": 50,
            "decisions": 10,
            "memory_claims": 5000,
            "book_claims": 100_000,
            "book_events": 1_000_000,
            "repeat": 20,
            "startup_repeat": 10,
            "replay_cases": replay_memories.TARGET_CASES,
        }
    )
    for k, v in defaults.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    a.workers = [int(w) for w in a.workers.split(",")]
    a.only = set(a.only.split(","))
    return a


async def interruptible(a: argparse.Namespace) -> str:
    """SIGINT or SIGTERM cancels the run, so its worker processes and server are stopped."""
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    return await main(a)


if __name__ == "__main__":
    try:
        print(asyncio.run(interruptible(parse())))  # noqa: T201
    except asyncio.CancelledError:
        sys.exit("benchmark interrupted")

"""Measure the engine against Temporal itself on this machine and write docs/benchmarks.md.

    .venv/bin/python -m bench.run [--quick] [--claims 500] [--latency 50] [--memory-claims 5000]

1. throughput: fast-track claims started at once, completed (CLOSED in the read model) per
   second, against a bare workflow of six no-op activities on the same server and worker
   settings; and the ratio; with one worker process and with two;
2. latency: report to paid and to closed of one fast-track claim on an idle engine, p50, p95;
3. history size: events per case for each recorded path (tests/histories);
4. replay: histories replayed per second: the committed ones, one replayer; then the throughput
   phase's fast-track claims against its bare workflows, streamed as `claims audit replay`
   streams them, with one process and with two (bench/replay.py);
5. read model: `claims tasks` and `claims claim list` p50 at 100,000 claims and 1,000,000
   audit events (`--book-claims 1000000` for the target's book, ten events a claim), on SQLite
   and on PostgreSQL (a scratch schema, dropped afterwards);
6. memory: resident memory of one worker process with 5,000 claims waiting for approval;
7. startup: `claims tasks`, `claims --help` and other staff commands, process start to exit,
   against `python -c pass` (bench/startup.py).
The server is the embedded dev server on a SQLite file with the WAL pragmas, as `claims run`,
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
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import demo  # noqa: E402
from bench import cases, readmodel, startup  # noqa: E402
from bench import replay as replays  # noqa: E402
from bench.cases import log  # noqa: E402
from client import data_converter  # noqa: E402
from database import make_engine  # noqa: E402
from security.codec import new_key_entry  # noqa: E402
from settings import Settings  # noqa: E402
from worker import WORKFLOWS, workflow_runner  # noqa: E402
from workflows import search  # noqa: E402

PG_URL = os.environ.get("CLAIMS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T = TypeVar("T")
# The production path: every payload sealed with AES-GCM, under a key made for the run.
BENCH_KEYS = new_key_entry("bench")
CONVERTER = data_converter(Settings(payload_keys=BENCH_KEYS))
PHASES = ("startup", "throughput", "replay", "latency", "memory", "readmodel")
# The generated claim ids have seven digits (bench/readmodel.py).
MAX_BOOK_CLAIMS = 9_999_999
# The read model's target: each staff query's p50 at a book of this many claims and events.
TARGET_MS = 20
TARGET_BOOK = (1_000_000, 10_000_000)
QUICK = {
    "claims": 100,
    "latency": 10,
    "memory_claims": 500,
    "book_claims": 10_000,
    "book_events": 100_000,
    "repeat": 5,
    "startup_repeat": 5,
}


def history_sizes() -> dict[str, int]:
    return {
        p.stem: len(json.loads(p.read_text())["events"])
        for p in sorted((ROOT / "tests" / "histories").glob("*.json"))
    }


async def replay_rate(rounds: int = 5) -> float:
    files = sorted((ROOT / "tests" / "histories").glob("*.json"))
    histories = [WorkflowHistory.from_json(f"h-{p.stem}", p.read_text()) for p in files]
    # as `claims audit replay` does it: the workers' sandbox settings
    replayer = Replayer(
        workflows=WORKFLOWS, data_converter=CONVERTER, workflow_runner=workflow_runner()
    )
    t0 = time.perf_counter()
    for _ in range(rounds):
        for h in histories:
            await replayer.replay_workflow(h)
    return rounds * len(histories) / (time.perf_counter() - t0)


async def engine_figures(a: argparse.Namespace, tmp: Path) -> list[tuple[str, str]]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=CONVERTER,
        search_attributes=list(search.ALL),
        ui=False,
        dev_server_log_level="error",
        dev_server_extra_args=[
            "--db-filename",
            f"{tmp}/temporal.db",
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
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
        target = cases.Target(address=host, db_url=url, data_dir=tmp, payload_keys=BENCH_KEYS)
        client, n, stall = env.client, a.claims, a.stall
        for w in a.workers if "throughput" in a.only else ():
            log(f"throughput: {n} bare workflows, {w} worker process(es)")
            bare = await phase(rows, cases.bare_rate(client, target, n, w, stall))
            log(f"throughput: {n} fast-track claims, {w} worker process(es)")
            claims = await phase(rows, cases.claims_rate(client, target, engine, n, w, stall))
            rows += [
                (
                    f"fast-track claims completed per second ({n} at once, {w} worker(s))",
                    _rate(claims),
                ),
                (
                    f"bare six-activity workflows per second ({n} at once, {w} worker(s))",
                    _rate(bare),
                ),
            ]
            if claims and bare and claims.rate and bare.rate:
                ratio = f"{claims.rate / bare.rate:.2f}"
                rows.append((f"ratio claims / bare, {w} worker(s) (target >= 0.8)", ratio))
        if "replay" in a.only:
            if "throughput" not in a.only:  # the histories replayed are a throughput run's
                log(f"replay: {n} bare workflows and {n} fast-track claims to replay")
                await phase(rows, cases.bare_rate(client, target, n, 1, stall))
                await phase(rows, cases.claims_rate(client, target, engine, n, 1, stall))
            log(f"replay: {n} claims' and {n} bare histories, 1 and 2 processes")
            replayed = replays.replay_figures(client, tmp, n, BENCH_KEYS)
            rows += await phase(rows, replayed) or []
        lat = None
        if "latency" in a.only:
            log(f"latency: {a.latency} claims one at a time")
            lat = await phase(rows, cases.latency(client, target, engine, a.latency))
        if lat:
            rows += [
                (
                    f"report-to-paid latency p50 / p95, idle engine ({a.latency} claims)",
                    f"{lat['paid_p50_ms']:.0f} ms / {lat['paid_p95_ms']:.0f} ms",
                ),
                (
                    "report-to-closed latency p50 / p95",
                    f"{lat['closed_p50_ms']:.0f} ms / {lat['closed_p95_ms']:.0f} ms",
                ),
            ]
        m = a.memory_claims
        mem = None
        if "memory" in a.only:
            log(f"memory: {m} claims to PENDING_APPROVAL")
            mem = await phase(rows, cases.memory(client, target, engine, m, stall))
        if mem:
            rows += [
                (
                    f"worker RSS idle / with {m} claims awaiting approval / peak "
                    f"(max_cached_workflows {mem['max_cached_workflows']}, workflow task slots "
                    f"{mem['workflow_task_slots']}; target <= 600 MB)",
                    f"{mem['idle_mb']:.0f} / {mem['rss_mb']:.0f} / {mem['peak_mb']:.0f} MB",
                ),
                ("claims brought to PENDING_APPROVAL for that, per second", _rate(mem["run"])),
            ]
        engine.dispose()
        return rows
    finally:
        stack.close()
        await env.shutdown()


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


def render(
    a: argparse.Namespace, rows: list[tuple[str, str]], rm: dict[str, Any], extra: dict[str, Any]
) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"`python -m bench.run{' --quick' if a.quick else ''}"
        f"{' --engine-db postgresql' if a.engine_db == 'postgresql' else ''}` on this machine, "
        f"embedded dev server on SQLite (WAL), the workers' read model on {a.engine_db}; "
        f"{extra['load_before']} at the start, {extra['load_after']} "
        f"at the end; {extra['minutes']:.1f} minutes. Workers are separate processes with the "
        "engine's worker settings.",
        "",
        "| measure | figure |",
        "| --- | --- |",
        *[f"| {m} | {f} |" for m, f in rows],
        *(
            [f"| committed histories replayed per second, one replayer | {extra['replay']:.1f} |"]
            if extra["replay"] is not None
            else []
        ),
        "",
    ]
    if rm:
        first = next(iter(rm.values()))
        books = {
            b: ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in r["rows"].items())
            for b, r in rm.items()
        }
        book = "; ".join(f"{b}: {c}" for b, c in books.items())
        if len(set(books.values())) == 1:
            book = next(iter(books.values()))
        backends = list(rm)
        lines += [
            f"Read model of {book}: p50 of {a.repeat} calls of each function the CLI calls, in "
            "ms (in bold: over the target). Target: `claims tasks`, with or without `--for`, "
            f"and `claims claim list` <= {TARGET_MS} ms p50 on SQLite and on PostgreSQL at "
            f"{TARGET_BOOK[0]:,} claims and {TARGET_BOOK[1]:,} audit events"
            + (" (a smaller book here)." if a.book_claims < TARGET_BOOK[0] else "."),
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
]


async def main(a: argparse.Namespace) -> str:
    t0 = time.perf_counter()
    load_before = _load()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rows = []
        if "startup" in a.only:  # first: the machine is quietest before the server starts
            log(f"startup: staff commands, {a.startup_repeat} runs each")
            rows += await asyncio.to_thread(startup.figures, tmp / "startup", a.startup_repeat)
        rows += await engine_figures(a, tmp)
        rm = read_model_figures(a, tmp) if a.book_claims and "readmodel" in a.only else {}
    extra = {
        "sizes": history_sizes(),
        "replay": await replay_rate() if "replay" in a.only else None,
        "load_before": load_before,
        "load_after": _load(),
        "minutes": (time.perf_counter() - t0) / 60,
    }
    text = render(a, rows, rm, extra)
    if a.out:
        Path(a.out).write_text(text)
    return text


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="A smaller run: " + str(QUICK))
    p.add_argument("--claims", type=int, help="Claims (and bare workflows) at once (500).")
    p.add_argument("--latency", type=int, help="Claims timed one at a time (50).")
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
            "memory_claims": 5000,
            "book_claims": 100_000,
            "book_events": 1_000_000,
            "repeat": 20,
            "startup_repeat": 10,
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

"""The engine under load: throughput against the bare yardstick, latency, worker memory.

Workers run as separate processes (bench/worker.py) so that their CPU and memory are theirs
alone and the figure with two workers is real scale-out. Completion is read from the read
model (claims) or counted by a visibility query (bare workflows), one cheap query every
100 ms: asking each open case for its status would load the worker being measured.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.service import RPCError

from bench.bare import BareSixActivities
from client import start_claim
from models.claim import ClaimReport
from models.tables import ClaimRow, PaymentRow, PolicyRow
from tests.factories import medical_report

ROOT = Path(__file__).resolve().parent.parent
POLL = 0.1
STARTS_IN_FLIGHT = 64


def free_port() -> int:
    """A port nothing listens on now, for a server the benchmark starts."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Target:
    """Where the benchmark's workers point: the server, the read model, the data folder, and
    the payload keys they encrypt with."""

    address: str
    db_url: str
    data_dir: Path
    payload_keys: str | None = None  # None: as the environment says
    http: str | None = None  # the server's HTTP API, which staff decisions are sent over

    def env(self, task_queue: str) -> dict[str, str]:
        """The workers' environment: the bench's own server in plain text, whatever Temporal
        connection settings (a profile, TLS, an API key) the caller's environment holds."""
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")},
            "TEMPORAL_CONFIG_FILE": os.devnull,  # no temporal.toml profile
            "TEMPORAL_ADDRESS": self.address,
            "CLAIMS_TASK_QUEUE": task_queue,
            "CLAIMS_DATABASE_URL": self.db_url,
            "CLAIMS_DATA_DIR": str(self.data_dir),
        }
        if self.payload_keys:
            env["CLAIMS_PAYLOAD_KEYS"] = self.payload_keys
        if self.http:
            env["CLAIMS_TEMPORAL_HTTP"] = self.http
        return env


class WorkerProcess:
    """`python -m bench.worker` as a child process; its memory read from /proc.

    A plain Popen waited on in a thread: an asyncio subprocess only reports its exit once its
    pipes are closed too, and a wedged worker can keep the run waiting on that forever."""

    def __init__(self, target: Target, task_queue: str, bare: bool = False) -> None:
        self.args = [sys.executable, "-m", "bench.worker"] + (["--bare"] if bare else [])
        self.env = target.env(task_queue)
        self.proc: subprocess.Popen[bytes] | None = None
        self.config: dict[str, Any] = {}

    async def start(self) -> None:
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), timeout=120)
        self.proc.stdout.close()  # the worker writes nothing after its ready line
        if not line:
            raise RuntimeError(f"benchmark worker exited with {self.proc.wait()}")
        self.config = json.loads(line)

    def memory_mb(self) -> dict[str, float]:
        """Resident memory now (VmRSS) and at its peak (VmHWM), in MB."""
        assert self.proc is not None
        fields = {}
        for ln in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            name, _, value = ln.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
        return {"rss_mb": fields["VmRSS"], "peak_mb": fields["VmHWM"]}

    async def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.to_thread(self.proc.wait, 30)
        except subprocess.TimeoutExpired:
            log(f"worker {self.proc.pid} did not stop in 30 s: killed")
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait)


def log(msg: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {msg}\n")


@asynccontextmanager
async def workers(
    target: Target, task_queue: str, count: int, bare: bool = False
) -> AsyncIterator[list[WorkerProcess]]:
    async with AsyncExitStack() as stack:
        procs = [WorkerProcess(target, task_queue, bare) for _ in range(count)]
        for p in procs:
            stack.push_async_callback(p.stop)
        await asyncio.gather(*(p.start() for p in procs))
        yield procs


# --------------------------------------------------------------------------------------------
# Cases to run: one policy and insured per claim, so the frequency rule (R03) does not send
# every claim of a batch to investigation.
# --------------------------------------------------------------------------------------------


def add_policies(engine: Engine, tag: str, n: int) -> None:
    with Session(engine) as s:
        base = s.get(PolicyRow, "P-MED-0001")
        assert base is not None, "load the demo data first"
        template = base.model_dump()
    rows = [
        {**template, "policy_no": f"P-{tag}-{i:05d}", "insured_id_no": _id_no(tag, i)}
        for i in range(n)
    ]
    with engine.begin() as conn:
        conn.execute(insert(PolicyRow), rows)


def _id_no(tag: str, i: int) -> str:
    return f"B{zlib.crc32(tag.encode()) % 10**6:06d}{i:011d}"


def report(tag: str, i: int, amount: str = "1800.00") -> ClaimReport:
    """A fast-track medical claim; an amount above 5,000 stops it for human approval."""
    return medical_report(
        claim_id=f"{tag}-{i:05d}",
        policy_no=f"P-{tag}-{i:05d}",
        # a mobile number an SMS reaches: each claim's notices go out as a real claim's do
        claimant={"name": "测试", "id_no": _id_no(tag, i), "phone": f"139{i:08d}"},
        amount_claimed=Decimal(amount),
        items=[{"category": "treatment", "description": "诊疗费", "amount": amount}],
    )


def claims_at(engine: Engine, tag: str, stage: str) -> int:
    with Session(engine) as s:
        q = select(func.count()).where(
            col(ClaimRow.claim_id).startswith(f"{tag}-"), ClaimRow.stage == stage
        )
        return s.exec(q).one()


@dataclass
class Run:
    """How far a batch got: `done` of `total` by `seconds` after the first start (the time of
    the last completion seen); `stalled` when nothing completed for the stall period."""

    done: int
    total: int
    seconds: float
    stalled: bool

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0


async def until_done(
    count: Callable[[], Awaitable[int]], total: int, t0: float, stall: float, period: float = POLL
) -> Run:
    """Poll `count` until it reaches `total`, or until it has not moved for `stall` seconds (a
    wedged worker is a finding to report, not a reason to lose the rest of the run)."""
    last, moved = -1, time.perf_counter()
    while True:
        done = await count()
        now = time.perf_counter()
        if done != last:
            last, moved = done, now
        if done >= total or now - moved > stall:
            return Run(done, total, moved - t0, stalled=done < total)
        await asyncio.sleep(period)


async def start_all(client: Client, reports: list[ClaimReport], task_queue: str) -> None:
    sem = asyncio.Semaphore(STARTS_IN_FLIGHT)

    async def one(r: ClaimReport) -> None:
        async with sem:
            for attempt in range(5):
                try:
                    await start_claim(client, r, task_queue)
                    return
                except RPCError:  # a busy server drops a start now and then; one id, one claim
                    if attempt == 4:
                        raise
                    await asyncio.sleep(2**attempt)

    await asyncio.gather(*(one(r) for r in reports))


# --------------------------------------------------------------------------------------------
# Measures
# --------------------------------------------------------------------------------------------


async def claims_rate(
    client: Client, target: Target, engine: Engine, n: int, worker_count: int, stall: float
) -> Run:
    """Fast-track claims: all started at once, first start to last CLOSED."""
    tag = f"TP{worker_count}{uuid.uuid4().hex[:4].upper()}"
    add_policies(engine, tag, n)
    reports = [report(tag, i) for i in range(n)]
    queue = f"bench-claims-{tag}"

    async def closed() -> int:
        return await asyncio.to_thread(claims_at, engine, tag, "CLOSED")

    async with workers(target, queue, worker_count):
        t0 = time.perf_counter()
        await start_all(client, reports, queue)
        return await until_done(closed, n, t0, stall)


async def bare_rate(client: Client, target: Target, n: int, worker_count: int, stall: float) -> Run:
    """Bare six-activity workflows, started and timed the same way."""
    queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    sem = asyncio.Semaphore(STARTS_IN_FLIGHT)

    async def one(i: int) -> None:
        async with sem:
            await client.start_workflow(
                BareSixActivities.run, f"b{i}", id=f"{queue}-{i}", task_queue=queue
            )

    async def completed() -> int:
        q = f"TaskQueue = '{queue}' AND ExecutionStatus = 'Completed'"
        return (await client.count_workflows(q)).count

    async with workers(target, queue, worker_count, bare=True):
        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return await until_done(completed, n, t0, stall)


async def latency(client: Client, target: Target, engine: Engine, n: int) -> dict[str, float]:
    """Report to paid and to CLOSED, one claim at a time on an idle engine. Paid is the time on
    the claim's ledger row (taken as the rail answered, just before the row is written), from
    the moment the report is sent; CLOSED, and when a poll every 10 ms first saw the ledger
    row, are polled (the poll adds up to 10 ms and the read)."""
    tag = f"LAT{uuid.uuid4().hex[:4].upper()}"
    add_policies(engine, tag, n)
    queue = f"bench-latency-{tag}"
    paid: list[float] = []
    seen: list[float] = []
    closed: list[float] = []

    def look(claim_id: str) -> tuple[datetime | None, bool]:
        with Session(engine) as s:
            row = s.get(ClaimRow, claim_id)
            pay = s.exec(select(PaymentRow.paid_at).where(PaymentRow.claim_id == claim_id))
            return pay.first(), row is not None and row.stage == "CLOSED"

    async with workers(target, queue, 1):
        for i in range(n):
            r = report(tag, i)
            claim_id = r.claim_id
            assert claim_id is not None  # report() names every claim
            sent, t0 = time.time(), time.perf_counter()
            await start_claim(client, r, queue)
            t_seen = None
            while True:
                paid_at, is_closed = await asyncio.to_thread(look, claim_id)
                now = time.perf_counter()
                if paid_at is not None and t_seen is None:
                    t_seen = now - t0
                    at = paid_at if paid_at.tzinfo else paid_at.replace(tzinfo=UTC)
                    paid.append(at.timestamp() - sent)
                if is_closed:
                    seen.append(t_seen if t_seen is not None else now - t0)
                    closed.append(now - t0)
                    break
                if now - t0 > 60:
                    raise RuntimeError(f"claim {r.claim_id} did not close in 60 s")
                await asyncio.sleep(0.01)
    return {
        "paid_p50_ms": statistics.median(paid) * 1000,
        "paid_p95_ms": _p95(paid) * 1000,
        "paid_seen_p50_ms": statistics.median(seen) * 1000,
        "closed_p50_ms": statistics.median(closed) * 1000,
        "closed_p95_ms": _p95(closed) * 1000,
    }


def _p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, round(len(xs) * 0.95) - 1)]


async def memory(
    client: Client, target: Target, engine: Engine, n: int, stall: float
) -> dict[str, Any]:
    """Resident memory of one worker process with `n` claims waiting for approval."""
    tag = f"MEM{uuid.uuid4().hex[:4].upper()}"
    add_policies(engine, tag, n)
    reports = [report(tag, i, amount="8000.00") for i in range(n)]
    queue = f"bench-memory-{tag}"

    async def waiting() -> int:
        return await asyncio.to_thread(claims_at, engine, tag, "PENDING_APPROVAL")

    async with workers(target, queue, 1) as (proc,):
        idle = proc.memory_mb()
        t0 = time.perf_counter()
        await start_all(client, reports, queue)
        run = await until_done(waiting, n, t0, stall, period=0.5)
        await asyncio.sleep(2)  # let the last workflow tasks finish and the cache settle
        loaded = proc.memory_mb()
        return {
            "run": run,
            "idle_mb": idle["rss_mb"],
            "rss_mb": loaded["rss_mb"],
            "peak_mb": loaded["peak_mb"],
            "max_cached_workflows": proc.config["max_cached_workflows"],
            "workflow_task_slots": proc.config["max_concurrent_workflow_tasks"],
        }

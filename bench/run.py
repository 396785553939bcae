"""Measure the engine against Temporal itself on this machine and write docs/benchmarks.md.

    .venv/bin/python -m bench.run [--claims 200] [--latency 30]

1. throughput: fast-track claims started at once, completed per second, against a bare
   workflow of six no-op activities on the same server and worker settings; and the ratio;
2. latency: report-to-closed of one fast-track claim on an idle engine, p50 and p95;
3. history size: events per case for each recorded path (tests/histories);
4. replay: histories replayed per second.
The server is the embedded dev server on a SQLite file with the WAL pragmas, as `claims run`,
and payloads are encrypted as in production (a key made for the run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import demo  # noqa: E402
from bench.bare import BareSixActivities, noop  # noqa: E402
from client import data_converter, start_claim  # noqa: E402
from database import make_engine  # noqa: E402
from security.codec import new_key_entry  # noqa: E402
from settings import Settings  # noqa: E402
from tests.factories import medical_report  # noqa: E402
from worker import WORKFLOWS, build_worker  # noqa: E402
from workflows import search  # noqa: E402
from workflows.claim import ClaimWorkflow  # noqa: E402

# The production path: every payload sealed with AES-GCM.
BENCH_KEYS = new_key_entry("bench")


def _bench_policies(engine, n: int, offset: int = 0) -> None:  # type: ignore[no-untyped-def]
    """One policy and insured per claim: the same insured claiming 200 times would trip the
    frequency rule (R03) and send every claim to investigation instead of the fast track."""
    from sqlmodel import Session

    from models.tables import PolicyRow

    with Session(engine) as s:
        base = s.get(PolicyRow, "P-MED-0001")
        assert base is not None
        for i in range(offset, offset + n):
            s.merge(
                PolicyRow(
                    **{
                        **base.model_dump(),
                        "policy_no": f"P-BENCH-{i:05d}",
                        "insured_id_no": f"B{i:017d}",
                    }
                )
            )
        s.commit()


def _report(i: int):  # type: ignore[no-untyped-def]
    return medical_report(
        policy_no=f"P-BENCH-{i:05d}",
        claimant={"name": "测试", "id_no": f"B{i:017d}", "phone": "1"},
    )


async def _until_closed(client: Client, claim_ids: list[str], timeout: float = 600) -> None:
    pending = set(claim_ids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for cid in list(pending):
            handle = client.get_workflow_handle_for(ClaimWorkflow.run, f"claim-{cid}")
            try:
                if (await handle.query(ClaimWorkflow.status)).stage == "CLOSED":
                    pending.discard(cid)
            except Exception:  # noqa: BLE001 - not started yet
                pass
        await asyncio.sleep(0.05)
    if pending:
        raise RuntimeError(f"{len(pending)} claims did not close")


async def throughput(client: Client, settings: Settings, engine, n: int) -> dict:  # type: ignore[no-untyped-def]
    queue = f"bench-bare-{uuid.uuid4().hex[:6]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[BareSixActivities],
        activities=[noop],
        activity_executor=ThreadPoolExecutor(32),
        max_concurrent_activities=32,
    ):
        t0 = time.perf_counter()
        handles = await asyncio.gather(
            *[
                client.start_workflow(
                    BareSixActivities.run, f"b{i}", id=f"bare-{uuid.uuid4()}", task_queue=queue
                )
                for i in range(n)
            ]
        )
        await asyncio.gather(*[h.result() for h in handles])
        bare = n / (time.perf_counter() - t0)
    async with build_worker(client, settings, engine=engine):
        reports = [_report(i) for i in range(n)]
        t0 = time.perf_counter()
        await asyncio.gather(*[start_claim(client, r, settings.task_queue) for r in reports])
        await _until_closed(client, [r.claim_id for r in reports])
        claims = n / (time.perf_counter() - t0)
    return {"claims_per_s": claims, "bare_per_s": bare, "ratio": claims / bare}


async def latency(client: Client, settings: Settings, engine, n: int) -> dict:  # type: ignore[no-untyped-def]
    times = []
    async with build_worker(client, settings, engine=engine):
        for i in range(n):
            r = _report(100_000 + i)
            t0 = time.perf_counter()
            await start_claim(client, r, settings.task_queue)
            await _until_closed(client, [r.claim_id])
            times.append(time.perf_counter() - t0)
    times.sort()
    return {
        "p50_ms": statistics.median(times) * 1000,
        "p95_ms": times[max(0, int(len(times) * 0.95) - 1)] * 1000,
    }


def history_sizes() -> dict[str, int]:
    return {
        p.stem: len(json.loads(p.read_text())["events"])
        for p in sorted((ROOT / "tests" / "histories").glob("*.json"))
    }


async def replay_rate(rounds: int = 5) -> float:
    files = sorted((ROOT / "tests" / "histories").glob("*.json"))
    histories = [WorkflowHistory.from_json(f"h-{p.stem}", p.read_text()) for p in files]
    converter = data_converter(Settings(payload_keys=BENCH_KEYS))
    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter)
    t0 = time.perf_counter()
    for _ in range(rounds):
        for h in histories:
            await replayer.replay_workflow(h)
    return rounds * len(histories) / (time.perf_counter() - t0)


async def main(n: int, m: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
            data_converter=data_converter(Settings(payload_keys=BENCH_KEYS)),
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
        try:
            settings = Settings(
                temporal_address="x:1",
                data_dir=Path(tmp),
                task_queue=f"bench-claims-{uuid.uuid4().hex[:6]}",
                payload_keys=BENCH_KEYS,
            )
            engine = make_engine(settings.db_url)
            demo.load(engine)
            _bench_policies(engine, n)
            _bench_policies(engine, m, offset=100_000)
            tp = await throughput(env.client, settings, engine, n)
            lat = await latency(env.client, settings, engine, m)
        finally:
            await env.shutdown()
    sizes = history_sizes()
    rate = await replay_rate()
    lines = [
        "# Benchmarks",
        "",
        "`python -m bench.run` on this machine (2 cores), embedded dev server on SQLite (WAL).",
        "",
        "| measure | figure |",
        "| --- | --- |",
        f"| fast-track claims completed per second ({n} at once) | {tp['claims_per_s']:.1f} |",
        f"| bare six-activity workflows per second ({n} at once) | {tp['bare_per_s']:.1f} |",
        f"| ratio claims / bare (target >= 0.8) | {tp['ratio']:.2f} |",
        f"| report-to-closed latency p50 / p95, idle engine ({m} claims) | "
        f"{lat['p50_ms']:.0f} ms / {lat['p95_ms']:.0f} ms |",
        f"| histories replayed per second | {rate:.1f} |",
        "",
        "History events per case (recorded paths; targets: fast track <= 40, three levels <= 150):",
        "",
        "| path | events |",
        "| --- | --- |",
        *[f"| {k} | {v} |" for k, v in sizes.items()],
        "",
    ]
    text = "\n".join(lines)
    (ROOT / "docs" / "benchmarks.md").write_text(text)
    print(text)  # noqa: T201


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--latency", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.claims, args.latency))

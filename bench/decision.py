"""A staff decision as staff make it: `claims claim approve ID --as adj1 --note ...`, a fresh
process each time, start to exit, on an idle engine with one worker; next to `python -c pass`,
and the time until the claim has left PENDING_APPROVAL in the read model.

The claims are the benchmark's medical claims of 8,000.00, which stop for one L1 approval; the
approver signs with the demo key that `claims demo load` writes to `<data folder>/keys/`
(README "Signed decisions"). The command's environment is a worker's (cases.Target.env): the
bench's server, read model, data folder and payload keys.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.client import Client

import demo
from bench import cases

ROOT = Path(__file__).resolve().parent.parent
CLAIMS = Path(sys.executable).parent / "claims"
APPROVER = "adj1"  # L1: the 8,000.00 claims need one L1 approval (models/catalog.py limits)
NOTE = "材料齐全，理算无误"
TARGET_MS = 300


def command(claim_id: str) -> list[str]:
    """The README's approval, as staff type it."""
    return [str(CLAIMS), "claim", "approve", claim_id, "--as", APPROVER, "--note", NOTE]


def _stage(engine: Engine, claim_id: str) -> str | None:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT stage FROM claims WHERE claim_id = :id"), {"id": claim_id}
        ).first()
    return None if row is None else str(row[0])


def _wall(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, done


async def measure(
    client: Client, target: cases.Target, engine: Engine, n: int, stall: float = 120
) -> dict[str, Any]:
    """`n` claims brought to PENDING_APPROVAL, then approved one at a time by the CLI."""
    tag = f"DEC{uuid.uuid4().hex[:4].upper()}"
    demo.load(engine, keys_dir=target.data_dir / "keys")  # the demo staff's signing keys
    cases.add_policies(engine, tag, n)
    reports = [cases.report(tag, i, amount="8000.00") for i in range(n)]
    queue = f"bench-decision-{tag}"
    env = target.env(queue)
    walls: list[float] = []
    left: list[float] = []
    python: list[float] = []

    async def waiting() -> int:
        return await asyncio.to_thread(cases.claims_at, engine, tag, "PENDING_APPROVAL")

    async with cases.workers(target, queue, 1):
        await cases.start_all(client, reports, queue)
        run = await cases.until_done(waiting, n, time.perf_counter(), stall)
        if run.stalled:
            raise RuntimeError(f"only {run.done} of {n} claims reached PENDING_APPROVAL")
        await asyncio.sleep(1)  # the engine idle again: the last projections written
        for r in reports:
            claim_id = r.claim_id
            assert claim_id is not None
            py, _ = await asyncio.to_thread(_wall, [sys.executable, "-c", "pass"], env)
            python.append(py)
            t0 = time.perf_counter()
            wall, done = await asyncio.to_thread(_wall, command(claim_id), env)
            if done.returncode != 0:
                raise RuntimeError(f"claims claim approve {claim_id}: {done.stderr.strip()}")
            walls.append(wall)
            while await asyncio.to_thread(_stage, engine, claim_id) == "PENDING_APPROVAL":
                if time.perf_counter() - t0 > 60:
                    raise RuntimeError(f"claim {claim_id} still PENDING_APPROVAL after 60 s")
                await asyncio.sleep(0.005)
            left.append(time.perf_counter() - t0)
    return {
        "n": n,
        "p50_ms": statistics.median(walls) * 1000,
        "p95_ms": cases._p95(walls) * 1000,
        "python_ms": statistics.median(python) * 1000,
        "left_p50_ms": statistics.median(left) * 1000,
        "left_p95_ms": cases._p95(left) * 1000,
        "output": done.stdout.strip(),
    }


def rows(fig: dict[str, Any]) -> list[tuple[str, str]]:
    """The table's rows: the command against `python -c pass`, and the claim leaving
    PENDING_APPROVAL in the read model (from the command's start)."""
    over = " (over)" if fig["p50_ms"] > TARGET_MS else ""
    return [
        (
            f"a staff decision, `claims claim approve ID --as {APPROVER} --note ...`, start to "
            f"exit, p50 / p95, idle engine, {fig['n']} claims (target <= {TARGET_MS} ms); "
            "`python -c pass`",
            f"{fig['p50_ms']:.0f} ms / {fig['p95_ms']:.0f} ms{over}; {fig['python_ms']:.0f} ms "
            f"= {fig['p50_ms'] / fig['python_ms']:.1f}x",
        ),
        (
            "the decided claim out of PENDING_APPROVAL in the read model, from the command's "
            "start, p50 / p95",
            f"{fig['left_p50_ms']:.0f} ms / {fig['left_p95_ms']:.0f} ms",
        ),
    ]

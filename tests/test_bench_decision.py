"""The benchmark's staff decision, small: `claims claim approve` run as staff run it, a process
of its own per claim, against the dev server and one worker process (bench/decision.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from bench import cases, decision
from database import make_engine


async def test_a_tiny_run_times_the_cli_approving_claims(dev_env, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    engine = make_engine(url)
    client = dev_env.client
    target = cases.Target(client.service_client.config.target_host, url, tmp_path)
    try:
        fig = await decision.measure(client, target, engine, 2, stall=60)
        with engine.connect() as conn:
            q = text("SELECT stage FROM claims WHERE claim_id LIKE 'DEC%'")
            stages = [stage for (stage,) in conn.execute(q)]
    finally:
        engine.dispose()
        # The approved claims go on to payment without their worker: end them here.
        async for wf in client.list_workflows("ExecutionStatus = 'Running'"):
            if wf.task_queue.startswith("bench-decision-"):
                await client.get_workflow_handle(wf.id).terminate("benchmark test finished")
    assert fig["n"] == 2
    assert fig["output"].endswith("approve by adj1 recorded; approval chain complete")
    assert 0 < fig["python_ms"] and 0 < fig["p50_ms"] <= fig["p95_ms"]
    assert fig["p50_ms"] <= fig["left_p50_ms"]  # out of PENDING_APPROVAL once the command is done
    assert len(stages) == 2 and "PENDING_APPROVAL" not in stages
    (command, figure), (left, _) = decision.rows(fig)
    assert "(target <= 300 ms)" in command and figure.endswith("x")
    assert "PENDING_APPROVAL" in left

"""`python worker.py` as its own process against a server that has never seen the engine:
it registers the search attributes it needs and runs claims to the end."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

import demo
from client import start_claim
from database import make_engine
from tests.claimtools import payments, wait_stage
from tests.conftest import CONVERTER, TEMPORAL_BIN
from tests.factories import medical_report
from workflows import search

ROOT = Path(__file__).resolve().parent.parent


async def test_worker_process_registers_search_attributes_and_runs_a_claim(tmp_path):
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=TEMPORAL_BIN,
        data_converter=CONVERTER,
        ui=False,
        dev_server_log_level="error",
    )
    data_dir = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data_dir / 'claims.db'}")
    demo.load(engine)
    address = env.client.service_client.config.target_host
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "worker.py")],
        env={
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "CLAIMS_DATA_DIR": str(data_dir),
            "CLAIMS_TASK_QUEUE": "claims-worker-test",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        names: set[str] = set()
        for _ in range(100):
            listed = await env.client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace="default")
            )
            names = set(listed.custom_attributes)
            if {k.name for k in search.ALL} <= names:
                break
            await asyncio.sleep(0.1)
        assert {k.name for k in search.ALL} <= names

        report = medical_report()
        await start_claim(env.client, report, "claims-worker-test")
        # a closed claim stays reachable for re-review, so wait for the stage, not the end
        st = await wait_stage(env.client, report.claim_id, "CLOSED", timeout=30)
        assert st.payable_amount == Decimal("1040.00")
        assert [p.amount for p in payments(engine, report.claim_id)] == [Decimal("1040.00")]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        await env.shutdown()
    assert proc.returncode in (0, -15), out
    assert "registered search attributes" in out
    assert "read model at revision" in out  # the upgrade at start: nothing to do here


def test_a_worker_sets_its_start_up_aside_from_the_garbage_collector():
    """`settle_collector` (run before the worker polls): the start-up's objects frozen out of
    the collector's passes. In a process of its own: the setting is the whole process's."""
    probe = (
        "import gc, worker; before = gc.get_freeze_count(); kept = gc.get_threshold(); "
        "worker.settle_collector(); "
        "print(before, gc.get_freeze_count() > 10_000, gc.get_threshold() == kept)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["0", "True", "True"]  # frozen; Python's thresholds kept

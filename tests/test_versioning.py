"""A change to workflow code while cases are open, done as the README says: NextDueTime was
added behind `workflow.patched("next-due-time")` after the histories in tests/histories were
recorded. Those histories still replay, and new cases carry the new search attribute."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from client import start_claim
from tests.claimtools import handle_for, wait_stage
from tests.factories import medical_report
from worker import WORKFLOWS

HISTORIES = Path(__file__).parent / "histories"


async def test_histories_recorded_before_the_patch_still_replay():
    files = sorted(HISTORIES.glob("*.json"))
    assert files
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "next-due-time" not in text, f"{path.name} was recorded after the change"
        history = WorkflowHistory.from_json(f"recorded-{path.stem}", text)
        await replayer.replay_workflow(history)  # raises on any non-determinism


async def test_new_cases_take_the_patched_branch_and_carry_next_due_time(dev):
    report = medical_report(
        amount_claimed=Decimal("8000"), items=[{"category": "treatment", "amount": "8000"}]
    )
    await start_claim(dev.client, report, dev.task_queue)
    st = await wait_stage(dev.client, report.claim_id, "PENDING_APPROVAL")
    described = await handle_for(dev.client, report.claim_id).describe()
    attrs = {p.key.name: p.value for p in described.typed_search_attributes}
    assert "next-due-time" in attrs["TemporalChangeVersion"]
    running = [d.due_at for d in st.deadlines if d.status == "running"]
    assert attrs["NextDueTime"] == min(running)

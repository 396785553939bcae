"""Workflows log their stage changes and their refusals and breaches through workflow.logger:
the case id and the stage, never a name, id number or phone; nothing while a history replays."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

import commands.audit
from client import start_claim
from models.claim import Decision
from tests.claimtools import handle_for, signed, status, wait_stage
from tests.factories import ZHANG, medical_report
from workflows.claim import ClaimWorkflow
from workflows.complaint import ComplaintWorkflow

HISTORIES = Path(__file__).parent / "histories"
PERSONAL = (ZHANG["name"], ZHANG["id_no"], ZHANG["phone"], ZHANG["id_no"][-4:])


def _lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "temporalio.workflow"]


async def test_stage_changes_and_refusals_are_logged_without_personal_data(ts, caplog):
    caplog.set_level(logging.INFO, logger="temporalio.workflow")
    report = medical_report(
        amount_claimed=Decimal("8000.00"),
        items=[{"category": "treatment", "description": "治疗费", "amount": "8000.00"}],
    )
    await start_claim(ts.client, report, ts.task_queue)
    handle = handle_for(ts.client, report.claim_id)
    await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    await handle.signal(
        ClaimWorkflow.decision_signal,
        await signed(handle, Decision(approver="inv1", decision="approve")),
    )
    for _ in range(100):
        if (await status(ts.client, report.claim_id)).refused_decisions:
            break
    lines = _lines(caplog)
    for stage in ("REPORTED", "ACCEPTED", "PENDING_APPROVAL"):
        assert any(line.startswith(f"{report.claim_id}: stage {stage}") for line in lines), lines
    assert any(line.startswith(f"{report.claim_id}: decision_refused") for line in lines), lines
    for line in lines:
        for personal in PERSONAL:
            assert personal not in line, line


async def test_a_replayed_history_logs_nothing(caplog):
    caplog.set_level(logging.INFO, logger="temporalio.workflow")
    history = commands.audit.load_file(HISTORIES / "fast-track.json")
    replayer = Replayer(
        workflows=[ClaimWorkflow, ComplaintWorkflow], data_converter=pydantic_data_converter
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None
    assert [line for line in _lines(caplog) if ": stage " in line] == []

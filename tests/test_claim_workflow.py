"""The claim workflow on the time-skipping server, with the real activities on SQLite."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, select

from client import start_claim
from models.status import ClaimStatus
from models.tables import LetterRow, PaymentRow
from tests.factories import medical_report
from workflows.claim import ClaimWorkflow


async def test_fast_track_claim_is_paid_without_a_human(ts):
    report = medical_report()
    handle, started = await start_claim(ts.client, report, ts.task_queue)
    assert started
    result = await ts.client.get_workflow_handle_for(ClaimWorkflow.run, handle.id).result()
    assert isinstance(result, ClaimStatus)
    assert result.stage == "CLOSED"
    assert result.straight_through
    # (1800 - 500) x 80% = 1040.00
    assert result.payable_amount == Decimal("1040.00")
    assert [a.approver for a in result.approvals] == ["system"]
    with Session(ts.engine) as s:
        pays = s.exec(select(PaymentRow).where(PaymentRow.claim_id == report.claim_id)).all()
        kinds = [r.kind for r in s.exec(select(LetterRow).where(LetterRow.case_id == report.claim_id))]
    assert [p.amount for p in pays] == [Decimal("1040.00")]
    assert sorted(kinds) == ["acknowledgement", "decision", "payment"]

"""The claim workflow on the time-skipping server, with the real activities on SQLite."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from client import start_claim
from models.claim import Adjustment, Decision, MaterialsSubmission
from models.status import ClaimStatus
from tests.claimtools import (
    decide,
    handle_for,
    letter_kinds,
    letters,
    payments,
    signed,
    status,
    task_kinds,
    wait_letter,
    wait_stage,
)
from tests.factories import CST, materials, medical_report
from workflows.claim import ClaimWorkflow


async def _start(ts, report):
    handle, started = await start_claim(ts.client, report, ts.task_queue)
    assert started
    return handle_for(ts.client, report.claim_id)


def _human_report(amount: str = "8000.00", **kw):
    # (8000 - 500) x 80% = 6000.00: above the fast-track limit, within L1's authority
    return medical_report(
        amount_claimed=Decimal(amount),
        items=[{"category": "treatment", "description": "治疗费", "amount": amount}],
        **kw,
    )


async def test_fast_track_claim_is_paid_without_a_human(ts):
    report = medical_report()
    handle = await _start(ts, report)
    result = await handle.result()
    assert isinstance(result, ClaimStatus)
    assert result.stage == "CLOSED"
    assert result.straight_through
    # (1800 - 500) x 80% = 1040.00
    assert result.payable_amount == Decimal("1040.00")
    assert [a.approver for a in result.approvals] == ["system"]
    assert [p.amount for p in payments(ts.engine, report.claim_id)] == [Decimal("1040.00")]
    assert sorted(letter_kinds(ts.engine, report.claim_id)) == [
        "acknowledgement",
        "decision",
        "payment",
    ]
    stages = [h.stage for h in result.history]
    assert stages == [
        "REPORTED",
        "ACCEPTED",
        "UNDER_REVIEW",
        "ADJUSTING",
        "APPROVED",
        "PAYING",
        "PAID",
        "CLOSED",
    ]


async def test_the_same_claim_id_twice_is_one_claim(ts):
    report = medical_report()
    await _start(ts, report)
    _, started_again = await start_claim(ts.client, report, ts.task_queue)
    assert not started_again
    await handle_for(ts.client, report.claim_id).result()
    _, after_close = await start_claim(ts.client, report, ts.task_queue)
    assert not after_close
    assert len(payments(ts.engine, report.claim_id)) == 1


async def test_missing_materials_get_one_notice_then_the_claim_completes(ts):
    report = medical_report(materials=[m.model_dump() for m in materials("claim_form")])
    handle = await _start(ts, report)
    st = await wait_stage(ts.client, report.claim_id, "AWAITING_MATERIALS")
    # the claimant is the policyholder on record: the insurer holds their identity already
    assert st.missing_materials == [
        "bank_account",
        "diagnosis_certificate",
        "invoices",
        "expense_list",
    ]
    # The claimant gave no email: the notice goes by post (never by SMS alone), and the clock's
    # pause is recorded from the day the post is taken to reach them.
    assert any(d.name == "determination" and d.pauses for d in st.deadlines)
    notice = [r for r in letters(ts.engine, report.claim_id) if r.kind == "missing_materials"]
    assert len(notice) == 1
    assert notice[0].channel == "post"
    for kind in ("收款账户", "诊断证明", "医疗费用发票", "费用清单"):
        assert kind in notice[0].body
    assert "身份证明" not in notice[0].body.split("二、")[0]

    # a partial submission brings no second notice
    await handle.signal(
        ClaimWorkflow.submit_materials,
        MaterialsSubmission(materials=materials("identity", "bank_account")),
    )
    st = await status(ts.client, report.claim_id)
    assert st.stage == "AWAITING_MATERIALS"
    await handle.signal(
        ClaimWorkflow.submit_materials,
        MaterialsSubmission(
            materials=materials("diagnosis_certificate", "invoices", "expense_list")
        ),
    )
    result = await handle.result()
    assert result.stage == "CLOSED"
    assert result.document_rounds == 2  # the report, then one supplement
    assert letter_kinds(ts.engine, report.claim_id).count("missing_materials") == 1


async def test_reminders_at_15_and_30_days_and_suspension_at_60(ts):
    report = medical_report(materials=[m.model_dump() for m in materials("claim_form", "identity")])
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "AWAITING_MATERIALS")
    await ts.env.sleep(timedelta(days=14))
    assert "materials_reminder" not in letter_kinds(ts.engine, report.claim_id)
    await ts.env.sleep(timedelta(days=2))
    assert letter_kinds(ts.engine, report.claim_id).count("materials_reminder") == 1
    await ts.env.sleep(timedelta(days=15))
    assert letter_kinds(ts.engine, report.claim_id).count("materials_reminder") == 2
    assert (await status(ts.client, report.claim_id)).stage == "AWAITING_MATERIALS"
    await ts.env.sleep(timedelta(days=30))
    st = await status(ts.client, report.claim_id)
    assert st.stage == "SUSPENDED"
    assert "suspension" in await wait_letter(ts.engine, report.claim_id, "suspension")
    # a suspended claim resumes when the materials arrive
    await handle.signal(
        ClaimWorkflow.submit_materials,
        MaterialsSubmission(
            materials=materials("bank_account", "diagnosis_certificate", "invoices", "expense_list")
        ),
    )
    result = await handle.result()
    assert result.stage == "CLOSED"
    assert "SUSPENDED" in [h.stage for h in result.history]
    assert len(payments(ts.engine, report.claim_id)) == 1


async def test_human_approval_by_an_adjuster_pays_once(ts):
    report = _human_report()
    handle = await _start(ts, report)
    st = await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    assert st.pending_approval_level == 1
    assert st.payable_amount == Decimal("6000.00")
    assert task_kinds(st) == ["approve"]
    state = await decide(handle, "adj1", "approve", note="材料齐全，计算无误")
    assert [(a.level, a.approver) for a in state.approvals] == [(1, "adj1")]
    assert state.pending_approval_level is None
    result = await handle.result()
    assert result.stage == "CLOSED"
    assert [(a.level, a.approver) for a in result.approvals] == [(1, "adj1")]
    assert [p.amount for p in payments(ts.engine, report.claim_id)] == [Decimal("6000.00")]
    decision = next(r for r in letters(ts.engine, report.claim_id) if r.kind == "decision")
    assert "6,000.00" in decision.body and "7,500.00" in decision.body


async def test_approval_by_signal_for_systems_that_can_only_signal(ts):
    report = _human_report()
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    await handle.signal(
        ClaimWorkflow.decision_signal,
        await signed(handle, Decision(approver="adj2", decision="approve")),
    )
    result = await handle.result()
    assert result.stage == "CLOSED"
    assert result.approvals[0].approver == "adj2"


async def test_two_level_chain_needs_two_distinct_people(ts):
    # (30000 - 500) x 80% = 23600.00 -> L1 then L2
    report = _human_report("30000.00")
    handle = await _start(ts, report)
    st = await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    assert st.approval_chain == [1, 2]
    await decide(handle, "adj1", "approve")
    st = await status(ts.client, report.claim_id)
    assert st.pending_approval_level == 2
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await decide(handle, "adj2", "approve")
    assert "needs a L2 decision" in str(err.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await decide(handle, "adj1", "approve")
    assert "already approved" in str(err.value.cause)
    await decide(handle, "sup1", "approve")
    result = await handle.result()
    assert [(a.level, a.approver) for a in result.approvals] == [(1, "adj1"), (2, "sup1")]
    assert result.payable_amount == Decimal("23600.00")


async def test_reject_with_clause_sends_a_denial_letter(ts):
    report = _human_report()
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    await decide(handle, "sup1", "reject", clause="MED-2.2", note="既往症未如实告知")
    st = await wait_stage(ts.client, report.claim_id, "DENIAL_NOTIFIED")
    assert st.denial_clause == "MED-2.2"
    denial = next(r for r in letters(ts.engine, report.claim_id) if r.kind == "denial")
    for text in ("MED-2.2", "既往症", "12378", "30", "仲裁", "诉讼"):
        assert text in denial.body
    assert payments(ts.engine, report.claim_id) == []
    await ts.env.sleep(timedelta(days=31))
    result = await handle.result()
    assert result.stage == "CLOSED"


async def test_return_sends_the_claim_back_and_the_chain_restarts(ts):
    report = _human_report()
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    await decide(handle, "adj1", "return", note="请核减非必需费用")
    st = await wait_stage(ts.client, report.claim_id, "ADJUSTING")
    assert task_kinds(st) == ["adjust"]
    await handle.execute_update(
        ClaimWorkflow.adjust_update,
        await signed(
            handle, Adjustment(adjuster="adj2", note="核减不合理费用", amount=Decimal("5500"))
        ),
    )
    st = await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    assert st.approvals == [] and st.pending_approval_level == 1
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await decide(handle, "adj2", "approve")
    assert "adjusted this claim" in str(err.value.cause)
    await decide(handle, "adj1", "approve")
    result = await handle.result()
    assert result.payable_amount == Decimal("5500.00")
    assert [p.amount for p in payments(ts.engine, report.claim_id)] == [Decimal("5500.00")]
    assert "RETURNED" in [h.stage for h in result.history]


@pytest.mark.parametrize(
    "approver, decision, clause, reason",
    [
        ("nobody", "approve", None, "unknown person 'nobody'"),
        ("inv1", "approve", None, "inv1 is not an adjuster, claims supervisor or claims manager"),
        ("adj1", "reject", "MED-2.1", "a denial needs L2 or above"),
        ("sup1", "reject", None, "a denial needs a clause id"),
        ("sup1", "reject", "AUTO-2.1", "is not in this product"),
        ("sup1", "maybe", None, "unknown decision 'maybe'"),
    ],
)
async def test_invalid_decisions_are_refused_and_change_nothing(
    ts, approver, decision, clause, reason
):
    report = _human_report()
    handle = await _start(ts, report)
    before = await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await decide(handle, approver, decision, clause=clause)
    assert isinstance(err.value.cause, ApplicationError)
    assert err.value.cause.type == "InvalidDecision"
    assert reason in str(err.value.cause)
    # the same payload as a signal is recorded as refused and ignored
    await handle.signal(
        ClaimWorkflow.decision_signal,
        await signed(handle, Decision(approver=approver, decision=decision, clause=clause)),
    )
    for _ in range(100):
        after = await status(ts.client, report.claim_id)
        if after.refused_decisions:
            break
    assert after.stage == "PENDING_APPROVAL"
    assert after.approvals == before.approvals == []
    assert reason in after.refused_decisions[0].reason
    assert after.refused_decisions[0].via == "signal"


async def test_decision_in_the_wrong_stage_is_refused(ts):
    report = medical_report(materials=[m.model_dump() for m in materials("claim_form")])
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "AWAITING_MATERIALS")
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await decide(handle, "sup1", "approve")
    assert "decisions are taken only in PENDING_APPROVAL" in str(err.value.cause)


async def test_claim_on_unknown_policy_is_not_accepted(ts):
    report = medical_report(policy_no="P-NOPE-9999")
    handle = await _start(ts, report)
    result = await handle.result()
    assert result.stage == "NOT_ACCEPTED"
    assert "P-NOPE-9999" in (result.not_accepted_reason or "")
    assert letter_kinds(ts.engine, report.claim_id) == ["not_accepted"]


async def test_illness_in_the_waiting_period_is_not_accepted_with_the_clause(ts):
    report = medical_report(
        occurred_at=datetime(2025, 1, 20, 8, 0, tzinfo=CST),
        reported_at=datetime(2025, 1, 21, 8, 0, tzinfo=CST),
    )
    result = await (await _start(ts, report)).result()
    assert result.stage == "NOT_ACCEPTED"
    body = letters(ts.engine, report.claim_id)[0].body
    assert "MED-3.1" in body and "等待期" in body


async def test_english_letters_for_an_english_speaking_claimant(ts):
    report = medical_report(
        claimant={
            "name": "John Smith",
            "id_no": "110101198001011234",
            "phone": "1",
            "language": "en",
        }
    )
    await (await _start(ts, report)).result()
    bodies = {r.kind: r.body for r in letters(ts.engine, report.claim_id)}
    assert "Dear John Smith" in bodies["acknowledgement"]
    assert "1,040.00" in bodies["decision"]

"""Claim decisions in full on the time-skipping server: investigation, the panel, appeal,
withdrawal, the statutory clocks and the advance payment."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

import demo
from client import start_claim
from models.calendars import published_calendar
from models.claim import Appeal, ConvenePanel, Decision, Findings, MaterialsSubmission, Withdrawal
from models.tables import StaffRow, WorkItemRow
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
from tests.factories import CST, ZHANG, materials, medical_report
from workflows.claim import ClaimWorkflow
from workflows.clock import Calendar

WATCHED_ID = "110101197001019999"  # on the demo watch list


async def _start(ts, report):
    _, started = await start_claim(ts.client, report, ts.task_queue)
    assert started
    return handle_for(ts.client, report.claim_id)


def _human(amount: str = "8000.00", **kw):
    return medical_report(
        amount_claimed=Decimal(amount),
        items=[{"category": "treatment", "description": "治疗费", "amount": amount}],
        **kw,
    )


def _new_policy_claim(**kw):
    # R01: within 90 days of the policy start (2025-01-01), after the 30-day waiting period;
    # received today (its clocks start with the case), so also reported late (R04)
    return _human(occurred_at=datetime(2025, 3, 1, 9, 0, tzinfo=CST), **kw)


async def _withdraw_when_waiting(handle, withdrawal):
    """A withdrawal is refused while the claim is mid-step; a moment later it is taken."""
    for _ in range(200):
        try:
            return await handle.execute_update(ClaimWorkflow.withdraw_update, withdrawal)
        except WorkflowUpdateFailedError as err:
            assert "in the middle of a step" in err.cause.message
            await asyncio.sleep(0.05)
    raise AssertionError("the withdrawal was never taken")


async def _refused(coro) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await coro
    return err.value.cause.message


def _add_staff(engine, staff_id, level, roles):
    with Session(engine) as s:
        key = demo.demo_key_record(staff_id)
        s.merge(
            StaffRow(
                staff_id=staff_id,
                name=staff_id,
                level=level,
                roles=roles,
                signing_key=key,
                algorithm="ed25519",
                public_key=demo.demo_public_key(staff_id),
            )
        )
        s.commit()


async def test_a_new_policy_claim_is_investigated_and_the_investigator_cannot_approve(ts):
    _add_staff(ts.engine, "inv2", 2, ["investigator", "supervisor"])
    report = _new_policy_claim()
    handle = await _start(ts, report)
    st = await wait_stage(ts.client, report.claim_id, "INVESTIGATING")
    assert [f.code for f in st.flags if f.code != "C01"] == ["R01", "R04"]
    assert [(v.kind, v.investigator) for v in st.investigations] == [("hospital_check", "inv1")]
    assert task_kinds(st) == ["investigate"]
    assert any(d.name == "investigation:hospital_check" and d.days == 10 for d in st.deadlines)
    assert "investigation" in await wait_letter(ts.engine, report.claim_id, "investigation")

    msg = await _refused(
        handle.execute_update(
            ClaimWorkflow.report_findings,
            await signed(handle, Findings(investigator="inv2", task="site_survey", facts="x")),
        )
    )
    assert "no investigation task 'site_survey'" in msg
    await handle.execute_update(
        ClaimWorkflow.report_findings,
        await signed(
            handle,
            Findings(
                investigator="inv2",
                task="hospital_check",
                facts="病历与发票一致，首诊在投保后",
                recommendation="pay",
            ),
        ),
    )
    st = await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    assert st.investigations[0].done and st.investigations[0].facts.startswith("病历")
    assert st.investigation_summary == "all checks support payment"
    msg = await _refused(decide(handle, "inv2", "approve"))
    assert msg == "inv2 investigated this claim and cannot decide it"
    await decide(handle, "adj1", "approve")
    result = await handle.result()
    assert result.stage == "CLOSED"
    assert [p.amount for p in payments(ts.engine, report.claim_id)] == [Decimal("6000.00")]


async def test_the_investigator_sees_the_task_in_the_work_queue(ts):
    report = _new_policy_claim()
    await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "INVESTIGATING")
    item = None
    for _ in range(400):  # the projection is written just after the stage changes
        with Session(ts.engine) as s:
            item = s.get(WorkItemRow, f"{report.claim_id}:investigate:hospital_check")
        if item is not None:
            break
        await asyncio.sleep(0.05)
    assert item is not None and item.assignee == "inv1" and item.state == "open"


async def _watch_list_claim_to_panel(ts):
    report = _human(
        claimant={"name": "王五", "id_no": WATCHED_ID, "phone": "13700000000"},
        details={"insured_id_no": ZHANG["id_no"]},
    )
    handle = await _start(ts, report)
    st = await wait_stage(ts.client, report.claim_id, "INVESTIGATING")
    assert "R07" in [f.code for f in st.flags]
    await handle.execute_update(
        ClaimWorkflow.report_findings,
        await signed(
            handle,
            Findings(
                investigator="inv1", task="background_check", facts="关系属实", recommendation="pay"
            ),
        ),
    )
    st = await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    assert st.approval_chain == [4]  # the panel decides a watch-list claim whatever the amount
    return report, handle


async def test_a_panel_decides_by_majority_and_records_the_dissent(ts):
    report, handle = await _watch_list_claim_to_panel(ts)
    msg = await _refused(decide(handle, "sup1", "approve"))
    assert "has not been convened" in msg
    msg = await _refused(
        handle.execute_update(
            ClaimWorkflow.convene_panel,
            await signed(handle, ConvenePanel(convener="mgr1", members=["sup1", "sup2", "adj1"])),
        )
    )
    assert "adj1 has authority L1; panel members are L2 or above" in msg
    msg = await _refused(
        handle.execute_update(
            ClaimWorkflow.convene_panel,
            await signed(handle, ConvenePanel(convener="adj1", members=["sup1", "sup2", "sup3"])),
        )
    )
    assert "adj1 has authority L1" in msg
    await handle.execute_update(
        ClaimWorkflow.convene_panel,
        await signed(handle, ConvenePanel(convener="mgr1", members=["sup1", "sup2", "sup3"])),
    )
    await decide(handle, "sup1", "approve", note="关系证明齐全，依约赔付")
    msg = await _refused(decide(handle, "sup1", "approve"))
    assert msg == "sup1 has already voted on this panel"
    msg = await _refused(decide(handle, "adj2", "approve"))
    assert msg == "adj2 is not a member of this claim's panel"
    # the same refusals by signal are recorded and ignored
    await handle.signal(
        ClaimWorkflow.decision_signal,
        await signed(handle, Decision(approver="adj2", decision="approve")),
    )
    await decide(handle, "sup2", "approve", note="同意")
    await decide(handle, "sup3", "reject", clause="MED-2.2", note="疑似既往症，应拒赔")
    result = await handle.result()
    assert result.stage == "CLOSED"
    assert result.panel.outcome == "approve"
    assert result.panel.dissent == ["sup3"]
    assert [r.reason for r in result.refused_decisions] == [
        "adj2 is not a member of this claim's panel"
    ]
    record = next(r for r in letters(ts.engine, report.claim_id) if r.kind == "panel_record")
    assert "sup3" in record.body and "疑似既往症" in record.body and "不同意见" in record.body
    assert [p.amount for p in payments(ts.engine, report.claim_id)] == [Decimal("6000.00")]


async def test_an_appeal_overturned_by_the_panel_then_pays(ts):
    report = _human()
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    await decide(handle, "sup1", "reject", clause="MED-2.2", note="既往症")
    await wait_stage(ts.client, report.claim_id, "DENIAL_NOTIFIED")
    await ts.env.sleep(timedelta(days=10))
    await handle.execute_update(
        ClaimWorkflow.appeal_update, Appeal(reason="首诊在投保后，附新病历")
    )
    st = await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    assert st.approval_chain == [4] and st.panel.grounds == ["appeal"]
    assert "appeal_received" in await wait_letter(ts.engine, report.claim_id, "appeal_received")
    msg = await _refused(
        handle.execute_update(
            ClaimWorkflow.convene_panel,
            await signed(handle, ConvenePanel(convener="mgr1", members=["sup1", "sup2", "sup3"])),
        )
    )
    assert msg == "sup1 took the decision under appeal and cannot sit on its panel"
    await handle.execute_update(
        ClaimWorkflow.convene_panel,
        await signed(handle, ConvenePanel(convener="mgr1", members=["mgr1", "sup2", "sup3"])),
    )
    await decide(handle, "mgr1", "approve", note="新病历证明首诊在投保后")
    await decide(handle, "sup2", "amend", amount=Decimal("5000"), note="部分费用不合理")
    await decide(handle, "sup3", "approve", note="同意赔付")
    result = await handle.result()
    assert result.overturned and result.stage == "CLOSED"
    assert result.panel.dissent == ["sup2"]
    assert [p.amount for p in payments(ts.engine, report.claim_id)] == [Decimal("6000.00")]
    decision = next(r for r in letters(ts.engine, report.claim_id) if r.kind == "decision")
    assert "复核" in decision.body


async def test_an_appeal_after_30_days_is_refused_and_the_claim_closes(ts):
    report = _human()
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    await decide(handle, "sup1", "reject", clause="MED-2.1", note="美容项目")
    await wait_stage(ts.client, report.claim_id, "DENIAL_NOTIFIED")
    # 30 days, plus however far a weekend or holiday pushes the last day
    await ts.env.sleep(timedelta(days=38))
    result = await handle.result()
    assert result.stage == "CLOSED"
    with pytest.raises(RPCError):  # the case has ended: it takes no more messages
        await handle.execute_update(ClaimWorkflow.appeal_update, Appeal(reason="太晚了"))


async def test_a_withdrawn_claim_ends_with_a_letter_and_no_payment(ts):
    report = _human()
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    await _withdraw_when_waiting(handle, Withdrawal(reason="已获其他保险赔付"))
    result = await handle.result()
    assert result.stage == "WITHDRAWN"
    assert result.open_tasks == []
    assert all(d.status != "running" for d in result.deadlines)
    assert letter_kinds(ts.engine, report.claim_id)[-1] == "withdrawal"
    assert payments(ts.engine, report.claim_id) == []
    with Session(ts.engine) as s:
        item = s.get(WorkItemRow, f"{report.claim_id}:approve:1:L1")
    assert item.state == "done"


async def test_the_determination_clock_pauses_for_materials_and_climbs_its_ladder(ts):
    report = _human(materials=[m.model_dump() for m in materials("claim_form", "identity")])
    handle = await _start(ts, report)
    st = await wait_stage(ts.client, report.claim_id, "AWAITING_MATERIALS")
    start = st.deadlines[0].started_at
    # No email: the notice goes by post and reaches the claimant 3 days after it is sent
    # (presumed delivery); the pause runs from then (day 3) to the materials (day 12).
    await wait_letter(ts.engine, report.claim_id, "missing_materials")
    [row] = [r for r in letters(ts.engine, report.claim_id) if r.kind == "missing_materials"]
    assert row.channel == "post"
    await ts.env.sleep(timedelta(days=12))
    await handle.signal(
        ClaimWorkflow.submit_materials,
        MaterialsSubmission(
            materials=materials("bank_account", "diagnosis_certificate", "invoices", "expense_list")
        ),
    )
    st = await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    clock = next(d for d in st.deadlines if d.name == "determination")
    assert clock.paused_days == 9
    assert clock.pauses[0]["reason"].startswith("awaiting materials")
    since = datetime.fromisoformat(str(clock.pauses[0]["since"]).replace("Z", "+00:00"))
    assert since.astimezone(CST).date() == start.astimezone(CST).date() + timedelta(days=3)
    prc = published_calendar()
    cal = Calendar.of(CST, prc.holidays, prc.workdays, prc.years)
    last_day = cal.next_working_day(start.astimezone(CST).date() + timedelta(days=39))
    assert clock.due_at == cal.end_of(last_day)

    def fired():
        return next(d for d in st.deadlines if d.name == "determination").fired

    await ts.env.sleep(timedelta(days=16))  # day 28: the reminder falls on day 20 + 9 paused
    st = await status(ts.client, report.claim_id)
    assert fired() == []
    await ts.env.sleep(timedelta(days=2))  # day 30
    st = await status(ts.client, report.claim_id)
    assert fired() == ["reminder"]
    assert "reminder" in [t.kind for t in st.open_tasks]
    await ts.env.sleep(timedelta(days=5))  # day 35: escalation at 25 + 9
    st = await status(ts.client, report.claim_id)
    assert fired() == ["reminder", "escalation"]
    assert any(t.kind == "escalation" and t.role == "L2" for t in st.open_tasks)
    assert st.breaches == []
    await ts.env.sleep(cal.end_of(last_day) - start - timedelta(days=35) + timedelta(hours=1))
    st = await status(ts.client, report.claim_id)
    assert fired() == ["reminder", "escalation", "breach"]
    assert st.breaches == ["determination"] and st.priority == 100
    assert any(t.kind == "breach" and t.role == "L3" for t in st.open_tasks)
    delay = [r for r in letters(ts.engine, report.claim_id) if r.kind == "delay"]
    assert len(delay) == 1 and "第二十三条" in delay[0].body
    with Session(ts.engine) as s:
        item = s.get(WorkItemRow, f"{report.claim_id}:approve:1:L1")
    assert item.priority == 100
    await decide(handle, "adj1", "approve")
    result = await handle.result()
    view = next(d for d in result.deadlines if d.name == "determination")
    assert view.status == "breached"


async def test_advance_payment_pays_the_determinable_part_once_then_the_balance(ts):
    report = _new_policy_claim()
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "INVESTIGATING")
    await handle.execute_update(
        ClaimWorkflow.report_findings,
        await signed(
            handle,
            Findings(
                investigator="inv1",
                task="hospital_check",
                facts="部分费用待核实",
                recommendation="reduce",
                amount=Decimal("4000"),
            ),
        ),
    )
    await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    await ts.env.sleep(timedelta(days=49))
    assert payments(ts.engine, report.claim_id) == []
    await ts.env.sleep(timedelta(days=2))  # day 51: the determinable part is paid at 5/6 of 60
    paid = payments(ts.engine, report.claim_id)
    assert [(p.seq, p.amount) for p in paid] == [(1, Decimal("4000.00"))]
    assert "advance_payment" in await wait_letter(ts.engine, report.claim_id, "advance_payment")
    st = await status(ts.client, report.claim_id)
    assert st.stage == "PENDING_APPROVAL" and st.paid_total == Decimal("4000.00")
    msg = await _refused(handle.execute_update(ClaimWorkflow.withdraw_update, Withdrawal()))
    assert "cannot be withdrawn once payment has begun" in msg
    await decide(handle, "adj1", "approve")
    result = await handle.result()
    paid = payments(ts.engine, report.claim_id)
    assert sorted((p.seq, p.amount) for p in paid) == [
        (1, Decimal("4000.00")),
        (2, Decimal("2000.00")),
    ]
    assert sum(p.amount for p in paid) == result.payable_amount == Decimal("6000.00")
    decision = next(r for r in letters(ts.engine, report.claim_id) if r.kind == "decision")
    assert "4,000.00" in decision.body and "2,000.00" in decision.body


async def test_an_inconclusive_investigation_sends_the_claim_to_the_panel(ts):
    report = _new_policy_claim()
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "INVESTIGATING")
    await handle.execute_update(
        ClaimWorkflow.report_findings,
        await signed(
            handle,
            Findings(
                investigator="inv1",
                task="hospital_check",
                facts="医院拒绝提供病历",
                conclusive=False,
            ),
        ),
    )
    st = await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    assert st.approval_chain == [4]
    assert st.panel.grounds == ["inconclusive_investigation"]
    assert task_kinds(st) == ["convene_panel"]


@pytest.mark.parametrize(
    "approver, vote, amount, reason",
    [
        ("adj2", "approve", None, "adj2 is not a member of this claim's panel"),
        ("sup1", "approve", None, "sup1 has already voted on this panel"),
        ("sup2", "amend", None, "an amend vote needs the amount the member would pay"),
        ("sup2", "return", None, "unknown panel vote 'return': use approve, reject or amend"),
        ("sup2", "reject", None, "a denial needs a clause id of the product"),
    ],
)
async def test_panel_votes_are_refused_by_update_and_by_signal(ts, approver, vote, amount, reason):
    report, handle = await _watch_list_claim_to_panel(ts)
    await handle.execute_update(
        ClaimWorkflow.convene_panel,
        await signed(handle, ConvenePanel(convener="mgr1", members=["sup1", "sup2", "sup3"])),
    )
    await decide(handle, "sup1", "approve", note="同意")
    msg = await _refused(decide(handle, approver, vote, amount=amount))
    assert msg.startswith(reason)
    await handle.signal(
        ClaimWorkflow.decision_signal,
        await signed(handle, Decision(approver=approver, decision=vote, amount=amount)),
    )
    for _ in range(200):
        st = await status(ts.client, report.claim_id)
        if st.refused_decisions:
            break
    assert st.refused_decisions[0].reason.startswith(reason)
    assert [v.member for v in st.panel.votes] == ["sup1"]


async def test_a_second_run_under_a_used_claim_id_writes_nothing(ts):
    from temporalio.common import WorkflowIDReusePolicy

    report = medical_report()
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "CLOSED")
    await handle.terminate("an operator ended the reopen window")
    # a client that does not ask to reject duplicates starts the same claim id again
    again = await ts.client.start_workflow(
        ClaimWorkflow.run,
        report,
        id=f"claim-{report.claim_id}",
        task_queue=ts.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    result = await again.result()
    assert result.stage == "NOT_ACCEPTED"
    assert "was already reported and is CLOSED" in result.not_accepted_reason
    assert len(payments(ts.engine, report.claim_id)) == 1
    from models.tables import ClaimRow

    with Session(ts.engine) as s:
        assert s.get(ClaimRow, report.claim_id).stage == "CLOSED"


async def test_a_withdrawal_waits_for_the_step_in_flight_then_ends_cleanly(dev):
    ts = dev
    reports = [_human() for _ in range(5)]
    handles = [await _start(ts, r) for r in reports]
    for h in handles:  # at once: the claims are mid-step (rules, letters, projection)
        for _ in range(200):
            try:
                await h.execute_update(ClaimWorkflow.withdraw_update, Withdrawal(reason="撤案"))
                break
            except WorkflowUpdateFailedError as err:
                assert "in the middle of a step; try again" in err.cause.message
                await asyncio.sleep(0.05)
    for r in reports:  # a withdrawn claim's workflow ends; query its final state
        st = await wait_stage(ts.client, r.claim_id, "WITHDRAWN")
        assert st.withdrawn_reason == "撤案"

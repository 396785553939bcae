"""Complaints as durable workflows (DOMAIN §8, §9) on the time-skipping server."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError

from client import start_claim, start_complaint
from models.claim import ConvenePanel, Decision
from models.complaint import (
    Assignment,
    Callback,
    ClockChange,
    CloseRequest,
    ComplaintFindings,
    ComplaintReport,
    ComplaintStatus,
    Execution,
    Payee,
    Resolution,
    ResolutionApproval,
    ReviewDecision,
    ReviewRequest,
)
from models.tables import ComplaintPaymentRow
from tests.claimtools import (
    handle_for,
    letter_kinds,
    letters,
    payments,
    signed,
    status,
    wait_letter,
    wait_stage,
)
from tests.factories import ZHANG, medical_report
from workflows.claim import ClaimWorkflow
from workflows.complaint import ComplaintWorkflow


def complaint(**kw) -> ComplaintReport:
    import uuid

    data = dict(
        complaint_id=f"CMP-{uuid.uuid4().hex[:8]}",
        channel="phone",
        complainant={"name": "张三", "id_no": ZHANG["id_no"], "phone": "13800000000"},
        policy_no="P-MED-0001",
        category="service_attitude",
        matter="理赔专员电话中态度恶劣",
        remedy_sought="书面道歉",
    )
    data.update(kw)
    return ComplaintReport.model_validate(data)


PAYEE = Payee(name="张三", account_ref="6222020200001234", bank_name="中国工商银行")


def compensation(engine, complaint_id) -> list[ComplaintPaymentRow]:
    with Session(engine) as s:
        q = select(ComplaintPaymentRow).where(ComplaintPaymentRow.complaint_id == complaint_id)
        return list(s.exec(q).all())


def chandle(ts, complaint_id):
    return handle_for(ts.client, complaint_id, prefix="complaint", run=ComplaintWorkflow.run)


async def cstatus(ts, complaint_id) -> ComplaintStatus:
    return await chandle(ts, complaint_id).query(ComplaintWorkflow.status)


async def wait_cstage(ts, complaint_id, *stages, timeout=20) -> ComplaintStatus:
    last = None
    for _ in range(int(timeout / 0.05)):
        try:
            last = await cstatus(ts, complaint_id)
            if last.stage in stages:
                return last
        except Exception:  # noqa: BLE001 - not started yet
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"{complaint_id} never reached {stages}; last {last and last.stage}")


async def refused(coro) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await coro
    return err.value.cause.message


async def start(ts, report):
    _, started = await start_complaint(ts.client, report, ts.task_queue)
    assert started
    return chandle(ts, report.complaint_id)


async def to_decided(ts, h, cid, amount=None, kinds=("apology", "explanation")):
    await wait_cstage(ts, cid, "REGISTERED")
    await h.execute_update(ComplaintWorkflow.assign, Assignment(coordinator="cc1", handler="h1"))
    await wait_cstage(ts, cid, "INVESTIGATING")
    await h.execute_update(
        ComplaintWorkflow.record_findings,
        await signed(
            h, ComplaintFindings(handler="h1", findings="通话录音证实服务用语不当", upheld=True)
        ),
    )
    await h.execute_update(
        ComplaintWorkflow.propose_resolution,
        Resolution(
            handler="h1",
            kinds=list(kinds),
            description="书面道歉并说明情况",
            basis="《服务规范》第3条",
            reasons="服务用语不当",
            amount=amount,
            payee=PAYEE if amount is not None else None,
        ),
    )
    await wait_cstage(ts, cid, "RESOLUTION_PROPOSED")
    await h.execute_update(
        ComplaintWorkflow.approve_resolution, await signed(h, ResolutionApproval(approver="cc1"))
    )


async def test_the_full_happy_path_closes_after_a_satisfied_callback(ts):
    report = complaint()
    h = await start(ts, report)
    st = await wait_cstage(ts, report.complaint_id, "REGISTERED")
    assert st.priority == "normal"
    clock = st.deadlines[0]
    assert clock.name == "complaint" and clock.days == 15
    await to_decided(ts, h, report.complaint_id)
    st = await wait_cstage(ts, report.complaint_id, "EXECUTING")
    assert st.department == "customer_service" and st.handler == "h1"
    msg = await refused(h.execute_update(ComplaintWorkflow.close, CloseRequest(by="cc1")))
    assert msg.startswith("no complaint is closed without resolution")
    await h.execute_update(ComplaintWorkflow.execute, Execution(by="h1", note="已电话及书面致歉"))
    await wait_cstage(ts, report.complaint_id, "CALLBACK")
    msg = await refused(h.execute_update(ComplaintWorkflow.close, CloseRequest(by="cc1")))
    assert "satisfaction callback is not recorded" in msg
    await h.execute_update(
        ComplaintWorkflow.callback,
        Callback(by="cc1", reached=True, satisfied=True, note="表示满意"),
    )
    result = await h.result()
    assert result.stage == "CLOSED" and result.outcome == "satisfied"
    assert result.deadlines[0].status == "met"
    kinds = letter_kinds(ts.engine, report.complaint_id)
    for kind in (
        "complaint_acknowledgement",
        "complaint_progress",
        "complaint_decision",
        "complaint_callback",
    ):
        assert kind in kinds
    decision = next(
        r for r in letters(ts.engine, report.complaint_id) if r.kind == "complaint_decision"
    )
    for text in ("通话录音证实服务用语不当", "《服务规范》第3条", "30日", "12378", "仲裁"):
        assert text in decision.body


@pytest.mark.parametrize(
    "overrides, priority, reason",
    [
        ({"channel": "regulator"}, "urgent", "forwarded by the regulator"),
        ({"media": True}, "urgent", "media attention"),
        ({"medical_emergency": True}, "urgent", "medical emergency"),
        (
            {"complainant": {"name": "王奶奶", "phone": "1", "birth_date": "1950-05-01"}},
            "high",
            "aged 65 or over",
        ),
        (
            {"complainant": {"name": "赵六", "phone": "1", "special_care": "seriously_ill"}},
            "high",
            "seriously ill",
        ),
        (
            {"complainant": {"name": "钱七", "phone": "1", "special_care": "disabled"}},
            "high",
            "disabled",
        ),
        ({}, "normal", None),
    ],
)
async def test_priority_rules(ts, overrides, priority, reason):
    report = complaint(**overrides)
    await start(ts, report)
    st = await wait_cstage(ts, report.complaint_id, "REGISTERED")
    assert st.priority == priority
    if reason:
        assert reason in st.priority_reasons
    if priority == "high":
        assert st.special_care and st.advisor == "adv1"
        target = next(d for d in st.deadlines if d.name == "special_care_target")
        assert target.days == 7
        ack = letters(ts.engine, report.complaint_id)[0]
        assert "卫顾问（特殊关怀顾问）" in ack.body and "adv1" not in ack.body


async def test_a_repeat_complaint_within_12_months_is_high_priority(ts):
    first = complaint()
    await start(ts, first)
    await wait_cstage(ts, first.complaint_id, "REGISTERED")
    second = complaint()
    await start(ts, second)
    st = await wait_cstage(ts, second.complaint_id, "REGISTERED")
    assert st.priority == "high" and st.repeat


async def test_a_group_complaint_is_urgent_and_records_every_complainant(ts):
    others = [{"name": f"投保人{i}", "phone": f"1390000{i:04d}"} for i in range(19)]
    report = complaint(complainants=others, matter="团体医疗险集体理赔延误")
    await start(ts, report)
    st = await wait_cstage(ts, report.complaint_id, "REGISTERED")
    assert st.priority == "urgent" and st.complainants == 20
    assert "group of 20 complainants" in st.priority_reasons


async def test_a_complaint_about_another_insurers_policy_is_declined_with_a_letter(ts):
    report = complaint(policy_no="X-OTHER-1")
    result = await (await start(ts, report)).result()
    assert result.stage == "DECLINED" and result.outcome == "declined"
    assert letter_kinds(ts.engine, report.complaint_id) == ["complaint_declined"]


async def test_the_second_extension_needs_l3_and_each_sends_a_notice(ts):
    report = complaint()
    h = await start(ts, report)
    await wait_cstage(ts, report.complaint_id, "REGISTERED")
    msg = await refused(h.execute_update(ComplaintWorkflow.extend, ClockChange(by="cc1")))
    assert msg == "an extension needs its reason"
    await h.execute_update(
        ComplaintWorkflow.extend, ClockChange(by="cc1", reason="需调取外部医疗记录")
    )
    st = await cstatus(ts, report.complaint_id)
    assert st.deadlines[0].days == 30 and st.extensions == 1
    msg = await refused(
        h.execute_update(ComplaintWorkflow.extend, ClockChange(by="cc1", reason="情况复杂"))
    )
    assert msg.startswith("a second extension to 60 days needs L3 approval")
    await h.execute_update(ComplaintWorkflow.extend, ClockChange(by="mgr1", reason="情况复杂"))
    st = await cstatus(ts, report.complaint_id)
    assert st.deadlines[0].days == 60 and st.extensions == 2
    assert letter_kinds(ts.engine, report.complaint_id).count("complaint_extension") == 2


async def test_the_clock_pauses_for_mediation_and_restarts_on_new_facts(ts):
    report = complaint()
    h = await start(ts, report)
    st = await wait_cstage(ts, report.complaint_id, "REGISTERED")
    first_due = st.deadlines[0].due_at
    msg = await refused(
        h.execute_update(ComplaintWorkflow.pause, ClockChange(by="cc1", reason="holiday"))
    )
    assert "external_appraisal or mediation" in msg
    await h.execute_update(ComplaintWorkflow.pause, ClockChange(by="cc1", reason="mediation"))
    await ts.env.sleep(timedelta(days=5))
    await h.execute_update(ComplaintWorkflow.resume, ClockChange(by="cc1"))
    st = await cstatus(ts, report.complaint_id)
    clock = st.deadlines[0]
    assert clock.paused_days == 5 and clock.pauses[0]["reason"] == "mediation"
    assert clock.due_at >= first_due + timedelta(days=5)
    await ts.env.sleep(timedelta(days=3))
    await h.execute_update(
        ComplaintWorkflow.new_facts, ClockChange(by="cc1", reason="新的就诊记录")
    )
    st = await cstatus(ts, report.complaint_id)
    clock = st.deadlines[0]
    assert clock.paused_days == 0 and clock.days == 15
    assert clock.started_at > st.received_at + timedelta(days=7)


async def test_three_failed_callbacks_close_the_complaint_documented(ts):
    report = complaint()
    h = await start(ts, report)
    await to_decided(ts, h, report.complaint_id)
    await wait_cstage(ts, report.complaint_id, "EXECUTING")
    await h.execute_update(ComplaintWorkflow.execute, Execution(by="h1"))
    await wait_cstage(ts, report.complaint_id, "CALLBACK")
    msg = await refused(
        h.execute_update(ComplaintWorkflow.callback, Callback(by="cc1", reached=False))
    )
    assert msg.startswith("document a failed callback attempt")
    for i in range(3):
        await h.execute_update(
            ComplaintWorkflow.callback,
            Callback(by="cc1", reached=False, note=f"第{i + 1}次致电无人接听"),
        )
    result = await h.result()
    assert result.stage == "CLOSED" and result.outcome == "unreachable"
    record = next(
        r for r in letters(ts.engine, report.complaint_id) if r.kind == "complaint_callback"
    )
    assert "第3次致电无人接听" in record.body


async def test_a_dissatisfied_complainant_gets_a_review_by_l3(ts):
    report = complaint()
    h = await start(ts, report)
    await to_decided(ts, h, report.complaint_id)
    await wait_cstage(ts, report.complaint_id, "EXECUTING")
    await h.execute_update(ComplaintWorkflow.execute, Execution(by="h1"))
    await wait_cstage(ts, report.complaint_id, "CALLBACK")
    await h.execute_update(
        ComplaintWorkflow.callback, Callback(by="cc1", reached=True, satisfied=False, note="不满意")
    )
    await wait_cstage(ts, report.complaint_id, "REVIEW_OFFERED")
    await h.execute_update(ComplaintWorkflow.request_review, ReviewRequest(reason="道歉不诚恳"))
    await wait_cstage(ts, report.complaint_id, "UNDER_REVIEW")
    msg = await refused(
        h.execute_update(
            ComplaintWorkflow.review_decision,
            await signed(h, ReviewDecision(reviewer="sup1", upheld=True, findings="x")),
        )
    )
    assert "superior office (L3)" in msg
    await h.execute_update(
        ComplaintWorkflow.review_decision,
        await signed(h, ReviewDecision(reviewer="mgr1", upheld=True, findings="原处理适当")),
    )
    result = await h.result()
    assert result.stage == "CLOSED" and result.review["upheld"] is True
    assert "complaint_review_decision" in await wait_letter(
        ts.engine, report.complaint_id, "complaint_review_decision"
    )


async def test_a_payment_above_the_handlers_limit_needs_l3_and_pays_once(ts):
    report = complaint(category="amount_dispute")
    h = await start(ts, report)
    await wait_cstage(ts, report.complaint_id, "REGISTERED")
    await h.execute_update(ComplaintWorkflow.assign, Assignment(coordinator="cc1", handler="h1"))
    await wait_cstage(ts, report.complaint_id, "INVESTIGATING")
    await h.execute_update(
        ComplaintWorkflow.record_findings,
        await signed(h, ComplaintFindings(handler="h1", findings="理算漏计", upheld=True)),
    )
    await h.execute_update(
        ComplaintWorkflow.propose_resolution,
        Resolution(
            handler="h1",
            kinds=["payment"],
            description="补付差额",
            basis="保险条款 MED-1.1",
            reasons="理算漏计一项费用",
            amount=Decimal("8000"),
            payee=PAYEE,
        ),
    )
    await wait_cstage(ts, report.complaint_id, "RESOLUTION_PROPOSED")
    await h.execute_update(
        ComplaintWorkflow.approve_resolution, await signed(h, ResolutionApproval(approver="cc1"))
    )
    st = await cstatus(ts, report.complaint_id)
    assert st.stage == "RESOLUTION_PROPOSED"
    msg = await refused(
        h.execute_update(
            ComplaintWorkflow.approve_resolution,
            await signed(h, ResolutionApproval(approver="sup1")),
        )
    )
    assert "needs an L3 approval" in msg
    await h.execute_update(
        ComplaintWorkflow.approve_resolution, await signed(h, ResolutionApproval(approver="mgr1"))
    )
    await wait_cstage(ts, report.complaint_id, "EXECUTING")
    await h.execute_update(ComplaintWorkflow.execute, Execution(by="h1"))
    st = await wait_cstage(ts, report.complaint_id, "CALLBACK")
    # on the complaint ledger, to the payee captured with the resolution; no claim payment
    paid = compensation(ts.engine, report.complaint_id)
    assert [(p.idempotency_key, p.amount) for p in paid] == [
        (f"complaint:{report.complaint_id}:pay:1", Decimal("8000.00"))
    ]
    # the ledger keeps the account masked; the bank and the workflow have it whole
    assert (paid[0].payee, paid[0].account_ref) == ("张三", "****1234")
    assert st.compensation[0].account_ref == "6222020200001234"
    assert [t[1] for t in ts.rail.transfers.values()] == ["6222020200001234"]
    assert payments(ts.engine, report.complaint_id) == []
    assert [c.idempotency_key for c in st.compensation] == [paid[0].idempotency_key]


async def _claim(ts, **kw):
    report = medical_report(
        amount_claimed=Decimal("8000.00"),
        items=[{"category": "treatment", "amount": "8000.00"}],
        **kw,
    )
    await start_claim(ts.client, report, ts.task_queue)
    await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    return report, handle_for(ts.client, report.claim_id)


async def test_recusal_nobody_who_decided_the_claim_handles_the_complaint(ts):
    claim, ch = await _claim(ts)
    await ch.execute_update(
        ClaimWorkflow.decide,
        await signed(
            ch, Decision(approver="sup1", decision="reject", clause="MED-2.2", note="既往症")
        ),
    )
    await wait_stage(ts.client, claim.claim_id, "DENIAL_NOTIFIED")
    await asyncio.sleep(0.3)
    report = complaint(claim_id=claim.claim_id, category="claim_decision")
    h = await start(ts, report)
    await wait_cstage(ts, report.complaint_id, "REGISTERED")
    msg = await refused(
        h.execute_update(ComplaintWorkflow.assign, Assignment(coordinator="cc1", handler="sup1"))
    )
    assert msg == "sup1 decided the claim complained about and must stand aside"
    await h.execute_update(ComplaintWorkflow.assign, Assignment(coordinator="cc1", handler="h1"))
    st = await cstatus(ts, report.complaint_id)
    assert st.department == "claims_review"


async def test_a_payment_timeliness_complaint_escalates_the_claim_at_once(ts):
    claim, _ = await _claim(ts)
    report = complaint(claim_id=claim.claim_id, category="payment_timeliness")
    await start(ts, report)
    for _ in range(100):
        st = await status(ts.client, claim.claim_id)
        if st.complaints:
            break
        await asyncio.sleep(0.05)
    assert st.complaints[0]["complaint_id"] == report.complaint_id
    assert st.complaints[0]["escalated"] and st.priority == 100
    assert any(t.kind == "complaint_escalation" and t.role == "L2" for t in st.open_tasks)


async def test_a_re_review_resolution_reopens_the_claim_and_waits_for_its_outcome(ts):
    claim, ch = await _claim(ts)
    await ch.execute_update(
        ClaimWorkflow.decide,
        await signed(
            ch, Decision(approver="sup1", decision="reject", clause="MED-2.2", note="既往症")
        ),
    )
    await wait_stage(ts.client, claim.claim_id, "DENIAL_NOTIFIED")
    await asyncio.sleep(0.3)
    report = complaint(claim_id=claim.claim_id, category="claim_decision")
    h = await start(ts, report)
    await to_decided(ts, h, report.complaint_id, kinds=("explanation", "re_review"))
    await wait_cstage(ts, report.complaint_id, "AWAITING_CLAIM_REVIEW")
    st = await wait_stage(ts.client, claim.claim_id, "PENDING_APPROVAL")
    assert st.panel.grounds == ["complaint_review"]
    await ch.execute_update(
        ClaimWorkflow.convene_panel,
        await signed(ch, ConvenePanel(convener="mgr1", members=["mgr1", "sup2", "sup3"])),
    )
    for m in ("mgr1", "sup2", "sup3"):
        await ch.execute_update(
            ClaimWorkflow.decide,
            await signed(ch, Decision(approver=m, decision="approve", note="首诊在投保后")),
        )
    st = await wait_cstage(ts, report.complaint_id, "EXECUTING")
    assert st.claim_review["outcome"] == "overturned"
    assert [p.amount for p in payments(ts.engine, claim.claim_id)] == [Decimal("6000.00")]
    claim_status = await status(ts.client, claim.claim_id)
    assert "REOPENED" in [x.stage for x in claim_status.history] and claim_status.overturned


async def test_a_complaint_birth_date_makes_an_elderly_customer_special_care(ts):
    born = date.today() - timedelta(days=70 * 366)  # past 70, whatever the day (29 February too)
    report = complaint(complainant={"name": "孙老", "phone": "1", "birth_date": born.isoformat()})
    await start(ts, report)
    st = await wait_cstage(ts, report.complaint_id, "REGISTERED")
    assert st.special_care and st.priority == "high"


async def test_the_complaint_clock_climbs_its_ladder_and_a_breach_sends_a_delay_letter(ts):
    report = complaint()
    await start(ts, report)
    await wait_cstage(ts, report.complaint_id, "REGISTERED")
    await ts.env.sleep(timedelta(days=11))  # 2/3 of 15 days = day 10
    st = await cstatus(ts, report.complaint_id)
    assert st.deadlines[0].fired == ["reminder"]
    await ts.env.sleep(timedelta(days=12))  # past the last day, however a weekend moves it
    st = await cstatus(ts, report.complaint_id)
    assert st.deadlines[0].fired == ["reminder", "escalation", "breach"]
    assert st.breaches == ["complaint"]
    delay = next(r for r in letters(ts.engine, report.complaint_id) if r.kind == "delay")
    assert report.complaint_id in delay.body and "投诉" in delay.body


async def test_complaint_decisions_need_their_signer_s_signature(ts):
    report = complaint()
    h = await start(ts, report)
    await wait_cstage(ts, report.complaint_id, "REGISTERED")
    await h.execute_update(ComplaintWorkflow.assign, Assignment(coordinator="cc1", handler="h1"))
    await wait_cstage(ts, report.complaint_id, "INVESTIGATING")
    findings = ComplaintFindings(handler="h1", findings="录音属实", upheld=True)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(ComplaintWorkflow.record_findings, findings)
    assert err.value.cause.type == "BadSignature"
    assert err.value.cause.message == "bad signature: the decision of h1 is not signed"
    # signed by h2, then made to look like h1's
    forged = await signed(h, ComplaintFindings(handler="h2", findings="录音属实", upheld=True))
    forged = forged.model_copy(update={"handler": "h1"})
    msg = await refused(h.execute_update(ComplaintWorkflow.record_findings, forged))
    assert msg == "bad signature: it does not match this decision under h1's key"
    st = await h.execute_update(ComplaintWorkflow.record_findings, await signed(h, findings))
    assert st.findings == "录音属实" and st.upheld is True

"""Letters as real cases send them (time-skipping server, real activities on SQLite): the
decision names each deduction's clause and the approver at their own level, in figures and
capitals, by post to a claimant without email; the denial's window runs from sending; a
complaint decision without its basis and reasons is refused (issue 12, "Letters")."""

from __future__ import annotations

import re
from decimal import Decimal

from client import start_claim, start_complaint
from models.complaint import (
    Assignment,
    ComplaintFindings,
    Resolution,
    ResolutionApproval,
)
from tests.claimtools import decide, handle_for, letters, signed, wait_letter, wait_stage
from tests.factories import medical_report
from tests.test_complaint_workflow import complaint, refused, wait_cstage
from workflows.complaint import ComplaintWorkflow

STAFF_ID = re.compile(r"(?<![A-Za-z0-9-])(adj|sup|mgr|inv|cc|h|adv|clerk|ast)\d(?![A-Za-z0-9-])")


def _with_self_paid_drugs():
    # (7,200 - 500) x 80% = 5,360.00: above the fast track, within L1's authority
    return medical_report(
        amount_claimed=Decimal("8000.00"),
        items=[
            {"category": "treatment", "description": "诊疗费", "amount": "7200.00"},
            {"category": "self_paid", "description": "自费药品", "amount": "800.00"},
        ],
    )


async def _start(ts, report):
    _, started = await start_claim(ts.client, report, ts.task_queue)
    assert started
    return handle_for(ts.client, report.claim_id)


def _letter(ts, case_id, kind):
    return next(r for r in letters(ts.engine, case_id) if r.kind == kind)


async def test_a_decision_letter_names_clauses_people_and_amounts_in_words(ts):
    report = _with_self_paid_drugs()
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    await decide(handle, "sup1", "approve", note="同意")  # a supervisor at the first step
    result = await handle.result()
    assert result.payable_amount == Decimal("5360.00")
    decision = _letter(ts, report.claim_id, "decision")
    body = decision.body
    for text in (
        "医疗费用合计",
        "减：自费药品",
        "保险条款 MED-2.1（责任免除：非必需费用）",
        "减：免赔额",
        "按赔付比例 80% 计算",
        "本次赔付金额",
        "人民币 5,360.00 元（大写：人民币伍仟叁佰陆拾元整）",
        "核赔人：陈主管（二级核赔，理赔主管），意见：同意赔付",
    ):
        assert text in body, text
    for mark in ("Σ", "min(", "×", "一级核赔"):
        assert mark not in body, mark
    assert not STAFF_ID.search(body)
    # The claimant gave a phone and no email: the decision goes by post, the payment notice
    # (not a formal notice) by SMS.
    assert decision.channel == "post" and "短信（138****0000）" in body
    assert _letter(ts, report.claim_id, "payment").channel == "sms"


async def test_a_denial_by_a_supervisor_carries_their_level_and_the_window_from_sending(ts):
    report = _with_self_paid_drugs()
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    await decide(handle, "sup1", "reject", clause="MED-2.2", note="既往症未如实告知")
    await wait_stage(ts.client, report.claim_id, "DENIAL_NOTIFIED")
    await wait_letter(ts.engine, report.claim_id, "denial")
    denial = _letter(ts, report.claim_id, "denial")
    assert "核赔人：陈主管（二级核赔，理赔主管），意见：拒绝赔付" in denial.body
    assert "一级核赔" not in denial.body and not STAFF_ID.search(denial.body)
    assert "可自本通知发出之日起30日内，即不晚于" in denial.body
    assert "收到本通知之日起" not in denial.body
    assert denial.channel == "post"


async def test_english_decision_letter_names_the_clause_and_the_approver(ts):
    report = _with_self_paid_drugs().model_copy(deep=True)
    report.claimant.language = "en"
    report.claimant.email = "zhang@example.com"
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    await decide(handle, "adj1", "approve")
    await handle.result()
    decision = _letter(ts, report.claim_id, "decision")
    text = " ".join(decision.body.split())
    assert "Less: 自费药品 800.00" in text
    assert "policy clause MED-2.1 (Exclusion: non-necessary expenses)" in text
    assert "Decided by 王理赔 (first-level approver, adjuster): approved" in text
    assert "[" not in decision.body and "Σ" not in text
    assert decision.channel == "email"


async def test_a_complaint_decision_needs_its_basis_and_reasons(ts):
    report = complaint()
    _, started = await start_complaint(ts.client, report, ts.task_queue)
    assert started
    cid = report.complaint_id
    h = handle_for(ts.client, cid, prefix="complaint", run=ComplaintWorkflow.run)
    await wait_cstage(ts, cid, "REGISTERED")
    await h.execute_update(ComplaintWorkflow.assign, Assignment(coordinator="cc1", handler="h1"))
    await wait_cstage(ts, cid, "INVESTIGATING")
    await h.execute_update(
        ComplaintWorkflow.record_findings,
        await signed(
            h, ComplaintFindings(handler="h1", findings="通话录音证实用语不当", upheld=True)
        ),
    )
    bare = Resolution(handler="h1", kinds=["apology"], description="书面致歉")
    msg = await refused(h.execute_update(ComplaintWorkflow.propose_resolution, bare))
    assert msg == (
        "a complaint decision states its findings, basis and reasons: basis and reasons are missing"
    )
    grounded = bare.model_copy(update={"basis": "《服务规范》第3条", "reasons": "服务用语不当"})
    await h.execute_update(ComplaintWorkflow.propose_resolution, grounded)
    await h.execute_update(
        ComplaintWorkflow.approve_resolution, await signed(h, ResolutionApproval(approver="cc1"))
    )
    await wait_cstage(ts, cid, "EXECUTING")
    await wait_letter(ts.engine, cid, "complaint_decision")
    decision = _letter(ts, cid, "complaint_decision")
    for text in (
        "通话录音证实用语不当",
        "《服务规范》第3条",
        "服务用语不当",
        "《银行业保险业消费投诉处理管理办法》（原中国银保监会令2020年第3号）",
    ):
        assert text in decision.body, text
    assert "银行保险机构消费者投诉处理管理办法" not in decision.body
    assert decision.channel == "post"

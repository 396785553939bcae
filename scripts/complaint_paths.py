"""The complaint paths the replay histories record. scripts/record_histories.py runs them."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from claim_paths import Handle, decide, human_claim, open_claim, reach, update
from temporalio.client import Client

from client import start_complaint
from models.claim import (
    ConvenePanel,
)
from models.complaint import (
    Assignment,
    Callback,
    CloseRequest,
    ComplaintFindings,
    ComplaintReport,
    Execution,
    Payee,
    Resolution,
    ResolutionApproval,
    ResolutionKind,
    ReviewDecision,
    ReviewRequest,
)
from models.ids import complaint_workflow_id
from tests.claimtools import signed
from tests.factories import (
    ZHANG,
)
from workflows.claim import ClaimWorkflow
from workflows.complaint import ComplaintWorkflow


async def complaint_happy_path(client: Client, tq: str) -> str:
    report = ComplaintReport.model_validate(
        dict(
            complaint_id="HIST-complaint",
            channel="phone",
            complainant={"name": "张三", "id_no": ZHANG["id_no"], "phone": "13800000000"},
            policy_no="P-MED-0001",
            category="service_attitude",
            matter="理赔专员电话中态度恶劣",
            remedy_sought="书面道歉",
        )
    )
    await start_complaint(client, report, tq)
    h = client.get_workflow_handle_for(ComplaintWorkflow.run, "complaint-HIST-complaint")
    st = ComplaintWorkflow.status
    await reach(h, st, "REGISTERED")
    await update(h, ComplaintWorkflow.assign, Assignment(coordinator="cc1", handler="h1"))
    await reach(h, st, "INVESTIGATING")
    await update(
        h,
        ComplaintWorkflow.record_findings,
        await signed(
            h, ComplaintFindings(handler="h1", findings="通话录音证实服务用语不当", upheld=True)
        ),
    )
    await update(
        h,
        ComplaintWorkflow.propose_resolution,
        Resolution(
            handler="h1",
            kinds=["apology", "explanation"],
            description="书面道歉并说明情况",
            basis="《服务规范》第3条",
            reasons="服务用语不当",
        ),
    )
    await reach(h, st, "RESOLUTION_PROPOSED")
    await update(
        h, ComplaintWorkflow.approve_resolution, await signed(h, ResolutionApproval(approver="cc1"))
    )
    await reach(h, st, "EXECUTING")
    await update(h, ComplaintWorkflow.execute, Execution(by="h1", note="已电话及书面致歉"))
    await reach(h, st, "CALLBACK")
    await update(
        h,
        ComplaintWorkflow.callback,
        Callback(by="cc1", reached=True, satisfied=True, note="表示满意"),
    )
    await h.result()
    return h.id


def complaint_report(complaint_id: str, **kw: Any) -> ComplaintReport:
    data: dict[str, Any] = dict(
        complaint_id=complaint_id,
        channel="phone",
        complainant={"name": "张三", "id_no": ZHANG["id_no"], "phone": "13800000000"},
        policy_no="P-MED-0001",
        category="service_attitude",
        matter="理赔专员电话中态度恶劣",
        remedy_sought="书面道歉",
    )
    data.update(kw)
    return ComplaintReport.model_validate(data)


async def to_execution(
    client: Client,
    tq: str,
    report: ComplaintReport,
    kinds: tuple[ResolutionKind, ...] = ("apology",),
    amount: Decimal | None = None,
    payee: Payee | None = None,
    approvers: tuple[str, ...] = ("cc1",),
) -> Handle:
    await start_complaint(client, report, tq)
    assert report.complaint_id  # every path names its complaint
    h: Handle = client.get_workflow_handle_for(
        ComplaintWorkflow.run, complaint_workflow_id(report.complaint_id)
    )
    st = ComplaintWorkflow.status
    await reach(h, st, "REGISTERED")
    await update(h, ComplaintWorkflow.assign, Assignment(coordinator="cc1", handler="h1"))
    await reach(h, st, "INVESTIGATING")
    await update(
        h,
        ComplaintWorkflow.record_findings,
        await signed(h, ComplaintFindings(handler="h1", findings="调查属实", upheld=True)),
    )
    await update(
        h,
        ComplaintWorkflow.propose_resolution,
        Resolution(
            handler="h1",
            kinds=list(kinds),
            description="处理方案",
            basis="保险条款 MED-1.1",
            reasons="调查属实",
            amount=amount,
            payee=payee,
        ),
    )
    await reach(h, st, "RESOLUTION_PROPOSED")
    for approver in approvers:
        await update(
            h,
            ComplaintWorkflow.approve_resolution,
            await signed(h, ResolutionApproval(approver=approver)),
        )
    return h


async def complaint_declined(client: Client, tq: str) -> str:
    report = complaint_report("HIST-complaint-declined", policy_no="X-OTHER-1")
    await start_complaint(client, report, tq)
    assert report.complaint_id  # every path names its complaint
    h = client.get_workflow_handle_for(
        ComplaintWorkflow.run, complaint_workflow_id(report.complaint_id)
    )
    await h.result()
    return h.id


async def complaint_unreachable(client: Client, tq: str) -> str:
    h = await to_execution(client, tq, complaint_report("HIST-complaint-unreachable"))
    await reach(h, ComplaintWorkflow.status, "EXECUTING")
    await update(h, ComplaintWorkflow.execute, Execution(by="h1"))
    await reach(h, ComplaintWorkflow.status, "CALLBACK")
    for i in range(3):
        await update(
            h,
            ComplaintWorkflow.callback,
            Callback(by="cc1", reached=False, note=f"第{i + 1}次无人接听"),
        )
    # unreachable, the complainant is still offered the review; the coordinator closes it
    await reach(h, ComplaintWorkflow.status, "REVIEW_OFFERED")
    await update(
        h,
        ComplaintWorkflow.close,
        CloseRequest(by="cc1", note="三次回访未接通，已书面告知复核权利"),
    )
    await h.result()
    return h.id


async def complaint_review(client: Client, tq: str) -> str:
    h = await to_execution(client, tq, complaint_report("HIST-complaint-review"))
    st = ComplaintWorkflow.status
    await reach(h, st, "EXECUTING")
    await update(h, ComplaintWorkflow.execute, Execution(by="h1"))
    await reach(h, st, "CALLBACK")
    await update(
        h,
        ComplaintWorkflow.callback,
        Callback(by="cc1", reached=True, satisfied=False, note="不满意"),
    )
    await reach(h, st, "REVIEW_OFFERED")
    await update(h, ComplaintWorkflow.request_review, ReviewRequest(reason="道歉不诚恳"))
    await reach(h, st, "UNDER_REVIEW")
    await update(
        h,
        ComplaintWorkflow.review_decision,
        await signed(h, ReviewDecision(reviewer="mgr1", upheld=True, findings="原处理适当")),
    )
    await h.result()
    return h.id


async def complaint_claim_re_review(client: Client, tq: str) -> str:
    ch = await open_claim(client, tq, human_claim("HIST-re-review"), "PENDING_APPROVAL")
    await decide(ch, "sup1", "reject", clause="MED-2.2", note="既往症")
    await reach(ch, ClaimWorkflow.status, "DENIAL_NOTIFIED")
    await asyncio.sleep(0.5)
    report = complaint_report(
        "HIST-complaint-re-review", claim_id="HIST-re-review", category="claim_decision"
    )
    h = await to_execution(client, tq, report, kinds=("explanation", "re_review"))
    await reach(ch, ClaimWorkflow.status, "PENDING_APPROVAL")
    await update(
        ch,
        ClaimWorkflow.convene_panel,
        await signed(ch, ConvenePanel(convener="mgr1", members=["mgr1", "sup2", "sup3"])),
    )
    for member in ("mgr1", "sup2", "sup3"):
        await decide(ch, member, "approve", note="首诊在投保后")
    await reach(h, ComplaintWorkflow.status, "EXECUTING")
    await update(h, ComplaintWorkflow.execute, Execution(by="h1"))
    await reach(h, ComplaintWorkflow.status, "CALLBACK")
    await update(
        h, ComplaintWorkflow.callback, Callback(by="cc1", reached=True, satisfied=True, note="满意")
    )
    await h.result()
    return h.id


async def complaint_compensation(client: Client, tq: str) -> str:
    """A resolution that pays more than the handler's limit (the coordinator, then an L3
    manager approve), paid on the complaint ledger when executed, called back, closed."""
    report = complaint_report("HIST-complaint-compensation", category="amount_dispute")
    h = await to_execution(
        client,
        tq,
        report,
        kinds=("apology", "payment"),
        amount=Decimal("8000.00"),
        payee=Payee(name="张三", account_ref="6222020200001234", bank_name="中国工商银行"),
        approvers=("cc1", "mgr1"),
    )
    st = ComplaintWorkflow.status
    await reach(h, st, "EXECUTING")
    await update(h, ComplaintWorkflow.execute, Execution(by="h1", note="已致歉并补付"))
    await reach(h, st, "CALLBACK")
    await update(
        h, ComplaintWorkflow.callback, Callback(by="cc1", reached=True, satisfied=True, note="满意")
    )
    await h.result()
    return h.id

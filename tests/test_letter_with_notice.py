"""A key node's letter and the notice that carries it in one step (the "fewer-steps" patch,
workflows/case.py): one local activity instead of two, with nothing changed in what the claim
sends or records; a notice that step could not send for now is tried again on its own, so no
letter is sent twice. (One no channel takes: tests/test_claim_notices.py.) A claim to be paid
is PAYING as its decision letter goes, and its read model is written in the same step, before
the payment."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notices import NoticeActivities
from client import start_claim
from models.claim import ClaimNotice
from models.notices import NoticeReceipt
from models.tables import AuditEventRow, ClaimRow
from notify import build_notifier
from tests.claimtools import handle_for, letters, wait_stage
from tests.conftest import RecordingRail, end_workflows, per_test_client, running_worker
from tests.factories import medical_report
from tests.test_claim_notices import node_notices, with_notifier


def local_activities(history: Any) -> list[str]:
    """The local activities a fetched history recorded, in order."""
    found = []
    for e in history.events:
        if e.HasField("marker_recorded_event_attributes"):
            marker = e.marker_recorded_event_attributes
            if marker.marker_name == "core_local_activity":
                data = json.loads(marker.details["data"].payloads[0].data)
                found.append(data["activity_type"])
    return found


async def test_each_key_node_sends_its_letter_and_notice_in_one_step(dev):
    report = medical_report()  # fast track: acknowledged, decided, paid
    await start_claim(dev.client, report, dev.task_queue)
    st = await wait_stage(dev.client, report.claim_id, "CLOSED")
    cid = report.claim_id
    assert node_notices(st) == [("ack", "sent"), ("decision", "sent"), ("payment", "sent")]
    assert sorted(row.kind for row in letters(dev.engine, cid)) == [
        "acknowledgement",
        "decision",
        "payment",
    ]
    assert st.letters == [f"{cid}-acknowledgement-1", f"{cid}-decision-1", f"{cid}-payment-1"]
    steps = local_activities(await handle_for(dev.client, cid).fetch_history())
    assert steps.count("send_letter_with_notice") == 3
    assert "send_letter" not in steps and "notify_claimant" not in steps
    # the audit trail in the read model, in order: PAYING as the decision letter goes
    with Session(dev.engine) as db:
        rows = db.exec(
            select(AuditEventRow).where(AuditEventRow.case_id == cid).order_by(AuditEventRow.seq)
        ).all()
    trail = [(e.kind, e.data.get("stage") or e.data.get("kind")) for e in rows]
    order = [
        ("stage", "APPROVED"),
        ("stage", "PAYING"),
        ("letter", "decision"),
        ("notice", "decision"),
        ("paid", None),
        ("stage", "PAID"),
        ("letter", "payment"),
        ("notice", "payment"),
        ("stage", "CLOSED"),
    ]
    assert [step for step in trail if step in order] == order
    assert [e.seq for e in rows] == list(range(1, len(rows) + 1))


class FirstTryDeferred:
    """The claim's notifier, whose first attempt at each notice fails for now (a channel
    down): the attempt made with the letter."""

    def __init__(self, real: NoticeActivities) -> None:
        self.real = real
        self.tried: set[str] = set()

    @activity.defn(name="notify_claimant")
    def notify_claimant(self, req: ClaimNotice) -> NoticeReceipt:
        if req.notice.key not in self.tried:
            self.tried.add(req.notice.key)
            raise ApplicationError("the channel is down for now", type="NoticeDeferred")
        return self.real.notify_claimant(req)


async def test_a_notice_deferred_with_its_letter_is_sent_again_on_its_own(
    dev_env, settings, engine, rail
):
    client, started = per_test_client(dev_env)
    report = medical_report()
    notices = FirstTryDeferred(NoticeActivities(build_notifier(settings, engine)))
    acts = with_notifier(settings, engine, rail, notices)
    async with running_worker(client, settings, engine, rail, acts):
        await start_claim(client, report, settings.task_queue)
        st = await wait_stage(client, report.claim_id, "CLOSED")
        history = await handle_for(client, report.claim_id).fetch_history()
        await end_workflows(client, started)
    cid = report.claim_id
    assert node_notices(st) == [("ack", "sent"), ("decision", "sent"), ("payment", "sent")]
    assert "contact_claimant" not in [t.kind for t in st.open_tasks]
    assert notices.tried == {f"claim:{cid}:{node}" for node in ("ack", "decision", "payment")}
    # each letter once, each notice tried again right after the step that carried it
    assert sorted(row.kind for row in letters(engine, cid)) == [
        "acknowledgement",
        "decision",
        "payment",
    ]
    steps = [
        a for a in local_activities(history) if a in ("send_letter_with_notice", "notify_claimant")
    ]
    assert steps == ["send_letter_with_notice", "notify_claimant"] * 3


class HeldRail(RecordingRail):
    """A bank that takes its time: the transfer waits until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()

    def transfer(self, idempotency_key: str, amount: Any, account_ref: str, payee: str) -> str:
        self.go.wait(30)
        return super().transfer(idempotency_key, amount, account_ref, payee)


def _claim_row(engine: Any, claim_id: str) -> ClaimRow | None:
    with Session(engine) as db:
        return db.get(ClaimRow, claim_id)


async def test_the_read_model_shows_paying_while_the_payment_is_made(dev_env, settings, engine):
    client, started = per_test_client(dev_env)
    rail = HeldRail()
    report = medical_report()
    cid = report.claim_id
    try:
        async with running_worker(client, settings, engine, rail):
            await start_claim(client, report, settings.task_queue)
            for _ in range(200):
                row = _claim_row(engine, cid)
                sent = [r.kind for r in letters(engine, cid)]
                if row is not None and row.stage == "PAYING" and "decision" in sent:
                    break
                await asyncio.sleep(0.05)
            # written before the payment: the stage, and the decision letter on file
            assert row is not None and row.stage == "PAYING"
            assert "decision" in sent
            assert rail.transfers == {}
            rail.go.set()
            st = await wait_stage(client, cid, "CLOSED")
            await end_workflows(client, started)
    finally:
        rail.go.set()
    assert [p.amount for p in st.payments] == [st.payable_amount]
    assert len(rail.transfers) == 1

"""Notices at each key node of a claim (DOMAIN §11, release 2027-01): sent without the
claimant asking, once per node, the acknowledgement with the claim's page link (the token
made by the activity, never in the history), formal ones in writing with an SMS pointer; a
notice that cannot go never stops the claim; the materials pause starts when the
missing-materials notice was sent by a recorded channel. Email through a real SMTP exchange
with aiosmtpd."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from temporalio import activity
from temporalio.exceptions import ApplicationError
from typer.testing import CliRunner

from activities.deliveries import DeliveryActivities
from activities.letters import LetterActivities
from activities.records import RecordActivities
from cli import app
from client import start_claim
from models.claim import ClaimNotice, MaterialsSubmission
from models.notices import NoticeReceipt
from notify import sms_outbox_dir
from portal import tokens
from settings import Settings
from tests.claimtools import handle_for, wait_stage
from tests.conftest import end_workflows, per_test_client, running_worker
from tests.factories import ZHANG, materials, medical_report
from tests.test_notices import Inbox, free_port
from worker import build_activities
from workflows.claim import ClaimWorkflow

WITH_EMAIL = {**ZHANG, "email": "zhangsan@example.com"}


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{controller.port}"
    finally:
        controller.stop()


@pytest.fixture
def settings(data_dir: Path, smtp: tuple[Inbox, str]) -> Settings:
    """The worker's settings with the test's SMTP server (conftest's `dev` reads these)."""
    import uuid

    return Settings(
        temporal_address="127.0.0.1:0",
        data_dir=data_dir,
        task_queue=f"claims-{uuid.uuid4()}",
        smtp_url=smtp[1],
    )


def node_notices(st: Any) -> list[tuple[str, str]]:
    """A claim's notices as (node, status), in the order they were sent; each key is the
    claim's, `claim:<id>:<node>`."""
    assert all(n.key.startswith(f"claim:{st.claim_id}:") for n in st.notices)
    return [(n.key.rsplit(":", 1)[1], n.status) for n in st.notices]


def outbox(settings: Settings) -> list[dict[str, str]]:
    folder = sms_outbox_dir(settings)
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


async def test_a_paid_claim_notifies_each_node_once_with_the_page_link(dev, smtp):
    inbox, _ = smtp
    report = medical_report(claimant=WITH_EMAIL)  # fast track: accepted, decided, paid
    await start_claim(dev.client, report, dev.task_queue)
    st = await wait_stage(dev.client, report.claim_id, "CLOSED")
    cid = report.claim_id
    assert node_notices(st) == [("ack", "sent"), ("decision", "sent"), ("payment", "sent")]
    # the acknowledgement with the page link goes by email, as the claimant gave one; the
    # decision is formal: in writing (email, once), with an SMS pointing to it
    assert [n.channel for n in st.notices] == ["email", "email", "sms"]
    assert len(inbox.mails) == 2
    sms = outbox(dev.settings)
    keys = sorted(m["key"] for m in sms)
    assert keys == sorted([f"claim:{cid}:decision:sms", f"claim:{cid}:payment"])
    # the acknowledgement carries the page link; its token opens this claim
    ack = inbox.mails[0].get_body(preferencelist=("plain",))
    assert ack is not None
    token = ack.get_content().split("/c/", 1)[1].split()[0]
    assert tokens.claim_of(engine=dev.engine, token=token) == cid
    history = await handle_for(dev.client, cid).fetch_history()
    assert token not in history.to_json()


class NoChannel:
    """A notifier that cannot send anything (every channel down or refusing), as the claim
    meets it alone and with the letter it carries."""

    @activity.defn(name="notify_claimant")
    def notify_claimant(self, req: ClaimNotice) -> NoticeReceipt:
        raise ApplicationError("no channel took it", type="NoticeUndeliverable", non_retryable=True)


def with_notifier(settings: Settings, engine, rail, notices) -> list:
    """The engine's activities with `notices` in place of the claim's notifier, on its own and
    inside the letter with its notice."""
    letters = LetterActivities(engine, settings.letters_dir)
    deliveries = DeliveryActivities(letters, notices, RecordActivities(engine))
    replaced = ("notify_claimant", "send_letter_with_notice")
    return [
        *(a for a in build_activities(settings, engine, rail) if a.__name__ not in replaced),
        notices.notify_claimant,
        deliveries.send_letter_with_notice,
    ]


async def test_a_notice_that_cannot_go_never_stops_the_claim(dev_env, settings, engine, rail):
    client, started = per_test_client(dev_env)
    report = medical_report()  # fast track
    acts = with_notifier(settings, engine, rail, NoChannel())
    async with running_worker(client, settings, engine, rail, acts):
        await start_claim(client, report, settings.task_queue)
        st = await wait_stage(client, report.claim_id, "CLOSED")
        await end_workflows(client, started)
    assert st.payable_amount == Decimal("1040.00")
    cid = report.claim_id
    assert node_notices(st) == [("ack", "failed"), ("decision", "failed"), ("payment", "failed")]
    contact = [t for t in st.open_tasks if t.kind == "contact_claimant"]
    assert [t.key for t in contact] == [
        f"{cid}:contact:ack",
        f"{cid}:contact:decision",
        f"{cid}:contact:payment",
    ]


async def test_a_formal_notice_without_email_or_address_goes_to_the_letter_box(dev):
    report = medical_report()  # no email, no postal address
    await start_claim(dev.client, report, dev.task_queue)
    st = await wait_stage(dev.client, report.claim_id, "CLOSED")
    decision = next(n for n in st.notices if n.kind == "decision")
    assert (decision.channel, decision.status) == ("letter_box", "sent")
    assert "contact_claimant" not in [t.kind for t in st.open_tasks]
    pointer = [m for m in outbox(dev.settings) if m["key"].endswith(":decision:sms")]
    assert len(pointer) == 1


async def test_the_materials_pause_starts_when_the_notice_was_sent_by_email(dev, smtp):
    inbox, _ = smtp
    report = medical_report(
        claimant=WITH_EMAIL, materials=[m.model_dump() for m in materials("claim_form")]
    )
    await start_claim(dev.client, report, dev.task_queue)
    st = await wait_stage(dev.client, report.claim_id, "AWAITING_MATERIALS")
    notice = next(n for n in st.notices if n.kind == "missing_materials")
    assert notice.channel == "email" and notice.status == "sent" and notice.at is not None
    determination = next(d for d in st.deadlines if d.name == "determination")
    since = determination.pauses[-1]["since"]
    assert abs((_at(since) - notice.at).total_seconds()) < 1
    assert len(inbox.mails) == 2  # the acknowledgement with the page link, and the notice
    # the last documents arrive: one materials-complete notice (twice sent, once taken)
    handle = handle_for(dev.client, report.claim_id)
    missing = materials("identity", "bank_account", "invoices", "expense_list")
    missing += materials("diagnosis_certificate")
    await handle.signal(ClaimWorkflow.submit_materials, MaterialsSubmission(materials=missing))
    await handle.signal(ClaimWorkflow.submit_materials, MaterialsSubmission(materials=missing))
    st = await wait_stage(dev.client, report.claim_id, "CLOSED", "PENDING_APPROVAL")
    keys = [n.key for n in st.notices]
    assert keys.count(f"claim:{report.claim_id}:materials_complete") == 1


async def test_an_investigation_opened_is_notified_once(dev):
    from datetime import datetime

    from tests.factories import CST

    report = medical_report(
        amount_claimed=Decimal("8000"),
        items=[{"category": "treatment", "amount": "8000"}],
        occurred_at=datetime(2025, 3, 1, 9, 0, tzinfo=CST),  # R01: early in the policy
    )
    await start_claim(dev.client, report, dev.task_queue)
    st = await wait_stage(dev.client, report.claim_id, "INVESTIGATING")
    for _ in range(40):  # the notice follows the letter within the same step
        st = await handle_for(dev.client, report.claim_id).query(ClaimWorkflow.status)
        if len(st.notices) >= 2:
            break
        await asyncio.sleep(0.05)
    assert [n.key for n in st.notices] == [
        f"claim:{report.claim_id}:ack",
        f"claim:{report.claim_id}:investigation",
    ]
    sms = [m for m in outbox(dev.settings) if m["key"].endswith(":investigation")]
    assert len(sms) == 1


def _at(value: object):  # type: ignore[no-untyped-def]
    from datetime import datetime

    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


async def test_link_send_needs_the_claimants_phone_and_sends_by_sms(cli_env):
    import asyncio

    report = medical_report(
        amount_claimed=Decimal("8000"), items=[{"category": "treatment", "amount": "8000"}]
    )
    await start_claim(cli_env.client, report, cli_env.task_queue)
    await wait_stage(cli_env.client, report.claim_id, "PENDING_APPROVAL")
    await asyncio.sleep(0.3)  # the projection is written right after the stage changes
    cid = report.claim_id

    def claims(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, list(args))

    before = len(outbox(cli_env.settings))
    r = await asyncio.to_thread(claims, "claim", "link", cid, "--send", "--phone-last4", "9999")
    assert r.exit_code == 1 and "does not match" in r.output and len(r.output.splitlines()) == 1
    r = await asyncio.to_thread(claims, "claim", "link", cid, "--send")
    assert r.exit_code == 1 and "--phone-last4" in r.output
    assert len(outbox(cli_env.settings)) == before
    r = await asyncio.to_thread(claims, "claim", "link", cid, "--send", "--phone-last4", "0000")
    assert r.exit_code == 0, r.output
    assert f"claim {cid}: page link sent by sms to 138****0000" in r.output
    assert "/c/" not in r.output  # the link goes to the claimant only
    sent = [m for m in outbox(cli_env.settings) if m["key"].startswith(f"claim:{cid}:link:")]
    assert len(sent) == 1
    token = sent[0]["text"].split("/c/", 1)[1].split()[0]
    assert tokens.claim_of(engine=cli_env.engine, token=token) == cid

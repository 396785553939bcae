"""Notices that reach people (DOMAIN §11, notify/ and activities/notices.py).

Email goes through a real SMTP exchange with an aiosmtpd server started by the test; SMS to
the outbox folder, post to the print queue, the letter box to its table. Every notice is sent
once per key, and each channel tried is a row of `notices` with its status, attempts and
times. The read model is SQLite and PostgreSQL (127.0.0.1:5432, database `test`).
"""

from __future__ import annotations

import email
import json
import logging
import socket
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker
from typer.testing import CliRunner

import notify.notifier as notifier_module
from activities.notices import NoticeActivities
from bench.readmodel import scratch_postgres
from cli import app
from database import make_engine
from models.catalog import BUSINESS_TZ
from models.claim import ClaimNotice
from models.notices import Channel, Contact, NoticeReceipt, NoticeRequest, NoticeStatus
from models.portal import PortalTokenRow
from notify import build_notifier, print_queue_dir, sms_outbox_dir
from notify.notifier import MAX_ATTEMPTS, NOTICES, NoticeState, Notifier
from notify.queries import letter_box, notices_of
from portal import tokens
from security.keys import key_ring, new_key_entry
from settings import Settings, get_settings
from tests.conftest import PG_URL
from tests.notice_probe import SendOneNotice
from worker import workflow_runner

PERSON = Contact(
    name="张三",
    email="zhangsan@example.com",
    phone="13800000000",
    postal_address="北京市东城区示范路 1 号",
)
PERSONAL = ("张三", "zhangsan@example.com", "zhangsan", "13800000000", "示范路")
CASE = "CLM-20261129-0042"


class Inbox:
    """The SMTP server's side: every message accepted, recipients at refused.example refused."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.endswith("@refused.example"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.mails.append(email.message_from_bytes(envelope.content, policy=default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{controller.port}"
    finally:
        controller.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(settings.db_url)
        yield eng
        eng.dispose()
        return
    with scratch_postgres(PG_URL) as url:
        eng = make_engine(url)
        yield eng
        eng.dispose()


def notifier_for(settings: Settings, db: Engine, smtp_url: str | None) -> Notifier:
    return build_notifier(settings.model_copy(update={"smtp_url": smtp_url}), db)


def notice(key: str, kind: str = "ack", *channels: Channel, **kw: Any) -> NoticeRequest:
    return NoticeRequest(
        case_id=CASE,
        key=key,
        kind=kind,
        channels=list(channels),
        subject="理赔受理通知",
        text=f"您的理赔申请 {CASE} 已受理。",
        recipient=PERSON,
        **kw,
    )


def run(acts: NoticeActivities, req: NoticeRequest) -> NoticeReceipt:
    return ActivityEnvironment().run(acts.send_notice, req)


def run_until_sent(acts: NoticeActivities, req: NoticeRequest) -> tuple[NoticeReceipt, int]:
    """As Temporal's retry policy would: call again while the attempt is deferred."""
    for calls in range(1, 20):
        try:
            return run(acts, req), calls
        except ApplicationError as err:
            assert err.type == "NoticeDeferred" and not err.non_retryable, err
    raise AssertionError("never sent")


def rows(db: Engine, key: str) -> dict[str, Any]:
    return {r.channel: r for r in notices_of(db, case_id=CASE) if r.key == key}


def engine_lines(caplog: pytest.LogCaptureFixture) -> str:
    """What the engine logged; the test's SMTP server (logger `mail.log`) is not the engine."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail."))


def test_an_email_notice_arrives_once_even_when_the_activity_runs_twice(
    settings, db, smtp, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    inbox, url = smtp
    letter = tmp_path / "ack-1.txt"
    letter.write_text("理赔受理通知书", encoding="utf-8")
    acts = NoticeActivities(notifier_for(settings, db, url))
    req = notice(f"claim:{CASE}:ack", "ack", Channel.EMAIL, Channel.SMS, letter_path=str(letter))

    first = run(acts, req)
    again = run(acts, req)

    assert first == again
    assert (first.channel, first.status, first.attempts) == (Channel.EMAIL, NoticeStatus.SENT, 1)
    assert len(inbox.mails) == 1 and inbox.recipients == [["zhangsan@example.com"]]
    mail = inbox.mails[0]
    assert mail["Message-ID"] == first.reference
    assert [p.get_filename() for p in mail.iter_attachments()] == ["ack-1.txt"]
    row = rows(db, req.key)["email"]
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at.utcoffset() == timedelta(0)
    assert not list(sms_outbox_dir(settings).glob("*"))  # the first channel took it
    assert "z*******@example.com" in engine_lines(caplog)
    assert not [p for p in PERSONAL if p in engine_lines(caplog)]


def test_an_unreachable_smtp_server_falls_back_to_post_and_both_are_recorded(settings, db, caplog):
    caplog.set_level(logging.DEBUG)
    acts = NoticeActivities(notifier_for(settings, db, f"smtp://127.0.0.1:{free_port()}"))
    req = notice(f"claim:{CASE}:investigation", "investigation", Channel.EMAIL, Channel.POST)

    receipt, calls = run_until_sent(acts, req)

    assert calls == MAX_ATTEMPTS and receipt.channel is Channel.POST
    assert receipt.attempts == MAX_ATTEMPTS + 1
    tried = rows(db, req.key)
    assert (tried["email"].status, tried["email"].attempts) == ("failed", MAX_ATTEMPTS)
    assert tried["email"].last_error == "SMTP server unreachable (ConnectionRefusedError)"
    assert (tried["post"].status, tried["post"].attempts) == ("sent", 1)
    assert tried["email"].first_attempt_at <= tried["post"].sent_at
    jobs = list(print_queue_dir(settings).glob("*.json"))
    assert len(jobs) == 1 and jobs[0].name == receipt.reference
    job = json.loads(jobs[0].read_text(encoding="utf-8"))
    assert (job["key"], job["address"]) == (req.key, PERSON.postal_address)
    assert run(acts, req) == receipt and len(list(print_queue_dir(settings).iterdir())) == 1
    assert not [p for p in PERSONAL if p in engine_lines(caplog)]


def test_the_sms_outbox_file_appears_once(settings, db, caplog):
    caplog.set_level(logging.DEBUG)
    acts = NoticeActivities(notifier_for(settings, db, None))
    req = notice(f"claim:{CASE}:ack", "ack", Channel.SMS)

    run(acts, req)
    run(acts, req)

    files = list(sms_outbox_dir(settings).iterdir())
    assert len(files) == 1 and files[0].suffix == ".json"  # no temporary file left behind
    queued = json.loads(files[0].read_text(encoding="utf-8"))
    assert (queued["key"], queued["to"], queued["text"]) == (req.key, PERSON.phone, req.text)
    assert CASE not in files[0].name  # the name says nothing of the case
    assert "138****0000" in engine_lines(caplog)
    assert not [p for p in PERSONAL if p in engine_lines(caplog)]


def test_a_notice_in_the_letter_box_is_one_row(settings, db):
    acts = NoticeActivities(notifier_for(settings, db, None))
    req = notice(f"claim:{CASE}:materials_complete", "materials_complete", Channel.LETTER_BOX)

    run(acts, req)
    run(acts, req)

    box = letter_box(db, case_id=CASE)
    assert [(r.key, r.kind, r.subject, r.text, r.read_at) for r in box] == [
        (req.key, "materials_complete", req.subject, req.text, None)
    ]
    assert rows(db, req.key)["letter_box"].status == "sent"


def test_a_formal_notice_goes_in_writing_with_an_sms_pointer(settings, db, smtp):
    inbox, url = smtp
    acts = NoticeActivities(notifier_for(settings, db, url))
    req = notice(
        f"claim:{CASE}:decision", "decision", Channel.SMS, Channel.EMAIL, link="https://x/p"
    )

    receipt = run(acts, req)
    assert run(acts, req) == receipt

    assert receipt.channel is Channel.EMAIL and receipt.pointer_key == f"{req.key}:sms"
    assert len(inbox.mails) == 1
    assert set(rows(db, req.key)) == {"email"}  # the SMS did not carry the decision
    assert rows(db, f"{req.key}:sms")["sms"].status == "sent"
    (pointer,) = sms_outbox_dir(settings).iterdir()
    text = json.loads(pointer.read_text(encoding="utf-8"))["text"]
    assert "电子邮件" in text and CASE in text and "https://x/p" in text


def test_a_formal_notice_without_email_goes_by_post(settings, db):
    acts = NoticeActivities(notifier_for(settings, db, None))  # email not configured
    req = notice(f"claim:{CASE}:missing_materials", "missing_materials", Channel.SMS)

    receipt = run(acts, req)

    assert receipt.channel is Channel.POST
    assert len(list(print_queue_dir(settings).glob("*.json"))) == 1
    (pointer,) = sms_outbox_dir(settings).iterdir()
    assert "邮寄" in json.loads(pointer.read_text(encoding="utf-8"))["text"]


def test_a_formal_notice_with_neither_email_nor_address_goes_to_the_letter_box(settings, db):
    """The claim page's letter box is writing too (DOMAIN §11): a claimant with only a phone
    gets the formal notice there, and the SMS says where to read it."""
    acts = NoticeActivities(notifier_for(settings, db, None))
    req = notice(f"claim:{CASE}:decision", "decision", Channel.SMS)
    req = req.model_copy(update={"recipient": Contact(phone=PERSON.phone)})

    receipt = run(acts, req)
    assert run(acts, req) == receipt

    assert receipt.channel is Channel.LETTER_BOX
    assert rows(db, req.key)["post"].status == "failed"  # no postal address on record
    assert not list(print_queue_dir(settings).glob("*.json"))
    (pointer,) = sms_outbox_dir(settings).iterdir()
    assert "理赔自助页面的信箱" in json.loads(pointer.read_text(encoding="utf-8"))["text"]


def test_a_refused_recipient_moves_on_to_the_next_channel_at_once(settings, db, smtp):
    inbox, url = smtp
    acts = NoticeActivities(notifier_for(settings, db, url))
    refused = PERSON.model_copy(update={"email": "zhangsan@refused.example"})
    req = notice(f"claim:{CASE}:payment", "payment", Channel.EMAIL, Channel.SMS)
    req = req.model_copy(update={"recipient": refused})

    receipt = run(acts, req)

    assert receipt.channel is Channel.SMS and not inbox.mails
    email_row = rows(db, req.key)["email"]
    assert (email_row.status, email_row.attempts) == ("failed", 1)
    assert email_row.last_error == "SMTP refused the recipient (550)"


def test_a_bad_address_is_a_non_retryable_application_error(settings, db, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    _, url = smtp
    acts = NoticeActivities(notifier_for(settings, db, url))
    req = notice(f"claim:{CASE}:ack", "ack", Channel.EMAIL)
    req = req.model_copy(update={"recipient": Contact(email="zhangsan at example")})

    with pytest.raises(ApplicationError) as refused:
        run(acts, req)

    assert refused.value.type == "NoticeUndeliverable" and refused.value.non_retryable
    assert "zhangsan" not in str(refused.value)
    row = rows(db, req.key)["email"]
    assert (row.status, row.attempts, row.last_error) == (
        "failed",
        1,
        "the email address is not valid",
    )
    assert "zhangsan" not in engine_lines(caplog)


def test_a_delivered_notice_is_not_sent_again(settings, db):
    notifier = notifier_for(settings, db, None)
    req = notice(f"claim:{CASE}:ack", "ack", Channel.SMS)
    notifier.send(req)
    assert notifier.mark_delivered(req.key, Channel.SMS)
    for queued in sms_outbox_dir(settings).iterdir():
        queued.unlink()  # the gateway took it

    receipt = notifier.send(req)

    assert receipt.status is NoticeStatus.DELIVERED
    assert not list(sms_outbox_dir(settings).iterdir())
    assert rows(db, req.key)["sms"].delivered_at is not None


def test_an_attempt_that_loses_the_race_keeps_the_winners_record_and_the_untried_rows(
    settings, db, monkeypatch
):
    """Two attempts of one notice at once: the other wrote the email row (sent) after this
    one read the table. This one takes the winner's record, and the channel it could not
    try, written in the same transaction, stays on record."""
    notifier = notifier_for(settings, db, None)
    req = notice(f"claim:{CASE}:ack", "ack", Channel.EMAIL)
    winner = notifier_for(settings, db, None)
    with db.connect() as other:
        winner._record(other, req, Channel.EMAIL, NoticeStatus.SENT, reference="won")
    read = notifier_module._row
    looks: list[Channel] = []

    def stale_first(conn: Any, key: str, channel: Channel) -> Any:
        looks.append(channel)  # the first read of the email row comes before the winner's
        first_email = channel is Channel.EMAIL and looks.count(Channel.EMAIL) == 1
        return None if first_email else read(conn, key, channel)

    monkeypatch.setattr(notifier_module, "_row", stale_first)

    with db.connect() as conn:
        notifier._record(conn, req, Channel.SMS, NoticeStatus.FAILED, error="no", tried=False)
        kept = notifier._record(conn, req, Channel.EMAIL, NoticeStatus.SENT, reference="lost")

    assert looks.count(Channel.EMAIL) == 2  # the insert lost, and the row was read again
    assert (kept.status, kept.reference, kept.attempts) == ("sent", "won", 1)
    on_record = rows(db, req.key)
    assert (on_record["email"].reference, on_record["email"].attempts) == ("won", 1)
    assert (on_record["sms"].status, on_record["sms"].last_error) == ("failed", "no")


def test_a_channel_new_to_the_send_that_lost_the_race_takes_the_winners_row(settings, db):
    """A channel with no row when the send read the key's rows is inserted without reading it
    again; written meanwhile by another attempt, the insert does nothing and its row is read."""
    notifier = notifier_for(settings, db, None)
    req = notice(f"claim:{CASE}:ack", "ack", Channel.EMAIL)
    with db.connect() as other:
        notifier_for(settings, db, None)._record(
            other, req, Channel.EMAIL, NoticeStatus.SENT, reference="won"
        )
    with db.connect() as conn:
        kept = notifier._record(
            conn, req, Channel.EMAIL, NoticeStatus.SENT, reference="lost", fresh=True
        )
    assert (kept.status, kept.reference, kept.attempts) == ("sent", "won", 1)
    assert rows(db, req.key)["email"].reference == "won"


def test_claims_notice_list_shows_status_and_beijing_time(settings, db, monkeypatch):
    notifier = notifier_for(settings, db, None)
    req = notice(f"claim:{CASE}:ack", "ack", Channel.EMAIL, Channel.SMS)
    notifier.send(req)
    sent = rows(db, req.key)["sms"].sent_at
    monkeypatch.setenv("CLAIMS_DATABASE_URL", db.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        shown = CliRunner().invoke(app, ["notice", "list", "--claim", CASE])
        as_json = CliRunner().invoke(app, ["notice", "list", "--claim", CASE, "--json"])
        missing = CliRunner().invoke(app, ["notice", "list", "--claim", "CLM-NONE"])
    finally:
        get_settings.cache_clear()
    assert shown.exit_code == 0, shown.output
    assert "email is not configured" in shown.output and "sent" in shown.output
    assert sent.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") in shown.output
    assert {(n["channel"], n["status"]) for n in json.loads(as_json.output)} == {
        ("email", "failed"),
        ("sms", "sent"),
    }
    assert missing.exit_code == 1 and "no notices for CLM-NONE" in missing.output
    assert not [p for p in PERSONAL if p in shown.output + as_json.output]


# -- through Temporal: a workflow calls the activity by method reference (tests/notice_probe.py)


async def test_temporal_retries_a_failing_channel_then_the_next_one_sends(
    dev_env, settings, tmp_path: Path
):
    db = make_engine(settings.db_url)
    acts = NoticeActivities(notifier_for(settings, db, f"smtp://127.0.0.1:{free_port()}"))
    req = notice(f"claim:{CASE}:ack", "ack", Channel.EMAIL, Channel.POST)
    try:
        async with Worker(
            dev_env.client,
            task_queue=settings.task_queue,
            workflows=[SendOneNotice],
            activities=[acts.send_notice],
            activity_executor=ThreadPoolExecutor(2),
            workflow_runner=workflow_runner(),  # the engine's runner
        ):
            receipt = await dev_env.client.execute_workflow(
                SendOneNotice.run,
                req,
                id=f"notice-test-{uuid.uuid4()}",
                task_queue=settings.task_queue,
            )
        assert (receipt.channel, receipt.attempts) == (Channel.POST, MAX_ATTEMPTS + 1)
        assert receipt.sent_at.tzinfo is not None
        assert receipt.sent_at.astimezone(UTC) == rows(db, req.key)["post"].sent_at
    finally:
        db.dispose()


async def test_temporal_does_not_retry_a_notice_no_channel_can_take(dev_env, settings):
    db = make_engine(settings.db_url)
    acts = NoticeActivities(notifier_for(settings, db, None))
    req = notice(f"claim:{CASE}:ack", "ack", Channel.SMS)
    req = req.model_copy(update={"recipient": Contact(phone="12345")})
    try:
        async with Worker(
            dev_env.client,
            task_queue=settings.task_queue,
            workflows=[SendOneNotice],
            activities=[acts.send_notice],
            activity_executor=ThreadPoolExecutor(2),
            workflow_runner=workflow_runner(),
        ):
            with pytest.raises(WorkflowFailureError) as failed:
                await dev_env.client.execute_workflow(
                    SendOneNotice.run,
                    req,
                    id=f"notice-test-{uuid.uuid4()}",
                    task_queue=settings.task_queue,
                )
        cause = failed.value.cause.cause
        assert isinstance(cause, ApplicationError) and cause.type == "NoticeUndeliverable"
        assert "12345" not in str(cause)
        assert (rows(db, req.key)["sms"].status, rows(db, req.key)["sms"].attempts) == ("failed", 1)
    finally:
        db.dispose()


def test_the_notifiers_record_has_the_notice_tables_columns():
    """NoticeState is what the notifier reads and writes with plain statements: the same
    columns as the table (models/notice_tables.py), in its order."""
    assert list(NoticeState.__slots__) == [c.name for c in NOTICES.columns]


class AnswersLaterOnce(Inbox):
    """An SMTP server that reads the first message whole, then answers 451 (try later): the
    claimant may have it although the sender was told to try again."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        first = not self.mails
        await super().handle_DATA(server, session, envelope)
        return "451 4.3.0 try again later" if first else "250 Message accepted for delivery"


def page_link(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content()).split("/c/", 1)[1].split()[0]


def test_a_retried_notice_carries_the_link_its_first_attempt_sent_and_adds_no_link_row(
    settings, db
):
    """The acknowledgement with the claim's page link, its first attempt answered 451 after
    the server had read it: Temporal's retry sends the same link, so whichever message the
    claimant keeps opens the page, and the claim has one link, not one per attempt."""
    inbox = AnswersLaterOnce()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        url = f"smtp://127.0.0.1:{controller.port}"
        acts = NoticeActivities(
            notifier_for(settings, db, url),
            portal_url="https://claims.example",
            link_secret=tokens.link_secret(settings),
        )
        ack = notice(f"claim:{CASE}:ack", "ack", Channel.SMS)
        ack = ack.model_copy(update={"text": "", "subject": ""})  # the node's own, with the link
        req = ClaimNotice(notice=ack, node="ack", with_link=True)
        receipt, calls = run_until_sent_claim(acts, req)
    finally:
        controller.stop()

    assert calls == 2 and receipt.channel is Channel.EMAIL and len(inbox.mails) == 2
    first, second = (page_link(m) for m in inbox.mails)
    assert first == second
    assert tokens.claim_of(engine=db, token=first) == CASE
    with Session(db) as s:
        links = s.exec(select(PortalTokenRow).where(PortalTokenRow.claim_id == CASE)).all()
    assert len(links) == 1
    # another notice of the claim carries a link of its own
    by_sms = notice(f"claim:{CASE}:link:2", "ack", Channel.SMS)
    by_sms = by_sms.model_copy(
        update={"recipient": Contact(phone=PERSON.phone), "text": "", "subject": ""}
    )
    other = ClaimNotice(notice=by_sms, node="ack", with_link=True)
    ActivityEnvironment().run(acts.notify_claimant, other)
    (queued,) = sms_outbox_dir(settings).iterdir()
    text = json.loads(queued.read_text(encoding="utf-8"))["text"]
    assert "/c/" in text and first not in text


def run_until_sent_claim(acts: NoticeActivities, req: ClaimNotice) -> tuple[NoticeReceipt, int]:
    for calls in range(1, 20):
        try:
            return ActivityEnvironment().run(acts.notify_claimant, req), calls
        except ApplicationError as err:
            assert err.type == "NoticeDeferred" and not err.non_retryable, err
    raise AssertionError("never sent")


def test_the_link_secret_comes_from_the_active_payload_key_and_none_without_one(tmp_path):
    with_key = Settings(data_dir=tmp_path / "a", payload_keys=new_key_entry("k9"))
    other_key = Settings(data_dir=tmp_path / "b", payload_keys=new_key_entry("k9"))
    secret = tokens.link_secret(with_key)
    assert secret is not None and len(secret) == 32
    assert secret != tokens.link_secret(other_key)
    assert secret != key_ring(with_key.payload_keys, None)[0][1]  # derived, not the key itself
    assert tokens.link_secret(Settings(data_dir=tmp_path / "c", payload_keys="")) is None

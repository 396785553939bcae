"""The Notifier: a notice is sent once per key, on the first of its channels that takes it.

Each channel tried is a row in `notices` (key, channel): its status, attempts, times and last
error. A call sends at most one attempt per channel: a transient failure is recorded and the
call says so (NoticeDeferred), and Temporal's retry policy calls again later; after
MAX_ATTEMPTS on a channel, or at once when the channel refuses the message for good (no
address, a refused recipient), the next channel is tried. A notice already sent answers with
its first receipt and sends nothing (the table is read before sending and again after).

Formal notices (models.catalog.FORMAL_NOTICES) go in writing: email, post or the claim page's
letter box, post and then the letter box added last when the preferences leave them out (a
claimant with neither email nor a postal address still has the page); an SMS under
`<key>:sms` then points to them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.catalog import COMPANY_NAME, FORMAL_NOTICES
from models.notice_tables import NoticeRow
from models.notices import (
    WRITTEN_CHANNELS,
    Channel,
    Contact,
    NoticeReceipt,
    NoticeRequest,
    NoticeStatus,
)
from notify.base import Adapter, Message, PermanentFailure, TransientFailure
from security.masking import mask_email, mask_phone

log = logging.getLogger("claims.notify")

MAX_ATTEMPTS = 3  # on one channel, before the next is tried
DONE = (NoticeStatus.SENT, NoticeStatus.DELIVERED)


class NoticeDeferred(Exception):
    """This attempt failed and the channel will be tried again: call again later."""


class NoticeUndeliverable(Exception):
    """Every channel refused the notice or ran out of attempts."""


def plan(req: NoticeRequest) -> tuple[list[Channel], bool]:
    """The channels to try in order, and whether an SMS pointer follows."""
    channels = list(dict.fromkeys(req.channels))
    if req.kind not in FORMAL_NOTICES:
        return channels, False
    written = [c for c in channels if c in WRITTEN_CHANNELS]
    written += [c for c in (Channel.POST, Channel.LETTER_BOX) if c not in written]
    return written, bool(req.recipient.phone)


def masked_recipient(channel: Channel, contact: Contact) -> str:
    """The recipient as a log line may show it."""
    if channel is Channel.EMAIL:
        if contact.email and "@" not in contact.email:
            return "an address that is not one"  # mask_email would show it whole
        return mask_email(contact.email) or "-"
    if channel is Channel.SMS:
        return mask_phone(contact.phone) or "-"
    if channel is Channel.POST:
        return "postal address" if contact.postal_address else "-"
    return "letter box"


POINTER_TEXT = {
    "zh-CN": "【{company}】您有一份关于案件 {case} 的书面通知，已通过{by}发出，请查收。",
    "en": "{company}: a written notice about case {case} has been sent to you by {by}.",
}
POINTER_LINK = {"zh-CN": "也可在此查看：{link}", "en": " Read it at {link}"}
BY = {
    "zh-CN": {
        Channel.EMAIL: "电子邮件",
        Channel.POST: "邮寄",
        Channel.LETTER_BOX: "理赔自助页面的信箱",
    },
    "en": {
        Channel.EMAIL: "email",
        Channel.POST: "post",
        Channel.LETTER_BOX: "your claim page's letter box",
    },
}


def pointer_request(req: NoticeRequest, by: Channel) -> NoticeRequest:
    """The SMS that tells the person a formal notice went out in writing, and where."""
    lang = req.language if req.language in POINTER_TEXT else "zh-CN"
    text = POINTER_TEXT[lang].format(
        company=COMPANY_NAME[lang], case=req.case_id, by=BY[lang].get(by, by.value)
    )
    if req.link:
        text += POINTER_LINK[lang].format(link=req.link)
    return NoticeRequest(
        case_id=req.case_id,
        key=f"{req.key}:sms",
        kind=f"{req.kind}_pointer",
        channels=[Channel.SMS],
        text=text,
        recipient=Contact(phone=req.recipient.phone),
        language=lang,
    )


class Notifier:
    def __init__(
        self, engine: Engine, adapters: Iterable[Adapter], max_attempts: int = MAX_ATTEMPTS
    ) -> None:
        self.engine = engine
        self.adapters = {a.channel: a for a in adapters}
        self.max_attempts = max_attempts

    # -- the table ---------------------------------------------------------------------------

    def rows(self, key: str) -> list[NoticeRow]:
        with Session(self.engine) as session:
            return _rows(session, key)

    def _record(
        self,
        session: Session,
        req: NoticeRequest,
        channel: Channel,
        status: NoticeStatus | None,
        *,
        error: str | None = None,
        reference: str | None = None,
        tried: bool = True,
    ) -> NoticeRow:
        """One attempt on a channel; `status` None: retrying, or failed at the last attempt.
        A channel that could not be tried at all (not configured, no address: `tried` False)
        is only flushed: it is committed with the next attempt's row, in one transaction."""
        now = datetime.now(UTC)
        for _ in range(2):  # a concurrent attempt may insert the row first
            with session.no_autoflush:
                row = session.get(NoticeRow, (req.key, channel.value))
            if row is None:
                row = NoticeRow(
                    key=req.key,
                    channel=channel.value,
                    case_id=req.case_id,
                    kind=req.kind,
                    status=NoticeStatus.RETRYING.value,
                    first_attempt_at=now,
                    last_attempt_at=now,
                )
            if row.status in DONE:
                return row  # a concurrent attempt sent it: its record stands
            row.attempts += 1
            row.last_attempt_at = now
            if status is None:
                out = row.attempts >= self.max_attempts
                status = NoticeStatus.FAILED if out else NoticeStatus.RETRYING
            row.status = status.value
            row.last_error = error
            if status is NoticeStatus.SENT:
                row.sent_at, row.reference = now, reference
            session.add(row)
            if not tried:
                return row  # committed with the next attempt's row
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue
            return row
        raise TransientFailure("the notice record could not be written")

    def mark_delivered(self, key: str, channel: Channel, at: datetime | None = None) -> bool:
        """A gateway, the post or the page confirms delivery: the evidence of notice (送达)."""
        with Session(self.engine) as session:
            row = session.get(NoticeRow, (key, channel.value))
            if row is None or row.status not in DONE:
                return False
            row.status = NoticeStatus.DELIVERED.value
            row.delivered_at = row.delivered_at or at or datetime.now(UTC)
            session.add(row)
            session.commit()
        return True

    # -- sending -----------------------------------------------------------------------------

    def send(self, req: NoticeRequest) -> NoticeReceipt:
        """Send the notice once (and its SMS pointer once). Raises NoticeDeferred when this
        attempt failed and should be repeated, NoticeUndeliverable when nothing can take it.
        One session for the whole call: the table is read once before sending, each attempt
        committed as it ends, and read again after a send (a concurrent attempt may have won)."""
        channels, pointer = plan(req)
        with Session(self.engine, expire_on_commit=False) as session:
            rows = _rows(session, req.key)
            if _first_sent(rows) is None:
                rows = self._send_first(session, req, channels, rows)
            done = _first_sent(rows)
            assert done is not None and done.sent_at is not None
            pointer_key = None
            if pointer:
                pointer_key = self._send_pointer(session, req, Channel(done.channel))
        attempts = sum(r.attempts for r in rows)
        return NoticeReceipt(
            key=req.key,
            channel=Channel(done.channel),
            status=NoticeStatus(done.status),
            sent_at=done.sent_at,
            attempts=attempts,
            reference=done.reference or "",
            pointer_key=pointer_key,
        )

    def _send_first(
        self, session: Session, req: NoticeRequest, channels: list[Channel], tried: list[NoticeRow]
    ) -> list[NoticeRow]:
        """Try the channels in order until one sends; the key's rows as they are after it."""
        message = Message(
            key=req.key,
            case_id=req.case_id,
            kind=req.kind,
            subject=req.subject,
            text=req.text,
            recipient=req.recipient,
            letter_path=req.letter_path,
            language=req.language,
        )
        failed = {r.channel for r in tried if r.status == NoticeStatus.FAILED.value}
        for channel in channels:
            if channel.value in failed:
                continue
            row = self._attempt(session, req, channel, message)
            if row.status in DONE:
                return _rows(session, req.key)  # read again: another attempt may have won
            if row.status == NoticeStatus.RETRYING.value:
                raise NoticeDeferred(
                    f"notice {req.key}: {channel.value} attempt {row.attempts} of "
                    f"{self.max_attempts} failed: {row.last_error}"
                )
        session.commit()  # the channels that could not be tried, on record
        raise NoticeUndeliverable(
            f"notice {req.key}: no channel took it ({', '.join(c.value for c in channels)})"
        )

    def _attempt(
        self, session: Session, req: NoticeRequest, channel: Channel, message: Message
    ) -> NoticeRow:
        to = masked_recipient(channel, req.recipient)
        adapter = self.adapters.get(channel)
        if adapter is None:
            error = f"{channel.value} is not configured"
            log.warning("notice %s: %s", req.key, error)
            return self._record(
                session, req, channel, NoticeStatus.FAILED, error=error, tried=False
            )
        refused = adapter.refusal(message)
        if refused:  # no address: nothing is handed over
            log.warning("notice %s by %s to %s refused: %s", req.key, channel.value, to, refused)
            return self._record(
                session, req, channel, NoticeStatus.FAILED, error=refused, tried=False
            )
        # the channels that could not be tried go on record, and no read stays open while
        # the adapter sends (it may write the database through a connection of its own)
        session.commit()
        try:
            reference = adapter.send(message)
        except PermanentFailure as err:
            log.warning("notice %s by %s to %s refused: %s", req.key, channel.value, to, err)
            return self._record(session, req, channel, NoticeStatus.FAILED, error=str(err))
        except TransientFailure as err:
            log.warning("notice %s by %s to %s failed: %s", req.key, channel.value, to, err)
            return self._record(session, req, channel, None, error=str(err))
        log.info("notice %s (%s) sent by %s to %s", req.key, req.kind, channel.value, to)
        return self._record(session, req, channel, NoticeStatus.SENT, reference=reference)

    def _send_pointer(self, session: Session, req: NoticeRequest, by: Channel) -> str:
        pointer = pointer_request(req, by)
        channels, _ = plan(pointer)
        tried = _rows(session, pointer.key)
        try:
            if _first_sent(tried) is None:
                self._send_first(session, pointer, channels, tried)
        except NoticeUndeliverable as err:
            # the notice itself went out in writing; a pointer that cannot go is only recorded
            log.warning("%s", err)
        return pointer.key


def _rows(session: Session, key: str) -> list[NoticeRow]:
    query = select(NoticeRow).where(NoticeRow.key == key).order_by(col(NoticeRow.first_attempt_at))
    # as the table has them now, not as this session first read them
    return list(session.exec(query.execution_options(populate_existing=True)))


def _first_sent(rows: list[NoticeRow]) -> NoticeRow | None:
    sent = [r for r in rows if r.status in DONE and r.sent_at is not None]
    return min(sent, key=lambda r: r.sent_at or r.last_attempt_at) if sent else None

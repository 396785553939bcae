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
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine

from database import insert_new
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
from models.tables import table_of
from notify.base import Adapter, Message, PermanentFailure, TransientFailure
from prepared import Prepared
from security.masking import mask_email, mask_phone

log = logging.getLogger("claims.notify")

MAX_ATTEMPTS = 3  # on one channel, before the next is tried
DONE = (NoticeStatus.SENT, NoticeStatus.DELIVERED)
_DONE_VALUES = [s.value for s in DONE]
# Read and written with plain statements: the notifier runs for every notice of every case,
# and the ORM's load, flush and refresh cost more than the statements themselves.
NOTICES = table_of(NoticeRow)
# The statements of every notice, prepared once (prepared.py)
_KEY_ROWS = Prepared(
    select(NOTICES).where(NOTICES.c.key == bindparam("key")).order_by(NOTICES.c.first_attempt_at)
)
_CHANNEL_ROW = Prepared(
    select(NOTICES).where(
        NOTICES.c.key == bindparam("key"), NOTICES.c.channel == bindparam("channel")
    )
)
# not yet sent: an attempt never writes over a channel's record of having sent
_ATTEMPTED = Prepared(
    update(NOTICES).where(
        NOTICES.c.key == bindparam("where_key"),
        NOTICES.c.channel == bindparam("where_channel"),
        *(NOTICES.c.status != value for value in _DONE_VALUES),
    )
)


@dataclass(frozen=True, slots=True)
class NoticeState:
    """One row of `notices` as read or written: a channel tried for a notice (NoticeRow's
    columns). Times are UTC."""

    key: str
    channel: str
    case_id: str
    kind: str
    status: str
    attempts: int
    first_attempt_at: datetime
    last_attempt_at: datetime
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    last_error: str | None = None
    reference: str | None = None


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

    def rows(self, key: str) -> list[NoticeState]:
        with self.engine.connect() as conn:
            return _rows(conn, key)

    def _record(
        self,
        conn: Connection,
        req: NoticeRequest,
        channel: Channel,
        status: NoticeStatus | None,
        *,
        error: str | None = None,
        reference: str | None = None,
        tried: bool = True,
        fresh: bool = False,
    ) -> NoticeState:
        """One attempt on a channel; `status` None: retrying, or failed at the last attempt.
        A channel that could not be tried at all (not configured, no address: `tried` False)
        is only written: it is committed with the next attempt's row, in one transaction.
        A concurrent attempt that wrote the row first (or sent the notice) is read again,
        never rolled back over, so the untried channels' rows are kept. A `fresh` channel (no
        row when the send read the key's rows) is inserted without reading it again first: a
        row written meanwhile makes the insert do nothing, and the next pass reads it."""
        now = datetime.now(UTC)
        for n in range(3 if fresh else 2):
            row = None if fresh and n == 0 else _row(conn, req.key, channel)
            if row is not None and row.status in DONE:
                if tried:
                    conn.commit()  # the untried channels written before it, on record
                return row  # a concurrent attempt sent it: its record stands
            attempts = (row.attempts if row else 0) + 1
            outcome = status
            if outcome is None:
                out = attempts >= self.max_attempts
                outcome = NoticeStatus.FAILED if out else NoticeStatus.RETRYING
            values: dict[str, Any] = {
                "attempts": attempts,
                "last_attempt_at": now,
                "status": outcome.value,
                "last_error": error,
            }
            if outcome is NoticeStatus.SENT:
                values |= {"sent_at": now, "reference": reference}
            if row is None:
                written = NoticeState(
                    key=req.key,
                    channel=channel.value,
                    case_id=req.case_id,
                    kind=req.kind,
                    first_attempt_at=now,
                    **values,
                )
                if not insert_new(conn, NOTICES, [_columns(written)], ("key", "channel")):
                    continue
            else:
                which = {"where_key": req.key, "where_channel": channel.value}
                changed = _ATTEMPTED.run(conn, which | values, columns=True)
                if not changed.rowcount:
                    continue
                written = replace(row, **values)
            if tried:
                conn.commit()
            return written
        raise TransientFailure("the notice record could not be written")

    def mark_delivered(self, key: str, channel: Channel, at: datetime | None = None) -> bool:
        """A gateway, the post or the page confirms delivery: the evidence of notice (送达)."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(NOTICES)
                .where(_key_is(key, channel), NOTICES.c.status.in_(_DONE_VALUES))
                .values(
                    status=NoticeStatus.DELIVERED.value,
                    delivered_at=func.coalesce(NOTICES.c.delivered_at, at or datetime.now(UTC)),
                )
            )
        return bool(changed.rowcount)

    # -- sending -----------------------------------------------------------------------------

    def send(self, req: NoticeRequest) -> NoticeReceipt:
        """Send the notice once (and its SMS pointer once). Raises NoticeDeferred when this
        attempt failed and should be repeated, NoticeUndeliverable when nothing can take it.
        One connection for the whole call: the table is read once before sending, each attempt
        committed as it ends, and read again after a send (a concurrent attempt may have won)."""
        channels, pointer = plan(req)
        with self.engine.connect() as conn:
            rows = _rows(conn, req.key)
            if _first_sent(rows) is None:
                rows = self._send_first(conn, req, channels, rows)
            done = _first_sent(rows)
            assert done is not None and done.sent_at is not None
            pointer_key = None
            if pointer:
                pointer_key = self._send_pointer(conn, req, Channel(done.channel))
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
        self,
        conn: Connection,
        req: NoticeRequest,
        channels: list[Channel],
        tried: list[NoticeState],
    ) -> list[NoticeState]:
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
        known = {r.channel for r in tried}
        for channel in channels:
            if channel.value in failed:
                continue
            row = self._attempt(conn, req, channel, message, fresh=channel.value not in known)
            if row.status in DONE:
                return _rows(conn, req.key)  # read again: another attempt may have won
            if row.status == NoticeStatus.RETRYING.value:
                raise NoticeDeferred(
                    f"notice {req.key}: {channel.value} attempt {row.attempts} of "
                    f"{self.max_attempts} failed: {row.last_error}"
                )
        conn.commit()  # the channels that could not be tried, on record
        raise NoticeUndeliverable(
            f"notice {req.key}: no channel took it ({', '.join(c.value for c in channels)})"
        )

    def _attempt(
        self,
        conn: Connection,
        req: NoticeRequest,
        channel: Channel,
        message: Message,
        *,
        fresh: bool,
    ) -> NoticeState:
        to = masked_recipient(channel, req.recipient)
        record = partial(self._record, conn, req, channel, fresh=fresh)
        adapter = self.adapters.get(channel)
        if adapter is None:
            error = f"{channel.value} is not configured"
            log.warning("notice %s: %s", req.key, error)
            return record(NoticeStatus.FAILED, error=error, tried=False)
        refused = adapter.refusal(message)
        if refused:  # no address: nothing is handed over
            log.warning("notice %s by %s to %s refused: %s", req.key, channel.value, to, refused)
            return record(NoticeStatus.FAILED, error=refused, tried=False)
        # the channels that could not be tried go on record, and no read stays open while
        # the adapter sends (it may write the database through a connection of its own)
        conn.commit()
        try:
            reference = adapter.send(message)
        except PermanentFailure as err:
            log.warning("notice %s by %s to %s refused: %s", req.key, channel.value, to, err)
            return record(NoticeStatus.FAILED, error=str(err))
        except TransientFailure as err:
            log.warning("notice %s by %s to %s failed: %s", req.key, channel.value, to, err)
            return record(None, error=str(err))
        log.info("notice %s (%s) sent by %s to %s", req.key, req.kind, channel.value, to)
        return record(NoticeStatus.SENT, reference=reference)

    def _send_pointer(self, conn: Connection, req: NoticeRequest, by: Channel) -> str:
        pointer = pointer_request(req, by)
        channels, _ = plan(pointer)
        tried = _rows(conn, pointer.key)
        try:
            if _first_sent(tried) is None:
                self._send_first(conn, pointer, channels, tried)
        except NoticeUndeliverable as err:
            # the notice itself went out in writing; a pointer that cannot go is only recorded
            log.warning("%s", err)
        return pointer.key


def _key_is(key: str, channel: Channel) -> Any:
    return (NOTICES.c.key == key) & (NOTICES.c.channel == channel.value)


def _columns(row: NoticeState) -> dict[str, Any]:
    return {c: getattr(row, c) for c in NoticeState.__slots__}


def _row(conn: Connection, key: str, channel: Channel) -> NoticeState | None:
    found = _CHANNEL_ROW.run(conn, {"key": key, "channel": channel.value}).first()
    return None if found is None else NoticeState(**found)


def _rows(conn: Connection, key: str) -> list[NoticeState]:
    return [NoticeState(**m) for m in _KEY_ROWS.run(conn, {"key": key}).mappings()]


def _first_sent(rows: list[NoticeState]) -> NoticeState | None:
    sent = [r for r in rows if r.status in DONE and r.sent_at is not None]
    return min(sent, key=lambda r: r.sent_at or r.last_attempt_at) if sent else None

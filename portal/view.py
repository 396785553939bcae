"""What the claim page shows, built from the read model in plain words: where the claim is,
what comes next and by when, what is still needed, letters, payments, documents received."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from models.portal import PortalDocumentRow
from models.status import CLAIM_ENDED, ClaimStatus, DeadlineView
from models.tables import ClaimRow, LetterRow, PaymentRow
from portal import texts
from readmodel.rows import ComplaintRecord

ZONE = ZoneInfo("Asia/Shanghai")
APPEALABLE = frozenset({"DENIED", "DENIAL_NOTIFIED"})


def local_time(at: datetime | None, lang: str) -> str:
    """A moment in Beijing time, the zone named (the claimant may be elsewhere)."""
    if at is None:
        return ""
    zone = "北京时间" if lang == "zh-CN" else "Asia/Shanghai time"
    if at.tzinfo is None:  # SQLite gives back naive UTC
        at = at.replace(tzinfo=UTC)
    return f"{at.astimezone(ZONE):%Y-%m-%d %H:%M} ({zone})"


def money(amount: Decimal | None) -> str:
    if amount is None:
        return ""
    return f"¥{amount.quantize(Decimal('0.01')):,}"


def masked_account(account: str) -> str:
    tail = "".join(ch for ch in account if ch.isalnum())[-4:]
    return f"**** {tail}" if tail else "****"


@dataclass(frozen=True)
class Deadline:
    what: str
    due: str
    status: str
    paused: bool
    why: str


@dataclass(frozen=True)
class Letter:
    letter_id: str
    title: str
    sent: str


@dataclass(frozen=True)
class Payment:
    amount: str
    account: str
    paid: str


@dataclass(frozen=True)
class Document:
    what: str
    name: str
    received: str


@dataclass(frozen=True)
class Complaint:
    complaint_id: str
    received: str
    where: str


@dataclass
class ClaimPage:
    claim_id: str
    line: str
    incident: str
    reported: str
    where: str
    next: str
    registered: bool
    ended: bool = False
    appealable: bool = False
    missing: list[tuple[str, str]] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)
    letters: list[Letter] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    complaints: list[Complaint] = field(default_factory=list)
    amount_claimed: str = ""
    payable: str = ""


def _deadline(d: DeadlineView, lang: str) -> Deadline:
    paused = d.status == "paused"
    why = ""
    if paused:
        open_pauses = [p for p in d.pauses if not p.get("until")]
        reason = str((open_pauses or d.pauses or [{}])[-1].get("reason", ""))
        why = texts.pause_reason(reason, lang)
    due = "" if paused else local_time(d.due_at, lang)
    return Deadline(
        texts.deadline(d.name, lang), due, texts.deadline_status(d.status, lang), paused, why
    )


def _status(row: ClaimRow | None) -> ClaimStatus | None:
    if row is None or not row.status:
        return None
    try:
        return ClaimStatus.model_validate(row.status)
    except ValidationError:
        return None


def claim_page(
    claim_id: str,
    row: ClaimRow | None,
    letters: list[LetterRow],
    payments: list[PaymentRow],
    documents: list[PortalDocumentRow],
    lang: str,
    complaints: list[ComplaintRecord] | None = None,
) -> ClaimPage:
    st = _status(row)
    if row is None or st is None:  # started, not yet in the read model
        where, nxt = texts.stage("REPORTED", lang)
        return ClaimPage(claim_id, "", "", "", where, nxt, registered=False)
    where, nxt = texts.stage(st.stage, lang)
    page = ClaimPage(
        claim_id=claim_id,
        line=texts.line(st.line, lang),
        incident=texts.incident(st.incident_type, lang),
        reported=local_time(st.reported_at, lang),
        where=where,
        next=nxt,
        registered=True,
        ended=st.stage in CLAIM_ENDED,
        appealable=st.stage in APPEALABLE and st.appealed_at is None,
        amount_claimed=money(st.amount_claimed),
        payable=money(st.payable_amount),
    )
    if not page.ended:  # an ended claim asks for nothing more
        page.missing = [(kind, texts.material(kind, lang)) for kind in st.missing_materials]
    page.deadlines = [_deadline(d, lang) for d in st.deadlines if d.stopped_at is None]
    page.letters = [
        Letter(r.letter_id, texts.letter(r.kind, lang), local_time(r.sent_at, lang))
        for r in letters
    ]
    page.payments = [
        Payment(money(p.amount), masked_account(p.account_ref), local_time(p.paid_at, lang))
        for p in payments
    ]
    page.documents = [
        Document(texts.material(d.kind, lang), d.name, local_time(d.received_at, lang))
        for d in documents
    ]
    page.complaints = [
        Complaint(
            c.complaint_id, local_time(c.received_at, lang), texts.complaint_stage(c.stage, lang)
        )
        for c in complaints or []
    ]
    return page

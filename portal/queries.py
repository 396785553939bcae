"""The portal's data access (keyword-only, one session per call): access links, documents,
and the claim records the page shows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.portal import PortalDocumentRow, PortalTokenRow
from models.tables import ClaimRow, LetterRow, PaymentRow, table_of
from prepared import insert_new_row


def add_token(*, engine: Engine, token_sha256: str, claim_id: str, at: datetime) -> None:
    """One prepared insert (a claim's first notice makes its link): no ORM session to flush.
    A token already stored is kept as it is (a notice's link, made again by a retry)."""
    row = {"token_sha256": token_sha256, "claim_id": claim_id, "created_at": at}
    with engine.begin() as conn:
        insert_new_row(conn, table_of(PortalTokenRow), row, ("token_sha256",))


def token(*, engine: Engine, token_sha256: str) -> PortalTokenRow | None:
    with Session(engine) as s:
        return s.get(PortalTokenRow, token_sha256)


def claim(*, engine: Engine, claim_id: str) -> ClaimRow | None:
    with Session(engine) as s:
        return s.get(ClaimRow, claim_id)


def letters(*, engine: Engine, claim_id: str) -> list[LetterRow]:
    with Session(engine) as s:
        q = select(LetterRow).where(LetterRow.case_id == claim_id)
        return list(s.exec(q.order_by(col(LetterRow.sent_at))).all())


def letter(*, engine: Engine, claim_id: str, letter_id: str) -> LetterRow | None:
    with Session(engine) as s:
        row = s.get(LetterRow, letter_id)
        return row if row is not None and row.case_id == claim_id else None


def payments(*, engine: Engine, claim_id: str) -> list[PaymentRow]:
    with Session(engine) as s:
        q = select(PaymentRow).where(PaymentRow.claim_id == claim_id)
        return list(s.exec(q.order_by(col(PaymentRow.seq))).all())


def record_document(*, engine: Engine, row: PortalDocumentRow) -> bool:
    """Record a received document; False when this claim already has it as this kind."""
    with Session(engine) as s:
        if s.get(PortalDocumentRow, (row.claim_id, row.sha256, row.kind)) is not None:
            return False
        s.add(row)
        s.commit()
        return True


def documents(*, engine: Engine, claim_id: str) -> list[PortalDocumentRow]:
    with Session(engine) as s:
        q = select(PortalDocumentRow).where(PortalDocumentRow.claim_id == claim_id)
        return list(s.exec(q.order_by(col(PortalDocumentRow.received_at))).all())


def document(*, engine: Engine, sha256: str) -> PortalDocumentRow | None:
    """The first record of a digest (the file is the same whichever claim it came with)."""
    with Session(engine) as s:
        q = select(PortalDocumentRow).where(PortalDocumentRow.sha256 == sha256)
        return s.exec(q.order_by(col(PortalDocumentRow.received_at))).first()


def revoke_tokens(*, engine: Engine, claim_id: str, at: datetime) -> int:
    """Revoke every link of the claim still valid; how many."""
    with Session(engine) as s:
        q = select(PortalTokenRow).where(
            PortalTokenRow.claim_id == claim_id, col(PortalTokenRow.revoked_at).is_(None)
        )
        rows = list(s.exec(q).all())
        for row in rows:
            row.revoked_at = at
            s.add(row)
        s.commit()
        return len(rows)

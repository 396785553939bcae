"""Reading the notices back: what was sent on a case and by which channel, and the letter box
the claimant's page lists."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.notice_tables import LetterBoxRow, NoticeRow


def notices_of(engine: Engine, *, case_id: str) -> list[NoticeRow]:
    """Every channel tried for every notice of the case, in the order they were first tried."""
    query = (
        select(NoticeRow)
        .where(NoticeRow.case_id == case_id)
        .order_by(col(NoticeRow.first_attempt_at), col(NoticeRow.key), col(NoticeRow.channel))
    )
    with Session(engine) as session:
        return list(session.exec(query))


def letter_box(engine: Engine, *, case_id: str) -> list[LetterBoxRow]:
    """The case's letter box, newest first."""
    query = (
        select(LetterBoxRow)
        .where(LetterBoxRow.case_id == case_id)
        .order_by(col(LetterBoxRow.placed_at).desc(), col(LetterBoxRow.key))
    )
    with Session(engine) as session:
        return list(session.exec(query))

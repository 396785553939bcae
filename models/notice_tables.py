"""The notices' tables in the read model: one row per notice key and channel tried, and the
letter box the claimant's page lists. Only activities and the CLI touch these."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class NoticeRow(SQLModel, table=True):
    """One channel tried for one notice. Times are UTC; views show Beijing time. `last_error`
    says what went wrong in words that name no person or address."""

    __tablename__ = "notices"

    key: str = Field(primary_key=True)
    channel: str = Field(primary_key=True)
    case_id: str = Field(index=True)
    kind: str
    status: str = Field(index=True)
    attempts: int = 0
    first_attempt_at: datetime
    last_attempt_at: datetime
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    last_error: str | None = None
    reference: str | None = None


class LetterBoxRow(SQLModel, table=True):
    """A notice placed in the claimant's letter box, which the page lists newest first."""

    __tablename__ = "letter_box"

    key: str = Field(primary_key=True)
    case_id: str = Field(index=True)
    kind: str
    subject: str
    text: str
    letter_path: str | None = None
    placed_at: datetime
    read_at: datetime | None = None

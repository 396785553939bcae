"""The letter box of the claimant's page: a row in `letter_box` per notice key."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from models.notice_tables import LetterBoxRow
from models.notices import Channel
from notify.base import Message, TransientFailure


class LetterBox:
    channel = Channel.LETTER_BOX

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def refusal(self, message: Message) -> str | None:
        return None  # every claim has its page

    def send(self, message: Message) -> str:
        row = LetterBoxRow(
            key=message.key,
            case_id=message.case_id,
            kind=message.kind,
            subject=message.subject,
            text=message.text,
            letter_path=message.letter_path,
            placed_at=datetime.now(UTC),
        )
        try:
            with Session(self.engine) as session:
                if session.get(LetterBoxRow, message.key) is None:
                    session.add(row)
                    session.commit()
        except IntegrityError:
            pass  # placed by a concurrent attempt: once is enough
        except OperationalError as err:
            raise TransientFailure(
                f"the read model is unavailable ({type(err).__name__})"
            ) from None
        return message.key

"""The letter box of the claimant's page: a row in `letter_box` per notice key."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from database import insert_new
from models.notice_tables import LetterBoxRow
from models.notices import Channel
from models.tables import table_of
from notify.base import Message, TransientFailure

LETTER_BOX = table_of(LetterBoxRow)


class LetterBox:
    channel = Channel.LETTER_BOX

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def refusal(self, message: Message) -> str | None:
        return None  # every claim has its page

    def send(self, message: Message) -> str:
        """Place the notice once; a concurrent attempt's placing stands. A plain statement, not
        the ORM: every formal notice of every claim comes here."""
        row = {
            "key": message.key,
            "case_id": message.case_id,
            "kind": message.kind,
            "subject": message.subject,
            "text": message.text,
            "letter_path": message.letter_path,
            "placed_at": datetime.now(UTC),
        }
        try:
            with self.engine.begin() as conn:
                insert_new(conn, LETTER_BOX, [row], ("key",))
        except OperationalError as err:
            raise TransientFailure(
                f"the read model is unavailable ({type(err).__name__})"
            ) from None
        return message.key

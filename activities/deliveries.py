"""A claim's letter at a key node and the notice that carries it, in one local activity
(since the "fewer-steps" patch, workflows/case.py): the letter is rendered, filed and recorded as
`send_letter` does, then the notice goes with its file as `notify_claimant` sends it; when the
case asks, its read model is written first as `sync_claim` writes it. One step of the workflow
instead of two or three, on the path every claim takes three times or more.

Each part is idempotent on its natural key (the case's write version, the letter id, the
notice key), so a retry after a lost workflow task, or of a letter whose database was down,
writes or sends nothing twice. The
letter's failures are the letter's (retried like any record write, or refused for good); the
notice's never fail the step: it reports them, and the claim records an undeliverable notice
or tries a deferred one again under the notices' own retry policy (workflows/claim_notices.py).
"""

from __future__ import annotations

import logging

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.letters import LetterActivities
from activities.notices import NoticeActivities
from activities.records import RecordActivities
from models.claim import LetterDelivered, LetterWithNotice

log = logging.getLogger("claims.notices")


class DeliveryActivities:
    def __init__(
        self, letters: LetterActivities, notices: NoticeActivities, records: RecordActivities
    ) -> None:
        self.letters = letters
        self.notices = notices
        self.records = records

    @activity.defn(name="send_letter_with_notice")
    def send_letter_with_notice(self, req: LetterWithNotice) -> LetterDelivered:
        # the read model first, when the case asks (the write is idempotent on its version)
        synced = None if req.sync is None else self.records.sync_claim(req.sync)
        letter = self.letters.send_letter(req.letter)
        notice = req.notice.model_copy(
            update={"notice": req.notice.notice.model_copy(update={"letter_path": letter.path})}
        )
        key = notice.notice.key  # `claim:<id>:<node>`: no personal data
        try:
            receipt = self.notices.notify_claimant(notice)
        except ApplicationError as err:
            if err.non_retryable:
                log.info("notice %s with letter %s: undeliverable", key, letter.letter_id)
                return LetterDelivered(letter=letter, notice_problem="undeliverable", synced=synced)
            log.info("notice %s with letter %s: deferred", key, letter.letter_id)
            return LetterDelivered(letter=letter, notice_problem="deferred", synced=synced)
        except Exception as err:  # the notices' own records could not be read or written
            name = type(err).__name__
            log.warning("notice %s with letter %s deferred: %s", key, letter.letter_id, name)
            return LetterDelivered(letter=letter, notice_problem="deferred", synced=synced)
        return LetterDelivered(letter=letter, receipt=receipt, synced=synced)

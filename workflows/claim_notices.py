"""The notices a claim sends the claimant without being asked, at each key node of DOMAIN §11
(since release 2027-01): report accepted (with the claim's page link), missing materials,
materials complete, investigation opened, decision or denial, payment. One notice per node
(key `claim:<id>:<node>`); a formal one goes in writing with an SMS pointer (notify/). A notice
that cannot be sent never stops the claim: the failure is an audit event and a work item for
staff to contact the claimant. Deterministic code only."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.notices import NOTICE_GIVE_UP, NOTICE_RETRY, NOTICE_TIMEOUT, NoticeActivities
    from models.claim import ClaimNotice
    from models.notices import Contact, NoticeReceipt, NoticeRequest
    from models.records import LetterRecord
    from models.status import ClaimStage, NoticeView
    from workflows.claim_state import ClaimState
    from workflows.recorder import SYSTEM, CaseRecorder

# Staff have a working day to reach a claimant a notice could not reach.
CONTACT_DAYS = 1


class ClaimNotices:
    """Sends the claim's notice at a node once, and records how it went."""

    def __init__(self, state: ClaimState, recorder: CaseRecorder[ClaimStage]) -> None:
        self._state = state
        self._rec = recorder

    def key(self, node: str) -> str:
        """A notice's key, `claim:<id>:<node>`: sent once per key, no personal data in it."""
        return f"claim:{self._state.claim_id}:{node}"

    def request(
        self, node: str, kind: str, letter: LetterRecord | None = None, *, with_link: bool = False
    ) -> ClaimNotice | None:
        """The notice at `node` (a letter kind, with the letter when there is one); None when
        the claim began before the release or the node was notified before."""
        s = self._state
        if not s.release_2027_01 or s.report is None:
            return None
        key = self.key(node)
        if any(n.key == key for n in s.notices):
            return None
        claimant = s.report.claimant
        return ClaimNotice(
            node=node,
            with_link=with_link,
            notice=NoticeRequest(
                case_id=s.claim_id,
                key=key,
                kind=kind,
                letter_path=letter.path if letter else None,
                recipient=Contact(name=claimant.name, email=claimant.email, phone=claimant.phone),
                language=claimant.language,
            ),
        )

    async def send(
        self,
        node: str,
        kind: str,
        letter: LetterRecord | None = None,
        *,
        link: bool = False,
    ) -> NoticeReceipt | None:
        """The notice at `node`, sent and recorded; None when there is none to send (see
        `request`) or it failed."""
        req = self.request(node, kind, letter, with_link=link)
        if req is None:
            return None
        try:
            receipt = await workflow.execute_local_activity_method(
                NoticeActivities.notify_claimant,
                req,
                start_to_close_timeout=NOTICE_TIMEOUT,
                schedule_to_close_timeout=NOTICE_GIVE_UP,
                retry_policy=NOTICE_RETRY,
            )
        except (ActivityError, ApplicationError):
            # (a local activity's failure may reach the workflow as its ApplicationError)
            # the error's text is not recorded: it may name the channel's server
            self.failed(node, kind)
            return None
        return self.sent(node, kind, receipt)

    def failed(self, node: str, kind: str) -> None:
        """A notice no channel took: an audit event, and a work item for staff to contact the
        claimant within a working day."""
        s, rec = self._state, self._rec
        s.notices.append(
            NoticeView(key=self.key(node), kind=kind, status="failed", at=workflow.now())
        )
        rec.event("notice_failed", SYSTEM, node=node, kind=kind)
        rec.open_task(
            f"{s.claim_id}:contact:{node}",
            "contact_claimant",
            "L1",
            workflow.now() + timedelta(days=CONTACT_DAYS),
            level=1,
            assignee=s.advisor,
        )

    def sent(self, node: str, kind: str, receipt: NoticeReceipt) -> NoticeReceipt:
        """Record a notice sent at `node`."""
        s, rec = self._state, self._rec
        s.notices.append(
            NoticeView(
                key=self.key(node),
                kind=kind,
                channel=receipt.channel.value,
                status=receipt.status.value,
                at=receipt.sent_at,
            )
        )
        rec.event(
            "notice",
            SYSTEM,
            node=node,
            kind=kind,
            channel=receipt.channel.value,
            status=receipt.status.value,
        )
        return receipt

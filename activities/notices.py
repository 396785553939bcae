"""Notices to claimants and complainants (DOMAIN §11): exactly once per key, on the first
channel that takes them, recorded in `notices` with their status and times (notify/).

A workflow calls `NoticeActivities.send_notice` by method reference with NOTICE_RETRY: an
attempt whose channel failed for now raises a retryable `NoticeDeferred` and Temporal calls
again after the back-off (the notifier counts the attempts per channel and moves to the next
channel after notify.notifier.MAX_ATTEMPTS); a notice no channel can take (no address, every
channel refused or out of attempts) is a non-retryable `NoticeUndeliverable`.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from models.claim import ClaimNotice
from models.notices import Channel, NoticeReceipt, NoticeRequest
from notify.notifier import DONE, NoticeDeferred, NoticeUndeliverable, Notifier

# An attempt tries at most a channel or two, and an SMTP exchange waits 10 s at most
# (notify.smtp.SMTP_TIMEOUT_S): a stuck attempt is retried after this.
NOTICE_TIMEOUT = timedelta(seconds=45)
# A server down for a while: back off to minutes, so the few attempts per channel span them.
NOTICE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=["NoticeUndeliverable"],
)
# A claim waits for its notice at a key node at most this long, then records that it could
# not notify and opens a work item for staff to contact the claimant (DOMAIN §11): the few
# attempts per channel with the back-off above take well under this.
NOTICE_GIVE_UP = timedelta(hours=2)

# What a claim's notice at each key node says (DOMAIN §11): what happened and what comes next;
# a formal notice's letter goes with it in writing. `{link}` is the claim's page.
NODE_TEXT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "ack": "您的理赔申请 {case} 已受理。查看进度、补交材料：{link}",
        "missing_materials": "您的理赔申请 {case} 尚缺材料，详见书面通知。",
        "materials_complete": "您的理赔申请 {case} 材料已齐全，进入审核。",
        "investigation": "您的理赔申请 {case} 需要进一步核实，我们会尽快完成。",
        "decision": "您的理赔申请 {case} 已审核完成，详见书面通知。",
        "appeal_decision": "您对理赔申请 {case} 的申诉已复核完成，详见书面通知。",
        "payment": "您的理赔申请 {case} 赔款已支付。",
    },
    "en": {
        "ack": "Your claim {case} has been accepted. Follow it and send documents at {link}",
        "missing_materials": "Your claim {case} still needs documents: see the written notice.",
        "materials_complete": "We have everything for your claim {case}; it is being reviewed.",
        "investigation": "Your claim {case} needs some checks; we will finish them soon.",
        "decision": "Your claim {case} has been decided: see the written notice.",
        "appeal_decision": "Your appeal on claim {case} has been decided: see the notice.",
        "payment": "The payment for your claim {case} has been sent.",
    },
}


class NoticeActivities:
    def __init__(
        self,
        notifier: Notifier,
        portal_url: str | None = None,
        link_secret: bytes | None = None,
    ) -> None:
        self.notifier = notifier
        # where claimants reach their page (portal.server.base_url); the settings' when None
        self.portal_url = portal_url
        # what a notice's page link is made with (portal.tokens.link_secret): the same link for
        # every attempt of one notice; None, a random one each attempt
        self.link_secret = link_secret

    @activity.defn(name="send_notice")
    def send_notice(self, req: NoticeRequest) -> NoticeReceipt:
        """Send the notice unless its key was sent before; the receipt is the first send's.
        The notifier reads `notices` before sending and again after recording."""
        try:
            return self.notifier.send(req)
        except NoticeDeferred as err:
            raise ApplicationError(str(err), type="NoticeDeferred") from None
        except NoticeUndeliverable as err:
            raise ApplicationError(
                str(err), type="NoticeUndeliverable", non_retryable=True
            ) from None

    @activity.defn(name="notify_claimant")
    def notify_claimant(self, req: ClaimNotice) -> NoticeReceipt:
        """A claim's notice at a key node, in the claimant's language, once per key. With
        `with_link`, a page link is issued here (only its digest is stored) and sent in the
        notice (by email when the claimant gave one); it is never returned, so it stays out of
        the workflow's history. A notice already sent issues no new link."""
        notice = req.notice
        lang = notice.language if notice.language in NODE_TEXT else "zh-CN"
        link = None
        if req.with_link and not self._sent(notice.key):
            link = self._link(notice.case_id, notice.key)
        if req.with_link and notice.recipient.email:
            # the page's link is worth keeping: by email when the claimant gave one, the SMS
            # only if the email cannot go
            notice = notice.model_copy(update={"channels": [Channel.EMAIL, Channel.SMS]})
        text = NODE_TEXT[lang].get(req.node, "{case}").format(case=notice.case_id, link=link or "")
        full = notice.model_copy(
            update={"text": notice.text or text, "subject": notice.subject or text, "link": link}
        )
        return self.send_notice(full)

    def _sent(self, key: str) -> bool:
        return any(r.status in DONE for r in self.notifier.rows(key))

    def _link(self, claim_id: str, notice_key: str) -> str:
        from portal import tokens
        from portal.server import base_url
        from settings import get_settings

        token = tokens.for_notice(
            engine=self.notifier.engine,
            claim_id=claim_id,
            notice_key=notice_key,
            secret=self.link_secret,
        )
        return f"{self.portal_url or base_url(get_settings())}/c/{token}"

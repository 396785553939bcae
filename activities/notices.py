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

from models.notices import NoticeReceipt, NoticeRequest
from notify.notifier import NoticeDeferred, NoticeUndeliverable, Notifier

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


class NoticeActivities:
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

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

"""A workflow that sends one notice the way the claim and complaint workflows will: the
activity by method reference, its module passed through the engine's sandbox."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.notices import NOTICE_TIMEOUT, NoticeActivities
    from models.notices import NoticeReceipt, NoticeRequest

# NOTICE_RETRY's back-off in milliseconds, so a test sees the channel's attempts run out
QUICK = RetryPolicy(
    initial_interval=timedelta(milliseconds=50),
    maximum_interval=timedelta(milliseconds=200),
    non_retryable_error_types=["NoticeUndeliverable"],
)


@workflow.defn
class SendOneNotice:
    @workflow.run
    async def run(self, req: NoticeRequest) -> NoticeReceipt:
        return await workflow.execute_activity_method(
            NoticeActivities.send_notice,
            req,
            start_to_close_timeout=NOTICE_TIMEOUT,
            retry_policy=QUICK,
        )

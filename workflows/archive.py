"""The archive: every night the histories of the cases closed since the previous export go to
the archive folder with a manifest of their sha256 digests (ArchiveWorkflow); on the first of
every month the previous month's complaint report joins them (ComplaintReportWorkflow). Both
are started by Temporal Schedules (`claims schedule install`, audit/schedules.py) and run the
times the schedule meant them for, so a run caught up late still covers the right window."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

# Only named by reference here: imported once, outside the sandbox (it reads the database and
# the Temporal client), not again for every workflow the sandbox loads.
with workflow.unsafe.imports_passed_through():
    from activities.archive import ArchiveActivities
from models.archive import (
    ArchiveRequest,
    ComplaintReportRequest,
    ComplaintReportResult,
    ExportRequest,
    ExportResult,
    MonthlyReportRequest,
    previous_month,
)

# Set by the schedule on each workflow it starts: the time the action was meant for.
SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")

# An export fetches one history per closed case: a night's worth takes minutes, a first
# export of a large book longer. It heartbeats per file, so a dead worker is noticed in two
# minutes and the retry skips the files already written.
EXPORT_TIMEOUT = timedelta(hours=2)
EXPORT_HEARTBEAT = timedelta(minutes=2)
REPORT_TIMEOUT = timedelta(minutes=10)
ARCHIVE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=20,
)


def scheduled_time() -> datetime:
    """The time the schedule meant this run for; a run started by hand: its start."""
    return workflow.info().typed_search_attributes.get(SCHEDULED_AT) or workflow.now()


@workflow.defn
class ArchiveWorkflow:
    @workflow.run
    async def run(self, request: ArchiveRequest) -> ExportResult:
        until = request.until or scheduled_time()
        settled = until + request.settle - workflow.now()
        if settled > timedelta(0):
            await workflow.sleep(settled)
        return await workflow.execute_activity_method(
            ArchiveActivities.export_closed,
            ExportRequest(until=until),
            start_to_close_timeout=EXPORT_TIMEOUT,
            heartbeat_timeout=EXPORT_HEARTBEAT,
            retry_policy=ARCHIVE_RETRY,
        )


@workflow.defn
class ComplaintReportWorkflow:
    @workflow.run
    async def run(self, request: ComplaintReportRequest) -> ComplaintReportResult:
        month = request.month or previous_month(scheduled_time())
        return await workflow.execute_activity_method(
            ArchiveActivities.write_complaint_report,
            MonthlyReportRequest(month=month),
            start_to_close_timeout=REPORT_TIMEOUT,
            retry_policy=ARCHIVE_RETRY,
        )

"""The engine's Temporal Schedules (README "Archive"), with fixed ids:

- `claims-archive-nightly`: at 02:00 Beijing time every night, ArchiveWorkflow exports the
  histories of the cases closed since the previous export;
- `claims-complaint-report-monthly`: at 03:00 Beijing time on the 1st of every month,
  ComplaintReportWorkflow writes the previous month's complaint report.

The time zone is the schedule's own (`Asia/Shanghai`), so the server fires at Beijing time
whatever its clock's zone. A run still going when the next is due makes that one skip; after an
outage the server catches up a missed run within the catch-up window (one run covers all
that was missed: an export starts where the previous one ended).

`install` creates them or, when they exist, updates them in place (paused or not as they
were), so installing twice leaves one schedule of each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from models.archive import VISIBILITY_SETTLE, ArchiveRequest, ComplaintReportRequest
from settings import Settings
from workflows.archive import ArchiveWorkflow, ComplaintReportWorkflow

NIGHTLY_ARCHIVE = "claims-archive-nightly"
MONTHLY_COMPLAINT_REPORT = "claims-complaint-report-monthly"
SCHEDULE_IDS = (NIGHTLY_ARCHIVE, MONTHLY_COMPLAINT_REPORT)
SHORT_NAMES = {"archive": NIGHTLY_ARCHIVE, "complaint-report": MONTHLY_COMPLAINT_REPORT}
TIME_ZONE = "Asia/Shanghai"
# Long enough to ride out a weekend outage of the cluster, short enough that a schedule
# installed on a long-stopped cluster does not start with a pile of stale runs.
NIGHTLY_CATCHUP = timedelta(days=2)
MONTHLY_CATCHUP = timedelta(days=7)
RUN_TIMEOUT = timedelta(hours=6)


class UnknownSchedule(ValueError):
    """A schedule name that is not one of the engine's (one line)."""


def _at(hour: int, comment: str, day_of_month: int | None = None) -> ScheduleSpec:
    days = (ScheduleRange(1, 31),) if day_of_month is None else (ScheduleRange(day_of_month),)
    calendar = ScheduleCalendarSpec(hour=(ScheduleRange(hour),), day_of_month=days, comment=comment)
    return ScheduleSpec(calendars=[calendar], time_zone_name=TIME_ZONE)


def definitions(
    settings: Settings, *, settle: timedelta = VISIBILITY_SETTLE
) -> dict[str, Schedule]:
    """The engine's schedules, starting their workflows on the engine's task queue."""
    return {
        NIGHTLY_ARCHIVE: Schedule(
            action=ScheduleActionStartWorkflow(
                ArchiveWorkflow.run,
                ArchiveRequest(settle=settle),
                id=NIGHTLY_ARCHIVE,  # the server appends the scheduled time
                task_queue=settings.task_queue,
                execution_timeout=RUN_TIMEOUT,
            ),
            spec=_at(2, "02:00 every night"),
            policy=SchedulePolicy(
                overlap=ScheduleOverlapPolicy.SKIP, catchup_window=NIGHTLY_CATCHUP
            ),
            state=ScheduleState(note="closed cases' histories to the archive folder"),
        ),
        MONTHLY_COMPLAINT_REPORT: Schedule(
            action=ScheduleActionStartWorkflow(
                ComplaintReportWorkflow.run,
                ComplaintReportRequest(),
                id=MONTHLY_COMPLAINT_REPORT,
                task_queue=settings.task_queue,
                execution_timeout=RUN_TIMEOUT,
            ),
            spec=_at(3, "03:00 on the 1st of every month", day_of_month=1),
            policy=SchedulePolicy(
                overlap=ScheduleOverlapPolicy.SKIP, catchup_window=MONTHLY_CATCHUP
            ),
            state=ScheduleState(note="the previous month's complaint report to the archive"),
        ),
    }


async def install(
    client: Client, settings: Settings, *, settle: timedelta = VISIBILITY_SETTLE
) -> list[tuple[str, str]]:
    """Create the schedules, or update those that exist; (id, "created" | "updated")."""
    done: list[tuple[str, str]] = []
    for schedule_id, schedule in definitions(settings, settle=settle).items():
        try:
            await client.create_schedule(schedule_id, schedule)
            done.append((schedule_id, "created"))
        except ScheduleAlreadyRunningError:
            await client.get_schedule_handle(schedule_id).update(_replacing(schedule))
            done.append((schedule_id, "updated"))
    return done


def _replacing(schedule: Schedule) -> Callable[[ScheduleUpdateInput], ScheduleUpdate]:
    def update(input: ScheduleUpdateInput) -> ScheduleUpdate:
        # an operator's pause (and its note) outlives a reinstall
        schedule.state = input.description.schedule.state
        return ScheduleUpdate(schedule=schedule)

    return update


@dataclass(frozen=True)
class ScheduleSummary:
    id: str
    installed: bool
    when: str = ""
    time_zone: str = ""
    workflow: str = ""
    next_run: datetime | None = None
    last_run: datetime | None = None
    paused: bool = False
    runs: int = 0


async def summaries(client: Client) -> list[ScheduleSummary]:
    """Each of the engine's schedules as installed on the server (or not)."""
    out: list[ScheduleSummary] = []
    for schedule_id in SCHEDULE_IDS:
        try:
            described = await client.get_schedule_handle(schedule_id).describe()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            out.append(ScheduleSummary(id=schedule_id, installed=False))
            continue
        schedule, info = described.schedule, described.info
        action = schedule.action
        out.append(
            ScheduleSummary(
                id=schedule_id,
                installed=True,
                when="; ".join(c.comment or "" for c in schedule.spec.calendars),
                time_zone=schedule.spec.time_zone_name or "UTC",
                workflow=action.workflow if isinstance(action, ScheduleActionStartWorkflow) else "",
                next_run=info.next_action_times[0] if info.next_action_times else None,
                last_run=info.recent_actions[-1].scheduled_at if info.recent_actions else None,
                paused=schedule.state.paused,
                runs=info.num_actions,
            )
        )
    return out


async def remove(client: Client) -> list[tuple[str, str]]:
    """Delete the schedules; (id, "removed" | "not installed"). Runs in flight finish."""
    done: list[tuple[str, str]] = []
    for schedule_id in SCHEDULE_IDS:
        try:
            await client.get_schedule_handle(schedule_id).delete()
            done.append((schedule_id, "removed"))
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            done.append((schedule_id, "not installed"))
    return done


def schedule_id(name: str) -> str:
    """A schedule's id from its id or short name (`archive`, `complaint-report`)."""
    if name in SCHEDULE_IDS:
        return name
    if name in SHORT_NAMES:
        return SHORT_NAMES[name]
    known = ", ".join([*SHORT_NAMES, *SCHEDULE_IDS])
    raise UnknownSchedule(f"unknown schedule {name!r}: one of {known}")


async def run_now(client: Client, name: str) -> str:
    """Start the schedule's action now (as a run the schedule took); its id."""
    found = schedule_id(name)
    try:
        await client.get_schedule_handle(found).trigger()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        raise UnknownSchedule(f"{found} is not installed: run claims schedule install") from None
    return found

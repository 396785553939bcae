"""The statutory clocks of one case running beside its process: each clock's reminder,
escalation and breach fired on time, the calendar check and newly published calendar years.
The counting rules are workflows/clock.py; this is the part that waits and records.
Deterministic code only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from models.calendars import CalendarUpdate
    from models.rules import Flag
    from workflows import search
    from workflows.case import patched
    from workflows.clock import Calendar, Clock
    from workflows.recorder import (
        NEXT_LEVEL,
        SYSTEM,
        TOP_PRIORITY,
        CaseRecorder,
        level_of,
        wait_until,
    )

CALENDAR_FLAG = "C01"  # a deadline in a year the holiday calendar does not cover yet

# A case's own action for a ladder step (clock name, step); True if it replaces the standard one.
StepHook = Callable[[str, str], Awaitable[bool]]
# The delay letter of a breached customer-facing clock (clock name, last day, stage).
DelayLetter = Callable[[str, str, str], Awaitable[object]]


async def _standard(name: str, step: str) -> bool:
    return False


class CaseClocks:
    """The running clocks of one case and their escalation ladder."""

    def __init__(
        self,
        recorder: CaseRecorder[Any],
        *,
        flush: Callable[[], Awaitable[None]],
        delay_letter: DelayLetter,
        calendar_flags: bool,
        on_step: StepHook = _standard,
    ) -> None:
        self._recorder = recorder
        self._flush = flush
        self._delay_letter = delay_letter
        # A case's own action for a ladder step, wired by the case's workflow.
        self.on_step = on_step
        # Since the release a deadline in a year the calendar does not cover is flagged.
        self._calendar_flags = calendar_flags
        self.flags: dict[str, Flag] = {}
        self.clocks: dict[str, Clock] = {}
        self.breaches: list[str] = []
        self.calendar: Calendar | None = None
        self.finished = False
        self._version = 0
        self._tasks: dict[str, list[str]] = {}
        self._sa_due: datetime | None | int = -1

    # ================================================================== watching

    async def watch(self) -> None:
        """Beside the process: fire each clock's reminder, escalation and breach on time."""
        while not self.finished:
            now = workflow.now()
            upcoming = []
            for clock in self.clocks.values():
                step = clock.next_step(now)
                if step is not None:
                    upcoming.append(step[1])
            version = self._version

            def changed(v: int = version) -> bool:
                return self.finished or self._version != v

            if not upcoming:
                await workflow.wait_condition(changed)
                continue
            at = min(upcoming)
            if at > now and await wait_until(changed, at):
                continue
            await self._fire_due_steps()

    async def _fire_due_steps(self) -> None:
        now = workflow.now()
        for name, clock in list(self.clocks.items()):
            for step in clock.due_steps(now):
                clock.fired.append(step)
                if await self.on_step(name, step):
                    continue
                await self._ladder_step(name, clock, step)
        self.changed()

    async def _ladder_step(self, name: str, clock: Clock, step: str) -> None:
        rec = self._recorder
        due = clock.due_at(workflow.now())
        rec.event(f"clock_{step}", SYSTEM, clock=name, due_at=due.isoformat())
        owner = clock.owner or "L1"
        is_role = owner.startswith("L")
        key = f"{rec.case_id}:{name}:{step}"
        if step == "reminder":
            rec.open_task(
                key,
                "reminder",
                owner if is_role else "investigator",
                due,
                assignee=None if is_role else owner,
                level=level_of(owner),
            )
        elif step == "escalation":
            role = NEXT_LEVEL.get(owner, "L2") if is_role else "L2"
            rec.open_task(key, "escalation", role, due, level=level_of(role))
        else:
            if name not in self.breaches:
                self.breaches.append(name)
            rec.priority = TOP_PRIORITY
            rec.open_task(key, "breach", "L3", due, level=3)
            if clock.customer_facing:
                await self._delay_letter(name, self.calendar_date(due), rec.stage)
        self._tasks.setdefault(name, []).append(key)
        await self._flush()

    # ================================================================== starting, stopping

    def start(
        self,
        name: str,
        days: int,
        owner: str,
        customer_facing: bool = True,
        at: datetime | None = None,
    ) -> Clock:
        """Start a clock now, or at `at`: when the insurer received what starts it (never
        later than now). A clock that started long before the case was entered may be due
        already: its ladder then fires at once."""
        now = workflow.now()
        started = min(at, now) if at is not None else now
        clock = Clock(name, started, days, self.cal, owner=owner, customer_facing=customer_facing)
        self.clocks[name] = clock
        extra = {"started_at": started.isoformat()} if at is not None else {}
        self._recorder.event(
            "clock_started",
            SYSTEM,
            clock=name,
            days=days,
            due_at=clock.due_at(now).isoformat(),
            **extra,
        )
        self.changed()
        return clock

    def stop(self, name: str) -> None:
        clock = self.clocks.get(name)
        if clock is None or clock.stopped_at is not None:
            return
        clock.stop(workflow.now())
        view = clock.view(workflow.now())
        self._recorder.event("clock_stopped", SYSTEM, clock=name, status=view.status)
        for key in self._tasks.pop(name, []):
            self._recorder.close_task(key)
        self.changed()

    def stop_all(self) -> None:
        for name in list(self.clocks):
            self.stop(name)

    def changed(self) -> None:
        """A clock started, stopped, paused or moved: the watcher looks again."""
        self._version += 1
        self._check_calendar()

    # ================================================================== the calendar

    def _check_calendar(self) -> None:
        """A running clock whose last day falls in a year the holiday calendar does not cover
        is flagged on the case (status.flags, C01), put before an L2 as a work item and
        recorded in the audit trail: it is counted on weekends alone until the year is
        published (signal calendar_updated). The flag goes when the year arrives or the
        clock stops."""
        if not self._calendar_flags or self.calendar is None:
            return
        rec = self._recorder
        now = workflow.now()
        for name, clock in self.clocks.items():
            years = clock.uncovered_years(now) if clock.stopped_at is None else []
            key = f"{rec.case_id}:calendar:{name}"
            known = self.flags.get(name)
            if not years:
                if known is not None:
                    del self.flags[name]
                    rec.close_task(key)
                    why = "stopped" if clock.stopped_at is not None else "year published"
                    rec.event("calendar_flag_cleared", SYSTEM, clock=name, why=why)
                continue
            due = clock.due_at(now)
            listed = ", ".join(str(y) for y in years)
            flag = Flag(
                code=CALENDAR_FLAG,
                effect="flag",
                reason=(
                    f"the {name} deadline ({self.calendar_date(due)}) falls in {listed}, whose "
                    "public holidays the calendar does not have yet: it is counted on weekends "
                    "alone until they are published (claims calendar refresh)"
                ),
            )
            if known == flag:
                continue
            self.flags[name] = flag
            rec.event(
                "calendar_not_covered", SYSTEM, clock=name, years=years, due_at=due.isoformat()
            )
            if known is None:
                rec.open_task(key, "calendar_check", "L2", due, level=2)

    def calendar_updated(self, update: CalendarUpdate) -> bool:
        """A newly published calendar year (`claims calendar refresh`): the running clocks
        count with it from now on, and the flags it answers go. Stopped clocks keep the
        calendar they were judged by. True when the case is to be flushed."""
        if self.calendar is None or self.finished:
            return False
        if not patched("calendar-updates"):
            return False
        calendar = self.calendar.updated(update.holidays, update.workdays, update.years)
        if calendar == self.calendar:
            return False
        now = workflow.now()
        running = {n: c for n, c in self.clocks.items() if c.stopped_at is None}
        before = {n: c.due_at(now) for n, c in running.items()}
        self.calendar = calendar
        for clock in running.values():
            clock.calendar = calendar
        moved = {
            n: c.due_at(now).isoformat() for n, c in running.items() if c.due_at(now) != before[n]
        }
        self._recorder.event(
            "calendar_updated",
            SYSTEM,
            years=sorted(set(update.years)),
            source=update.source,
            moved=moved,
        )
        self.changed()
        return True

    # ================================================================== reading

    @property
    def cal(self) -> Calendar:
        assert self.calendar is not None
        return self.calendar

    def due_date(self, name: str) -> str:
        return self.calendar_date(self.clocks[name].due_at(workflow.now()))

    def calendar_date(self, due_at: datetime) -> str:
        """The last day of a period (due_at is 24:00 of it), as an ISO date."""
        return (due_at.astimezone(self.cal.tz) - timedelta(seconds=1)).date().isoformat()

    def next_due_update(self) -> list[SearchAttributeUpdate[Any]]:
        """The NextDueTime search attribute: the earliest due time of a running clock.

        Added after cases were already open: behind a patch, so histories recorded before it
        replay unchanged (see README, "Changing workflow code while cases are open")."""
        if not patched("next-due-time"):
            return []
        now = workflow.now()
        dues = [c.due_at(now) for c in self.clocks.values() if c.running_at(now)]
        due = min(dues) if dues else None
        if due == self._sa_due:
            return []
        self._sa_due = due
        return [search.NEXT_DUE.value_set(due) if due else search.NEXT_DUE.value_unset()]

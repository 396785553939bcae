"""The statutory clock: a deadline that counts days as the Civil Code does, pauses and resumes
with reasons, can be extended, and knows its escalation ladder (DOMAIN §3).

Pure Python, no I/O: times come from the workflow (`workflow.now()`), the holiday calendar from
the rules snapshot, so every answer is the same on replay.

- Days are calendar days counted from the day after the start (Civil Code art. 201).
- The period ends at 24:00 of its last day (art. 203); a last day that is a day off (a public
  holiday, or a weekend that is not a make-up working day) moves to the next working day.
- Paused days (e.g. from the missing-materials notice until the materials arrive, SPC
  Interpretation II art. 15) are added to the period.
- Ladder: a reminder at 2/3 of the period, escalation at 5/6, breach at the due time; each
  point moves with the pauses and fires once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from models.status import DeadlineView

LADDER = (("reminder", 2 / 3), ("escalation", 5 / 6), ("breach", 1.0))


@dataclass(frozen=True)
class Calendar:
    tz: tzinfo
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @classmethod
    def of(
        cls, tz: tzinfo, holidays: Iterable[date] = (), workdays: Iterable[date] = ()
    ) -> Calendar:
        return cls(tz, frozenset(holidays), frozenset(workdays))

    def is_day_off(self, d: date) -> bool:
        if d in self.workdays:
            return False
        return d in self.holidays or d.weekday() >= 5

    def next_working_day(self, d: date) -> date:
        while self.is_day_off(d):
            d += timedelta(days=1)
        return d

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def end_of(self, d: date) -> datetime:
        """24:00 of a local day, as an aware datetime."""
        return datetime.combine(d + timedelta(days=1), time.min, tzinfo=self.tz)


@dataclass
class Pause:
    reason: str
    since: datetime
    until: datetime | None = None


@dataclass
class Extension:
    days: int
    reason: str
    at: datetime
    approved_by: str | None = None


@dataclass
class Clock:
    name: str
    started_at: datetime
    days: int
    calendar: Calendar
    owner: str = ""  # the role or person a reminder goes to
    customer_facing: bool = True  # a breach sends the customer a delay letter
    ladder: bool = True
    pauses: list[Pause] = field(default_factory=list)
    extensions: list[Extension] = field(default_factory=list)
    stopped_at: datetime | None = None
    fired: list[str] = field(default_factory=list)

    # -------------------------------------------------------------- events

    def pause(self, reason: str, now: datetime) -> None:
        if not self.paused and self.stopped_at is None:
            self.pauses.append(Pause(reason=reason, since=now))

    def resume(self, now: datetime) -> None:
        if self.paused:
            self.pauses[-1].until = now

    def extend(self, total_days: int, reason: str, now: datetime, by: str | None = None) -> None:
        if total_days <= self.total_days:
            raise ValueError(f"an extension must go beyond {self.total_days} days")
        self.extensions.append(Extension(days=total_days, reason=reason, at=now, approved_by=by))

    def stop(self, now: datetime) -> None:
        self.resume(now)
        if self.stopped_at is None:
            self.stopped_at = now

    def restart(self, now: datetime) -> None:
        """Start the period afresh (e.g. new facts in a complaint)."""
        self.started_at = now
        self.pauses = []
        self.stopped_at = None
        self.fired = []

    # -------------------------------------------------------------- answers

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].until is None

    @property
    def running(self) -> bool:
        return self.stopped_at is None and not self.paused

    @property
    def total_days(self) -> int:
        return self.extensions[-1].days if self.extensions else self.days

    def paused_days(self, now: datetime) -> int:
        cal = self.calendar
        return sum(
            (cal.local_date(p.until or now) - cal.local_date(p.since)).days for p in self.pauses
        )

    def last_day(self, now: datetime) -> date:
        start = self.calendar.local_date(self.started_at)
        nominal = start + timedelta(days=self.total_days + self.paused_days(now))
        return self.calendar.next_working_day(nominal)

    def due_at(self, now: datetime) -> datetime:
        return self.calendar.end_of(self.last_day(now))

    def point(self, step: str, now: datetime) -> datetime:
        """When a ladder step falls, given the pauses so far."""
        fraction = dict(LADDER)[step]
        if step == "breach":
            return self.due_at(now)
        return self.started_at + timedelta(days=self.total_days * fraction + self.paused_days(now))

    def next_step(self, now: datetime) -> tuple[str, datetime] | None:
        """The next ladder step not yet fired, and when; None when the clock is not running."""
        if not self.ladder or not self.running:
            return None
        for step, _ in LADDER:
            if step not in self.fired:
                return step, self.point(step, now)
        return None

    def due_steps(self, now: datetime) -> list[str]:
        """Ladder steps whose time has come (in order); the caller marks them fired."""
        steps = []
        if not self.ladder or not self.running:
            return steps
        for step, _ in LADDER:
            if step not in self.fired and self.point(step, now) <= now:
                steps.append(step)
        return steps

    def view(self, now: datetime) -> DeadlineView:
        at = self.stopped_at or now
        due = self.due_at(at)
        if self.stopped_at is not None:
            status = "met" if self.stopped_at <= due else "breached"
        elif self.paused:
            status = "paused"
        elif "breach" in self.fired or now > due:
            status = "overdue"
        else:
            status = "running"
        left = (self.last_day(at) - self.calendar.local_date(now)).days
        return DeadlineView(
            name=self.name,
            started_at=self.started_at,
            due_at=due,
            days_left=left if self.stopped_at is None else 0,
            status=status,
            days=self.total_days,
            paused_days=self.paused_days(at),
            pauses=[{"reason": p.reason, "since": p.since, "until": p.until} for p in self.pauses],
            extensions=[
                {"days": e.days, "reason": e.reason, "at": e.at, "approved_by": e.approved_by}
                for e in self.extensions
            ],
            fired=list(self.fired),
            stopped_at=self.stopped_at,
        )

"""The statutory clock: a deadline that counts days as the Civil Code does, pauses and resumes
with reasons, can be extended, and knows its escalation ladder (DOMAIN §3).

Pure Python, no I/O: times come from the workflow (`workflow.now()`), the holiday calendar from
the rules snapshot, so every answer is the same on replay.

- A clock starts when the insurer received the thing (a report's `reported_at`, a complaint's
  `received_at`, the day materials arrived), which may be before the case was entered.
- Days are calendar days counted from the day after the start (Civil Code art. 201).
- The period ends at 24:00 of its last day (art. 203); a last day that is a day off (a public
  holiday, or a weekend that is not a make-up working day) moves to the next working day.
- Paused days (e.g. from the day the missing-materials notice reached the claimant until the
  materials arrive, SPC Interpretation II art. 15) are added to the period. A pause may be
  recorded before it begins (a notice still in the post): until then the clock runs.
- The calendar knows which years it covers; a last day in a year it does not cover is
  reported (`uncovered_years`) so that the case can flag it instead of trusting weekends.
- Ladder: a reminder at 2/3 of the period, escalation at 5/6, breach at the due time; each
  point moves with the pauses and fires once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from models.status import DeadlineView

LADDER = (("reminder", 2 / 3), ("escalation", 5 / 6), ("breach", 1.0))


@dataclass(frozen=True)
class Calendar:
    tz: tzinfo
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    # The years whose public holidays are known (the State Council publishes each year's in
    # November). Without them given, the years that have a holiday listed.
    years: frozenset[int] = frozenset()

    @classmethod
    def of(
        cls,
        tz: tzinfo,
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
        years: Iterable[int] | None = None,
    ) -> Calendar:
        days_off = frozenset(holidays)
        covered = frozenset(years) if years else frozenset(d.year for d in days_off)
        return cls(tz, days_off, frozenset(workdays), covered)

    def covers(self, d: date) -> bool:
        return d.year in self.years

    def updated(
        self, holidays: Iterable[date], workdays: Iterable[date], years: Iterable[int]
    ) -> Calendar:
        """This calendar with the given years replaced by a newly published schedule."""
        new_years = frozenset(years)
        holidays = frozenset(holidays)
        workdays = frozenset(workdays)
        new_years |= frozenset(d.year for d in holidays)

        def keep(days: frozenset[date]) -> frozenset[date]:
            return frozenset(d for d in days if d.year not in new_years)

        return Calendar(
            self.tz,
            keep(self.holidays) | {d for d in holidays if d.year in new_years},
            keep(self.workdays) | {d for d in workdays if d.year in new_years},
            self.years | new_years,
        )

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

    def paused_at(self, now: datetime) -> bool:
        """Paused at `now`: a pause is open and has begun (a notice may not have arrived yet)."""
        return self.paused and self.pauses[-1].since <= now

    def running_at(self, now: datetime) -> bool:
        return self.stopped_at is None and not self.paused_at(now)

    def paused_days(self, now: datetime) -> int:
        """Days paused so far; a pause that has not begun yet, or that ended before it began
        (materials that arrived before the notice reached the claimant), adds none."""
        cal = self.calendar
        return sum(
            max(0, (cal.local_date(p.until or now) - cal.local_date(p.since)).days)
            for p in self.pauses
        )

    def nominal_last_day(self, now: datetime) -> date:
        start = self.calendar.local_date(self.started_at)
        return start + timedelta(days=self.total_days + self.paused_days(now))

    def last_day(self, now: datetime) -> date:
        return self.calendar.next_working_day(self.nominal_last_day(now))

    def uncovered_years(self, now: datetime) -> list[int]:
        """The years the last day was counted in without their holidays being known: the
        nominal last day's, and every year up to the working day it moved to."""
        first, last = self.nominal_last_day(now).year, self.last_day(now).year
        cal = self.calendar
        return [y for y in range(first, last + 1) if y not in cal.years]

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
        if not self.ladder or not self.running_at(now):
            return None
        for step, _ in LADDER:
            if step not in self.fired:
                return step, self.point(step, now)
        return None

    def due_steps(self, now: datetime) -> list[str]:
        """Ladder steps whose time has come (in order); the caller marks them fired."""
        steps: list[str] = []
        if not self.ladder or not self.running_at(now):
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
        elif self.paused_at(now):
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


def notice_reached(
    sent_at: datetime,
    channel: str,
    presumed_days: Mapping[str, int],
    delivered_at: datetime | None = None,
) -> datetime:
    """When a notice reached its addressee (送达): its recorded delivery time if there is one;
    otherwise for post the profile's presumed delivery days after sending, and for email,
    SMS and other electronic channels the sending time."""
    if delivered_at is not None:
        return delivered_at
    return sent_at + timedelta(days=presumed_days.get(channel, 0))

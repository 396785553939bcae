"""A deadline that can pause and resume, recomputed from its events (pure Python, no I/O).

Times are whatever the workflow passes in (always `workflow.now()`), so replay gives the same
answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models.status import DeadlineView


@dataclass
class Pause:
    reason: str
    since: datetime
    until: datetime | None = None


@dataclass
class Clock:
    name: str
    started_at: datetime
    days: int
    pauses: list[Pause] = field(default_factory=list)
    stopped_at: datetime | None = None

    def paused_for(self, now: datetime) -> timedelta:
        total = timedelta()
        for p in self.pauses:
            total += (p.until or now) - p.since
        return total

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].until is None

    def pause(self, reason: str, now: datetime) -> None:
        if not self.paused and self.stopped_at is None:
            self.pauses.append(Pause(reason=reason, since=now))

    def resume(self, now: datetime) -> None:
        if self.paused:
            self.pauses[-1].until = now

    def stop(self, now: datetime) -> None:
        self.resume(now)
        if self.stopped_at is None:
            self.stopped_at = now

    def due_at(self, now: datetime) -> datetime:
        return self.started_at + timedelta(days=self.days) + self.paused_for(now)

    def view(self, now: datetime) -> DeadlineView:
        at = self.stopped_at or now
        due = self.due_at(at)
        if self.stopped_at is not None:
            status = "met" if self.stopped_at <= due else "breached"
        elif self.paused:
            status = "paused"
        else:
            status = "running" if now <= due else "overdue"
        return DeadlineView(
            name=self.name,
            started_at=self.started_at,
            due_at=due,
            days_left=(due - now).days if self.stopped_at is None else 0,
            status=status,
        )

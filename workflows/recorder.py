"""What a case (a claim, a complaint) writes down as it runs: its stage changes, audit events,
work items and letters, and the flush that carries them to the read model with the search
attributes. A plain object the case's workflow owns; deterministic code only."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.letters import LetterActivities
    from activities.policy import DB_RETRY, DB_TIMEOUT, LETTER_TIMEOUT
    from activities.rules import RulesActivities
    from models.records import AuditEventIn, LetterRecord, LetterRequest, StaffInfo, WorkItemIn
    from models.status import StageChange, TaskView
    from models.validation import safe_case_id
    from workflows.case import patched

SYSTEM = "system"
TOP_PRIORITY = 100
# Who a work item goes to one step up the ladder.
NEXT_LEVEL = MappingProxyType({"L1": "L2", "L2": "L3", "L3": "L3"})

Stage = TypeVar("Stage", bound=str)
Arg = TypeVar("Arg")
Result = TypeVar("Result")

# Events worth a warning line in the worker's log (stage changes have their own info line).
_LOGGED_EVENTS = frozenset(
    {"clock_escalation", "clock_breach", "decision_refused", "assessment_refused"}
)


def level_of(role: str) -> int:
    """The authority level a role name stands for (L2 -> 2); 0 for other roles."""
    return int(role[1]) if role.startswith("L") and role[1:].isdigit() else 0


@dataclass(frozen=True)
class Changes:
    """What one flush carries to the read model besides the status."""

    version: int
    events: list[AuditEventIn]
    opened: list[WorkItemIn]
    closed: list[str]


async def record_call(
    fn: Callable[[Any, Arg], Result], arg: Arg, *, timeout: timedelta = DB_TIMEOUT
) -> Result:
    """A short read or write of the engine's own database, or a letter to the outbox, named by
    its activity method (the name it is registered and recorded under comes from there).

    Since "local-records" these run as local activities: one marker event each instead of
    three events and a workflow task, and no trip through the task queue. They are
    idempotent on natural keys, so a retry after a lost workflow task is harmless. Cases
    begun before the patch keep calling regular activities (their histories replay)."""
    if patched("local-records"):
        return await workflow.execute_local_activity_method(
            fn, arg, start_to_close_timeout=timeout, retry_policy=DB_RETRY
        )
    return await workflow.execute_activity_method(
        fn, arg, start_to_close_timeout=timeout, retry_policy=DB_RETRY
    )


async def staff_info(staff_id: str) -> StaffInfo | None:
    """A staff member's level, roles and status, looked up when a message names them."""
    return await record_call(RulesActivities.get_staff, staff_id)


async def wait_until(condition: Callable[[], bool], until: datetime) -> bool:
    """Wait for a condition until a point in time; False if the time came first."""
    timeout = until - workflow.now()
    if timeout <= timedelta(0):
        return bool(condition())
    try:
        await workflow.wait_condition(condition, timeout=timeout)
        return True
    except TimeoutError:
        return False


class CaseRecorder(Generic[Stage]):
    """Stage, history, audit events, open work items, letters and the flush of one case."""

    def __init__(self, stage: Stage) -> None:
        self.case_id = ""
        self.stage: Stage = stage
        self.history: list[StageChange] = []
        self.tasks: dict[str, TaskView] = {}
        self.priority = 0
        self.letters: list[str] = []
        self._seq = 0
        self._sync_version = 0
        self._events: list[AuditEventIn] = []
        self._opened: list[WorkItemIn] = []
        self._closed: list[str] = []
        self._letter_counts: dict[str, int] = {}
        self._flush_lock = asyncio.Lock()

    @property
    def recorded(self) -> int:
        """How many audit events the case has recorded: it moves whenever the case does."""
        return self._seq

    @property
    def logged_id(self) -> str:
        """The case id for a log line; an id that does not match the pattern (any client
        chooses workflow ids) is not repeated."""
        return self.case_id if safe_case_id(self.case_id) else "(a case with an invalid id)"

    def to(self, stage: Stage, actor: str, /, **data: Any) -> None:
        self.stage = stage
        self.history.append(StageChange(stage=stage, at=workflow.now()))
        # workflow.logger says nothing while a history replays; the case id and the stage
        # only, never what the case holds about people
        workflow.logger.info("%s: stage %s", self.logged_id, stage)
        self.event("stage", actor, stage=stage, **data)

    def event(self, kind: str, actor: str, /, **data: Any) -> None:
        if kind in _LOGGED_EVENTS:
            clock = data.get("clock")
            workflow.logger.warning(
                "%s: %s%s", self.logged_id, kind, f" ({clock})" if clock else ""
            )
        self._seq += 1
        self._events.append(
            AuditEventIn(seq=self._seq, kind=kind, actor=actor, at=workflow.now(), data=data)
        )

    def open_task(
        self,
        key: str,
        kind: str,
        role: str,
        due: datetime | None,
        level: int = 0,
        assignee: str | None = None,
    ) -> None:
        self.tasks[key] = TaskView(key=key, kind=kind, role=role, assignee=assignee, due_at=due)
        self._opened.append(
            WorkItemIn(
                key=key,
                kind=kind,
                role=role,
                level=level,
                assignee=assignee,
                due_at=due,
                priority=self.priority,
                title=f"{kind} {self.case_id}",
            )
        )

    def close_task(self, key: str) -> None:
        if self.tasks.pop(key, None) is not None:
            self._closed.append(key)

    def letter_request(
        self,
        kind: str,
        *,
        language: str,
        recipient: str,
        channel: str,
        context: dict[str, Any],
    ) -> LetterRequest:
        """The case's next letter of a kind: ids count per kind."""
        n = self._letter_counts.get(kind, 0) + 1
        self._letter_counts[kind] = n
        return LetterRequest(
            letter_id=f"{self.case_id}-{kind}-{n}",
            case_id=self.case_id,
            kind=kind,
            language=language,
            recipient=recipient,
            channel=channel,
            context=context,
        )

    def letter_sent(self, req: LetterRequest, record: LetterRecord) -> LetterRecord:
        """Record a letter the case sent."""
        self.letters.append(req.letter_id)
        self.event("letter", SYSTEM, kind=req.kind, letter_id=req.letter_id, sha256=record.sha256)
        return record

    async def send_letter(self, req: LetterRequest) -> LetterRecord:
        """Send a letter and record it."""
        record = await record_call(LetterActivities.send_letter, req, timeout=LETTER_TIMEOUT)
        return self.letter_sent(req, record)

    async def flush(
        self,
        search: Callable[[], Sequence[SearchAttributeUpdate[Any]]],
        write: Callable[[Changes], Awaitable[Result]],
    ) -> Result:
        """Upsert the search attributes that changed, then write the projection, the new
        audit events and the work-item changes in one call; what the call returned. One flush
        at a time, so that the versions and the upserts keep their order."""
        async with self._flush_lock:
            updates = list(search())
            if updates:
                workflow.upsert_search_attributes(updates)
            self._sync_version += 1
            events, self._events = self._events, []
            opened, self._opened = self._opened, []
            closed, self._closed = self._closed, []
            return await write(Changes(self._sync_version, events, opened, closed))

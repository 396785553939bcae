"""The state of one claim and the plumbing every step uses: audit events, work items,
letters, the read-model sync, search attributes and the statutory clocks that run beside the
process. Deterministic code only (see workflows/claim.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.policy import (
        DB_RETRY,
        DB_TIMEOUT,
        LETTER_TIMEOUT,
    )
    from models.claim import (
        Appeal,
        ClaimReport,
        Material,
        Withdrawal,
    )
    from models.records import (
        AuditEventIn,
        ClaimSync,
        LetterRecord,
        LetterRequest,
        WorkItemIn,
    )
    from models.rules import AdjustmentResult, Flag, RulesSnapshot
    from models.status import (
        ApprovalRecord,
        InvestigationView,
        PanelView,
        PaymentView,
        RefusedDecision,
        StageChange,
        TaskView,
    )
    from workflows import search
    from workflows.approval import level_name
    from workflows.clock import Calendar, Clock
    from workflows.coverage import insured_id_of
    from workflows.decisions import (
        Panel,
    )
    from workflows.investigation import (
        Finding,
        InvestigationResult,
    )


SYSTEM = "system"
TOP_PRIORITY = 100
UNDECIDED = ("UNDER_REVIEW", "INVESTIGATING", "ADJUSTING", "PENDING_APPROVAL", "RETURNED")
NO_WITHDRAWAL = ("PAYING", "PAID", "CLOSED", "NOT_ACCEPTED", "WITHDRAWN")
NEXT_LEVEL = {"L1": "L2", "L2": "L3", "L3": "L3"}


def _refusal(message: str, kind: str = "InvalidDecision") -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


class ClaimCase:
    def __init__(self) -> None:
        self.report: ClaimReport | None = None
        self.rules: RulesSnapshot | None = None
        self.calendar: Calendar | None = None
        self.claim_id = ""
        self.stage = "REPORTED"
        self.history: list[StageChange] = []
        self.received: dict[str, Material] = {}
        self.required: list[str] = []
        self.flags: list[Flag] = []
        self.adjustment: AdjustmentResult | None = None
        self.chain: list[int] = []
        self.approvals: list[ApprovalRecord] = []
        self.refused: list[RefusedDecision] = []
        self.recused: dict[str, str] = {}
        self.panel: Panel | None = None
        self.panel_view: PanelView | None = None
        self.investigations: dict[str, InvestigationView] = {}
        self.findings: list[Finding] = []
        self.investigation: InvestigationResult | None = None
        self.letters: list[str] = []
        self.payments: list[PaymentView] = []
        self.clocks: dict[str, Clock] = {}
        self.tasks: dict[str, TaskView] = {}
        self.breaches: list[str] = []
        self.priority = 0
        self.stp = False
        self.reserve: Decimal | None = None
        self.denial_clause: str | None = None
        self.denial_reason: str | None = None
        self.not_accepted_reason: str | None = None
        self.document_rounds = 0
        self.round = 0
        self.outcome: str | None = None  # approved / denied / returned
        self.awaiting_adjustment = False
        self.appeal: Appeal | None = None
        self.appealed_at: datetime | None = None
        self.overturned = False
        self.withdrawal: Withdrawal | None = None
        self._paying = False
        self._finished = False
        self._seq = 0
        self._sync_version = 0
        self._clock_version = 0
        self._clock_tasks: dict[str, list[str]] = {}
        self._letter_counts: dict[str, int] = {}
        self._events: list[AuditEventIn] = []
        self._opened: list[WorkItemIn] = []
        self._closed: list[str] = []
        self._flush_lock = asyncio.Lock()
        self._decision_lock = asyncio.Lock()
        self._payment_lock = asyncio.Lock()
        self._sa_stage: str | None = None
        self._sa_level: int | None = -1

    # ================================================================== the clocks

    async def _watch_clocks(self) -> None:
        """Beside the process: fire each clock's reminder, escalation and breach on time."""
        while not self._finished:
            now = workflow.now()
            upcoming = []
            for clock in self.clocks.values():
                step = clock.next_step(now)
                if step is not None:
                    upcoming.append(step[1])
            version = self._clock_version

            def changed(v: int = version) -> bool:
                return self._finished or self._clock_version != v

            if not upcoming:
                await workflow.wait_condition(changed)
                continue
            at = min(upcoming)
            if at > now and await self._wait(changed, at):
                continue
            await self._fire_due_steps()

    async def _fire_due_steps(self) -> None:
        now = workflow.now()
        for name, clock in list(self.clocks.items()):
            for step in clock.due_steps(now):
                clock.fired.append(step)
                if name == "advance_payment" and step == "escalation":
                    # Paid at 5/6 of the 60 days so that the money arrives inside them.
                    await self._advance_payment()
                    continue
                await self._ladder_step(name, clock, step)
        self._clock_changed()

    async def _ladder_step(self, name: str, clock: Clock, step: str) -> None:
        due = clock.due_at(workflow.now())
        self._event(f"clock_{step}", SYSTEM, clock=name, due_at=due.isoformat())
        owner = clock.owner or "L1"
        is_role = owner.startswith("L")
        key = f"{self.claim_id}:{name}:{step}"
        if step == "reminder":
            self._open_task(
                key,
                "reminder",
                owner if is_role else "investigator",
                due,
                assignee=None if is_role else owner,
                level=_level(owner),
            )
        elif step == "escalation":
            role = NEXT_LEVEL.get(owner, "L2") if is_role else "L2"
            self._open_task(key, "escalation", role, due, level=_level(role))
        else:
            if name not in self.breaches:
                self.breaches.append(name)
            self.priority = TOP_PRIORITY
            self._open_task(key, "breach", "L3", due, level=3)
            if clock.customer_facing:
                await self._letter(
                    "delay", clock=name, due_on=self.calendar_date(due), stage=self.stage
                )
        self._clock_tasks.setdefault(name, []).append(key)
        await self._flush()

    def _start_clock(self, name: str, days: int, owner: str, customer_facing: bool = True) -> Clock:
        clock = Clock(
            name, workflow.now(), days, self._cal, owner=owner, customer_facing=customer_facing
        )
        self.clocks[name] = clock
        self._event(
            "clock_started",
            SYSTEM,
            clock=name,
            days=days,
            due_at=clock.due_at(workflow.now()).isoformat(),
        )
        self._clock_changed()
        return clock

    def _stop_clock(self, name: str) -> None:
        clock = self.clocks.get(name)
        if clock is None or clock.stopped_at is not None:
            return
        clock.stop(workflow.now())
        view = clock.view(workflow.now())
        self._event("clock_stopped", SYSTEM, clock=name, status=view.status)
        for key in self._clock_tasks.pop(name, []):
            self._close_task(key)
        self._clock_changed()

    def _stop_all_clocks(self) -> None:
        for name in list(self.clocks):
            self._stop_clock(name)

    def _clock(self, name: str) -> Clock:
        return self.clocks[name]

    def _clock_changed(self) -> None:
        self._clock_version += 1

    @property
    def _cal(self) -> Calendar:
        assert self.calendar is not None
        return self.calendar

    def _due_date(self, name: str) -> str:
        return self.calendar_date(self.clocks[name].due_at(workflow.now()))

    def calendar_date(self, due_at: datetime) -> str:
        """The last day of a period (due_at is 24:00 of it), as an ISO date."""
        return (due_at.astimezone(self._cal.tz) - timedelta(seconds=1)).date().isoformat()

    # ================================================================== helpers

    @property
    def missing(self) -> list[str]:
        return [k for k in self.required if k not in self.received]

    @property
    def paid_total(self) -> Decimal:
        return sum((p.amount for p in self.payments), Decimal("0"))

    @property
    def _zh(self) -> bool:
        return self.report is None or self.report.claimant.language == "zh-CN"

    def _account(self) -> str:
        account = self.received.get("bank_account")
        return account.ref if account else ""

    def _level_label(self, level: int) -> str:
        return "SYSTEM" if level == 0 else level_name(level)

    def _clause_context(self, clause_id: str | None) -> dict[str, str] | None:
        policy = self.rules.policy if self.rules else None
        clause = policy.clause(clause_id) if policy and clause_id else None
        if clause is None:
            return None
        return {
            "id": clause.id,
            "title": clause.title_zh if self._zh else clause.title_en,
            "text": clause.text_zh if self._zh else clause.text_en,
        }

    def _receive(self, materials: list[Material], actor: str) -> None:
        new = [m for m in materials if m.kind not in self.received]
        for m in new:
            self.received[m.kind] = m
        if new:
            self._event("materials_received", actor, kinds=[m.kind for m in new])

    def _to(self, stage: str, actor: str, /, **data: Any) -> None:
        self.stage = stage
        self.history.append(StageChange(stage=stage, at=workflow.now()))
        self._event("stage", actor, stage=stage, **data)

    def _event(self, kind: str, actor: str, /, **data: Any) -> None:
        self._seq += 1
        self._events.append(
            AuditEventIn(seq=self._seq, kind=kind, actor=actor, at=workflow.now(), data=data)
        )

    def _open_task(
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
                title=f"{kind} {self.claim_id}",
            )
        )

    def _close_task(self, key: str) -> None:
        if self.tasks.pop(key, None) is not None:
            self._closed.append(key)

    async def _wait(self, condition: Any, until: datetime) -> bool:
        """Wait for a condition until a point in time; False if the time came first."""
        timeout = until - workflow.now()
        if timeout <= timedelta(0):
            return bool(condition())
        try:
            await workflow.wait_condition(condition, timeout=timeout)
            return True
        except TimeoutError:
            return False

    async def _letter(self, kind: str, recipient: str | None = None, **context: Any) -> None:
        assert self.report
        n = self._letter_counts.get(kind, 0) + 1
        self._letter_counts[kind] = n
        letter_id = f"{self.claim_id}-{kind}-{n}"
        claimant = self.report.claimant
        record = await workflow.execute_activity(
            "send_letter",
            LetterRequest(
                letter_id=letter_id,
                case_id=self.claim_id,
                kind=kind,
                language=claimant.language,
                recipient=recipient or f"{claimant.name} <{claimant.email or claimant.phone}>",
                channel="file" if recipient else ("email" if claimant.email else "sms"),
                context={
                    "claim_id": self.claim_id,
                    "claimant_name": claimant.name,
                    "policy_no": self.report.policy_no,
                    **context,
                },
            ),
            result_type=LetterRecord,
            start_to_close_timeout=LETTER_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        self.letters.append(letter_id)
        self._event("letter", SYSTEM, kind=kind, letter_id=letter_id, sha256=record.sha256)

    async def _flush(self) -> None:
        """Write the projection, new audit events and work-item changes in one activity."""
        async with self._flush_lock:
            self._upsert_search_attributes()
            self._sync_version += 1
            events, self._events = self._events, []
            opened, self._opened = self._opened, []
            closed, self._closed = self._closed, []
            assert self.report
            await workflow.execute_activity(
                "sync_claim",
                ClaimSync(
                    status=self.status(),
                    version=self._sync_version,
                    insured_id_no=self.rules.policy.insured_id_no
                    if self.rules and self.rules.policy
                    else insured_id_of(self.report),
                    events=events,
                    open_items=opened,
                    close_items=closed,
                    priority=self.priority,
                ),
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
            )

    def _upsert_search_attributes(self) -> None:
        assert self.report
        updates = []
        if self._sa_stage is None:
            updates += [
                search.CLAIM_LINE.value_set(self.report.line),
                search.POLICY_NO.value_set(self.report.policy_no),
            ]
        if self.stage != self._sa_stage:
            updates.append(search.CLAIM_STAGE.value_set(self.stage))
            self._sa_stage = self.stage
        level = self.pending_level
        if level != self._sa_level:
            updates.append(
                search.PENDING_LEVEL.value_set(level)
                if level is not None
                else search.PENDING_LEVEL.value_unset()
            )
            self._sa_level = level
        if updates:
            workflow.upsert_search_attributes(updates)


def _level(role: str) -> int:
    return int(role[1]) if role.startswith("L") and role[1:].isdigit() else 0

"""ClaimWorkflow: one insurance claim, from report to closing (DOMAIN §2).

report -> acceptance and coverage check (or NOT_ACCEPTED with a letter) -> acknowledgement with
the checklist -> one single missing-materials notice, reminders at 15 and 30 days, suspension at
60 -> triage -> adjustment -> fast track, or the approval chain (`decide` update, `decision`
signal) -> decision letter, exactly-once payment, payment letter -> CLOSED; or a denial letter,
the appeal window, CLOSED.

Deterministic code only: rules arrive through an activity at the start and stay in the state.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import pydantic

    from activities.policy import (
        DB_RETRY,
        DB_TIMEOUT,
        LETTER_TIMEOUT,
        PAYMENT_RETRY,
        PAYMENT_TIMEOUT,
    )
    from models.claim import Adjustment, ClaimReport, Decision, Material, MaterialsSubmission
    from models.records import (
        AuditEventIn,
        ClaimSync,
        LetterRecord,
        LetterRequest,
        LoadRulesRequest,
        PaymentRecord,
        PaymentRequest,
        StaffInfo,
        WorkItemIn,
    )
    from models.rules import AdjustmentResult, Flag, RulesSnapshot
    from models.status import (
        ApprovalRecord,
        ApprovalState,
        ClaimStatus,
        PaymentView,
        RefusedDecision,
        StageChange,
        TaskView,
    )
    from workflows import search
    from workflows.adjustment import AdjustmentError, adjust, manual_adjustment
    from workflows.approval import PANEL, approval_chain, level_name
    from workflows.clock import Clock
    from workflows.coverage import check_coverage, insured_id_of
    from workflows.triage import straight_through, triage

DECISIONS = ("approve", "reject", "return")
SYSTEM = "system"


def _refusal(message: str) -> ApplicationError:
    return ApplicationError(message, type="InvalidDecision", non_retryable=True)


@workflow.defn(name="ClaimWorkflow", failure_exception_types=[pydantic.ValidationError])
class ClaimWorkflow:
    def __init__(self) -> None:
        self.report: ClaimReport | None = None
        self.rules: RulesSnapshot | None = None
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
        self.letters: list[str] = []
        self.payments: list[PaymentView] = []
        self.clocks: dict[str, Clock] = {}
        self.tasks: dict[str, TaskView] = {}
        self.stp = False
        self.reserve: Decimal | None = None
        self.denial_clause: str | None = None
        self.denial_reason: str | None = None
        self.not_accepted_reason: str | None = None
        self.document_rounds = 0
        self.round = 0  # approval rounds: a return starts a new one
        self.outcome: str | None = None  # approved / denied / returned
        self.awaiting_adjustment = False
        self.appeal: dict[str, Any] | None = None
        self._seq = 0
        self._sync_version = 0
        self._letter_counts: dict[str, int] = {}
        self._events: list[AuditEventIn] = []
        self._opened: list[WorkItemIn] = []
        self._closed: list[str] = []
        self._flush_lock = asyncio.Lock()
        self._decision_lock = asyncio.Lock()
        self._sa_stage: str | None = None
        self._sa_level: int | None = -1

    # ------------------------------------------------------------------ the process

    @workflow.run
    async def run(self, report: ClaimReport) -> ClaimStatus:
        self.report = report
        self.claim_id = report.claim_id or workflow.info().workflow_id.removeprefix("claim-")
        if report.reported_at is None:
            report.reported_at = workflow.info().start_time
        self._to("REPORTED", report.channel, channel=report.channel)
        self.rules = await workflow.execute_activity(
            "load_rules",
            LoadRulesRequest(
                claim_id=self.claim_id,
                policy_no=report.policy_no,
                line=report.line,
                incident_type=report.incident_type,
                claimant_id_no=report.claimant.id_no,
                occurred_on=report.occurred_at.date(),
            ),
            result_type=RulesSnapshot,
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        self._event("rules_loaded", SYSTEM, version=self.rules.version)

        coverage = check_coverage(report, self.rules, workflow.now())
        if not coverage.accepted:
            await self._not_accepted(coverage.reason_code or "", coverage)
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self.status()

        self._to("ACCEPTED", SYSTEM)
        self.reserve = report.amount_claimed
        self.clocks["determination"] = Clock(
            "determination", workflow.now(), self.rules.deadlines.determination_days
        )
        self.required = self.rules.required_materials
        self._receive(report.materials, report.channel)
        await self._letter(
            "acknowledgement",
            line=report.line,
            incident_type=report.incident_type,
            reported_at=report.reported_at.isoformat(),
            channel=report.channel,
            checklist=self.required,
            received=[k for k in self.required if k in self.received],
            missing=self.missing,
            determination_days=self.rules.deadlines.determination_days,
            determination_due=self.clocks["determination"]
            .due_at(workflow.now())
            .date()
            .isoformat(),
        )
        await self._flush()

        if self.missing:
            await self._collect_materials()

        self._to("UNDER_REVIEW", SYSTEM)
        self.flags = triage(report, self.rules, self.received.values())
        if self.flags:
            self._event("triage_flags", SYSTEM, flags=[f.code for f in self.flags])

        while True:
            await self._adjust()
            if self._fast_track():
                break
            await self._await_approval()
            if self.outcome != "returned":
                break

        if self.outcome == "denied":
            await self._deny()
        else:
            await self._pay()

        self._to("CLOSED", SYSTEM)
        await self._flush()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _not_accepted(self, code: str, coverage: Any) -> None:
        assert self.report and self.rules
        self.not_accepted_reason = coverage.reason_en
        self._to("NOT_ACCEPTED", SYSTEM, reason=code)
        clause = None
        if coverage.clause_id and self.rules.policy:
            c = self.rules.policy.clause(coverage.clause_id)
            if c:
                zh = self._zh
                clause = {
                    "id": c.id,
                    "title": c.title_zh if zh else c.title_en,
                    "text": c.text_zh if zh else c.text_en,
                }
        await self._letter(
            "not_accepted",
            reason=coverage.reason_zh if self._zh else coverage.reason_en,
            reason_code=code,
            clause=clause,
            line=self.report.line,
            incident_type=self.report.incident_type,
        )
        await self._flush()

    async def _collect_materials(self) -> None:
        """One single notice listing everything missing (Insurance Law art. 22), then wait:
        reminders at 15 and 30 days, suspension at 60; the claim resumes when they arrive."""
        assert self.rules
        d = self.rules.deadlines
        notice_at = workflow.now()
        self.document_rounds += 1
        self._to("AWAITING_MATERIALS", SYSTEM, missing=self.missing)
        self.clocks["determination"].pause("materials outstanding", notice_at)
        suspend_on = (notice_at + timedelta(days=d.materials_suspension_days)).date()
        await self._letter(
            "missing_materials",
            missing=self.missing,
            received=[k for k in self.required if k in self.received],
            notice_date=notice_at.date().isoformat(),
            reminder_days=list(d.materials_reminder_days),
            suspension_days=d.materials_suspension_days,
        )
        task_key = f"{self.claim_id}:materials"
        self._open_task(
            task_key,
            "supply_materials",
            "claimant",
            notice_at + timedelta(days=d.materials_suspension_days),
        )
        await self._flush()

        steps: list[tuple[int, str]] = [(n, "reminder") for n in d.materials_reminder_days]
        steps.append((d.materials_suspension_days, "suspend"))
        reminders = 0
        for days, step in steps:
            if await self._wait(lambda: not self.missing, notice_at + timedelta(days=days)):
                break
            if step == "reminder":
                reminders += 1
                self._event("materials_reminder", SYSTEM, round=reminders, missing=self.missing)
                await self._letter(
                    "materials_reminder",
                    missing=self.missing,
                    notice_date=notice_at.date().isoformat(),
                    round=reminders,
                    suspension_on=suspend_on.isoformat(),
                )
            else:
                self._to("SUSPENDED", SYSTEM, missing=self.missing)
                await self._letter(
                    "suspension",
                    missing=self.missing,
                    notice_date=notice_at.date().isoformat(),
                    suspended_on=workflow.now().date().isoformat(),
                )
            await self._flush()
        else:
            await workflow.wait_condition(lambda: not self.missing)

        self.clocks["determination"].resume(workflow.now())
        self._close_task(task_key)
        self._event("materials_complete", SYSTEM)

    async def _adjust(self) -> None:
        """Compute the payable amount by the product formula; after a return, or when the
        formula lacks a fact, wait for an adjuster's `adjust` update."""
        assert self.report and self.rules
        self._to("ADJUSTING", SYSTEM)
        need_adjuster = self.outcome == "returned"
        if not need_adjuster:
            try:
                self.adjustment = adjust(self.report, self.rules)
            except AdjustmentError as exc:
                need_adjuster = True
                self._event("adjustment_needs_adjuster", SYSTEM, reason=str(exc))
        if need_adjuster:
            self.round += 1
            key = f"{self.claim_id}:adjust:{self.round}"
            due = workflow.now() + timedelta(days=self.rules.deadlines.adjust_task_days)
            self._open_task(key, "adjust", "L1", due, level=1)
            self.awaiting_adjustment = True
            await self._flush()
            await workflow.wait_condition(lambda: not self.awaiting_adjustment)
            self._close_task(key)
        assert self.adjustment is not None
        self.outcome = None
        self.reserve = self.adjustment.payable
        self._event(
            "adjusted",
            self.adjustment.adjuster,
            payable=str(self.adjustment.payable),
            note=self.adjustment.note,
        )

    def _fast_track(self) -> bool:
        assert self.report and self.rules and self.adjustment
        if self.adjustment.adjuster != SYSTEM or not straight_through(
            self.report, self.rules, self.flags, self.missing, self.adjustment.payable
        ):
            return False
        self.stp = True
        self.approvals.append(
            ApprovalRecord(
                level=0,
                approver=SYSTEM,
                decision="approve",
                at=workflow.now(),
                note="straight-through processing",
            )
        )
        self.outcome = "approved"
        self._to("APPROVED", SYSTEM, straight_through=True)
        return True

    async def _await_approval(self) -> None:
        assert self.rules and self.adjustment
        self.chain = approval_chain(self.adjustment.payable, self.rules.authority_limits)
        self.approvals = []
        self.round += 1
        self._to("PENDING_APPROVAL", SYSTEM, chain=[level_name(lv) for lv in self.chain])
        self._open_approval_task()
        await self._flush()
        await workflow.wait_condition(lambda: self.outcome is not None)
        if self.outcome == "approved":
            self._to("APPROVED", self.approvals[-1].approver)
        elif self.outcome == "denied":
            self._to("DENIED", self.approvals[-1].approver, clause=self.denial_clause)
        else:
            self._to("RETURNED", self.approvals[-1].approver, note=self.approvals[-1].note)
        await self._flush()

    async def _pay(self) -> None:
        assert self.report and self.rules and self.adjustment
        now = workflow.now()
        self.clocks["determination"].stop(now)
        payable = self.adjustment.payable
        pay_days = self.rules.deadlines.payment_days
        self.clocks["payment"] = Clock("payment", now, pay_days)
        account = self.received.get("bank_account")
        await self._letter(
            "decision",
            line=self.report.line,
            incident_type=self.report.incident_type,
            lines=[line.model_dump(mode="json") for line in self.adjustment.lines],
            payable=str(payable),
            approvals=[
                {
                    "level": "SYSTEM" if a.level == 0 else level_name(a.level),
                    "approver": a.approver,
                    "at": a.at.isoformat(),
                }
                for a in self.approvals
            ],
            straight_through=self.stp,
            payment_days=pay_days,
            payment_due=self.clocks["payment"].due_at(now).date().isoformat(),
            account_ref=account.ref if account else "",
        )
        if payable > 0:
            self._to("PAYING", SYSTEM, amount=str(payable))
            await self._flush()
            seq = len(self.payments) + 1
            paid = await workflow.execute_activity(
                "pay_claim",
                PaymentRequest(
                    claim_id=self.claim_id,
                    seq=seq,
                    amount=payable,
                    payee=self.report.claimant.name,
                    account_ref=account.ref if account else "",
                    policy_no=self.report.policy_no,
                    deductible_applied=self.adjustment.deductible_applied,
                ),
                result_type=PaymentRecord,
                start_to_close_timeout=PAYMENT_TIMEOUT,
                retry_policy=PAYMENT_RETRY,
            )
            self.payments.append(
                PaymentView(
                    seq=paid.seq, amount=paid.amount, reference=paid.reference, paid_at=paid.paid_at
                )
            )
            self.clocks["payment"].stop(workflow.now())
            self._to("PAID", SYSTEM, amount=str(paid.amount), reference=paid.reference)
            await self._letter(
                "payment",
                amount=str(paid.amount),
                account_ref=account.ref if account else "",
                reference=paid.reference,
                paid_at=paid.paid_at.isoformat(),
                seq=paid.seq,
            )
        else:
            self.clocks["payment"].stop(workflow.now())
        self.reserve = Decimal("0")

    async def _deny(self) -> None:
        """Denial notice within 3 days (Insurance Law art. 24), then the 30-day appeal window."""
        assert self.report and self.rules and self.rules.policy
        now = workflow.now()
        d = self.rules.deadlines
        self.clocks["determination"].stop(now)
        self.clocks["denial_notice"] = Clock("denial_notice", now, d.denial_notice_days)
        clause = self.rules.policy.clause(self.denial_clause or "")
        assert clause is not None
        appeal_due = now + timedelta(days=d.appeal_days)
        await self._letter(
            "denial",
            reason=self.denial_reason or "",
            clause={
                "id": clause.id,
                "title": clause.title_zh if self._zh else clause.title_en,
                "text": clause.text_zh if self._zh else clause.text_en,
            },
            decided_at=now.isoformat(),
            appeal_days=d.appeal_days,
            appeal_due=appeal_due.date().isoformat(),
            approvals=[
                {"level": level_name(a.level), "approver": a.approver, "at": a.at.isoformat()}
                for a in self.approvals
            ],
        )
        self.clocks["denial_notice"].stop(workflow.now())
        self.reserve = Decimal("0")
        self._to("DENIAL_NOTIFIED", SYSTEM)
        self.clocks["appeal"] = Clock("appeal", now, d.appeal_days)
        await self._flush()
        await self._wait(lambda: self.appeal is not None, appeal_due)
        self.clocks["appeal"].stop(workflow.now())

    # ------------------------------------------------------------------ messages

    @workflow.signal(name="submit_materials")
    def submit_materials(self, submission: MaterialsSubmission) -> None:
        if self.report is None:
            return
        self._receive(submission.materials, submission.submitted_by or "claimant")

    @workflow.update(name="decide")
    async def decide(self, decision: Decision) -> ApprovalState:
        async with self._decision_lock:
            reason = self._check_decision(decision) or await self._check_authority(decision)
            if reason:
                raise _refusal(reason)
            self._apply_decision(decision)
            await self._flush()
            return self.approval_state()

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        reason = self._check_decision(decision)
        if reason:
            raise _refusal(reason)

    @workflow.signal(name="decision")
    async def decision_signal(self, decision: Decision) -> None:
        async with self._decision_lock:
            reason = self._check_decision(decision) or await self._check_authority(decision)
            if reason:
                self.refused.append(
                    RefusedDecision(
                        approver=decision.approver,
                        decision=decision.decision,
                        at=workflow.now(),
                        reason=reason,
                        via="signal",
                    )
                )
                self._event("decision_refused", decision.approver, reason=reason, via="signal")
                await self._flush()
                return
            self._apply_decision(decision)
            await self._flush()

    @workflow.update(name="adjust")
    async def adjust_update(self, adjustment: Adjustment) -> ApprovalState:
        staff = await self._staff(adjustment.adjuster)
        if staff is None:
            raise _refusal(f"unknown person {adjustment.adjuster!r}")
        if staff.level < 1 or not staff.active:
            raise _refusal(f"{adjustment.adjuster} is not an adjuster (L1 or above)")
        if not self.awaiting_adjustment:
            raise _refusal(f"claim {self.claim_id} is not waiting for an adjustment")
        base = self.adjustment or AdjustmentResult(lines=[], payable=Decimal("0"))
        if self.adjustment is None and adjustment.amount is None:
            raise _refusal("this claim has no computed amount: give the amount")
        self.adjustment = manual_adjustment(
            base, adjustment.adjuster, adjustment.note, adjustment.amount
        )
        self.awaiting_adjustment = False
        return self.approval_state()

    @adjust_update.validator
    def _validate_adjust(self, adjustment: Adjustment) -> None:
        if not self.awaiting_adjustment:
            raise _refusal(
                f"claim {self.claim_id} is {self.stage}; it is not waiting for an adjustment"
            )

    @workflow.query(name="status")
    def status(self) -> ClaimStatus:
        report = self.report
        assert report is not None
        now = workflow.now()
        return ClaimStatus(
            claim_id=self.claim_id,
            stage=self.stage,
            line=report.line,
            incident_type=report.incident_type,
            policy_no=report.policy_no,
            claimant_name=report.claimant.name,
            channel=report.channel,
            reported_at=report.reported_at or now,
            amount_claimed=report.amount_claimed,
            reserve=self.reserve,
            payable_amount=self.adjustment.payable if self.adjustment else None,
            missing_materials=self.missing,
            received_materials=sorted(self.received),
            document_rounds=self.document_rounds,
            pending_approval_level=self.pending_level,
            approval_chain=self.chain,
            approvals=self.approvals,
            refused_decisions=self.refused,
            deadlines=[c.view(now) for c in self.clocks.values()],
            open_tasks=list(self.tasks.values()),
            flags=self.flags,
            straight_through=self.stp,
            adjustment=self.adjustment,
            denial_clause=self.denial_clause,
            denial_reason=self.denial_reason,
            not_accepted_reason=self.not_accepted_reason,
            letters=self.letters,
            payments=self.payments,
            history=self.history,
            rules_version=self.rules.version if self.rules else None,
        )

    def approval_state(self) -> ApprovalState:
        return ApprovalState(
            claim_id=self.claim_id,
            stage=self.stage,
            pending_approval_level=self.pending_level,
            approvals=self.approvals,
            payable_amount=self.adjustment.payable if self.adjustment else None,
        )

    # ------------------------------------------------------------------ decisions

    @property
    def pending_level(self) -> int | None:
        if self.stage != "PENDING_APPROVAL" or self.outcome is not None:
            return None
        done = len(self.approvals)
        return self.chain[done] if done < len(self.chain) else None

    def _check_decision(self, d: Decision) -> str | None:
        """The checks that need no lookup; also run by the update's validator, so a refused
        update leaves nothing in the history."""
        if self.stage != "PENDING_APPROVAL" or self.pending_level is None:
            return (
                f"claim {self.claim_id} is {self.stage}; decisions are taken only in "
                "PENDING_APPROVAL"
            )
        if d.decision not in DECISIONS:
            return f"unknown decision {d.decision!r}: use approve, reject or return"
        if any(a.approver == d.approver for a in self.approvals):
            return f"{d.approver} has already approved this claim; each level needs another person"
        if self.adjustment and d.approver == self.adjustment.adjuster:
            return f"{d.approver} adjusted this claim and cannot approve it"
        if d.decision == "reject":
            policy = self.rules.policy if self.rules else None
            ids = [c.id for c in policy.clauses] if policy else []
            if not d.clause:
                return "a denial needs a clause id of the product: " + ", ".join(ids)
            if d.clause not in ids:
                return f"clause {d.clause!r} is not in this product; use one of " + ", ".join(ids)
        return None

    async def _check_authority(self, d: Decision) -> str | None:
        staff = await self._staff(d.approver)
        # The chain may have moved on while the lookup ran.
        again = self._check_decision(d)
        if again:
            return again
        level = self.pending_level
        assert level is not None
        if staff is None:
            return f"unknown person {d.approver!r}"
        if not staff.active:
            return f"{d.approver} is not active"
        need = 2 if level == PANEL else level
        if staff.level < need:
            return (
                f"{d.approver} has authority L{staff.level}; this claim needs a "
                f"{level_name(level)} decision"
            )
        if d.decision == "reject" and staff.level < 2:
            return f"a denial needs L2 or above; {d.approver} is L{staff.level}"
        return None

    async def _staff(self, staff_id: str) -> StaffInfo | None:
        return await workflow.execute_activity(
            "get_staff",
            staff_id,
            result_type=StaffInfo | None,  # type: ignore[arg-type]
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )

    def _apply_decision(self, d: Decision) -> None:
        level = self.pending_level
        assert level is not None
        self._close_task(self._approval_task_key(level))
        self.approvals.append(
            ApprovalRecord(
                level=level,
                approver=d.approver,
                decision=d.decision,
                at=workflow.now(),
                note=d.note,
                clause=d.clause,
            )
        )
        self._event(
            "decision",
            d.approver,
            level=level_name(level),
            decision=d.decision,
            note=d.note,
            clause=d.clause,
        )
        if d.decision == "approve":
            if len(self.approvals) == len(self.chain):
                self.outcome = "approved"
            else:
                self._open_approval_task()
        elif d.decision == "reject":
            self.denial_clause = d.clause
            self.denial_reason = d.note
            self.outcome = "denied"
        else:
            self.outcome = "returned"

    def _approval_task_key(self, level: int) -> str:
        return f"{self.claim_id}:approve:{self.round}:{level_name(level)}"

    def _open_approval_task(self) -> None:
        assert self.rules
        level = self.pending_level
        if level is None:
            return
        due = workflow.now() + timedelta(days=self.rules.deadlines.approval_task_days)
        self._open_task(
            self._approval_task_key(level),
            "approve",
            level_name(level),
            due,
            level=2 if level == PANEL else level,
        )

    # ------------------------------------------------------------------ helpers

    @property
    def missing(self) -> list[str]:
        return [k for k in self.required if k not in self.received]

    @property
    def _zh(self) -> bool:
        return self.report is None or self.report.claimant.language == "zh-CN"

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

    def _open_task(self, key: str, kind: str, role: str, due: Any, level: int = 0) -> None:
        view = TaskView(key=key, kind=kind, role=role, due_at=due)
        self.tasks[key] = view
        self._opened.append(
            WorkItemIn(
                key=key,
                kind=kind,
                role=role,
                level=level,
                due_at=due,
                title=f"{kind} {self.claim_id}",
            )
        )

    def _close_task(self, key: str) -> None:
        if self.tasks.pop(key, None) is not None:
            self._closed.append(key)

    async def _wait(self, condition: Any, until: Any) -> bool:
        """Wait for a condition until a point in time; False if the time came first."""
        timeout = until - workflow.now()
        if timeout <= timedelta(0):
            return bool(condition())
        try:
            await workflow.wait_condition(condition, timeout=timeout)
            return True
        except TimeoutError:
            return False

    async def _letter(self, kind: str, **context: Any) -> None:
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
                recipient=f"{claimant.name} <{claimant.email or claimant.phone}>",
                channel="email" if claimant.email else "sms",
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

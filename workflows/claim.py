"""ClaimWorkflow: one insurance claim, from report to closing (DOMAIN §2, §3, §5, §7).

report -> acceptance and coverage check (or NOT_ACCEPTED) -> acknowledgement with the checklist
-> one single missing-materials notice, reminders at 15 and 30 days, suspension at 60 -> triage
-> investigation tasks for the risk flags -> adjustment -> fast track, or the approval chain
L1..L3 and the panel (合议) -> decision letter, exactly-once payment (an advance payment of the
determinable part at 60 days if still undecided) -> CLOSED; or a denial letter, the 30-day
appeal window, a panel review of an appeal -> CLOSED. A withdrawal ends the claim at any point
before payment. Statutory clocks run beside the process and climb their escalation ladder.

Deterministic code only: rules arrive through an activity at the start and stay in the state.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
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
    from models.claim import (
        Adjustment,
        Appeal,
        ClaimReport,
        ConvenePanel,
        Decision,
        Findings,
        Material,
        MaterialsSubmission,
        Withdrawal,
    )
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
    from models.rules import AdjustmentResult, CoverageResult, Flag, RulesSnapshot
    from models.status import (
        ApprovalRecord,
        ApprovalState,
        ClaimStatus,
        InvestigationView,
        PanelView,
        PaymentView,
        RefusedDecision,
        StageChange,
        TaskView,
        VoteView,
    )
    from workflows import search
    from workflows.adjustment import AdjustmentError, adjust, manual_adjustment
    from workflows.approval import PANEL, approval_chain, level_name
    from workflows.clock import Calendar, Clock
    from workflows.coverage import check_coverage, insured_id_of
    from workflows.decisions import (
        Panel,
        Vote,
        check_authority,
        check_decision,
        check_panel_members,
        panel_outcome,
    )
    from workflows.investigation import (
        RECOMMENDATIONS,
        Finding,
        InvestigationResult,
        plan_investigation,
        weigh_findings,
    )
    from workflows.triage import straight_through, triage

SYSTEM = "system"
TOP_PRIORITY = 100
UNDECIDED = ("UNDER_REVIEW", "INVESTIGATING", "ADJUSTING", "PENDING_APPROVAL", "RETURNED")
NO_WITHDRAWAL = ("PAYING", "PAID", "CLOSED", "NOT_ACCEPTED", "WITHDRAWN")
NEXT_LEVEL = {"L1": "L2", "L2": "L3", "L3": "L3"}


def _refusal(message: str, kind: str = "InvalidDecision") -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


@workflow.defn(name="ClaimWorkflow", failure_exception_types=[pydantic.ValidationError])
class ClaimWorkflow:
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

    # ================================================================== the process

    @workflow.run
    async def run(self, report: ClaimReport) -> ClaimStatus:
        self.report = report
        self.claim_id = report.claim_id or workflow.info().workflow_id.removeprefix("claim-")
        if report.reported_at is None:
            report.reported_at = workflow.info().start_time
        process = asyncio.create_task(self._process())
        watcher = asyncio.create_task(self._watch_clocks())
        await workflow.wait_condition(lambda: process.done() or self.withdrawal is not None)
        if not process.done():
            process.cancel()
            try:
                await process
            except asyncio.CancelledError:
                pass
            await self._withdraw()
        else:
            process.result()
        self._finished = True
        await watcher
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _process(self) -> None:
        report = self.report
        assert report is not None
        self._to("REPORTED", report.channel, channel=report.channel)
        rules = await workflow.execute_activity(
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
        self.rules = rules
        d = rules.deadlines
        self.calendar = Calendar.of(
            timezone(timedelta(hours=d.utc_offset_hours)), d.holidays, d.workdays
        )
        self._event("rules_loaded", SYSTEM, version=rules.version, profile=d.profile)

        coverage = check_coverage(report, rules, workflow.now())
        if not coverage.accepted:
            await self._not_accepted(coverage)
            return

        self._to("ACCEPTED", SYSTEM)
        self.reserve = report.amount_claimed
        self.document_rounds = 1
        self._start_clock("determination", d.determination_days, owner="L1")
        self.required = rules.required_materials
        self._receive(report.materials, report.channel)
        await self._letter(
            "acknowledgement",
            line=report.line,
            incident_type=report.incident_type,
            reported_at=report.reported_at.isoformat() if report.reported_at else "",
            channel=report.channel,
            checklist=self.required,
            received=[k for k in self.required if k in self.received],
            missing=self.missing,
            determination_days=d.determination_days,
            determination_due=self._due_date("determination"),
        )
        await self._flush()

        if self.missing:
            await self._collect_materials()

        self._to("UNDER_REVIEW", SYSTEM)
        self._start_clock("advance_payment", d.advance_payment_days, owner="L2")
        self.flags = triage(report, rules, self.received.values())
        if self.flags:
            self._event("triage_flags", SYSTEM, flags=[f.code for f in self.flags])
        await self._investigate()

        await self._decide_claim(self._panel_grounds())
        if self.outcome == "denied":
            if await self._deny():
                await self._review_appeal()
        else:
            await self._settle()
        self._stop_all_clocks()
        self._to("CLOSED", SYSTEM)
        await self._flush()

    async def _not_accepted(self, coverage: CoverageResult) -> None:
        assert self.report and self.rules
        self.not_accepted_reason = coverage.reason_en
        self._to("NOT_ACCEPTED", SYSTEM, reason=coverage.reason_code)
        await self._letter(
            "not_accepted",
            reason=coverage.reason_zh if self._zh else coverage.reason_en,
            reason_code=coverage.reason_code,
            clause=self._clause_context(coverage.clause_id),
            line=self.report.line,
            incident_type=self.report.incident_type,
        )
        await self._flush()

    async def _collect_materials(self) -> None:
        """One single notice listing everything missing (Insurance Law art. 22); the
        determination clock pauses until the materials arrive (SPC Interpretation II art. 15).
        Reminders at 15 and 30 days, suspension at 60; the claim resumes when they arrive."""
        assert self.rules
        d = self.rules.deadlines
        notice_at = workflow.now()
        self.document_rounds += 1
        self._to("AWAITING_MATERIALS", SYSTEM, missing=self.missing)
        self._clock("determination").pause(
            "awaiting materials (missing-materials notice)", notice_at
        )
        self._clock_changed()
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
        due = notice_at + timedelta(days=d.materials_suspension_days)
        self._open_task(task_key, "supply_materials", "claimant", due)
        await self._flush()

        steps = [(n, "reminder") for n in d.materials_reminder_days]
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

        self._clock("determination").resume(workflow.now())
        self._clock_changed()
        self._close_task(task_key)
        self._event("materials_complete", SYSTEM)

    async def _investigate(self) -> None:
        """Open an investigation task per check the risk flags call for; wait for findings."""
        assert self.report and self.rules
        kinds = plan_investigation(self.flags, self.report.line, self.report.incident_type)
        if not kinds:
            return
        d = self.rules.deadlines
        self._to("INVESTIGATING", SYSTEM, tasks=kinds)
        investigator = self.rules.investigators[0] if self.rules.investigators else None
        now = workflow.now()
        for kind in kinds:
            key = f"{self.claim_id}:investigate:{kind}"
            clock = self._start_clock(
                f"investigation:{kind}",
                d.investigation_days,
                owner=investigator or "investigator",
                customer_facing=False,
            )
            due = clock.due_at(now)
            self.investigations[kind] = InvestigationView(
                key=key, kind=kind, investigator=investigator or "-", due_at=due
            )
            self._open_task(key, "investigate", "investigator", due, assignee=investigator)
        await self._letter(
            "investigation",
            flags=[f.code for f in self.flags if f.effect != "flag"],
            tasks=[
                {"kind": v.kind, "due_on": self.calendar_date(v.due_at)}
                for v in self.investigations.values()
            ],
            determination_due=self._due_date("determination"),
        )
        await self._flush()
        await workflow.wait_condition(lambda: all(v.done for v in self.investigations.values()))
        self.investigation = weigh_findings(self.findings)
        self._event("investigation_complete", SYSTEM, summary=self.investigation.summary)

    def _panel_grounds(self) -> list[str]:
        grounds = []
        if any(f.code == "R07" for f in self.flags):
            grounds.append("watch_list")
        if self.investigation and self.investigation.disputed:
            grounds.append("inconclusive_investigation")
        return grounds

    async def _decide_claim(self, disputed: list[str]) -> None:
        """Adjust, then the fast track or the approval chain, until approved or denied."""
        while True:
            await self._adjust()
            if not disputed and self._fast_track():
                return
            await self._await_approval(disputed)
            if self.outcome != "returned":
                return

    async def _adjust(self) -> None:
        """Compute the payable amount; after a return, or when the formula lacks a fact, wait
        for an adjuster's `adjust` update."""
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
        if self.adjustment.adjuster != SYSTEM:
            self.recused[self.adjustment.adjuster] = "adjusted this claim"
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

    async def _await_approval(self, disputed: list[str]) -> None:
        assert self.rules and self.adjustment
        limits = self.rules.authority_limits
        if disputed:
            self.chain = [PANEL]
            grounds = list(disputed)
        else:
            self.chain = approval_chain(self.adjustment.payable, limits)
            grounds = ["above_authority"] if PANEL in self.chain else []
            if self.investigation and self.investigation.recommend_deny and self.chain == [1]:
                self.chain = [1, 2]  # a recommended denial needs someone who may deny
        self.approvals = []
        self.panel = Panel(grounds=grounds) if PANEL in self.chain else None
        self.panel_view = None
        self._sync_panel_view()
        self.round += 1
        self._to("PENDING_APPROVAL", SYSTEM, chain=[level_name(lv) for lv in self.chain])
        self._open_approval_task()
        await self._flush()
        await workflow.wait_condition(lambda: self.outcome is not None)
        last = self.approvals[-1].approver if self.approvals else SYSTEM
        if self.outcome == "approved":
            self._to("APPROVED", last)
        elif self.outcome == "denied":
            self._to("DENIED", last, clause=self.denial_clause)
        else:
            self._to("RETURNED", last, note=self.approvals[-1].note)
        if self.panel is not None and self.panel.complete:
            await self._panel_record()
        await self._flush()

    async def _settle(self, after_appeal: bool = False) -> None:
        """Decision letter, then pay the balance exactly once (10 days, art. 23)."""
        assert self.report and self.rules and self.adjustment
        self._stop_clock("determination")
        self._stop_clock("advance_payment")
        self._stop_clock("appeal_review")
        payable = self.adjustment.payable
        async with self._payment_lock:
            balance = max(Decimal("0"), payable - self.paid_total)
            if self.paid_total > payable:
                self._event("overpaid", SYSTEM, paid=str(self.paid_total), payable=str(payable))
            self._start_clock("payment", self.rules.deadlines.payment_days, owner="L2")
            await self._letter(
                "decision",
                line=self.report.line,
                incident_type=self.report.incident_type,
                lines=[line.model_dump(mode="json") for line in self.adjustment.lines],
                payable=str(payable),
                approvals=[
                    {
                        "level": self._level_label(a.level),
                        "approver": a.approver,
                        "at": a.at.isoformat(),
                    }
                    for a in self.approvals
                ],
                straight_through=self.stp,
                payment_days=self.rules.deadlines.payment_days,
                payment_due=self._due_date("payment"),
                account_ref=self._account(),
                advance_paid=str(self.paid_total),
                balance=str(balance),
                after_appeal=after_appeal,
            )
            if balance > 0:
                self._to("PAYING", SYSTEM, amount=str(balance))
                await self._flush()
                paid = await self._pay(balance)
                self._to("PAID", SYSTEM, amount=str(paid.amount), reference=paid.reference)
                await self._letter(
                    "payment",
                    amount=str(paid.amount),
                    account_ref=self._account(),
                    reference=paid.reference,
                    paid_at=paid.paid_at.isoformat(),
                    seq=paid.seq,
                )
            self._stop_clock("payment")
        self.reserve = Decimal("0")

    async def _pay(self, amount: Decimal) -> PaymentRecord:
        """One ledger row per claim and payment sequence; a retry never pays twice."""
        assert self.report and self.adjustment
        self._paying = True
        seq = len(self.payments) + 1
        paid = await workflow.execute_activity(
            "pay_claim",
            PaymentRequest(
                claim_id=self.claim_id,
                seq=seq,
                amount=amount,
                payee=self.report.claimant.name,
                account_ref=self._account(),
                policy_no=self.report.policy_no,
                deductible_applied=self.adjustment.deductible_applied if seq == 1 else Decimal("0"),
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
        self._event("paid", SYSTEM, seq=paid.seq, amount=str(paid.amount), ref=paid.reference)
        return paid

    async def _advance_payment(self) -> None:
        """At 60 days without a decision, pay the part that can be determined (art. 25)."""
        self._stop_clock("advance_payment")
        if self.stage not in UNDECIDED or self.payments or self.outcome is not None:
            return
        amount = self._determinable()
        if amount <= 0:
            self._event("advance_payment_none", SYSTEM, reason="no part can be determined yet")
            await self._flush()
            return
        async with self._payment_lock:
            if self.outcome is not None or self.payments:
                return
            paid = await self._pay(amount)
            assert self.report and self.rules
            await self._letter(
                "advance_payment",
                amount=str(paid.amount),
                amount_claimed=str(self.report.amount_claimed),
                account_ref=self._account(),
                reference=paid.reference,
                paid_at=paid.paid_at.isoformat(),
                days=self.rules.deadlines.advance_payment_days,
            )
            self._paying = False
            await self._flush()

    def _determinable(self) -> Decimal:
        """The lowest amount every assessment so far supports; nothing while the claim may
        still be denied."""
        if self.adjustment is None or self.awaiting_adjustment:
            return Decimal("0")
        if self.investigation and self.investigation.recommend_deny:
            return Decimal("0")
        if any(not v.done for v in self.investigations.values()):
            return Decimal("0")
        amounts = [self.adjustment.payable]
        if self.investigation and self.investigation.cap is not None:
            amounts.append(self.investigation.cap)
        if self.panel:
            amounts += [v.amount for v in self.panel.votes if v.amount is not None]
            if any(v.vote == "reject" for v in self.panel.votes):
                return Decimal("0")
        return min(amounts)

    async def _deny(self) -> bool:
        """Denial notice within 3 days (Insurance Law art. 24); True if the claimant appeals
        within the 30-day window."""
        assert self.report and self.rules
        d = self.rules.deadlines
        self._stop_clock("determination")
        self._stop_clock("advance_payment")
        self._stop_clock("appeal_review")
        self._start_clock("denial_notice", d.denial_notice_days, owner="L2")
        now = workflow.now()
        appeal_clock = Clock(
            "appeal",
            now,
            d.appeal_days,
            self._cal,
            owner="claimant",
            ladder=False,
            customer_facing=False,
        )
        await self._letter(
            "denial",
            reason=self.denial_reason or "",
            clause=self._clause_context(self.denial_clause),
            decided_at=now.isoformat(),
            appeal_days=d.appeal_days,
            appeal_due=self.calendar_date(appeal_clock.due_at(now)),
            approvals=[
                {
                    "level": self._level_label(a.level),
                    "approver": a.approver,
                    "at": a.at.isoformat(),
                }
                for a in self.approvals
            ],
        )
        self._stop_clock("denial_notice")
        self.reserve = Decimal("0")
        self._to("DENIAL_NOTIFIED", SYSTEM)
        if self.appealed_at is not None:
            await self._flush()
            return False  # a denial upheld on appeal is final inside the company
        self.clocks["appeal"] = appeal_clock
        self._clock_changed()
        await self._flush()
        appealed = await self._wait(lambda: self.appeal is not None, appeal_clock.due_at(now))
        self._stop_clock("appeal")
        return appealed

    async def _review_appeal(self) -> None:
        """The claim reopens for a panel review with the original file; those who took the
        decision under appeal sit out."""
        assert self.appeal and self.rules
        self.appealed_at = workflow.now()
        self._to("APPEALED", self.appeal.by, reason=self.appeal.reason)
        clock = self._start_clock(
            "appeal_review", self.rules.deadlines.appeal_review_days, owner="L3"
        )
        await self._letter(
            "appeal_received",
            appeal_reason=self.appeal.reason,
            received_at=self.appealed_at.isoformat(),
            review_days=self.rules.deadlines.appeal_review_days,
            review_due=self.calendar_date(clock.due_at(self.appealed_at)),
        )
        for a in self.approvals:
            if a.approver != SYSTEM:
                self.recused.setdefault(a.approver, "took the decision under appeal")
        self._to("REOPENED", SYSTEM)
        self.outcome = None
        self.denial_clause = None
        self.denial_reason = None
        await self._await_approval(["appeal"])
        if self.outcome == "approved":
            self.overturned = True
            await self._settle(after_appeal=True)
            return
        self._stop_clock("appeal_review")
        await self._letter(
            "appeal_decision",
            clause=self._clause_context(self.denial_clause),
            reason=self.denial_reason or "",
            decided_at=workflow.now().isoformat(),
            votes=[
                {"member": v.member, "vote": v.vote, "reason": v.reason}
                for v in (self.panel.votes if self.panel else [])
            ],
        )
        self._to("DENIAL_NOTIFIED", SYSTEM, upheld_on_appeal=True)

    async def _withdraw(self) -> None:
        assert self.withdrawal
        self._stop_all_clocks()
        for key in list(self.tasks):
            self._close_task(key)
        self.reserve = Decimal("0")
        self._to("WITHDRAWN", self.withdrawal.by, reason=self.withdrawal.reason)
        await self._letter(
            "withdrawal",
            reason=self.withdrawal.reason,
            withdrawn_at=workflow.now().isoformat(),
            by=self.withdrawal.by,
        )
        await self._flush()

    async def _panel_record(self) -> None:
        assert self.panel and self.panel_view
        p, v = self.panel, self.panel_view
        await self._letter(
            "panel_record",
            grounds=p.grounds,
            convened_by=p.convened_by,
            convened_at=p.convened_at.isoformat() if p.convened_at else "",
            members=p.members,
            votes=[x.model_dump(mode="json") for x in v.votes],
            outcome=v.outcome,
            amount=str(v.amount) if v.amount is not None else None,
            dissent=[x.model_dump(mode="json") for x in v.votes if x.member in v.dissent],
            decided_at=workflow.now().isoformat(),
            payable_before=str(self.adjustment.payable) if self.adjustment else None,
            recipient="claim file",
        )

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

    # ================================================================== messages

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

    @workflow.update(name="convene_panel")
    async def convene_panel(self, req: ConvenePanel) -> ApprovalState:
        async with self._decision_lock:
            reason = self._check_convene(req)
            if reason:
                raise _refusal(reason)
            convener = await self._staff(req.convener)
            staff = {m: await self._staff(m) for m in req.members}
            reason = (
                self._check_convene(req)
                or (check_authority(convener, req.convener, PANEL, "approve"))
                or check_panel_members(req.members, staff, self._panel_recused())
            )
            if reason:
                raise _refusal(reason)
            assert self.panel and self.rules
            self.panel.members = list(req.members)
            self.panel.convened_by = req.convener
            self.panel.convened_at = workflow.now()
            self._sync_panel_view()
            self._close_task(self._approval_task_key(PANEL))
            due = workflow.now() + timedelta(days=self.rules.deadlines.approval_task_days)
            for m in req.members:
                self._open_task(
                    f"{self.claim_id}:panel:{self.round}:{m}",
                    "panel_vote",
                    "L2",
                    due,
                    assignee=m,
                    level=2,
                )
            self._event(
                "panel_convened", req.convener, members=req.members, grounds=self.panel.grounds
            )
            await self._flush()
            return self.approval_state()

    @convene_panel.validator
    def _validate_convene(self, req: ConvenePanel) -> None:
        reason = self._check_convene(req)
        if reason:
            raise _refusal(reason)

    @workflow.update(name="report_findings")
    async def report_findings(self, findings: Findings) -> ClaimStatus:
        reason = self._check_findings(findings)
        if reason:
            raise _refusal(reason, "InvalidFindings")
        staff = await self._staff(findings.investigator)
        reason = self._check_findings(findings)
        view = self.investigations.get(findings.task)
        if not reason and staff is None:
            reason = f"unknown person {findings.investigator!r}"
        if (
            not reason
            and staff
            and view
            and findings.investigator != view.investigator
            and ("investigator" not in staff.roles)
        ):
            reason = f"{findings.investigator} is not an investigator"
        if reason:
            raise _refusal(reason, "InvalidFindings")
        assert view is not None
        view.done = True
        view.investigator = findings.investigator
        view.facts = findings.facts
        view.fraud_suspected = findings.fraud_suspected
        view.recommendation = findings.recommendation
        view.amount = findings.amount
        view.conclusive = findings.conclusive
        self.findings.append(
            Finding(
                task=findings.task,
                investigator=findings.investigator,
                facts=findings.facts,
                fraud_suspected=findings.fraud_suspected,
                recommendation=findings.recommendation,
                amount=findings.amount,
                conclusive=findings.conclusive,
            )
        )
        self.recused[findings.investigator] = "investigated this claim"
        self._close_task(view.key)
        self._stop_clock(f"investigation:{findings.task}")
        self._event(
            "findings",
            findings.investigator,
            task=findings.task,
            recommendation=findings.recommendation,
            fraud=findings.fraud_suspected,
            conclusive=findings.conclusive,
            amount=str(findings.amount) if findings.amount is not None else None,
        )
        await self._flush()
        return self.status()

    @report_findings.validator
    def _validate_findings(self, findings: Findings) -> None:
        reason = self._check_findings(findings)
        if reason:
            raise _refusal(reason, "InvalidFindings")

    @workflow.update(name="adjust")
    async def adjust_update(self, adjustment: Adjustment) -> ApprovalState:
        staff = await self._staff(adjustment.adjuster)
        if staff is None:
            raise _refusal(f"unknown person {adjustment.adjuster!r}")
        if staff.level < 1 or not staff.active:
            raise _refusal(f"{adjustment.adjuster} is not an adjuster (L1 or above)")
        if not self.awaiting_adjustment:
            raise _refusal(f"claim {self.claim_id} is not waiting for an adjustment")
        if self.adjustment is None and adjustment.amount is None:
            raise _refusal("this claim has no computed amount: give the amount")
        base = self.adjustment or AdjustmentResult(lines=[], payable=Decimal("0"))
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

    @workflow.update(name="appeal")
    def appeal_update(self, appeal: Appeal) -> ClaimStatus:
        self.appeal = appeal
        self._event("appeal", appeal.by, reason=appeal.reason)
        return self.status()

    @appeal_update.validator
    def _validate_appeal(self, appeal: Appeal) -> None:
        if self.stage != "DENIAL_NOTIFIED" or "appeal" not in self.clocks:
            raise _refusal(
                f"claim {self.claim_id} is {self.stage}; only a denied claim can be appealed",
                "InvalidAppeal",
            )
        if self.clocks["appeal"].stopped_at is not None or self.appeal is not None:
            raise _refusal(
                f"the appeal window of claim {self.claim_id} has closed", "InvalidAppeal"
            )

    @workflow.update(name="withdraw")
    def withdraw_update(self, withdrawal: Withdrawal) -> ClaimStatus:
        self.withdrawal = withdrawal
        self._event("withdrawal_requested", withdrawal.by, reason=withdrawal.reason)
        return self.status()

    @withdraw_update.validator
    def _validate_withdraw(self, withdrawal: Withdrawal) -> None:
        if self.stage in NO_WITHDRAWAL or self._paying or self.payments:
            raise _refusal(
                f"claim {self.claim_id} is {self.stage}; a claim cannot be withdrawn once "
                "payment has begun or the case has ended",
                "InvalidWithdrawal",
            )
        if self.withdrawal is not None:
            raise _refusal(f"claim {self.claim_id} is already being withdrawn", "InvalidWithdrawal")

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
            investigations=list(self.investigations.values()),
            investigation_summary=self.investigation.summary if self.investigation else None,
            panel=self.panel_view,
            breaches=self.breaches,
            priority=self.priority,
            appealed_at=self.appealed_at,
            appeal_reason=self.appeal.reason if self.appeal else None,
            overturned=self.overturned,
            withdrawn_reason=self.withdrawal.reason if self.withdrawal else None,
            paid_total=self.paid_total,
        )

    def approval_state(self) -> ApprovalState:
        return ApprovalState(
            claim_id=self.claim_id,
            stage=self.stage,
            pending_approval_level=self.pending_level,
            approvals=self.approvals,
            payable_amount=self.adjustment.payable if self.adjustment else None,
        )

    # ================================================================== decisions

    @property
    def pending_level(self) -> int | None:
        if self.stage != "PENDING_APPROVAL" or self.outcome is not None:
            return None
        done = len(self.approvals)
        return self.chain[done] if done < len(self.chain) else None

    def _check_decision(self, d: Decision) -> str | None:
        """The checks that need no lookup; also run by the update's validator, so a refused
        update leaves nothing in the history."""
        policy = self.rules.policy if self.rules else None
        return check_decision(
            claim_id=self.claim_id,
            stage=self.stage,
            pending_level=self.pending_level,
            decision=d.decision,
            approver=d.approver,
            approved_by=[a.approver for a in self.approvals],
            recused=self.recused,
            clause=d.clause,
            clause_ids=[c.id for c in policy.clauses] if policy else [],
            amount=d.amount,
            panel=self.panel,
        )

    async def _check_authority(self, d: Decision) -> str | None:
        staff = await self._staff(d.approver)
        again = self._check_decision(d)  # the chain may have moved on during the lookup
        if again:
            return again
        level = self.pending_level
        assert level is not None
        return check_authority(staff, d.approver, level, d.decision)

    def _panel_recused(self) -> dict[str, str]:
        """Who may not sit on the panel: the recused, and anyone who already approved."""
        earlier = {
            a.approver: "already approved this claim"
            for a in self.approvals
            if a.approver not in (SYSTEM, "panel")
        }
        return {**earlier, **self.recused}

    def _check_convene(self, req: ConvenePanel) -> str | None:
        if self.pending_level != PANEL or self.panel is None:
            return f"claim {self.claim_id} is {self.stage} and is not waiting for a panel"
        if self.panel.convened:
            return f"the panel of claim {self.claim_id} is already convened"
        return None

    def _check_findings(self, f: Findings) -> str | None:
        if self.stage != "INVESTIGATING":
            return f"claim {self.claim_id} is {self.stage}; findings are taken in INVESTIGATING"
        view = self.investigations.get(f.task)
        if view is None:
            return f"no investigation task {f.task!r}; open: " + ", ".join(
                k for k, v in self.investigations.items() if not v.done
            )
        if view.done:
            return f"the {f.task} findings are already in"
        if f.recommendation not in RECOMMENDATIONS:
            return f"unknown recommendation {f.recommendation!r}"
        if f.recommendation == "reduce" and f.amount is None:
            return "a reduce recommendation needs the amount"
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
        if level == PANEL:
            self._apply_vote(d)
            return
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

    def _apply_vote(self, d: Decision) -> None:
        assert self.panel is not None and self.adjustment is not None
        self.panel.votes.append(
            Vote(
                member=d.approver,
                vote=d.decision,
                reason=d.note,
                at=workflow.now(),
                amount=d.amount,
                clause=d.clause,
            )
        )
        self._close_task(f"{self.claim_id}:panel:{self.round}:{d.approver}")
        self._event(
            "panel_vote",
            d.approver,
            vote=d.decision,
            note=d.note,
            clause=d.clause,
            amount=str(d.amount) if d.amount is not None else None,
        )
        self._sync_panel_view()
        if not self.panel.complete:
            return
        result = panel_outcome(self.panel.votes, self.adjustment.payable)
        assert self.panel_view is not None
        self.panel_view.outcome = result.outcome
        self.panel_view.amount = result.amount
        self.panel_view.dissent = [v.member for v in result.dissent]
        self.approvals.append(
            ApprovalRecord(
                level=PANEL,
                approver="panel",
                decision=result.outcome,
                at=workflow.now(),
                note="; ".join(v.reason for v in result.majority),
                clause=result.clause,
            )
        )
        self._event(
            "panel_decided",
            "panel",
            outcome=result.outcome,
            amount=str(result.amount) if result.amount is not None else None,
            dissent=[v.member for v in result.dissent],
        )
        if result.outcome == "reject":
            self.denial_clause = result.clause
            self.denial_reason = "; ".join(v.reason for v in result.majority)
            self.outcome = "denied"
            return
        if result.outcome == "amend" and result.amount != self.adjustment.payable:
            self.adjustment = manual_adjustment(
                self.adjustment, "panel", "amount set by the panel", result.amount
            )
        self.outcome = "approved"

    def _sync_panel_view(self) -> None:
        p = self.panel
        if p is None:
            return
        self.panel_view = PanelView(
            grounds=p.grounds,
            convened_by=p.convened_by,
            convened_at=p.convened_at,
            members=p.members,
            votes=[
                VoteView(
                    member=v.member,
                    vote=v.vote,
                    reason=v.reason,
                    at=v.at,
                    amount=v.amount,
                    clause=v.clause,
                )
                for v in p.votes
            ],
        )

    def _approval_task_key(self, level: int) -> str:
        return f"{self.claim_id}:approve:{self.round}:{level_name(level)}"

    def _open_approval_task(self) -> None:
        assert self.rules
        level = self.pending_level
        if level is None:
            return
        due = workflow.now() + timedelta(days=self.rules.deadlines.approval_task_days)
        if level == PANEL:
            self._open_task(self._approval_task_key(level), "convene_panel", "L3", due, level=3)
        else:
            self._open_task(
                self._approval_task_key(level), "approve", level_name(level), due, level=level
            )

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

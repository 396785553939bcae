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
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    import pydantic

    from models.claim import (
        ClaimReport,
        impossible_dates,
    )
    from models.ids import claim_id_of
    from models.records import (
        LoadRulesRequest,
    )
    from models.rules import AdjustmentResult, CoverageResult, Flag, RulesSnapshot
    from models.status import (
        ApprovalRecord,
        ClaimStatus,
        InvestigationView,
    )
    from workflows.adjustment import AdjustmentError, adjust
    from workflows.approval import PANEL, approval_chain, level_name
    from workflows.assessed_adjustment import adjust_assessed
    from workflows.assessment import needs_assessment
    from workflows.clock import Calendar, notice_reached
    from workflows.coverage import check_coverage
    from workflows.decisions import (
        Panel,
    )
    from workflows.exclusions import (
        cause_unknown,
        declared_exclusions,
        findings_exclusions,
        merge,
    )
    from workflows.investigation import (
        plan_investigation,
        weigh_findings,
    )
    from workflows.triage import straight_through, triage

from workflows.case import INVALID_REPORT, NO_REPORT, read_report, unsafe_case_id
from workflows.claim_case import SYSTEM
from workflows.claim_settlement import ClaimSettlement


@workflow.defn(name="ClaimWorkflow", failure_exception_types=[pydantic.ValidationError])
class ClaimWorkflow(ClaimSettlement):
    """One claim: the process steps; messages, clocks and settlement come from the bases."""

    report_model = ClaimReport  # the start input's JSON (it arrives raw, see __init__)

    @workflow.init
    def __init__(self, report: RawValue = NO_REPORT) -> None:
        # The report is taken here, before any message is handled: an update or query that
        # arrives with the first workflow task already sees the claim. It arrives raw (a
        # ClaimReport as JSON) so that one which does not decode ends NOT_ACCEPTED with the
        # reason instead of failing the workflow.
        super().__init__()
        # The determination clock pauses from the day the missing-materials notice reached
        # the claimant (SPC Interpretation II art. 15), not from the day it was sent.
        self._pause_on_delivery = self._release_2026_12
        self.report, self.invalid_report = read_report(ClaimReport, report)
        self.claim_id = claim_id_of(workflow.info().workflow_id)
        if self.report is not None:
            self.claim_id = self.report.claim_id or self.claim_id
            self.invalid_report = unsafe_case_id(self.claim_id)
            if self.invalid_report is not None:  # ends NOT_ACCEPTED; nothing is written
                self.report, self.claim_id = None, ""
                return
            if self.report.reported_at is None:
                self.report.reported_at = workflow.info().start_time

    # ================================================================== the process

    @workflow.run
    async def run(self, report: RawValue = NO_REPORT) -> ClaimStatus:
        if self.invalid_report is not None:
            self._refuse_report(self.invalid_report)
            return self.status()
        process = asyncio.create_task(self._process())
        watcher = asyncio.create_task(self._watch_clocks())
        await workflow.wait_condition(lambda: process.done() or self.withdrawal is not None)
        if not process.done():
            # A withdrawal is only taken while the process waits for someone (see the
            # update's validator), so cancelling it interrupts no activity.
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
        problem = impossible_dates(report, workflow.now(), occurred=False)
        if problem is not None and workflow.patched("refuse-impossible-dates"):
            self._refuse_report(problem)
            return
        rules = await self._record_call(
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
        )
        self.rules = rules
        d = rules.deadlines
        self.calendar = Calendar.of(
            timezone(timedelta(hours=d.utc_offset_hours)),
            d.holidays,
            d.workdays,
            d.calendar_years or None,
        )
        self._event("rules_loaded", SYSTEM, version=rules.version, profile=d.profile)
        if rules.previous_stage is not None:
            # A second run under a claim id that already has records (started by a client that
            # did not ask to reject duplicates): one claim id is one claim. This run writes
            # nothing, so the claim's records stay with the run that owns them.
            self.not_accepted_reason = (
                f"claim {self.claim_id} was already reported and is {rules.previous_stage}; "
                "one claim id is one claim"
            )
            self._to("NOT_ACCEPTED", SYSTEM, reason="DUPLICATE")
            return

        coverage = check_coverage(
            report,
            rules,
            workflow.now(),
            by_incident_date=self._release_2026_12,
        )
        if not coverage.accepted:
            await self._not_accepted(coverage)
            return

        self._to("ACCEPTED", SYSTEM)
        self.reserve = report.amount_claimed
        self.document_rounds = 1
        # From the report's receipt (reported_at), which may be before it was entered here.
        received = report.reported_at if self._receipt_clocks else None
        self._start_clock("determination", d.determination_days, owner="L1", at=received)
        self.required = rules.required_materials
        self._receive(report.materials, report.channel)
        complete_with_report = not self.missing
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

        if self.missing and not await self._collect_materials():
            return  # LAPSED: the limitation ran out while the claim waited for materials

        self._to("UNDER_REVIEW", SYSTEM)
        # From when the claim and its materials were received: with the report if it came
        # complete, else now (the workflow task that took the last missing item).
        self._start_clock(
            "advance_payment",
            d.advance_payment_days,
            owner="L2",
            at=received if complete_with_report else None,
        )
        payee_watched = await self._payee_on_watch_list()
        self.flags = triage(report, rules, self.received.values())
        if payee_watched and not any(f.code == "R07" for f in self.flags):
            self.flags.append(
                Flag(code="R07", effect="panel", reason="the payee's account is on the watch list")
            )
        if self.flags:
            self._event("triage_flags", SYSTEM, flags=[f.code for f in self.flags])
        await self._investigate()
        if self._exclusion_rules:
            self._find_exclusions()
        if self._assessment_rules and needs_assessment(report, rules, self._grade_from_findings()):
            await self._assess()

        await self._decide_claim(self._panel_grounds())
        if self.outcome == "denied":
            if await self._deny():
                await self._review_appeal()
        else:
            await self._settle()
        if self.review_request is not None:  # a complaint asked during the appeal window
            await self._complaint_review()
        self._stop_all_clocks()
        self._to("CLOSED", SYSTEM)
        await self._flush()
        await self._reopen_window()

    def _refuse_report(self, problem: str) -> None:
        """A report the engine cannot take: NOT_ACCEPTED with the reason, and nothing written
        (no row, no letter: there may be no one to write to)."""
        self.not_accepted_reason = f"the report cannot be accepted: {problem}"
        self._to("NOT_ACCEPTED", SYSTEM, reason=INVALID_REPORT)

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

    async def _collect_materials(self) -> bool:
        """One single notice listing everything missing (Insurance Law art. 22); the
        determination clock pauses until the materials arrive (SPC Interpretation II art. 15).
        Reminders at 15 and 30 days, suspension at 60; the claim resumes when they arrive, or
        lapses when the 2-year limitation (art. 26) ends first. True when they arrived."""
        assert self.rules
        d = self.rules.deadlines
        notice_at = workflow.now()
        self.document_rounds += 1
        self._to("AWAITING_MATERIALS", SYSTEM, missing=self.missing)
        determination = self._clock("determination")
        determination.pause(
            "awaiting materials (from the day the missing-materials notice reached the claimant)"
            if self._pause_on_delivery
            else "awaiting materials (missing-materials notice)",
            notice_at,
        )
        self._clock_changed()
        suspend_on = self._letter_day(notice_at + timedelta(days=d.materials_suspension_days))
        notice = await self._letter(
            "missing_materials",
            missing=self.missing,
            received=[k for k in self.required if k in self.received],
            notice_date=self._letter_day(notice_at),
            reminder_days=list(d.materials_reminder_days),
            suspension_days=d.materials_suspension_days,
        )
        if self._pause_on_delivery and determination.paused:
            # Sent at this task's time; reached the claimant when its delivery is recorded
            # (a later delivery service), else after the presumed days for post, at once for
            # email and other electronic channels. Until then the clock runs.
            reached = notice_reached(
                notice_at,
                notice.channel,
                d.presumed_delivery_days,
                getattr(notice, "delivered_at", None),
            )
            determination.pauses[-1].since = reached
            self._event(
                "clock_pause_from",
                SYSTEM,
                clock="determination",
                since=reached.isoformat(),
                channel=notice.channel,
            )
            self._clock_changed()
        task_key = f"{self.claim_id}:materials"
        due = notice_at + timedelta(days=d.materials_suspension_days)
        self._open_task(task_key, "supply_materials", "claimant", due)
        await self._flush()

        steps = [(n, "reminder") for n in d.materials_reminder_days]
        steps.append((d.materials_suspension_days, "suspend"))
        reminders = 0
        for days, step in steps:
            if await self._park(lambda: not self.missing, notice_at + timedelta(days=days)):
                break
            if step == "reminder":
                reminders += 1
                self._event("materials_reminder", SYSTEM, round=reminders, missing=self.missing)
                await self._letter(
                    "materials_reminder",
                    missing=self.missing,
                    notice_date=self._letter_day(notice_at),
                    round=reminders,
                    suspension_on=suspend_on,
                )
            else:
                self._to("SUSPENDED", SYSTEM, missing=self.missing)
                await self._letter(
                    "suspension",
                    missing=self.missing,
                    notice_date=self._letter_day(notice_at),
                    suspended_on=self._letter_day(workflow.now()),
                )
            await self._flush()
        else:
            if self._lapse_rules:
                limitation = self._limitation_ends()
                if not await self._park(lambda: not self.missing, limitation):
                    await self._lapse(task_key, notice_at)
                    return False
            else:
                await self._park(lambda: not self.missing)

        self._clock("determination").resume(workflow.now())
        self._clock_changed()
        self._close_task(task_key)
        self._event("materials_complete", SYSTEM)
        return True

    def _limitation_ends(self) -> datetime:
        """The end of the 2-year limitation (诉讼时效, Insurance Law art. 26), counted from the
        day of the incident: 24:00 of the same date two years on, local time."""
        assert self.report and self.rules
        tz = self._cal.tz
        day = self.report.occurred_at.astimezone(tz).date()
        years = self.rules.deadlines.limitation_years
        try:
            last = day.replace(year=day.year + years)
        except ValueError:  # 29 February
            last = day.replace(year=day.year + years, day=28)
        return datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)

    async def _lapse(self, task_key: str, notice_at: datetime) -> None:
        """The limitation ran out while the claim was suspended: it closes as LAPSED."""
        assert self.report
        self._close_task(task_key)
        self._stop_all_clocks()
        self._to("LAPSED", SYSTEM, missing=self.missing)
        tz = self._cal.tz
        suspended = next((h.at for h in self.history if h.stage == "SUSPENDED"), notice_at)
        await self._letter(
            "lapse",
            missing=self.missing,
            notice_date=notice_at.astimezone(tz).date().isoformat(),
            suspended_on=suspended.astimezone(tz).date().isoformat(),
            occurred_on=self.report.occurred_at.astimezone(tz).date().isoformat(),
            limitation_on=self.calendar_date(self._limitation_ends()),
            lapsed_on=workflow.now().astimezone(tz).date().isoformat(),
        )
        self.reserve = Decimal("0")
        await self._flush()

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
        await self._park(lambda: all(v.done for v in self.investigations.values()))
        self.investigation = weigh_findings(self.findings)
        self._event("investigation_complete", SYSTEM, summary=self.investigation.summary)

    async def _payee_on_watch_list(self) -> bool:
        """R07 looks at the payee as well as the claimant: the account the money would go to."""
        account = self._account()
        if not self._payee_watch or not account:
            return False
        return bool(await self._record_call("check_watch_list", [account], result_type=bool))

    def _find_exclusions(self) -> None:
        """Excluded causes (责任免除, DOMAIN §6a) declared in the report or found by the
        investigation: each is proposed, with its clause, to an approver who may deny."""
        assert self.report and self.rules
        policy = self.rules.policy
        found = merge(
            declared_exclusions(self.report, policy),
            findings_exclusions(
                self.report.line, policy, [f.excluded_cause for f in self.findings]
            ),
        )
        new = [hit for hit in found if hit not in self.exclusions]
        if not new:
            return
        self.exclusions += new
        for hit in new:
            self.flags.append(
                Flag(
                    code="X01",
                    effect="flag",
                    reason=f"excluded cause {hit.code} ({hit.source}), clause {hit.clause}",
                )
            )
        self._event("exclusions", SYSTEM, exclusions=[h.model_dump() for h in new])

    def _grade_from_findings(self) -> int | None:
        grades = [f.disability_grade for f in self.findings if f.disability_grade is not None]
        return grades[-1] if grades else None

    async def _assess(self) -> None:
        """Wait in ASSESSING for an assessor's figures (定损, DOMAIN §6a): the amount of an
        auto, property or disability claim rests on them, never on what was declared."""
        assert self.rules
        self._to("ASSESSING", SYSTEM)
        key = f"{self.claim_id}:assess"
        due = workflow.now() + timedelta(days=self.rules.deadlines.assessment_task_days)
        self._open_task(key, "assess", "assessor", due)
        self.awaiting_assessment = True
        await self._flush()
        await self._park(lambda: not self.awaiting_assessment)
        self._close_task(key)

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
                self.adjustment = self._compute()
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
            await self._park(lambda: not self.awaiting_adjustment)
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

    def _compute(self) -> AdjustmentResult:
        """The product formula over the policy, the invoices and the assessed figures."""
        assert self.report and self.rules
        policy = self.rules.policy
        if not self._assessment_rules or self.report.line == "medical" or policy is None:
            return adjust(self.report, self.rules)
        return adjust_assessed(
            self.report,
            policy,
            self.rules.usage,
            self.rules.triage.stp_max_amount,
            self.assessment.figures if self.assessment else None,
            self._grade_from_findings(),
            net_limits=self._net_limits,
        )

    def _fast_track(self) -> bool:
        assert self.report and self.rules and self.adjustment
        if self._exclusion_rules and (self.exclusions or cause_unknown(self.report)):
            return False
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
            deny_proposed = self.exclusions or (
                self.investigation and self.investigation.recommend_deny
            )
            if deny_proposed and self.chain == [1]:
                self.chain = [1, 2]  # a proposed denial needs someone who may deny
        self.approvals = []
        self.panel = Panel(grounds=grounds) if PANEL in self.chain else None
        self.panel_view = None
        self._sync_panel_view()
        self.round += 1
        self._to("PENDING_APPROVAL", SYSTEM, chain=[level_name(lv) for lv in self.chain])
        self._open_approval_task()
        await self._flush()
        await self._park(lambda: self.outcome is not None)
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

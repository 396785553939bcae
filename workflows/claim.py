"""ClaimWorkflow: one insurance claim, from report to closing (DOMAIN §2, §3, §5, §7).

report -> acceptance and coverage check (or NOT_ACCEPTED) -> acknowledgement with the checklist
-> one single missing-materials notice, reminders at 15 and 30 days, suspension at 60 -> triage
-> investigation tasks for the risk flags -> adjustment -> fast track, or the approval chain
L1..L3 and the panel (合议) -> decision letter, exactly-once payment (an advance payment of the
determinable part at 60 days if still undecided) -> CLOSED; or a denial letter, the 30-day
appeal window, a panel review of an appeal -> CLOSED. A withdrawal ends the claim at any point
before payment. Statutory clocks run beside the process and climb their escalation ladder.

The workflow holds the process and thin message handlers. What it uses are plain objects it
owns, none of which calls back into it: the claim's file (claim_case.py: the typed state of
claim_state.py with the recorder, clocks and signature guard complaints share), and the desks
that act on it: review (claim_review.py), materials (claim_materials.py), assessment
(claim_assessment.py), the approval chain and panel (claim_approval.py), the other messages
(claim_messages.py), the settlement (claim_settlement.py), special care and the follow-up call
(claim_aftercare.py); the file sends the notices at key nodes (claim_notices.py). Deterministic
code only: rules arrive through an activity at the start and stay in the state.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta, timezone

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    import pydantic

    from activities.rules import RulesActivities
    from models.calendars import CalendarUpdate
    from models.claim import (
        Adjustment,
        Appeal,
        Assessment,
        ClaimReport,
        ConvenePanel,
        Decision,
        Findings,
        FollowUp,
        MaterialsRequest,
        MaterialsSubmission,
        Withdrawal,
        impossible_dates,
    )
    from models.complaint import ClaimReviewRequest, ComplaintLink
    from models.ids import claim_id_of
    from models.records import LoadRulesRequest
    from models.rules import CoverageResult, RulesSnapshot
    from models.status import ApprovalState, ClaimStage, ClaimStatus
    from workflows.assessment import needs_assessment
    from workflows.case import (
        INVALID_REPORT,
        NO_REPORT,
        patched,
        read_report,
        unsafe_case_id,
    )
    from workflows.claim_aftercare import Aftercare
    from workflows.claim_approval import ApprovalDesk
    from workflows.claim_assessment import AssessmentDesk
    from workflows.claim_case import ClaimCase
    from workflows.claim_materials import Materials
    from workflows.claim_messages import ClaimInbox
    from workflows.claim_review import Review
    from workflows.claim_settlement import Settlement
    from workflows.clock import Calendar
    from workflows.coverage import check_coverage
    from workflows.recorder import SYSTEM, record_call


@workflow.defn(name="ClaimWorkflow", failure_exception_types=[pydantic.ValidationError])
class ClaimWorkflow:
    """One claim: the process steps in order; its messages go to the desks that own them."""

    report_model = ClaimReport  # the start input's JSON (it arrives raw, see __init__)

    @workflow.init
    def __init__(self, report: RawValue = NO_REPORT) -> None:
        case = self._case = ClaimCase.begun()  # first: the patches the case runs under
        self._approvals = ApprovalDesk(case)
        self._aftercare = Aftercare(case)
        self._settlement = Settlement(case, self._approvals, self._aftercare)
        self._review = Review(case, self._approvals)
        self._materials = Materials(case)
        self._assessments = AssessmentDesk(case)
        self._inbox = ClaimInbox(case)
        case.clocks.on_step = self._settlement.clock_step
        # The report is taken here, before any message is handled: an update or query that
        # arrives with the first workflow task already sees the claim. It arrives raw (a
        # ClaimReport as JSON) so that one which does not decode ends NOT_ACCEPTED with the
        # reason instead of failing the workflow.
        s = case.state
        s.report, s.invalid_report = read_report(ClaimReport, report)
        case.name(claim_id_of(workflow.info().workflow_id))
        if s.report is not None:
            case.name(s.report.claim_id or s.claim_id)
            s.invalid_report = unsafe_case_id(s.claim_id)
            if s.invalid_report is not None:  # ends NOT_ACCEPTED; nothing is written
                s.report = None
                case.name("")
                return
            if s.report.reported_at is None:
                s.report.reported_at = workflow.info().start_time

    # ================================================================== the process

    @workflow.run
    async def run(self, report: RawValue = NO_REPORT) -> ClaimStatus:
        case, s = self._case, self._case.state
        if s.invalid_report is not None:
            self._refuse_report(s.invalid_report)
            return case.status()
        process = asyncio.create_task(self._process())
        watcher = asyncio.create_task(case.clocks.watch())
        await workflow.wait_condition(lambda: process.done() or s.withdrawal is not None)
        if not process.done():
            # A withdrawal is only taken while the process waits for someone (see the
            # update's validator), so cancelling it interrupts no activity.
            process.cancel()
            try:
                await process
            except asyncio.CancelledError:
                pass
            await self._settlement.withdraw()
        else:
            process.result()
        case.clocks.finished = True
        await watcher
        await workflow.wait_condition(workflow.all_handlers_finished)
        return case.status()

    async def _process(self) -> None:
        case, s = self._case, self._case.state
        report = s.report
        assert report is not None
        case.rec.to(ClaimStage.REPORTED, report.channel, channel=report.channel)
        problem = impossible_dates(report, workflow.now(), occurred=False)
        if problem is not None and patched("refuse-impossible-dates"):
            self._refuse_report(problem)
            return
        rules = await self._load_rules(report)
        d = rules.deadlines
        if rules.previous_stage is not None:
            # A second run under a claim id that already has records (started by a client that
            # did not ask to reject duplicates): one claim id is one claim. This run writes
            # nothing, so the claim's records stay with the run that owns them.
            s.not_accepted_reason = (
                f"claim {s.claim_id} was already reported and is {rules.previous_stage}; "
                "one claim id is one claim"
            )
            case.rec.to(ClaimStage.NOT_ACCEPTED, SYSTEM, reason="DUPLICATE")
            return

        coverage = check_coverage(
            report,
            rules,
            workflow.now(),
            by_incident_date=s.release,
        )
        if not coverage.accepted:
            await self._not_accepted(coverage)
            return

        case.rec.to(ClaimStage.ACCEPTED, SYSTEM)
        await self._aftercare.take_special_care()
        s.reserve = report.amount_claimed
        s.document_rounds = 1
        # From the report's receipt (reported_at), which may be before it was entered here.
        received = report.reported_at if s.release else None
        case.clocks.start("determination", d.determination_days, owner="L1", at=received)
        s.required = rules.required_materials
        case.receive(report.materials, report.channel)
        complete_with_report = not s.missing
        await self._acknowledge(report, rules)

        if s.missing and not await self._materials.collect():
            return  # LAPSED: the limitation ran out while the claim waited for materials

        case.rec.to(ClaimStage.UNDER_REVIEW, SYSTEM)
        if not complete_with_report:
            await case.notices.send("materials_complete", "materials_complete")
        # From when the claim and its materials were received: with the report if it came
        # complete, else now (the workflow task that took the last missing item).
        case.clocks.start(
            "advance_payment",
            d.advance_payment_days,
            owner="L2",
            at=received if complete_with_report else None,
        )
        # the payee looked up with the rules unless the claim waited since (the list may change)
        await self._review.triage(rules.payee_watched if complete_with_report else None)
        await self._review.investigate()
        if s.release:
            self._review.find_exclusions()
        if s.release and needs_assessment(report, rules, s.grade_from_findings()):
            await self._review.assess()

        await self._review.decide(self._review.panel_grounds())
        self._aftercare.decided()
        if s.outcome == "denied":
            if await self._settlement.deny():
                await self._settlement.review_appeal()
        else:
            await self._settlement.settle()
        if s.review_request is not None:  # a complaint asked during the appeal window
            await self._settlement.complaint_review()
        case.clocks.stop_all()
        case.rec.to(ClaimStage.CLOSED, SYSTEM)
        await case.flush()
        await self._settlement.reopen_window()

    async def _acknowledge(self, report: ClaimReport, rules: RulesSnapshot) -> None:
        """The acknowledgement letter with the checklist; since release 2027-01 the notice
        carrying the claim's page link too (DOMAIN §11: report accepted). Then the read model,
        unless the claim goes straight on: its next flush, before any wait, writes this too."""
        case, s = self._case, self._case.state
        d = rules.deadlines
        await case.letter_with_notice(
            "acknowledgement",
            "ack",
            "acknowledgement",
            with_link=True,
            line=report.line,
            incident_type=report.incident_type,
            reported_at=report.reported_at.isoformat() if report.reported_at else "",
            channel=report.channel,
            checklist=s.required,
            received=[k for k in s.required if k in s.received],
            missing=s.missing,
            determination_days=d.determination_days,
            determination_due=case.clocks.due_date("determination"),
        )
        if s.missing or not case.fewer_steps:  # else the next flush, before any wait, has it
            await case.flush()

    async def _load_rules(self, report: ClaimReport) -> RulesSnapshot:
        """The rules the claim runs under, taken once; its calendar from their profile."""
        case, s = self._case, self._case.state
        rules = await record_call(
            RulesActivities.load_rules,
            LoadRulesRequest(
                claim_id=s.claim_id,
                policy_no=report.policy_no,
                line=report.line,
                incident_type=report.incident_type,
                claimant_id_no=report.claimant.id_no,
                occurred_on=report.occurred_at.date(),
                payee_account=s.report_account() if case.fewer_steps else None,
            ),
        )
        s.rules = rules
        d = rules.deadlines
        case.clocks.calendar = Calendar.of(
            timezone(timedelta(hours=d.utc_offset_hours)),
            d.holidays,
            d.workdays,
            d.calendar_years or None,
        )
        case.rec.event("rules_loaded", SYSTEM, version=rules.version, profile=d.profile)
        return rules

    def _refuse_report(self, problem: str) -> None:
        """A report the engine cannot take: NOT_ACCEPTED with the reason, and nothing written
        (no row, no letter: there may be no one to write to)."""
        case, s = self._case, self._case.state
        s.not_accepted_reason = f"the report cannot be accepted: {problem}"
        case.rec.to(ClaimStage.NOT_ACCEPTED, SYSTEM, reason=INVALID_REPORT)

    async def _not_accepted(self, coverage: CoverageResult) -> None:
        case, s = self._case, self._case.state
        assert s.report and s.rules
        s.not_accepted_reason = coverage.reason_en
        case.rec.to(ClaimStage.NOT_ACCEPTED, SYSTEM, reason=coverage.reason_code)
        await case.letter(
            "not_accepted",
            reason=coverage.reason_zh if s.zh else coverage.reason_en,
            reason_code=coverage.reason_code,
            clause=s.clause_context(coverage.clause_id),
            line=s.report.line,
            incident_type=s.report.incident_type,
        )
        await case.flush()

    # ================================================================== messages

    @workflow.signal(name="submit_materials")
    async def submit_materials(self, submission: MaterialsSubmission) -> None:
        await self._inbox.submit_materials(submission)

    @workflow.update(name="decide")
    async def decide(self, decision: Decision) -> ApprovalState:
        return await self._approvals.decide(decision)

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        self._approvals.validate_decide(decision)

    @workflow.signal(name="decision")
    async def decision_signal(self, decision: Decision) -> None:
        await self._approvals.decision_signal(decision)

    @workflow.update(name="convene_panel")
    async def convene_panel(self, req: ConvenePanel) -> ApprovalState:
        return await self._approvals.convene(req)

    @convene_panel.validator
    def _validate_convene(self, req: ConvenePanel) -> None:
        self._approvals.validate_convene(req)

    @workflow.update(name="report_findings")
    async def report_findings(self, findings: Findings) -> ClaimStatus:
        return await self._inbox.report_findings(findings)

    @report_findings.validator
    def _validate_findings(self, findings: Findings) -> None:
        self._inbox.validate_findings(findings)

    @workflow.update(name="adjust")
    async def adjust_update(self, adjustment: Adjustment) -> ApprovalState:
        return await self._inbox.adjust_update(adjustment)

    @adjust_update.validator
    def _validate_adjust(self, adjustment: Adjustment) -> None:
        self._inbox.validate_adjust(adjustment)

    @workflow.update(name="appeal")
    def appeal_update(self, appeal: Appeal) -> ClaimStatus:
        return self._inbox.appeal_update(appeal)

    @appeal_update.validator
    def _validate_appeal(self, appeal: Appeal) -> None:
        self._inbox.validate_appeal(appeal)

    @workflow.update(name="withdraw")
    def withdraw_update(self, withdrawal: Withdrawal) -> ClaimStatus:
        return self._inbox.withdraw_update(withdrawal)

    @withdraw_update.validator
    def _validate_withdraw(self, withdrawal: Withdrawal) -> None:
        self._inbox.validate_withdraw(withdrawal)

    @workflow.update(name="record_assessment")
    async def record_assessment(self, a: Assessment) -> ClaimStatus:
        """An assessor's figures (定损, DOMAIN §6a), signed like a decision."""
        return await self._assessments.record_assessment(a)

    @record_assessment.validator
    def _validate_assessment(self, a: Assessment) -> None:
        self._assessments.validate_assessment(a)

    @workflow.signal(name="assessment")
    async def assessment_signal(self, a: Assessment) -> None:
        """The same for systems that can only signal: a refused one is recorded and ignored."""
        await self._assessments.assessment_signal(a)

    @workflow.update(name="request_materials")
    async def request_materials(self, req: MaterialsRequest) -> ClaimStatus:
        """A second missing-materials notice, approved by a supervisor with a reason."""
        return await self._materials.request(req)

    @request_materials.validator
    def _validate_materials_request(self, req: MaterialsRequest) -> None:
        self._materials.validate_request(req)

    @workflow.update(name="record_follow_up")
    async def record_follow_up(self, f: FollowUp) -> ClaimStatus:
        """The follow-up call after payment or denial (理赔回访), signed by who called."""
        return await self._aftercare.record(f)

    @record_follow_up.validator
    def _validate_follow_up(self, f: FollowUp) -> None:
        self._aftercare.validate(f)

    @workflow.signal(name="complaint_filed")
    async def complaint_filed(self, link: ComplaintLink) -> None:
        """A complaint names this claim; a payment-timeliness one escalates it at once."""
        await self._inbox.complaint_filed(link)

    @workflow.signal(name="reopen_for_review")
    def reopen_for_review(self, req: ClaimReviewRequest) -> None:
        """A complaint resolution asks for a panel re-review of this claim (DOMAIN §9)."""
        self._inbox.reopen_for_review(req)

    @workflow.signal(name="calendar_updated")
    async def calendar_updated(self, update: CalendarUpdate) -> None:
        """A newly published calendar year (`claims calendar refresh`): the running clocks
        count with it from now on, and the flags it answers go."""
        if self._case.clocks.calendar_updated(update):
            await self._case.flush()

    @workflow.query(name="status")
    def status(self) -> ClaimStatus:
        return self._case.status()

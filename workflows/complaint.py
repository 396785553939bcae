"""ComplaintWorkflow: one complaint, from intake to closing (DOMAIN §8, §9; seed 000).

intake -> registration, acknowledgement with the decision deadline, preliminary check (or
DECLINED with a letter) -> priority (urgent / high / normal; special care: a named advisor and
a 7-day internal target) -> triage to a department and a handler (recusal) -> investigation ->
resolution proposed, approved by the coordinator (and by L3 above the handler's limit) ->
decision letter -> execution (a payment, or a claim re-review whose outcome it waits for) ->
satisfaction callback -> CLOSED only when the resolution is executed and the callback recorded
or three attempts failed (投诉不销号); a dissatisfied complainant may ask the superior office to
review within 30 days, decided within 30 days.

The complaint clock: 15 days, extension to 30 with a reason and a notice, to 60 only with L3
approval and a notice; paused for external appraisal and mediation; restarted on new facts.

The workflow runs the process and answers messages; what it does lives in plain objects it
owns: the complaint's file (state, recorder, clocks, letters, status, flush:
complaint_file.py), intake and triage (complaint_intake.py), the resolution's approvals
(complaint_approvals.py), the clock and the review window (complaint_deadlines.py), the
decision and its execution (complaint_execution.py), the callback and the review
(complaint_aftercare.py), and the signature guard shared with claims.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    import pydantic

    from models.calendars import CalendarUpdate
    from models.complaint import (
        Assignment,
        Callback,
        ClaimReviewOutcome,
        ClockChange,
        CloseRequest,
        ComplaintFindings,
        ComplaintReport,
        ComplaintStatus,
        Execution,
        Resolution,
        ResolutionApproval,
        ReviewDecision,
        ReviewRequest,
        impossible_dates,
    )
    from models.status import ComplaintStage as Stage
    from workflows.case import (
        INVALID_REPORT,
        NO_REPORT,
        RELEASE_2026_12,
        patched,
        patches_settled,
    )
    from workflows.complaint_aftercare import ComplaintAftercare
    from workflows.complaint_deadlines import ComplaintDeadlines
    from workflows.complaint_execution import ComplaintExecution
    from workflows.complaint_file import ComplaintFile
    from workflows.complaint_intake import ComplaintIntake, take_report
    from workflows.complaint_investigation import ComplaintInvestigation
    from workflows.complaint_state import ComplaintState
    from workflows.recorder import SYSTEM
    from workflows.signature_guard import SignatureGuard


@workflow.defn(name="ComplaintWorkflow", failure_exception_types=[pydantic.ValidationError])
class ComplaintWorkflow:
    report_model = ComplaintReport  # the start input's JSON (it arrives raw, see take_report)

    @workflow.init
    def __init__(self, report: RawValue = NO_REPORT) -> None:
        # Read first, so that a case begun before the release decides it here, during replay,
        # and every later read gives the same answer (the SDK keeps the first).
        patches_settled()  # first of all (workflows/case.py RELEASE_2027_02)
        release = patched(RELEASE_2026_12)
        # Cases that started before decisions were signed take them as they did then.
        signing = patched("signed-decisions")
        self.state = ComplaintState(
            compensation_ledger=release,
            complaint_roles=release,
            decision_grounds=release,
            review_from_receipt=release,
        )
        self._file = ComplaintFile(self.state, calendar_flags=release)
        self._rec = self._file.rec
        self._guard = SignatureGuard(
            self._rec,
            flush=self._file.flush,
            window=self.state.signature_window,
            signing=signing,
            release=release,
        )
        self._intake = ComplaintIntake(self._file, receipt_clocks=release)
        self._investigation = ComplaintInvestigation(self._file, self._guard)
        self._deadlines = ComplaintDeadlines(self._file)
        self._execution = ComplaintExecution(self._file, self._deadlines)
        self._aftercare = ComplaintAftercare(self._file, self._deadlines, self._guard)
        take_report(self.state, report)
        self._rec.case_id = self.state.complaint_id

    # ================================================================== the process

    @workflow.run
    async def run(self, report: RawValue = NO_REPORT) -> ComplaintStatus:
        problem = self.state.invalid_report
        if problem is None and self.state.report is not None:
            problem = impossible_dates(self.state.report, workflow.now())
            if problem is not None and not patched("refuse-impossible-dates"):
                problem = None
        if problem is not None:
            # Nothing is written (no row, no letter); the reason is in the result and status.
            self.state.decline_reason = f"the report cannot be accepted: {problem}"
            self._rec.to(Stage.NOT_ACCEPTED, SYSTEM, reason=INVALID_REPORT)
            return self.status()
        watcher = asyncio.create_task(self._file.clocks.watch())
        await self._process()
        self._file.clocks.finished = True
        await watcher
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _process(self) -> None:
        report = self.state.report
        assert report is not None and report.received_at is not None
        self._rec.to(Stage.RECEIVED, report.channel, channel=report.channel)
        await self._intake.load_rules()
        if await self._intake.declined():
            return
        self._intake.register()
        await self._intake.acknowledge()
        await self._intake.tell_claim()
        await self._triage()
        await self._investigate()
        await self._execution.decide()
        await self._execution.carry_out()
        await self._aftercare.callback()
        self._close()
        await self._file.flush()

    async def _triage(self) -> None:
        """Triage (分流与责任划分): the coordinator assigns a handler."""
        state, rec = self.state, self._rec
        rec.open_task(state.key("assign"), "assign_complaint", "coordinator", self._due(), level=2)
        await self._file.flush()
        await workflow.wait_condition(lambda: state.handler is not None)
        rec.close_task(state.key("assign"))
        rec.to(Stage.INVESTIGATING, state.coordinator or SYSTEM, handler=state.handler)
        rec.open_task(
            state.key("investigate"),
            "investigate_complaint",
            "handler",
            self._due(),
            assignee=state.handler,
        )
        await self._file.progress("assigned")

    async def _investigate(self) -> None:
        """Investigation, then resolutions proposed until one is approved."""
        state, rec = self.state, self._rec
        await workflow.wait_condition(lambda: state.findings is not None)
        rec.close_task(state.key("investigate"))
        await self._file.progress("findings")
        while True:
            rec.open_task(
                state.key("propose"),
                "propose_resolution",
                "handler",
                self._due(),
                assignee=state.handler,
            )
            await self._file.flush()
            await workflow.wait_condition(lambda: state.resolution is not None)
            rec.close_task(state.key("propose"))
            rec.to(Stage.RESOLUTION_PROPOSED, state.handler or SYSTEM)
            self._investigation.open_approval_task()
            await self._file.flush()
            await workflow.wait_condition(
                lambda: state.resolution is None or self._investigation.approvals.approved
            )
            if state.resolution is not None:
                return

    def _close(self) -> None:
        self._rec.to(Stage.CLOSED, SYSTEM, outcome=self.state.outcome(self._rec.stage))
        self.state.closed_at = workflow.now()
        self._file.clocks.stop_all()
        for key in list(self._rec.tasks):
            self._rec.close_task(key)

    def _due(self) -> datetime | None:
        return self._file.due("complaint")

    # ================================================================== messages

    @workflow.update(name="assign")
    async def assign(self, a: Assignment) -> ComplaintStatus:
        await self._intake.assign(a)
        return self.status()

    @assign.validator
    def _validate_assign(self, a: Assignment) -> None:
        self._intake.check_assignable()

    @workflow.update(name="record_findings")
    async def record_findings(self, f: ComplaintFindings) -> ComplaintStatus:
        await self._investigation.record_findings(f)
        return self.status()

    @record_findings.validator
    def _validate_findings(self, f: ComplaintFindings) -> None:
        self._investigation.check_findings(f)

    @workflow.update(name="propose_resolution")
    def propose_resolution(self, r: Resolution) -> ComplaintStatus:
        self._investigation.propose(r)
        return self.status()

    @propose_resolution.validator
    def _validate_resolution(self, r: Resolution) -> None:
        self._investigation.check_proposal(r)

    @workflow.update(name="approve_resolution")
    async def approve_resolution(self, a: ResolutionApproval) -> ComplaintStatus:
        await self._investigation.approve(a)
        return self.status()

    @approve_resolution.validator
    def _validate_approval(self, a: ResolutionApproval) -> None:
        self._investigation.check_approval()

    @workflow.update(name="extend")
    async def extend(self, c: ClockChange) -> ComplaintStatus:
        await self._deadlines.extend(c)
        return self.status()

    @extend.validator
    def _validate_extend(self, c: ClockChange) -> None:
        self._deadlines.check("extend the time limit")

    @workflow.update(name="pause")
    async def pause(self, c: ClockChange) -> ComplaintStatus:
        await self._deadlines.pause(c)
        return self.status()

    @pause.validator
    def _validate_pause(self, c: ClockChange) -> None:
        self._deadlines.check("pause the clock")

    @workflow.update(name="resume")
    async def resume(self, c: ClockChange) -> ComplaintStatus:
        await self._deadlines.resume(c)
        return self.status()

    @resume.validator
    def _validate_resume(self, c: ClockChange) -> None:
        self._deadlines.check("resume the clock")

    @workflow.update(name="new_facts")
    async def new_facts(self, c: ClockChange) -> ComplaintStatus:
        """New facts restart the 15-day period (CBIRC 2020 rules)."""
        await self._deadlines.new_facts(c)
        return self.status()

    @new_facts.validator
    def _validate_new_facts(self, c: ClockChange) -> None:
        self._deadlines.check_new_facts(c)

    @workflow.update(name="execute")
    def execute(self, e: Execution) -> ComplaintStatus:
        self._execution.record_execution(e)
        return self.status()

    @execute.validator
    def _validate_execute(self, e: Execution) -> None:
        self._execution.check_execution(e)

    @workflow.update(name="callback")
    async def callback(self, c: Callback) -> ComplaintStatus:
        await self._aftercare.record_callback(c)
        return self.status()

    @callback.validator
    def _validate_callback(self, c: Callback) -> None:
        self._aftercare.check_callback(c)

    @workflow.update(name="request_review")
    async def request_review(self, r: ReviewRequest) -> ComplaintStatus:
        await self._aftercare.request_review(r)
        return self.status()

    @request_review.validator
    def _validate_request_review(self, r: ReviewRequest) -> None:
        self._aftercare.check_review_request(r)

    @workflow.update(name="review_decision")
    async def review_decision(self, d: ReviewDecision) -> ComplaintStatus:
        await self._aftercare.decide_review(d)
        return self.status()

    @review_decision.validator
    def _validate_review(self, d: ReviewDecision) -> None:
        self._aftercare.check_review_stage()

    @workflow.update(name="close")
    async def close(self, c: CloseRequest) -> ComplaintStatus:
        await self._aftercare.close(c)
        return self.status()

    @close.validator
    def _validate_close(self, c: CloseRequest) -> None:
        self._aftercare.check_close(c)

    @workflow.signal(name="claim_review_outcome")
    def claim_review_outcome(self, outcome: ClaimReviewOutcome) -> None:
        self.state.review_outcome = outcome
        self._rec.event(
            "claim_review_outcome", SYSTEM, outcome=outcome.outcome, claim_id=outcome.claim_id
        )

    @workflow.signal(name="calendar_updated")
    async def calendar_updated(self, update: CalendarUpdate) -> None:
        """A newly published calendar year (`claims calendar refresh`): the running clocks
        count with it from now on (workflows/deadlines.py)."""
        if self._file.clocks.calendar_updated(update):
            await self._file.flush()

    @workflow.query(name="status")
    def status(self) -> ComplaintStatus:
        return self._file.status()

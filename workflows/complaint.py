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
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    import pydantic

    from activities.policy import (
        LETTER_TIMEOUT,
        PAYMENT_RETRY,
        PAYMENT_TIMEOUT,
    )
    from models.complaint import (
        Assignment,
        Callback,
        CallbackView,
        ClaimReviewOutcome,
        ClaimReviewRequest,
        ClockChange,
        CloseRequest,
        ComplaintFindings,
        ComplaintLink,
        ComplaintReport,
        ComplaintRules,
        ComplaintRulesRequest,
        ComplaintStatus,
        ComplaintSync,
        Execution,
        Resolution,
        ResolutionApproval,
        ReviewDecision,
        ReviewRequest,
        impossible_dates,
    )
    from models.ids import claim_workflow_id, complaint_id_of
    from models.records import (
        CompensationRecord,
        CompensationRequest,
        LetterRecord,
        LetterRequest,
        PaymentRecord,
        PaymentRequest,
    )
    from models.roles import COMPLAINT_COORDINATOR as COORDINATOR
    from models.roles import COMPLAINT_HANDLER as HANDLER
    from models.roles import MANAGER
    from workflows import search
    from workflows.case import (
        INVALID_REPORT,
        NO_REPORT,
        SYSTEM,
        TOP_PRIORITY,
        CaseBase,
        read_report,
        unsafe_case_id,
    )
    from workflows.clock import Calendar, Clock, notice_reached
    from workflows.complaint_approvals import ResolutionApprovals
    from workflows.complaint_checks import (
        AFTER_DECISION,
        BEFORE_DECISION,
        check_handler,
        check_stage,
        need_l3_manager,
        need_role,
        refuse,
    )
    from workflows.complaint_state import COORDINATOR_STEP, ClaimReview, ComplaintState

PAUSE_REASONS = ("external_appraisal", "mediation")
REVIEW_WINDOW = "review_window"


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@workflow.defn(name="ComplaintWorkflow", failure_exception_types=[pydantic.ValidationError])
class ComplaintWorkflow(CaseBase):
    report_model = ComplaintReport  # the start input's JSON (it arrives raw, see __init__)

    @workflow.init
    def __init__(self, report: RawValue = NO_REPORT) -> None:
        self._init_case()
        release = self._release_2026_12  # see ComplaintState
        self.state = ComplaintState(
            compensation_ledger=release,
            complaint_roles=release,
            decision_grounds=release,
            review_from_receipt=release,
        )
        self._approvals = ResolutionApprovals(self.state)
        self.letters: list[str] = []
        self._letter_counts: dict[str, int] = {}
        self._flush_lock = asyncio.Lock()
        self._sa_stage: str | None = None
        # The report is taken here, before any message is handled. It arrives raw (see
        # ClaimWorkflow): one that does not decode ends NOT_ACCEPTED with the reason.
        self.state.report, self.state.invalid_report = read_report(ComplaintReport, report)
        self.state.complaint_id = complaint_id_of(workflow.info().workflow_id)
        if self.state.report is not None:
            self.state.complaint_id = self.state.report.complaint_id or self.state.complaint_id
            self.state.invalid_report = unsafe_case_id(self.state.complaint_id)
            if self.state.invalid_report is not None:  # ends NOT_ACCEPTED; nothing is written
                self.state.report, self.state.complaint_id = None, ""
                return
            if self.state.report.received_at is None:
                self.state.report.received_at = workflow.info().start_time
            self.state.category = self.state.report.category

    @property
    def case_id(self) -> str:
        return self.state.complaint_id

    @property
    def rules(self) -> ComplaintRules | None:  # type: ignore[override]  # read by CaseBase
        return self.state.rules

    # ================================================================== the process

    @workflow.run
    async def run(self, report: RawValue = NO_REPORT) -> ComplaintStatus:
        problem = self.state.invalid_report
        if problem is None and self.state.report is not None:
            problem = impossible_dates(self.state.report, workflow.now())
            if problem is not None and not workflow.patched("refuse-impossible-dates"):
                problem = None
        if problem is not None:
            # Nothing is written (no row, no letter); the reason is in the result and status.
            self.state.decline_reason = f"the report cannot be accepted: {problem}"
            self._to("NOT_ACCEPTED", SYSTEM, reason=INVALID_REPORT)
            return self.status()
        watcher = asyncio.create_task(self._watch_clocks())
        await self._process()
        self._finished = True
        await watcher
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _process(self) -> None:
        report = self.state.report
        assert report is not None and report.received_at is not None
        self._to("RECEIVED", report.channel, channel=report.channel)
        rules = await self._record_call(
            "load_complaint_rules",
            ComplaintRulesRequest(
                complaint_id=self.state.complaint_id,
                policy_no=report.policy_no,
                claim_id=report.claim_id,
                complainant_key=self.state.complainant_key,
                received_on=report.received_at.date(),
            ),
            result_type=ComplaintRules,
        )
        self.state.rules = rules
        self.calendar = Calendar.of(
            timezone(timedelta(hours=rules.utc_offset_hours)),
            rules.holidays,
            rules.workdays,
            rules.calendar_years or None,
        )
        if await self._declined():
            return
        self._register()
        await self._letter(
            "complaint_acknowledgement",
            channel=report.channel,
            received_at=report.received_at.isoformat(),
            matter=report.matter,
            remedy_sought=report.remedy_sought,
            priority=self.state.priority_label,
            decision_days=rules.decision_days,
            decision_due=self._due_date("complaint"),
            advisor=self.state.advisor,
            internal_days=rules.special_care_days,
            complainants=1 + len(report.complainants),
        )
        await self._flush()
        await self._tell_claim()

        # Triage (分流与责任划分)
        self._open_task(
            self.state.key("assign"),
            "assign_complaint",
            "coordinator",
            self._due("complaint"),
            level=2,
        )
        await self._flush()
        await workflow.wait_condition(lambda: self.state.handler is not None)
        self._close_task(self.state.key("assign"))
        self._to("INVESTIGATING", self.state.coordinator or SYSTEM, handler=self.state.handler)
        self._open_task(
            self.state.key("investigate"),
            "investigate_complaint",
            "handler",
            self._due("complaint"),
            assignee=self.state.handler,
        )
        await self._progress("assigned")

        # Investigation and resolution
        await workflow.wait_condition(lambda: self.state.findings is not None)
        self._close_task(self.state.key("investigate"))
        await self._progress("findings")
        while True:
            self._open_task(
                self.state.key("propose"),
                "propose_resolution",
                "handler",
                self._due("complaint"),
                assignee=self.state.handler,
            )
            await self._flush()
            await workflow.wait_condition(lambda: self.state.resolution is not None)
            self._close_task(self.state.key("propose"))
            self._to("RESOLUTION_PROPOSED", self.state.handler or SYSTEM)
            self._open_approval_task()
            await self._flush()
            await workflow.wait_condition(
                lambda: self.state.resolution is None or self._approvals.approved
            )
            if self.state.resolution is not None:
                break
        await self._decide()
        await self._execute()
        await self._callback()
        self._to("CLOSED", SYSTEM, outcome=self.state.outcome(self.stage))
        self.state.closed_at = workflow.now()
        self._stop_all_clocks()
        for key in list(self.tasks):
            self._close_task(key)
        await self._flush()

    async def _declined(self) -> bool:
        """Preliminary check (初步核实): a complaint about a policy or claim this institution
        does not hold is declined with a letter pointing to where it belongs."""
        assert self.state.report and self.state.rules
        r, rules = self.state.report, self.state.rules
        reason = None
        if r.policy_no and rules.policy_known is False and not rules.claim_known:
            reason = (
                f"保单 {r.policy_no} 非本公司承保，本公司无法受理该投诉。"
                if self.state.zh
                else f"Policy {r.policy_no} was not issued by us, so we cannot handle this."
            )
        elif r.claim_id and rules.claim_known is False and not rules.policy_known:
            reason = (
                f"未查询到理赔案件 {r.claim_id}，且未提供本公司保单。"
                if self.state.zh
                else f"We hold no claim {r.claim_id} and no policy of ours was named."
            )
        if reason is None:
            return False
        self.state.decline_reason = reason
        self._to("DECLINED", SYSTEM, reason=reason)
        await self._letter(
            "complaint_declined", reason=reason, received_at=r.received_at.isoformat()
        )
        self.state.closed_at = workflow.now()
        await self._flush()
        return True

    def _register(self) -> None:
        """Registration, priority (DOMAIN §8.3) and the complaint clock."""
        assert self.state.report and self.state.rules and self.state.report.received_at
        r, rules = self.state.report, self.state.rules
        self._to("REGISTERED", SYSTEM)
        on = r.received_at.date()
        reasons = []
        if r.channel == "regulator":
            reasons.append("forwarded by the regulator")
        if r.media:
            reasons.append("media attention")
        if 1 + len(r.complainants) >= rules.group_size:
            reasons.append(f"group of {1 + len(r.complainants)} complainants")
        if r.medical_emergency:
            reasons.append("medical emergency")
        if reasons:
            self.state.priority_label = "urgent"
        care = []
        for person in (r.complainant,):
            if person.birth_date and _age(person.birth_date, on) >= rules.elderly_age:
                care.append(f"aged {rules.elderly_age} or over")
            if person.special_care:
                care.append(
                    person.special_care.replace("_", " ")
                    if isinstance(person.special_care, str)
                    else "special care"
                )
        high = list(care)
        if rules.repeat_count:
            high.append(f"repeat complaint ({rules.repeat_count} in 12 months)")
        if high and self.state.priority_label == "normal":
            self.state.priority_label = "high"
        self.state.priority_reasons = reasons + high
        self.state.special_care = bool(care)
        self.priority = {"urgent": 50, "high": 20}.get(self.state.priority_label, 0)
        # From the complaint's receipt (received_at): one forwarded by the regulator and
        # registered a week late has a week less.
        received = r.received_at if self._receipt_clocks else None
        self._start_clock("complaint", rules.decision_days, owner="L2", at=received)
        if self.state.special_care:
            self.state.advisor = rules.advisors[0] if rules.advisors else None
            self._start_clock(
                "special_care_target",
                rules.special_care_days,
                owner="L2",
                customer_facing=False,
                at=received,
            )
        self._event(
            "registered",
            SYSTEM,
            priority=self.state.priority_label,
            reasons=self.state.priority_reasons,
            advisor=self.state.advisor,
        )

    async def _tell_claim(self) -> None:
        """A complaint that names a claim shows on it; a payment-timeliness complaint
        escalates the claim at once (DOMAIN §9)."""
        assert self.state.report and self.state.rules
        if not (self.state.report.claim_id and self.state.rules.claim_known):
            return
        link = ComplaintLink(
            complaint_id=self.state.complaint_id,
            category=self.state.category,
            received_at=self.state.report.received_at or workflow.now(),
            escalate=self.state.category == "payment_timeliness",
        )
        try:
            await workflow.get_external_workflow_handle(
                claim_workflow_id(self.state.report.claim_id)
            ).signal("complaint_filed", link)
            self._event(
                "claim_notified",
                SYSTEM,
                claim_id=self.state.report.claim_id,
                escalate=link.escalate,
            )
        except Exception as exc:  # noqa: BLE001 - a finished claim takes no signal
            self._event(
                "claim_not_running", SYSTEM, claim_id=self.state.report.claim_id, detail=str(exc)
            )

    def _open_approval_task(self) -> None:
        step = self._approvals.next_step()
        if step is not None:
            self._open_task(
                self.state.key(f"approve:{step}"),
                "approve_resolution",
                step,
                self._due("complaint"),
                level=2 if step == COORDINATOR_STEP else 3,
            )

    async def _decide(self) -> None:
        assert self.state.resolution and self.state.findings
        self.state.decided_at = workflow.now()
        self._stop_clock("complaint")
        self._stop_clock("special_care_target")
        self._to("DECIDED", SYSTEM)
        letter = await self._letter(
            "complaint_decision",
            findings=self.state.findings.findings,
            upheld=self.state.findings.upheld,
            resolution={
                "kinds": list(self.state.resolution.kinds),
                "description": self.state.resolution.description,
                "basis": self.state.resolution.basis,
                "reasons": self.state.resolution.reasons,
                "amount": str(self.state.resolution.amount)
                if self.state.resolution.amount
                else None,
            },
            decided_at=self.state.decided_at.isoformat(),
        )
        if self.state.review_from_receipt:
            self._open_review_window(letter)
        await self._flush()

    def _open_review_window(self, letter: LetterRecord) -> None:
        """The review window: 30 days from the day the decision reached the complainant (its
        recorded delivery, else sending plus the presumed days for post), Civil Code days."""
        assert self.state.rules and self.state.decided_at
        reached = notice_reached(
            self.state.decided_at,
            letter.channel,
            self.state.rules.presumed_delivery_days,
            getattr(letter, "delivered_at", None),
        )
        self.clocks[REVIEW_WINDOW] = Clock(
            REVIEW_WINDOW,
            reached,
            self.state.rules.review_request_days,
            self._cal,
            owner="complainant",
            ladder=False,
            customer_facing=False,
        )
        self._event(
            "review_window",
            SYSTEM,
            reached_at=reached.isoformat(),
            due_at=self.clocks[REVIEW_WINDOW].due_at(workflow.now()).isoformat(),
        )
        self._clock_changed()

    def _close_review_window(self) -> None:
        """The window ends: when a review is asked for, or when it runs out (never later than
        its own end, so a window that ran out unused reads as met)."""
        clock = self.clocks.get(REVIEW_WINDOW)
        if clock is None or clock.stopped_at is not None:
            return
        now = workflow.now()
        clock.stop(min(now, clock.due_at(now)))
        self._clock_changed()

    @property
    def _review_window_open(self) -> bool:
        clock = self.clocks.get(REVIEW_WINDOW)
        return (
            clock is not None
            and clock.stopped_at is None
            and workflow.now() < clock.due_at(workflow.now())
        )

    async def _execute(self) -> None:
        """Carry out the resolution: a claim re-review (and wait for its outcome), a payment
        (exactly once), and the handler's confirmation that everything was done."""
        assert self.state.resolution and self.state.report
        self._to("EXECUTING", SYSTEM)
        if "re_review" in self.state.resolution.kinds and self.state.report.claim_id:
            await self._claim_re_review()
        self._open_task(
            self.state.key("execute"),
            "execute_resolution",
            "handler",
            None,
            assignee=self.state.handler,
        )
        await self._flush()
        await workflow.wait_condition(lambda: self.state.executed is not None)
        self._close_task(self.state.key("execute"))
        if self.state.resolution.amount and self.state.compensation_ledger:
            await self._pay_compensation()
        elif self.state.resolution.amount:
            paid = await workflow.execute_activity(
                "pay_claim",
                PaymentRequest(
                    claim_id=self.state.complaint_id,
                    seq=1,
                    amount=self.state.resolution.amount,
                    payee=self.state.report.complainant.name,
                    account_ref=self.state.report.complainant.phone
                    or self.state.report.complainant.email
                    or "",
                    policy_no=self.state.report.policy_no or "",
                ),
                result_type=PaymentRecord,
                start_to_close_timeout=PAYMENT_TIMEOUT,
                retry_policy=PAYMENT_RETRY,
            )
            self._event("paid", SYSTEM, amount=str(paid.amount), ref=paid.reference)
        await self._progress("executed")

    async def _pay_compensation(self) -> None:
        """The compensation, exactly once, on the complaint ledger (complaint:<id>:pay:<seq>):
        to the payee and bank account captured with the resolution."""
        assert self.state.resolution and self.state.resolution.amount and self.state.report
        payee = self.state.resolution.payee
        assert payee is not None  # propose_resolution refuses a payment without its payee
        paid = await workflow.execute_activity(
            "pay_compensation",
            CompensationRequest(
                complaint_id=self.state.complaint_id,
                seq=len(self.state.compensation) + 1,
                amount=self.state.resolution.amount,
                payee=payee.name,
                account_ref=payee.account_ref,
                bank_name=payee.bank_name,
                claim_id=self.state.report.claim_id,
            ),
            result_type=CompensationRecord,
            start_to_close_timeout=PAYMENT_TIMEOUT,
            retry_policy=PAYMENT_RETRY,
        )
        self.state.compensation.append(paid)
        self._event(
            "compensation_paid",
            SYSTEM,
            amount=str(paid.amount),
            ref=paid.reference,
            key=paid.idempotency_key,
        )

    async def _claim_re_review(self) -> None:
        assert self.state.report and self.state.resolution
        claim_id = self.state.report.claim_id
        assert claim_id  # _execute asks for a re-review only of a complaint about a claim
        review = self.state.claim_review = ClaimReview(claim_id, workflow.now())
        try:
            await workflow.get_external_workflow_handle(claim_workflow_id(claim_id)).signal(
                "reopen_for_review",
                ClaimReviewRequest(
                    complaint_id=self.state.complaint_id, reason=self.state.resolution.description
                ),
            )
        except Exception as exc:  # noqa: BLE001 - the claim's reopen window has passed
            review.outcome = "not_possible"
            self._event("claim_review_not_possible", SYSTEM, claim_id=claim_id, detail=str(exc))
            return
        self._to("AWAITING_CLAIM_REVIEW", SYSTEM, claim_id=claim_id)
        await self._progress("claim_review")
        await workflow.wait_condition(lambda: self.state.review_outcome is not None)
        assert self.state.review_outcome
        outcome = self.state.review_outcome
        review.outcome = outcome.outcome
        self._to("EXECUTING", SYSTEM, claim_review=outcome.outcome)
        review.answered = True
        review.payable_amount = (
            str(outcome.payable_amount) if outcome.payable_amount is not None else None
        )

    async def _callback(self) -> None:
        """Satisfaction callback (满意度回访): the complaint closes only when it is recorded,
        or three attempts failed and are documented."""
        assert self.state.rules
        self._to("CALLBACK", SYSTEM)
        self._open_task(
            self.state.key("callback"), "satisfaction_callback", "coordinator", None, level=2
        )
        await self._flush()
        await workflow.wait_condition(lambda: self.state.callback_done)
        self._close_task(self.state.key("callback"))
        await self._letter(
            "complaint_callback",
            callbacks=[c.model_dump(mode="json") for c in self.state.callbacks],
            outcome=self.state.outcome(self.stage),
            recipient="complaint file",
        )
        if self.state.review_from_receipt:
            if not await self._review_asked():
                return
        else:
            if self.state.outcome(self.stage) != "not_satisfied":
                return
            # Review by the superior office: asked for within 30 days, decided within 30 days.
            self._to("REVIEW_OFFERED", SYSTEM)
            await self._flush()
            until = workflow.now() + timedelta(days=self.state.rules.review_request_days)
            asked = await self._wait(
                lambda: (
                    self.state.review_request is not None or self.state.close_request is not None
                ),
                until,
            )
            if not asked or self.state.review_request is None:
                return
        self._to(
            "UNDER_REVIEW", self.state.review_request.by, reason=self.state.review_request.reason
        )
        self._start_clock(
            "review", self.state.rules.review_decision_days, owner="L3", customer_facing=False
        )
        self._open_task(
            self.state.key("review"), "review_complaint", "L3", self._due("review"), level=3
        )
        await self._flush()
        await workflow.wait_condition(lambda: self.state.review is not None)
        assert self.state.review
        self._stop_clock("review")
        self._close_task(self.state.key("review"))
        await self._letter(
            "complaint_review_decision",
            upheld=self.state.review.upheld,
            findings=self.state.review.findings,
            decided_at=workflow.now().isoformat(),
            reviewer_level="L3",
        )

    async def _review_asked(self) -> bool:
        """Whether the superior office reviews: asked for already (it may be, from the
        decision on), or asked for while the window is still open by a complainant who was
        not satisfied or whom the callback did not reach."""
        if (
            self.state.review_request is None
            and self.state.outcome(self.stage) != "satisfied"
            and self._review_window_open
        ):
            self._to("REVIEW_OFFERED", SYSTEM)
            await self._flush()
            window = self.clocks[REVIEW_WINDOW]
            await self._wait(
                lambda: (
                    self.state.review_request is not None or self.state.close_request is not None
                ),
                window.due_at(workflow.now()),
            )
        self._close_review_window()
        return self.state.review_request is not None

    async def _progress(self, step: str, detail: str = "", reason: str = "") -> None:
        clock = self.clocks.get("complaint")
        due = (
            self._due_date("complaint") if clock is not None and clock.stopped_at is None else None
        )
        await self._letter(
            "complaint_progress", step=step, detail=detail, reason=reason, decision_due=due
        )
        await self._flush()

    # ================================================================== messages

    @workflow.update(name="assign")
    async def assign(self, a: Assignment) -> ComplaintStatus:
        self._check_stage("assign", ("REGISTERED",))
        coordinator = await self._staff(a.coordinator)
        handler = await self._staff(a.handler)
        self._check_stage("assign", ("REGISTERED",))
        need_role(coordinator, a.coordinator, COORDINATOR)
        if handler is None or not handler.active:
            raise refuse(f"unknown person {a.handler!r}")
        if not self.state.complaint_roles and HANDLER not in handler.roles and handler.level < 1:
            raise refuse(f"{a.handler} cannot handle complaints")
        assert self.state.rules
        role = self.state.rules.claim_people.get(a.handler)
        if role:
            raise refuse(f"{a.handler} {role} complained about and must stand aside")
        if self.state.complaint_roles:
            need_role(handler, a.handler, HANDLER)
        if a.category:
            self.state.category = a.category
        if self.state.category is None:
            raise refuse("give the complaint's category when assigning it")
        self.state.coordinator = a.coordinator
        self.state.handler = a.handler
        self.state.department = self.state.rules.departments.get(
            self.state.category, "customer_service"
        )
        self._to(
            "TRIAGED",
            a.coordinator,
            category=self.state.category,
            department=self.state.department,
            handler=a.handler,
        )
        return self.status()

    @assign.validator
    def _validate_assign(self, a: Assignment) -> None:
        self._check_stage("assign", ("REGISTERED",))

    @workflow.update(name="record_findings")
    async def record_findings(self, f: ComplaintFindings) -> ComplaintStatus:
        await self._require_signature(f)
        self._check_findings(f)  # again: other findings may have come in during the check
        self.state.findings = f
        self._event("findings", f.handler, upheld=f.upheld)
        return self.status()

    @record_findings.validator
    def _validate_findings(self, f: ComplaintFindings) -> None:
        self._check_findings(f)

    def _check_findings(self, f: ComplaintFindings) -> None:
        self._check_stage("record findings", ("INVESTIGATING",))
        check_handler(self.state, f.handler)
        if self.state.findings is not None:
            raise refuse("the findings are already recorded")

    @workflow.update(name="propose_resolution")
    def propose_resolution(self, r: Resolution) -> ComplaintStatus:
        self._approvals.propose(r)
        self._event(
            "resolution_proposed",
            r.handler,
            kinds=list(r.kinds),
            amount=str(r.amount) if r.amount else None,
        )
        return self.status()

    @propose_resolution.validator
    def _validate_resolution(self, r: Resolution) -> None:
        self._approvals.check_proposal(self.stage, r)

    @workflow.update(name="approve_resolution")
    async def approve_resolution(self, a: ResolutionApproval) -> ComplaintStatus:
        self._approvals.check_open(self.stage)
        staff = await self._staff(a.approver)
        self._approvals.check_open(self.stage)
        acting_as = self._approvals.acting_as(staff, a)
        await self._require_signature(a)
        self._approvals.check_open(self.stage)
        self._approvals.take(a, acting_as, workflow.now())
        self._close_task(self.state.key(f"approve:{acting_as}"))
        self._event(
            "resolution_approval", a.approver, acting_as=acting_as, approve=a.approve, note=a.note
        )
        if not a.approve:  # back to the handler
            self._to("INVESTIGATING", a.approver, returned=a.note)
        elif not self._approvals.approved:
            self._open_approval_task()
        await self._flush()
        return self.status()

    @approve_resolution.validator
    def _validate_approval(self, a: ResolutionApproval) -> None:
        self._approvals.check_open(self.stage)

    @workflow.update(name="extend")
    async def extend(self, c: ClockChange) -> ComplaintStatus:
        self._check_stage("extend the time limit", BEFORE_DECISION)
        assert self.state.rules
        staff = await self._staff(c.by)
        target = c.days or (
            self.state.rules.first_extension_days
            if self.state.extensions == 0
            else self.state.rules.second_extension_days
        )
        allowed = (self.state.rules.first_extension_days, self.state.rules.second_extension_days)
        if target not in allowed or target <= self.clocks["complaint"].total_days:
            raise refuse(
                f"the complaint time limit extends to {allowed[0]}, then {allowed[1]} days"
            )
        if not c.reason:
            raise refuse("an extension needs its reason")
        if staff is None:
            raise refuse(f"unknown person {c.by!r}")
        second = target == self.state.rules.second_extension_days
        if self.state.complaint_roles:
            # The coordinator extends; the second extension needs L3: an L3 coordinator or
            # a manager gives it.
            if not second:
                need_role(staff, c.by, COORDINATOR)
            elif not staff.active:
                raise refuse(f"unknown person {c.by!r}")
            elif not {COORDINATOR, MANAGER} & set(staff.roles):
                raise refuse(
                    f"a second extension to {target} days needs L3 approval; "
                    f"{c.by} is not a complaint coordinator or a manager"
                )
            self._check_stage("extend the time limit", BEFORE_DECISION)
        if second and staff.level < 3:
            raise refuse(
                f"a second extension to {target} days needs L3 approval; {c.by} is L{staff.level}"
            )
        if (
            not self.state.complaint_roles
            and target == self.state.rules.first_extension_days
            and not (COORDINATOR in staff.roles or staff.level >= 3)
        ):
            raise refuse(f"{c.by} is not the complaint coordinator")
        self.clocks["complaint"].extend(target, c.reason, workflow.now(), by=c.by)
        self.clocks["complaint"].fired = []
        self._clock_changed()
        self.state.extensions += 1
        self._event("extended", c.by, days=target, reason=c.reason)
        await self._letter(
            "complaint_extension",
            days=target,
            reason=c.reason,
            decision_due=self._due_date("complaint"),
            approved_by_manager=target == self.state.rules.second_extension_days,
        )
        await self._flush()
        return self.status()

    @extend.validator
    def _validate_extend(self, c: ClockChange) -> None:
        self._check_stage("extend the time limit", BEFORE_DECISION)

    @workflow.update(name="pause")
    async def pause(self, c: ClockChange) -> ComplaintStatus:
        await self._clock_keeper(c.by, "pause the clock")
        if c.reason not in PAUSE_REASONS:
            raise refuse("the complaint clock pauses only for external_appraisal or mediation")
        clock = self.clocks["complaint"]
        if clock.paused:
            raise refuse("the complaint clock is already paused")
        clock.pause(c.reason, workflow.now())
        self._clock_changed()
        self._event("clock_paused", c.by, clock="complaint", reason=c.reason)
        await self._progress("paused", reason=c.reason)
        return self.status()

    @pause.validator
    def _validate_pause(self, c: ClockChange) -> None:
        self._check_stage("pause the clock", BEFORE_DECISION)

    @workflow.update(name="resume")
    async def resume(self, c: ClockChange) -> ComplaintStatus:
        await self._clock_keeper(c.by, "resume the clock")
        clock = self.clocks["complaint"]
        if not clock.paused:
            raise refuse("the complaint clock is not paused")
        clock.resume(workflow.now())
        self._clock_changed()
        self._event("clock_resumed", c.by, clock="complaint")
        await self._progress("resumed")
        return self.status()

    @resume.validator
    def _validate_resume(self, c: ClockChange) -> None:
        self._check_stage("resume the clock", BEFORE_DECISION)

    @workflow.update(name="new_facts")
    async def new_facts(self, c: ClockChange) -> ComplaintStatus:
        """New facts restart the 15-day period (CBIRC 2020 rules)."""
        await self._clock_keeper(c.by, "restart the clock")
        assert self.state.rules
        clock = self.clocks["complaint"]
        clock.restart(workflow.now())
        clock.days = self.state.rules.decision_days
        clock.extensions = []
        self._clock_changed()
        self._event("clock_restarted", c.by, clock="complaint", facts=c.reason)
        await self._progress("restarted", detail=c.reason)
        return self.status()

    @new_facts.validator
    def _validate_new_facts(self, c: ClockChange) -> None:
        self._check_stage("restart the clock", BEFORE_DECISION)
        if not c.reason:
            raise refuse("say what the new facts are")

    @workflow.update(name="execute")
    def execute(self, e: Execution) -> ComplaintStatus:
        self.state.executed = e
        self._event("executed", e.by, note=e.note)
        return self.status()

    @execute.validator
    def _validate_execute(self, e: Execution) -> None:
        self._check_stage("record the execution", ("EXECUTING",))
        if self.state.complaint_roles:
            check_handler(self.state, e.by)
        elif e.by not in (self.state.handler, self.state.coordinator):
            raise refuse(f"{e.by} is neither the handler nor the coordinator of this complaint")
        if self.state.executed is not None:
            raise refuse("the execution is already recorded")

    @workflow.update(name="callback")
    async def callback(self, c: Callback) -> ComplaintStatus:
        if self.state.complaint_roles:
            await self._need_coordinator(c.by)
            self._validate_callback(c)  # again: the case may have moved on during the lookup
            if self.state.callback_done:
                raise refuse("the satisfaction callback is already recorded")
        self.state.callbacks.append(
            CallbackView(
                at=workflow.now(), by=c.by, reached=c.reached, satisfied=c.satisfied, note=c.note
            )
        )
        self._event("callback", c.by, reached=c.reached, satisfied=c.satisfied)
        # A failed attempt does not move the process on: the read model shows it now.
        if not self.state.callback_done and workflow.patched("flush-on-message"):
            await self._flush()
        return self.status()

    @callback.validator
    def _validate_callback(self, c: Callback) -> None:
        self._check_stage("record a callback", ("CALLBACK",))
        if c.reached and c.satisfied is None:
            raise refuse("a callback that reached the complainant records satisfied or not")
        if not c.reached and not c.note:
            raise refuse("document a failed callback attempt (when, how, what happened)")

    @workflow.update(name="request_review")
    async def request_review(self, r: ReviewRequest) -> ComplaintStatus:
        self.state.review_request = r
        if self.state.review_from_receipt:
            self._event("review_requested", r.by, reason=r.reason)
            self._close_review_window()
            if self.stage != "REVIEW_OFFERED" and workflow.patched("flush-on-message"):
                await self._flush()
        return self.status()

    @request_review.validator
    def _validate_request_review(self, r: ReviewRequest) -> None:
        if not self.state.review_from_receipt:
            self._check_stage("ask for a review", ("REVIEW_OFFERED",))
            return
        self._check_stage("ask for a review", AFTER_DECISION)
        if self.state.review_request is not None:
            raise refuse("a review is already asked for")
        if not self._review_window_open:
            clock = self.clocks.get(REVIEW_WINDOW)
            end = self._due_date(REVIEW_WINDOW) if clock is not None else "-"
            raise refuse(
                f"the review window of complaint {self.state.complaint_id} closed on {end}"
            )

    @workflow.update(name="review_decision")
    async def review_decision(self, d: ReviewDecision) -> ComplaintStatus:
        self._check_stage("decide the review", ("UNDER_REVIEW",))
        staff = await self._staff(d.reviewer)
        why = "the review is decided by the superior office (L3)"
        if self.state.complaint_roles:
            need_l3_manager(staff, d.reviewer, why)
        elif staff is None or staff.level < 3:
            raise refuse(why)
        if d.reviewer in (self.state.handler, self.state.coordinator):
            raise refuse(f"{d.reviewer} handled this complaint and cannot review it")
        await self._require_signature(d)
        self._check_stage("decide the review", ("UNDER_REVIEW",))
        self.state.review = d
        self._event("review_decided", d.reviewer, upheld=d.upheld)
        return self.status()

    @review_decision.validator
    def _validate_review(self, d: ReviewDecision) -> None:
        self._check_stage("decide the review", ("UNDER_REVIEW",))

    @workflow.update(name="close")
    async def close(self, c: CloseRequest) -> ComplaintStatus:
        if self.state.complaint_roles:
            await self._need_coordinator(c.by)
            self._validate_close(c)  # again: the case may have moved on during the lookup
        self.state.close_request = c
        self._event("close_requested", c.by, note=c.note)
        return self.status()

    @close.validator
    def _validate_close(self, c: CloseRequest) -> None:
        # 投诉不销号: no complaint is closed without its resolution carried out and the
        # satisfaction callback recorded (or three failed attempts documented).
        if self.stage in ("CLOSED", "DECLINED"):
            raise refuse(f"complaint {self.state.complaint_id} is already closed")
        if self.state.executed is None:
            raise refuse(
                "no complaint is closed without resolution: the resolution has not been carried out"
            )
        if not self.state.callback_done:
            raise refuse(
                "no complaint is closed without resolution: the satisfaction "
                "callback is not recorded"
            )
        if self.stage != "REVIEW_OFFERED":
            raise refuse(
                f"complaint {self.state.complaint_id} is {self.stage} and closes by itself"
            )

    @workflow.signal(name="claim_review_outcome")
    def claim_review_outcome(self, outcome: ClaimReviewOutcome) -> None:
        self.state.review_outcome = outcome
        self._event(
            "claim_review_outcome", SYSTEM, outcome=outcome.outcome, claim_id=outcome.claim_id
        )

    @workflow.query(name="status")
    def status(self) -> ComplaintStatus:
        r = self.state.report
        now = workflow.now()
        if r is None:  # a report that could not be read (stage NOT_ACCEPTED)
            return ComplaintStatus(
                complaint_id=self.state.complaint_id,
                stage=self.stage,
                channel="",
                complainant_name="",
                received_at=workflow.info().start_time,
                matter="",
                decline_reason=self.state.decline_reason,
                history=self.history,
            )
        return ComplaintStatus(
            complaint_id=self.state.complaint_id,
            stage=self.stage,
            channel=r.channel,
            complainant_name=r.complainant.name,
            complainant_id_no=r.complainant.id_no,
            complainant_phone=r.complainant.phone,
            complainants=1 + len(r.complainants),
            policy_no=r.policy_no,
            claim_id=r.claim_id,
            category=self.state.category,
            department=self.state.department,
            priority=self.state.priority_label,
            priority_reasons=self.state.priority_reasons,
            special_care=self.state.special_care,
            advisor=self.state.advisor,
            handler=self.state.handler,
            coordinator=self.state.coordinator,
            received_at=r.received_at or now,
            matter=r.matter,
            remedy_sought=r.remedy_sought,
            decline_reason=self.state.decline_reason,
            findings=self.state.findings.findings if self.state.findings else None,
            upheld=self.state.findings.upheld if self.state.findings else None,
            resolution=self.state.resolution.model_dump(mode="json")
            if self.state.resolution
            else None,
            resolution_approvals=[a.view() for a in self.state.approvals],
            executed=self.state.executed is not None,
            compensation=self.state.compensation,
            claim_review=self.state.claim_review.view() if self.state.claim_review else None,
            callbacks=self.state.callbacks,
            satisfied={"satisfied": True, "not_satisfied": False}.get(
                self.state.outcome(self.stage) or ""
            ),
            review=self.state.review.model_dump(mode="json") if self.state.review else None,
            extensions=self.state.extensions,
            deadlines=[c.view(now) for c in self.clocks.values()],
            open_tasks=list(self.tasks.values()),
            letters=self.letters,
            history=self.history,
            breaches=self.breaches,
            flags=list(self.calendar_flags.values()),
            decided_at=self.state.decided_at,
            closed_at=self.state.closed_at,
            outcome=self.state.outcome(self.stage),
            repeat=bool(self.state.rules and self.state.rules.repeat_count),
        )

    # ================================================================== helpers

    def _check_stage(self, what: str, stages: tuple[str, ...]) -> None:
        check_stage(self.state, self.stage, what, stages)

    async def _need_coordinator(self, who: str) -> None:
        need_role(await self._staff(who), who, COORDINATOR)

    async def _clock_keeper(self, who: str, what: str) -> None:
        """The coordinator owns the complaint clock: pauses, resumptions and restarts."""
        if self.state.complaint_roles:
            await self._need_coordinator(who)
            self._check_stage(what, BEFORE_DECISION)  # again, after the lookup

    def _due(self, clock: str) -> datetime | None:
        c = self.clocks.get(clock)
        return c.due_at(workflow.now()) if c else None

    async def _letter(
        self, kind: str, recipient: str | None = None, **context: Any
    ) -> LetterRecord:
        assert self.state.report
        n = self._letter_counts.get(kind, 0) + 1
        self._letter_counts[kind] = n
        letter_id = f"{self.state.complaint_id}-{kind}-{n}"
        c = self.state.report.complainant
        record = await self._record_call(
            "send_letter",
            LetterRequest(
                letter_id=letter_id,
                case_id=self.state.complaint_id,
                kind=kind,
                language=c.language,
                recipient=recipient or f"{c.name} <{c.email or c.phone or 'post'}>",
                channel="file"
                if recipient
                else ("email" if c.email else "sms" if c.phone else "post"),
                context={
                    "complaint_id": self.state.complaint_id,
                    "complainant_name": c.name,
                    "claim_id": self.state.report.claim_id,
                    "policy_no": self.state.report.policy_no,
                    **context,
                },
            ),
            result_type=LetterRecord,
            timeout=LETTER_TIMEOUT,
        )
        self.letters.append(letter_id)
        self._event("letter", SYSTEM, kind=kind, letter_id=letter_id, sha256=record.sha256)
        return record

    async def _flush(self) -> None:
        async with self._flush_lock:
            assert self.state.report
            updates = []
            if self._sa_stage is None:
                updates.append(search.COMPLAINT_PRIORITY.value_set(self.state.priority_label))
            if self.stage != self._sa_stage:
                updates.append(search.COMPLAINT_STAGE.value_set(self.stage))
                if self.state.category:
                    updates.append(search.COMPLAINT_CATEGORY.value_set(self.state.category))
                self._sa_stage = self.stage
            updates += self._next_due_update()
            if updates:
                workflow.upsert_search_attributes(updates)
            self._sync_version += 1
            events, self._events = self._events, []
            opened, self._opened = self._opened, []
            closed, self._closed = self._closed, []
            await self._record_call(
                "sync_complaint",
                ComplaintSync(
                    status=self.status(),
                    version=self._sync_version,
                    complainant_key=self.state.complainant_key,
                    events=events,
                    open_items=opened,
                    close_items=closed,
                    priority=max(self.priority, TOP_PRIORITY if self.breaches else 0),
                ),
            )

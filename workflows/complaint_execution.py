"""A complaint's decision and its execution (DOMAIN §8.6, §8.7): the decision letter, then
what the resolution asks for: a re-review of the claim (whose outcome it waits for), a
payment exactly once, and the handler's confirmation that everything was done."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payments import PaymentActivities
    from activities.policy import PAYMENT_RETRY, PAYMENT_TIMEOUT
    from models.complaint import ClaimReviewRequest, Execution
    from models.ids import claim_workflow_id
    from models.records import CompensationRequest, PaymentRequest
    from models.status import ComplaintStage
    from workflows.complaint_checks import check_handler, check_stage, refuse
    from workflows.complaint_deadlines import ComplaintDeadlines
    from workflows.complaint_file import ComplaintFile
    from workflows.complaint_state import ClaimReview
    from workflows.recorder import SYSTEM


class ComplaintExecution:
    """The decision, and carrying out its resolution."""

    def __init__(self, file: ComplaintFile, deadlines: ComplaintDeadlines) -> None:
        self.file = file
        self.state = file.state
        self._deadlines = deadlines

    async def decide(self) -> None:
        """The decision letter; the complaint clocks stop, the review window opens."""
        state, rec = self.state, self.file.rec
        assert state.resolution and state.findings
        state.decided_at = workflow.now()
        self.file.clocks.stop("complaint")
        self.file.clocks.stop("special_care_target")
        rec.to(ComplaintStage.DECIDED, SYSTEM)
        resolution = state.resolution
        letter = await self.file.letter(
            "complaint_decision",
            findings=state.findings.findings,
            upheld=state.findings.upheld,
            resolution={
                "kinds": list(resolution.kinds),
                "description": resolution.description,
                "basis": resolution.basis,
                "reasons": resolution.reasons,
                "amount": str(resolution.amount) if resolution.amount else None,
            },
            decided_at=state.decided_at.isoformat(),
        )
        if state.review_from_receipt:
            self._deadlines.open_review_window(letter)
        await self.file.flush()

    async def carry_out(self) -> None:
        """Carry out the resolution: a claim re-review (and wait for its outcome), a payment
        (exactly once), and the handler's confirmation that everything was done."""
        state, rec = self.state, self.file.rec
        assert state.resolution and state.report
        rec.to(ComplaintStage.EXECUTING, SYSTEM)
        if "re_review" in state.resolution.kinds and state.report.claim_id:
            await self._claim_re_review()
        rec.open_task(
            state.key("execute"), "execute_resolution", "handler", None, assignee=state.handler
        )
        await self.file.flush()
        await workflow.wait_condition(lambda: state.executed is not None)
        rec.close_task(state.key("execute"))
        if state.resolution.amount and state.compensation_ledger:
            await self._pay_compensation()
        elif state.resolution.amount:
            # Before the complaint ledger: through pay_claim, to the complainant's phone.
            complainant = state.report.complainant
            paid = await workflow.execute_activity_method(
                PaymentActivities.pay_claim,
                PaymentRequest(
                    claim_id=state.complaint_id,
                    seq=1,
                    amount=state.resolution.amount,
                    payee=complainant.name,
                    account_ref=complainant.phone or complainant.email or "",
                    policy_no=state.report.policy_no or "",
                ),
                start_to_close_timeout=PAYMENT_TIMEOUT,
                retry_policy=PAYMENT_RETRY,
            )
            rec.event("paid", SYSTEM, amount=str(paid.amount), ref=paid.reference)
        await self.file.progress("executed")

    async def _pay_compensation(self) -> None:
        """The compensation, exactly once, on the complaint ledger (complaint:<id>:pay:<seq>):
        to the payee and bank account captured with the resolution."""
        state = self.state
        assert state.resolution and state.resolution.amount and state.report
        payee = state.resolution.payee
        assert payee is not None  # propose_resolution refuses a payment without its payee
        paid = await workflow.execute_activity_method(
            PaymentActivities.pay_compensation,
            CompensationRequest(
                complaint_id=state.complaint_id,
                seq=len(state.compensation) + 1,
                amount=state.resolution.amount,
                payee=payee.name,
                account_ref=payee.account_ref,
                bank_name=payee.bank_name,
                claim_id=state.report.claim_id,
            ),
            start_to_close_timeout=PAYMENT_TIMEOUT,
            retry_policy=PAYMENT_RETRY,
        )
        state.compensation.append(paid)
        self.file.rec.event(
            "compensation_paid",
            SYSTEM,
            amount=str(paid.amount),
            ref=paid.reference,
            key=paid.idempotency_key,
        )

    async def _claim_re_review(self) -> None:
        state, rec = self.state, self.file.rec
        assert state.report and state.resolution
        claim_id = state.report.claim_id
        assert claim_id  # asked for only of a complaint about a claim
        review = state.claim_review = ClaimReview(claim_id, workflow.now())
        try:
            await workflow.get_external_workflow_handle(claim_workflow_id(claim_id)).signal(
                "reopen_for_review",
                ClaimReviewRequest(
                    complaint_id=state.complaint_id, reason=state.resolution.description
                ),
            )
        except Exception as exc:  # noqa: BLE001 - the claim's reopen window has passed
            review.outcome = "not_possible"
            rec.event("claim_review_not_possible", SYSTEM, claim_id=claim_id, detail=str(exc))
            return
        rec.to(ComplaintStage.AWAITING_CLAIM_REVIEW, SYSTEM, claim_id=claim_id)
        await self.file.progress("claim_review")
        await workflow.wait_condition(lambda: state.review_outcome is not None)
        outcome = state.review_outcome
        assert outcome
        review.outcome = outcome.outcome
        rec.to(ComplaintStage.EXECUTING, SYSTEM, claim_review=outcome.outcome)
        review.answered = True
        review.payable_amount = (
            str(outcome.payable_amount) if outcome.payable_amount is not None else None
        )

    # ================================================================== the confirmation

    def check_execution(self, e: Execution) -> None:
        state = self.state
        check_stage(state, self.file.stage, "record the execution", (ComplaintStage.EXECUTING,))
        if state.complaint_roles:
            check_handler(state, e.by)
        elif e.by not in (state.handler, state.coordinator):
            raise refuse(f"{e.by} is neither the handler nor the coordinator of this complaint")
        if state.executed is not None:
            raise refuse("the execution is already recorded")

    def record_execution(self, e: Execution) -> None:
        self.state.executed = e
        self.file.rec.event("executed", e.by, note=e.note)

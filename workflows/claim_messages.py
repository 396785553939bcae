"""The messages a running claim takes besides decisions, assessments and second notices:
materials, investigation findings, a re-adjustment, an appeal, a withdrawal and the complaints
that name the claim. The workflow's handlers delegate here. Deterministic code only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.claim import Adjustment, Appeal, Findings, MaterialsSubmission, Withdrawal
    from models.complaint import ClaimReviewRequest, ComplaintLink
    from models.roles import CLAIM_DECIDER_ROLES, INVESTIGATOR, missing_role
    from models.rules import AdjustmentResult
    from models.status import (
        CLAIM_ENDED,
        CLAIM_NO_WITHDRAWAL,
        ApprovalState,
        ClaimStage,
        ClaimStatus,
    )
    from workflows.adjustment import manual_adjustment
    from workflows.approval import level_name
    from workflows.case import patched
    from workflows.claim_approval import refusal
    from workflows.claim_case import ClaimCase
    from workflows.claim_state import LinkedComplaint
    from workflows.exclusions import known_exclusion
    from workflows.investigation import RECOMMENDATIONS, Finding
    from workflows.recorder import NEXT_LEVEL, SYSTEM, TOP_PRIORITY, staff_info


def _recommendation_problem(f: Findings) -> str | None:
    if f.recommendation not in RECOMMENDATIONS:
        return f"unknown recommendation {f.recommendation!r}"
    if f.recommendation == "reduce" and f.amount is None:
        return "a reduce recommendation needs the amount"
    return None


class ClaimInbox:
    """What the claim does with each of these messages."""

    def __init__(self, case: ClaimCase) -> None:
        self._case = case

    async def submit_materials(self, submission: MaterialsSubmission) -> None:
        s = self._case.state
        if s.report is None:
            return
        self._case.receive(submission.materials, submission.submitted_by or "claimant")
        # The read model shows what arrived in the workflow task that took it, even when
        # items are still missing and the process does not move on yet.
        if patched("flush-on-message") and s.rules is not None:
            await self._case.flush()

    async def report_findings(self, findings: Findings) -> ClaimStatus:
        s = self._case.state
        reason = self._check_findings(findings)
        if reason:
            raise refusal(reason, "InvalidFindings")
        staff = await staff_info(findings.investigator)
        reason = self._check_findings(findings)
        view = s.investigations.get(findings.task)
        if not reason and staff is None:
            reason = f"unknown person {findings.investigator!r}"
        if not reason and staff and s.release:
            reason = missing_role(findings.investigator, staff.roles, [INVESTIGATOR], "findings")
        if (
            not reason
            and staff
            and view
            and findings.investigator != view.investigator
            and ("investigator" not in staff.roles)
        ):
            reason = f"{findings.investigator} is not an investigator"
        if reason:
            raise refusal(reason, "InvalidFindings")
        await self._case.guard.require(findings)
        reason = self._check_findings(findings)  # other findings may have come in meanwhile
        if reason:
            raise refusal(reason, "InvalidFindings")
        assert view is not None
        view.done = True
        view.investigator = findings.investigator
        view.facts = findings.facts
        view.fraud_suspected = findings.fraud_suspected
        view.recommendation = findings.recommendation
        view.amount = findings.amount
        view.conclusive = findings.conclusive
        view.excluded_cause = findings.excluded_cause
        view.disability_grade = findings.disability_grade
        s.findings.append(
            Finding(
                task=findings.task,
                investigator=findings.investigator,
                facts=findings.facts,
                fraud_suspected=findings.fraud_suspected,
                recommendation=findings.recommendation,
                amount=findings.amount,
                conclusive=findings.conclusive,
                excluded_cause=findings.excluded_cause,
                disability_grade=findings.disability_grade,
            )
        )
        s.recused[findings.investigator] = "investigated this claim"
        self._case.rec.close_task(view.key)
        self._case.clocks.stop(f"investigation:{findings.task}")
        self._case.rec.event(
            "findings",
            findings.investigator,
            task=findings.task,
            recommendation=findings.recommendation,
            fraud=findings.fraud_suspected,
            conclusive=findings.conclusive,
            amount=str(findings.amount) if findings.amount is not None else None,
            excluded_cause=findings.excluded_cause,
            disability_grade=findings.disability_grade,
        )
        await self._case.flush()
        return self._case.status()

    def validate_findings(self, findings: Findings) -> None:
        reason = self._check_findings(findings)
        if reason:
            raise refusal(reason, "InvalidFindings")

    async def adjust_update(self, adjustment: Adjustment) -> ApprovalState:
        s = self._case.state
        staff = await staff_info(adjustment.adjuster)
        if staff is None:
            raise refusal(f"unknown person {adjustment.adjuster!r}")
        if s.release:
            refused = missing_role(
                adjustment.adjuster, staff.roles, CLAIM_DECIDER_ROLES, "a re-adjustment"
            )
            if refused:
                raise refusal(refused)
        if staff.level < 1 or not staff.active:
            raise refusal(f"{adjustment.adjuster} is not an adjuster (L1 or above)")
        if s.release:
            await self._case.guard.require(adjustment)
        if not s.awaiting_adjustment:
            raise refusal(f"claim {s.claim_id} is not waiting for an adjustment")
        if s.adjustment is None and adjustment.amount is None:
            raise refusal("this claim has no computed amount: give the amount")
        base = s.adjustment or AdjustmentResult(lines=[], payable=Decimal("0"))
        s.adjustment = manual_adjustment(
            base, adjustment.adjuster, adjustment.note, adjustment.amount
        )
        s.awaiting_adjustment = False
        return self._case.approval_state()

    def validate_adjust(self, adjustment: Adjustment) -> None:
        s = self._case.state
        if not s.awaiting_adjustment:
            raise refusal(
                f"claim {s.claim_id} is {self._case.stage}; it is not waiting for an adjustment"
            )
        self._case.guard.validate_release(adjustment)

    def appeal_update(self, appeal: Appeal) -> ClaimStatus:
        s = self._case.state
        s.appeal = appeal
        self._case.rec.event("appeal", appeal.by, reason=appeal.reason)
        return self._case.status()

    def validate_appeal(self, appeal: Appeal) -> None:
        s = self._case.state
        if (
            self._case.stage != ClaimStage.DENIAL_NOTIFIED
            or "appeal" not in self._case.clocks.clocks
        ):
            raise refusal(
                f"claim {s.claim_id} is {self._case.stage}; only a denied claim can be appealed",
                "InvalidAppeal",
            )
        if self._case.clocks.clocks["appeal"].stopped_at is not None or s.appeal is not None:
            raise refusal(f"the appeal window of claim {s.claim_id} has closed", "InvalidAppeal")

    def withdraw_update(self, withdrawal: Withdrawal) -> ClaimStatus:
        s = self._case.state
        s.withdrawal = withdrawal
        self._case.rec.event("withdrawal_requested", withdrawal.by, reason=withdrawal.reason)
        return self._case.status()

    def validate_withdraw(self, withdrawal: Withdrawal) -> None:
        s = self._case.state
        if self._case.stage in CLAIM_NO_WITHDRAWAL or s.paying or s.payments:
            raise refusal(
                f"claim {s.claim_id} is {self._case.stage}; a claim cannot be withdrawn once "
                "payment has begun or the case has ended",
                "InvalidWithdrawal",
            )
        if s.withdrawal is not None:
            raise refusal(f"claim {s.claim_id} is already being withdrawn", "InvalidWithdrawal")
        if not s.parked:
            raise refusal(
                f"claim {s.claim_id} is in the middle of a step; try again in a moment",
                "InvalidWithdrawal",
            )

    async def complaint_filed(self, link: ComplaintLink) -> None:
        """A complaint names this claim; a payment-timeliness one escalates it at once."""
        s = self._case.state
        s.complaints.append(
            LinkedComplaint(
                complaint_id=link.complaint_id,
                category=link.category,
                received_at=link.received_at.isoformat(),
            )
        )
        self._case.rec.event(
            "complaint_linked", SYSTEM, complaint_id=link.complaint_id, category=link.category
        )
        if link.escalate and self._case.stage not in CLAIM_ENDED:
            s.complaints[-1].escalated = True
            self._case.rec.priority = TOP_PRIORITY
            level = self._case.pending_level
            role = NEXT_LEVEL.get(level_name(level), "L2") if level and level < 4 else "L3"
            self._case.rec.open_task(
                f"{s.claim_id}:complaint:{link.complaint_id}",
                "complaint_escalation",
                role,
                workflow.now() + timedelta(days=1),
                level=int(role[1]),
            )
            self._case.rec.event(
                "escalated_by_complaint", SYSTEM, complaint_id=link.complaint_id, to=role
            )
        await self._case.flush()

    def reopen_for_review(self, req: ClaimReviewRequest) -> None:
        """A complaint resolution asks for a panel re-review of this claim (DOMAIN §9)."""
        s = self._case.state
        if s.review_request is None:
            s.review_request = req
            self._case.rec.event(
                "review_requested", f"complaint:{req.complaint_id}", reason=req.reason
            )

    def _check_findings(self, f: Findings) -> str | None:
        s = self._case.state
        if self._case.stage != ClaimStage.INVESTIGATING:
            return f"claim {s.claim_id} is {self._case.stage}; findings are taken in INVESTIGATING"
        view = s.investigations.get(f.task)
        if view is None:
            return f"no investigation task {f.task!r}; open: " + ", ".join(
                k for k, v in s.investigations.items() if not v.done
            )
        if view.done:
            return f"the {f.task} findings are already in"
        problem = _recommendation_problem(f)
        if problem:
            return problem
        if f.excluded_cause is not None and s.release:
            assert s.report and s.rules
            return known_exclusion(s.report.line, s.rules.policy, f.excluded_cause)
        return None

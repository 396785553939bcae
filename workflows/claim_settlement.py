"""How a decided claim ends: decision letter and payment (with the advance payment of the
determinable part), denial and appeal, withdrawal, and the re-review a complaint asks for
after closing. Deterministic code only."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payments import PaymentActivities
    from activities.policy import PAYMENT_RETRY, PAYMENT_TIMEOUT
    from models.complaint import ClaimReviewOutcome
    from models.ids import complaint_workflow_id
    from models.records import PaymentRecord, PaymentRequest
    from models.status import CLAIM_UNDECIDED, ClaimStage, PaymentView
    from workflows.claim_aftercare import Aftercare
    from workflows.claim_approval import ApprovalDesk
    from workflows.claim_case import ClaimCase
    from workflows.clock import Clock
    from workflows.recorder import SYSTEM


class Settlement:
    """Pays, denies, hears the appeal, takes a withdrawal and reopens a closed claim."""

    def __init__(self, case: ClaimCase, approvals: ApprovalDesk, aftercare: Aftercare) -> None:
        self._case = case
        self._approvals = approvals
        self._aftercare = aftercare
        self._payment_lock = asyncio.Lock()  # the balance and the advance are never paid together

    async def settle(self, after_appeal: bool = False) -> None:
        """Decision letter, then pay the balance exactly once (10 days, art. 23)."""
        s = self._case.state
        assert s.report and s.rules and s.adjustment
        self._case.clocks.stop("determination")
        self._case.clocks.stop("advance_payment")
        self._case.clocks.stop("appeal_review")
        payable = s.adjustment.payable
        async with self._payment_lock:
            balance = max(Decimal("0"), payable - s.paid_total)
            if s.paid_total > payable:
                self._case.rec.event(
                    "overpaid", SYSTEM, paid=str(s.paid_total), payable=str(payable)
                )
            self._case.clocks.start("payment", s.rules.deadlines.payment_days, owner="L2")
            # Since "decision-letter-details" the letter names what it deducts and why: the
            # items not covered, the clauses, the panel's reasons for an amount it set.
            detailed = s.release
            node = "appeal_decision" if after_appeal else "decision"
            # since FEWER_STEPS the claim is PAYING as its decision letter goes out, written to
            # the read model in the same step: one step before the payment instead of two
            paying = balance > 0 and self._case.fewer_steps
            if paying:
                self._case.rec.to(ClaimStage.PAYING, SYSTEM, amount=str(balance))
            await self._case.letter_with_notice(
                "decision",
                node,
                "decision",
                flush_first=paying,
                line=s.report.line,
                incident_type=s.report.incident_type,
                lines=[line.model_dump(mode="json") for line in s.adjustment.lines],
                payable=str(payable),
                approvals=s.approvals_context(detailed),
                straight_through=s.stp,
                payment_days=s.rules.deadlines.payment_days,
                payment_due=self._case.clocks.due_date("payment"),
                account_ref=s.account(),
                advance_paid=str(s.paid_total),
                balance=str(balance),
                after_appeal=after_appeal,
                **(s.decision_details() if detailed else {}),
            )
            if balance > 0:
                if not paying:
                    self._case.rec.to(ClaimStage.PAYING, SYSTEM, amount=str(balance))
                    await self._case.flush()
                paid = await self._pay(balance)
                self._case.rec.to(
                    ClaimStage.PAID, SYSTEM, amount=str(paid.amount), reference=paid.reference
                )
                await self._case.letter_with_notice(
                    "payment",
                    "payment",
                    "payment",
                    amount=str(paid.amount),
                    account_ref=s.account(),
                    reference=paid.reference,
                    paid_at=paid.paid_at.isoformat(),
                    seq=paid.seq,
                )
            self._case.clocks.stop("payment")
        s.reserve = Decimal("0")
        self._aftercare.open_follow_up("payment")

    async def _pay(self, amount: Decimal) -> PaymentRecord:
        """One ledger row per claim and payment sequence; a retry never pays twice."""
        s = self._case.state
        assert s.report and s.adjustment
        s.paying = True
        seq = len(s.payments) + 1
        paid = await workflow.execute_activity_method(
            PaymentActivities.pay_claim,
            PaymentRequest(
                claim_id=s.claim_id,
                seq=seq,
                amount=amount,
                payee=s.report.claimant.name,
                account_ref=s.account(),
                policy_no=s.report.policy_no,
                deductible_applied=s.adjustment.deductible_applied if seq == 1 else Decimal("0"),
            ),
            start_to_close_timeout=PAYMENT_TIMEOUT,
            retry_policy=PAYMENT_RETRY,
        )
        s.payments.append(
            PaymentView(
                seq=paid.seq, amount=paid.amount, reference=paid.reference, paid_at=paid.paid_at
            )
        )
        self._case.rec.event(
            "paid", SYSTEM, seq=paid.seq, amount=str(paid.amount), ref=paid.reference
        )
        return paid

    async def clock_step(self, name: str, step: str) -> bool:
        if name == "advance_payment" and step == "escalation":
            # Paid at 5/6 of the 60 days so that the money arrives inside them.
            await self._advance_payment()
            return True
        return False

    async def _advance_payment(self) -> None:
        """At 60 days without a decision, pay the part that can be determined (art. 25)."""
        s = self._case.state
        self._case.clocks.stop("advance_payment")
        if self._case.stage not in CLAIM_UNDECIDED or s.payments or s.outcome is not None:
            return
        amount = self._determinable()
        if amount <= 0:
            self._case.rec.event(
                "advance_payment_none", SYSTEM, reason="no part can be determined yet"
            )
            await self._case.flush()
            return
        async with self._payment_lock:
            if s.outcome is not None or s.payments:
                return
            paid = await self._pay(amount)
            assert s.report and s.rules
            await self._case.letter(
                "advance_payment",
                amount=str(paid.amount),
                amount_claimed=str(s.report.amount_claimed),
                account_ref=s.account(),
                reference=paid.reference,
                paid_at=paid.paid_at.isoformat(),
                days=s.rules.deadlines.advance_payment_days,
            )
            s.paying = False
            await self._case.flush()

    def _determinable(self) -> Decimal:
        """The lowest amount every assessment so far supports; nothing while the claim may
        still be denied."""
        s = self._case.state
        if s.adjustment is None or s.awaiting_adjustment:
            return Decimal("0")
        if s.investigation and s.investigation.recommend_deny:
            return Decimal("0")
        if any(not v.done for v in s.investigations.values()):
            return Decimal("0")
        amounts = [s.adjustment.payable]
        if s.investigation and s.investigation.cap is not None:
            amounts.append(s.investigation.cap)
        if s.panel:
            amounts += [v.amount for v in s.panel.votes if v.amount is not None]
            if any(v.vote == "reject" for v in s.panel.votes):
                return Decimal("0")
        return min(amounts)

    async def deny(self) -> bool:
        """Denial notice within 3 days (Insurance Law art. 24); True if the claimant appeals
        within the 30-day window."""
        s = self._case.state
        assert s.report and s.rules
        d = s.rules.deadlines
        self._case.clocks.stop("determination")
        self._case.clocks.stop("advance_payment")
        self._case.clocks.stop("appeal_review")
        self._case.clocks.start("denial_notice", d.denial_notice_days, owner="L2")
        now = workflow.now()
        appeal_clock = Clock(
            "appeal",
            now,
            d.appeal_days,
            self._case.clocks.cal,
            owner="claimant",
            ladder=False,
            customer_facing=False,
        )
        await self._case.letter_with_notice(
            "denial",
            "decision",
            "denial",
            reason=s.denial_reason or "",
            clause=s.clause_context(s.denial_clause),
            decided_at=now.isoformat(),
            appeal_days=d.appeal_days,
            appeal_due=self._case.clocks.calendar_date(appeal_clock.due_at(now)),
            approvals=s.approvals_context(s.release),
        )
        self._case.clocks.stop("denial_notice")
        s.reserve = Decimal("0")
        self._case.rec.to(ClaimStage.DENIAL_NOTIFIED, SYSTEM)
        self._aftercare.open_follow_up("denial")
        if s.appealed_at is not None:
            await self._case.flush()
            return False  # a denial upheld on appeal is final inside the company
        self._case.clocks.clocks["appeal"] = appeal_clock
        self._case.clocks.changed()
        await self._case.flush()
        appealed = await self._case.park(
            lambda: s.appeal is not None or s.review_request is not None,
            appeal_clock.due_at(now),
        )
        self._case.clocks.stop("appeal")
        return appealed and s.appeal is not None

    async def review_appeal(self) -> None:
        """The claim reopens for a panel review with the original file; those who took the
        decision under appeal sit out."""
        s = self._case.state
        assert s.appeal and s.rules
        s.appealed_at = workflow.now()
        self._case.rec.to(ClaimStage.APPEALED, s.appeal.by, reason=s.appeal.reason)
        clock = self._case.clocks.start(
            "appeal_review", s.rules.deadlines.appeal_review_days, owner="L3"
        )
        await self._case.letter(
            "appeal_received",
            appeal_reason=s.appeal.reason,
            received_at=s.appealed_at.isoformat(),
            review_days=s.rules.deadlines.appeal_review_days,
            review_due=self._case.clocks.calendar_date(clock.due_at(s.appealed_at)),
        )
        for a in s.approvals:
            if a.approver != SYSTEM:
                s.recused.setdefault(a.approver, "took the decision under appeal")
        self._case.rec.to(ClaimStage.REOPENED, SYSTEM)
        s.outcome = None
        s.denial_clause = None
        s.denial_reason = None
        await self._approvals.await_approval(["appeal"])
        if s.outcome == "approved":
            s.overturned = True
            await self.settle(after_appeal=True)
            return
        self._case.clocks.stop("appeal_review")
        await self._case.letter_with_notice(
            "appeal_decision",
            "appeal_decision",
            "appeal_decision",
            clause=s.clause_context(s.denial_clause),
            reason=s.denial_reason or "",
            decided_at=workflow.now().isoformat(),
            votes=[
                {"member": v.member, "vote": v.vote, "reason": v.reason}
                for v in (s.panel.votes if s.panel else [])
            ],
        )
        self._case.rec.to(ClaimStage.DENIAL_NOTIFIED, SYSTEM, upheld_on_appeal=True)

    async def reopen_window(self) -> None:
        """A closed claim stays reachable for a while: a complaint's re-review reopens it."""
        s = self._case.state
        assert s.rules
        while True:
            until = workflow.now() + timedelta(days=s.rules.deadlines.reopen_window_days)
            if not await self._case.park(lambda: s.review_request is not None, until):
                return
            await self.complaint_review()
            self._case.clocks.stop_all()
            self._case.rec.to(ClaimStage.CLOSED, SYSTEM)
            await self._case.flush()

    async def complaint_review(self) -> None:
        """A panel re-reviews the claim for a complaint; the complaint hears the outcome."""
        s = self._case.state
        req = s.review_request
        assert req is not None and s.adjustment is not None
        s.review_request = None
        was_denied = s.denial_clause is not None
        before = s.adjustment.payable
        denial = (s.denial_clause, s.denial_reason)
        self._case.rec.to(ClaimStage.REOPENED, f"complaint:{req.complaint_id}", reason=req.reason)
        for a in s.approvals:
            if a.approver not in (SYSTEM, "panel"):
                s.recused.setdefault(a.approver, "took the decision under review")
        s.outcome = None
        await self._approvals.await_approval(["complaint_review"])
        if s.outcome == "approved":
            after = s.adjustment.payable
            result = "overturned" if was_denied else ("amended" if after != before else "upheld")
            if was_denied:
                s.overturned = True
            s.denial_clause = s.denial_reason = None
            await self.settle(after_appeal=True)
        else:
            result = "upheld"
            if was_denied:
                await self._case.letter(
                    "appeal_decision",
                    clause=s.clause_context(s.denial_clause),
                    reason=s.denial_reason or "",
                    decided_at=workflow.now().isoformat(),
                    votes=[],
                )
            else:  # the decision to pay stands; nothing is clawed back here
                s.denial_clause, s.denial_reason = denial
                s.outcome = "approved"
        self._case.rec.event(
            "complaint_review_done", SYSTEM, complaint_id=req.complaint_id, outcome=result
        )
        try:
            await workflow.get_external_workflow_handle(
                complaint_workflow_id(req.complaint_id)
            ).signal(
                "claim_review_outcome",
                ClaimReviewOutcome(
                    claim_id=s.claim_id,
                    outcome=result,
                    payable_amount=None if s.denial_clause else s.adjustment.payable,
                ),
            )
        except Exception as exc:  # noqa: BLE001 - the complaint may have ended meanwhile
            self._case.rec.event(
                "complaint_not_running", SYSTEM, complaint_id=req.complaint_id, detail=str(exc)
            )

    async def withdraw(self) -> None:
        s = self._case.state
        assert s.withdrawal
        self._case.clocks.stop_all()
        for key in list(self._case.rec.tasks):
            self._case.rec.close_task(key)
        s.reserve = Decimal("0")
        self._case.rec.to(ClaimStage.WITHDRAWN, s.withdrawal.by, reason=s.withdrawal.reason)
        await self._case.letter(
            "withdrawal",
            reason=s.withdrawal.reason,
            withdrawn_at=workflow.now().isoformat(),
            by=s.withdrawal.by,
        )
        await self._case.flush()

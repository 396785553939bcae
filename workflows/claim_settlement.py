"""How a decided claim ends: decision letter and payment (with the advance payment of the
determinable part), denial and appeal, withdrawal. Deterministic code only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.policy import (
        PAYMENT_RETRY,
        PAYMENT_TIMEOUT,
    )
    from models.catalog import NON_COVERED_MEDICAL, NON_COVERED_MEDICAL_CAUSE
    from models.complaint import ClaimReviewOutcome
    from models.ids import complaint_workflow_id
    from models.records import (
        PaymentRecord,
        PaymentRequest,
    )
    from models.status import (
        PaymentView,
    )
    from workflows.clock import Clock

from workflows.claim_case import SYSTEM, UNDECIDED
from workflows.claim_messages import ClaimMessages


class ClaimSettlement(ClaimMessages):
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
            # Since "decision-letter-details" the letter names what it deducts and why: the
            # items not covered, the clauses, the panel's reasons for an amount it set.
            detailed = self._release_2026_12
            await self._letter(
                "decision",
                line=self.report.line,
                incident_type=self.report.incident_type,
                lines=[line.model_dump(mode="json") for line in self.adjustment.lines],
                payable=str(payable),
                approvals=self._approvals_context(detailed),
                straight_through=self.stp,
                payment_days=self.rules.deadlines.payment_days,
                payment_due=self._due_date("payment"),
                account_ref=self._account(),
                advance_paid=str(self.paid_total),
                balance=str(balance),
                after_appeal=after_appeal,
                **(self._decision_details() if detailed else {}),
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

    def _approvals_context(self, detailed: bool) -> list[dict[str, Any]]:
        """The approval chain as letters name it; the letter finds each person's name, title
        and own level in the staff table."""
        return [
            {
                "level": self._level_label(a.level),
                "approver": a.approver,
                "at": a.at.isoformat(),
                **({"decision": a.decision, "note": a.note} if detailed else {}),
            }
            for a in self.approvals
        ]

    def _decision_details(self) -> dict[str, Any]:
        """The items not covered and the clauses behind each deduction, from the rules the
        claim runs under: the exclusion of non-necessary expenses (MED-2.1 in the demo), else
        the cover clause, which also states the deductible, ratio and limit."""
        assert self.report and self.rules
        policy = self.rules.policy
        excluding = policy.exclusion_clause(NON_COVERED_MEDICAL_CAUSE) if policy else None
        cover = policy.clause_of_kind("coverage") if policy else None
        excluding = excluding or cover
        return {
            "non_covered": [
                {"category": i.category, "description": i.description, "amount": str(i.amount)}
                for i in self.report.items
                if i.category in NON_COVERED_MEDICAL
            ],
            "non_covered_clause": self._clause_context(excluding.id) if excluding else None,
            "coverage_clause": self._clause_context(cover.id) if cover else None,
        }

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

    async def _clock_step(self, name: str, step: str) -> bool:
        if name == "advance_payment" and step == "escalation":
            # Paid at 5/6 of the 60 days so that the money arrives inside them.
            await self._advance_payment()
            return True
        return False

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
            approvals=self._approvals_context(self._release_2026_12),
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
        appealed = await self._park(
            lambda: self.appeal is not None or self.review_request is not None,
            appeal_clock.due_at(now),
        )
        self._stop_clock("appeal")
        return appealed and self.appeal is not None

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

    async def _reopen_window(self) -> None:
        """A closed claim stays reachable for a while: a complaint's re-review reopens it."""
        assert self.rules
        while True:
            until = workflow.now() + timedelta(days=self.rules.deadlines.reopen_window_days)
            if not await self._park(lambda: self.review_request is not None, until):
                return
            await self._complaint_review()
            self._stop_all_clocks()
            self._to("CLOSED", SYSTEM)
            await self._flush()

    async def _complaint_review(self) -> None:
        """A panel re-reviews the claim for a complaint; the complaint hears the outcome."""
        req = self.review_request
        assert req is not None and self.adjustment is not None
        self.review_request = None
        was_denied = self.denial_clause is not None
        before = self.adjustment.payable
        denial = (self.denial_clause, self.denial_reason)
        self._to("REOPENED", f"complaint:{req.complaint_id}", reason=req.reason)
        for a in self.approvals:
            if a.approver not in (SYSTEM, "panel"):
                self.recused.setdefault(a.approver, "took the decision under review")
        self.outcome = None
        await self._await_approval(["complaint_review"])
        if self.outcome == "approved":
            after = self.adjustment.payable
            result = "overturned" if was_denied else ("amended" if after != before else "upheld")
            if was_denied:
                self.overturned = True
            self.denial_clause = self.denial_reason = None
            await self._settle(after_appeal=True)
        else:
            result = "upheld"
            if was_denied:
                await self._letter(
                    "appeal_decision",
                    clause=self._clause_context(self.denial_clause),
                    reason=self.denial_reason or "",
                    decided_at=workflow.now().isoformat(),
                    votes=[],
                )
            else:  # the decision to pay stands; nothing is clawed back here
                self.denial_clause, self.denial_reason = denial
                self.outcome = "approved"
        self._event("complaint_review_done", SYSTEM, complaint_id=req.complaint_id, outcome=result)
        try:
            await workflow.get_external_workflow_handle(
                complaint_workflow_id(req.complaint_id)
            ).signal(
                "claim_review_outcome",
                ClaimReviewOutcome(
                    claim_id=self.claim_id,
                    outcome=result,
                    payable_amount=None if self.denial_clause else self.adjustment.payable,
                ),
            )
        except Exception as exc:  # noqa: BLE001 - the complaint may have ended meanwhile
            self._event(
                "complaint_not_running", SYSTEM, complaint_id=req.complaint_id, detail=str(exc)
            )

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

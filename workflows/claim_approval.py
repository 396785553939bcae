"""The approval chain and the panel of one claim (核赔, DOMAIN §7): waiting for the chain,
the decisions and votes that move it, convening the panel and its record. Who may decide what
is decided by workflows/decisions.py; this applies it to the claim. Deterministic code only."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.claim import ConvenePanel, Decision
    from models.records import StaffInfo
    from models.status import (
        ApprovalRecord,
        ApprovalState,
        ClaimStage,
        RefusedDecision,
    )
    from workflows.adjustment import manual_adjustment
    from workflows.approval import PANEL, approval_chain, level_name
    from workflows.claim_case import ClaimCase
    from workflows.claim_state import panel_view
    from workflows.decisions import (
        Panel,
        Vote,
        check_authority,
        check_decision,
        check_panel_members,
        panel_outcome,
    )
    from workflows.recorder import SYSTEM, staff_info


def refusal(message: str, kind: str = "InvalidDecision") -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


class ApprovalDesk:
    """Takes a claim through its approval chain, level by level, or through its panel."""

    def __init__(self, case: ClaimCase) -> None:
        self._case = case
        self._lock = asyncio.Lock()  # one decision at a time
        # The last decision checked, the audit events recorded then, and the answer.
        self._checked: tuple[Decision, int, str | None] | None = None

    # ================================================================== the process step

    async def await_approval(self, disputed: list[str]) -> None:
        case, s, rec = self._case, self._case.state, self._case.rec
        assert s.rules and s.adjustment
        limits = s.rules.authority_limits
        if disputed:
            s.chain = [PANEL]
            grounds = list(disputed)
        else:
            s.chain = approval_chain(s.adjustment.payable, limits)
            grounds = ["above_authority"] if PANEL in s.chain else []
            deny_proposed = s.exclusions or (s.investigation and s.investigation.recommend_deny)
            if deny_proposed and s.chain == [1]:
                s.chain = [1, 2]  # a proposed denial needs someone who may deny
        s.approvals = []
        s.panel = Panel(grounds=grounds) if PANEL in s.chain else None
        s.panel_view = None
        self._sync_panel_view()
        s.round += 1
        rec.to(ClaimStage.PENDING_APPROVAL, SYSTEM, chain=[level_name(lv) for lv in s.chain])
        self._open_approval_task()
        await case.flush()
        await case.park(lambda: s.outcome is not None)
        last = s.approvals[-1].approver if s.approvals else SYSTEM
        if s.outcome == "approved":
            rec.to(ClaimStage.APPROVED, last)
        elif s.outcome == "denied":
            rec.to(ClaimStage.DENIED, last, clause=s.denial_clause)
        else:
            rec.to(ClaimStage.RETURNED, last, note=s.approvals[-1].note)
        if s.panel is not None and s.panel.complete:
            await self._panel_record()
        await case.flush()

    # ================================================================== decisions

    async def decide(self, decision: Decision) -> ApprovalState:
        """The `decide` update: refused with the reason, or applied."""
        async with self._lock:
            reason = self.check(decision)
            if not reason and self._case.fewer_steps:
                reason = await self._case.guard.with_signer(decision, self._authority, record=True)
            elif not reason:
                reason = await self._check_authority(decision)
                if not reason:
                    await self._case.guard.require(decision)
                    reason = self.check(decision)  # the chain may have moved on meanwhile
            if reason:
                raise refusal(reason)
            self._apply_decision(decision)
            await self._case.flush()
            return self._case.approval_state()

    def validate_decide(self, decision: Decision) -> None:
        reason = self.check(decision)
        if reason:
            raise refusal(reason)

    async def decision_signal(self, decision: Decision) -> None:
        """The `decision` signal: a refused one is recorded and ignored."""
        case = self._case
        async with self._lock:
            reason = self.check(decision) or case.guard.problem(decision)
            if not reason and case.fewer_steps:
                reason = await case.guard.with_signer(decision, self._authority, record=False)
            elif not reason:
                reason = (
                    await self._check_authority(decision)
                    or await case.guard.refusal(decision)
                    or self.check(decision)
                )
            if reason:
                case.state.refused.append(
                    RefusedDecision(
                        approver=decision.approver,
                        decision=decision.decision,
                        at=workflow.now(),
                        reason=reason,
                        via="signal",
                    )
                )
                case.rec.event("decision_refused", decision.approver, reason=reason, via="signal")
                await case.flush()
                return
            self._apply_decision(decision)
            await case.flush()

    def check(self, d: Decision) -> str | None:
        """The checks that need no lookup; also run by the update's validator, so a refused
        update leaves nothing in the history.

        Worked out once per decision and state of the case: asked again after a lookup (the
        chain may have moved on meanwhile), the answer is reused unless the case recorded an
        audit event since, as every change to its stage, chain, approvals, panel or recusals
        does in the same step."""
        recorded = self._case.rec.recorded
        if self._checked is not None:
            decision, at, reason = self._checked
            if decision is d and at == recorded:
                return reason
        reason = self._check(d)
        self._checked = (d, recorded, reason)
        return reason

    def _check(self, d: Decision) -> str | None:
        s = self._case.state
        policy = s.rules.policy if s.rules else None
        return check_decision(
            claim_id=s.claim_id,
            stage=self._case.stage,
            pending_level=self._case.pending_level,
            decision=d.decision,
            approver=d.approver,
            approved_by=[a.approver for a in s.approvals],
            recused=s.recused,
            clause=d.clause,
            clause_ids=[c.id for c in policy.clauses] if policy else [],
            amount=d.amount,
            panel=s.panel,
        )

    async def _check_authority(self, d: Decision) -> str | None:
        return self._authority(d, await staff_info(d.approver))

    def _authority(self, d: Decision, staff: StaffInfo | None) -> str | None:
        """After the lookup of the person: the checks again, then their authority."""
        again = self.check(d)  # the chain may have moved on during the lookup
        if again:
            return again
        level = self._case.pending_level
        assert level is not None
        return check_authority(staff, d.approver, level, d.decision, self._case.state.release)

    def _apply_decision(self, d: Decision) -> None:
        s, rec = self._case.state, self._case.rec
        level = self._case.pending_level
        assert level is not None
        if level == PANEL:
            self._apply_vote(d)
            return
        rec.close_task(self._approval_task_key(level))
        s.approvals.append(
            ApprovalRecord(
                level=level,
                approver=d.approver,
                decision=d.decision,
                at=workflow.now(),
                note=d.note,
                clause=d.clause,
            )
        )
        rec.event(
            "decision",
            d.approver,
            level=level_name(level),
            decision=d.decision,
            note=d.note,
            clause=d.clause,
        )
        if d.decision == "approve":
            if len(s.approvals) == len(s.chain):
                s.outcome = "approved"
            else:
                self._open_approval_task()
        elif d.decision == "reject":
            s.denial_clause = d.clause
            s.denial_reason = d.note
            s.outcome = "denied"
        else:
            s.outcome = "returned"

    # ================================================================== the panel

    async def convene(self, req: ConvenePanel) -> ApprovalState:
        """The `convene_panel` update."""
        case, s = self._case, self._case.state
        async with self._lock:
            reason = self.check_convene(req)
            if reason:
                raise refusal(reason)
            convener = await staff_info(req.convener)
            staff = {m: await staff_info(m) for m in req.members}
            reason = (
                self.check_convene(req)
                or check_authority(convener, req.convener, PANEL, "approve", s.release)
                or check_panel_members(req.members, staff, self._panel_recused(), by_role=s.release)
            )
            if reason:
                raise refusal(reason)
            # Since the release the validator takes only signed requests; an unsigned one
            # reaches here only in the replay of a case recorded before panels were signed.
            if s.release and req.signature is not None:
                await case.guard.require(req)
                reason = self.check_convene(req)  # looked at again after the lookup
                if reason:
                    raise refusal(reason)
            assert s.panel and s.rules
            s.panel.members = list(req.members)
            s.panel.convened_by = req.convener
            s.panel.convened_at = workflow.now()
            self._sync_panel_view()
            case.rec.close_task(self._approval_task_key(PANEL))
            due = workflow.now() + timedelta(days=s.rules.deadlines.approval_task_days)
            for m in req.members:
                case.rec.open_task(
                    f"{s.claim_id}:panel:{s.round}:{m}",
                    "panel_vote",
                    "L2",
                    due,
                    assignee=m,
                    level=2,
                )
            case.rec.event(
                "panel_convened", req.convener, members=req.members, grounds=s.panel.grounds
            )
            await case.flush()
            return case.approval_state()

    def validate_convene(self, req: ConvenePanel) -> None:
        reason = self.check_convene(req)
        if reason:
            raise refusal(reason)
        self._case.guard.validate_release(req)

    def check_convene(self, req: ConvenePanel) -> str | None:
        s = self._case.state
        if self._case.pending_level != PANEL or s.panel is None:
            return f"claim {s.claim_id} is {self._case.stage} and is not waiting for a panel"
        if s.panel.convened:
            return f"the panel of claim {s.claim_id} is already convened"
        return None

    def _panel_recused(self) -> dict[str, str]:
        """Who may not sit on the panel: the recused, and anyone who already approved."""
        s = self._case.state
        earlier = {
            a.approver: "already approved this claim"
            for a in s.approvals
            if a.approver not in (SYSTEM, "panel")
        }
        return {**earlier, **s.recused}

    def _apply_vote(self, d: Decision) -> None:
        s, rec = self._case.state, self._case.rec
        assert s.panel is not None and s.adjustment is not None
        s.panel.votes.append(
            Vote(
                member=d.approver,
                vote=d.decision,
                reason=d.note,
                at=workflow.now(),
                amount=d.amount,
                clause=d.clause,
            )
        )
        rec.close_task(f"{s.claim_id}:panel:{s.round}:{d.approver}")
        rec.event(
            "panel_vote",
            d.approver,
            vote=d.decision,
            note=d.note,
            clause=d.clause,
            amount=str(d.amount) if d.amount is not None else None,
        )
        self._sync_panel_view()
        if not s.panel.complete:
            return
        result = panel_outcome(s.panel.votes, s.adjustment.payable)
        assert s.panel_view is not None
        s.panel_view.outcome = result.outcome
        s.panel_view.amount = result.amount
        s.panel_view.dissent = [v.member for v in result.dissent]
        s.approvals.append(
            ApprovalRecord(
                level=PANEL,
                approver="panel",
                decision=result.outcome,
                at=workflow.now(),
                note="; ".join(v.reason for v in result.majority),
                clause=result.clause,
            )
        )
        rec.event(
            "panel_decided",
            "panel",
            outcome=result.outcome,
            amount=str(result.amount) if result.amount is not None else None,
            dissent=[v.member for v in result.dissent],
        )
        if result.outcome == "reject":
            s.denial_clause = result.clause
            s.denial_reason = "; ".join(v.reason for v in result.majority)
            s.outcome = "denied"
            return
        if result.outcome == "amend" and result.amount != s.adjustment.payable:
            s.adjustment = manual_adjustment(
                s.adjustment, "panel", "amount set by the panel", result.amount
            )
        s.outcome = "approved"

    def _sync_panel_view(self) -> None:
        s = self._case.state
        if s.panel is not None:
            s.panel_view = panel_view(s.panel)

    async def _panel_record(self) -> None:
        s = self._case.state
        assert s.panel and s.panel_view
        p, v = s.panel, s.panel_view
        await self._case.letter(
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
            payable_before=str(s.adjustment.payable) if s.adjustment else None,
            recipient="claim file",
        )

    # ================================================================== work items

    def _approval_task_key(self, level: int) -> str:
        s = self._case.state
        return f"{s.claim_id}:approve:{s.round}:{level_name(level)}"

    def _open_approval_task(self) -> None:
        s = self._case.state
        assert s.rules
        level = self._case.pending_level
        if level is None:
            return
        due = workflow.now() + timedelta(days=s.rules.deadlines.approval_task_days)
        if level == PANEL:
            self._case.rec.open_task(
                self._approval_task_key(level), "convene_panel", "L3", due, level=3
            )
        else:
            self._case.rec.open_task(
                self._approval_task_key(level), "approve", level_name(level), due, level=level
            )

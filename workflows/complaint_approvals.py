"""A complaint's resolution and its approvals (DOMAIN §8.6): the handler proposes, the
coordinator approves, and L3 (a manager since the December 2026 release) approves as well
when the resolution pays more than the handler's limit. A refusal sends it back."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.complaint import Resolution, ResolutionApproval
    from models.records import StaffInfo
    from models.roles import COMPLAINT_COORDINATOR as COORDINATOR
    from models.status import ComplaintStage
    from workflows.complaint_checks import (
        check_handler,
        check_stage,
        need_l3_manager,
        need_role,
        refuse,
    )
    from workflows.complaint_state import (
        COORDINATOR_STEP,
        L3_STEP,
        Approval,
        ComplaintState,
    )


class ResolutionApprovals:
    """The proposal and its approval chain, kept in the complaint's state."""

    def __init__(self, state: ComplaintState) -> None:
        self.state = state

    def _done(self) -> list[str]:
        return [a.acting_as for a in self.state.approvals if a.approve]

    @property
    def needs_l3(self) -> bool:
        assert self.state.rules
        amount = self.state.resolution.amount if self.state.resolution else None
        return amount is not None and amount > self.state.rules.handler_limit

    @property
    def approved(self) -> bool:
        if self.state.resolution is None:
            return False
        need = [COORDINATOR_STEP]
        if self.needs_l3:
            need.append(L3_STEP)
        done = self._done()
        return all(n in done for n in need)

    def next_step(self) -> str | None:
        """Whose approval the resolution waits for (the role of its work item)."""
        if COORDINATOR_STEP not in self._done():
            return COORDINATOR_STEP
        if self.needs_l3:
            return L3_STEP
        return None

    # ------------------------------------------------------------------ the proposal

    def check_proposal(self, stage: str, r: Resolution) -> None:
        state = self.state
        check_stage(
            state,
            stage,
            "propose a resolution",
            (ComplaintStage.INVESTIGATING, ComplaintStage.RESOLUTION_PROPOSED),
        )
        check_handler(state, r.handler)
        if state.findings is None:
            raise refuse("record the findings before proposing a resolution")
        if state.resolution is not None:
            raise refuse("a resolution is already waiting for approval")
        if "re_review" in r.kinds and not (state.report and state.report.claim_id):
            raise refuse("a re-review needs a complaint about a claim")
        if state.compensation_ledger and r.amount is not None and r.payee is None:
            raise refuse(
                "a resolution that pays money needs its payee: name and bank account (payee)"
            )
        if state.compensation_ledger and r.amount is None and r.payee is not None:
            raise refuse("a payee goes only with a resolution that pays money")
        if state.decision_grounds:
            blank = r.missing_grounds(state.findings.findings)
            if blank:
                raise refuse(blank)

    def propose(self, r: Resolution) -> None:
        self.state.resolution = r
        self.state.approvals = []

    # ------------------------------------------------------------------ the approvals

    def check_open(self, stage: str) -> None:
        check_stage(
            self.state, stage, "approve a resolution", (ComplaintStage.RESOLUTION_PROPOSED,)
        )
        if self.approved:
            raise refuse("the resolution is already approved")

    def acting_as(self, staff: StaffInfo | None, a: ResolutionApproval) -> str:
        """The step this approver may take (the coordinator's, then L3's), or a refusal."""
        state = self.state
        if COORDINATOR_STEP not in self._done():
            need_role(staff, a.approver, COORDINATOR)
            acting_as = COORDINATOR_STEP
        else:
            why = (
                f"this resolution pays more than the handler's limit of "
                f"{state.rules.handler_limit if state.rules else ''}: it needs an L3 approval"
            )
            if state.complaint_roles:
                need_l3_manager(staff, a.approver, why)
                if a.approver in [x.approver for x in state.approvals if x.approve]:
                    raise refuse(f"{a.approver} has already approved this resolution")
            elif staff is None or staff.level < 3:
                raise refuse(why)
            acting_as = L3_STEP
        if a.approver == state.handler:
            raise refuse("the handler who proposed the resolution cannot approve it")
        return acting_as

    def take(self, a: ResolutionApproval, acting_as: str, at: datetime) -> Approval:
        """Record the approval; a refusal sends the resolution back to the handler."""
        if acting_as == COORDINATOR_STEP and any(
            x.acting_as == acting_as for x in self.state.approvals
        ):
            raise refuse("the coordinator's approval came in meanwhile; look again and retry")
        approval = Approval(
            approver=a.approver,
            acting_as=acting_as,
            approve=a.approve,
            note=a.note,
            at=at.isoformat(),
        )
        self.state.approvals.append(approval)
        if not a.approve:
            self.state.resolution = None
        return approval

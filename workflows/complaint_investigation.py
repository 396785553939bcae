"""A complaint's investigation (DOMAIN §8.5, §8.6): the handler's findings, the resolution
proposed on them, and its approvals (the chain itself is complaint_approvals.py)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.complaint import ComplaintFindings, Resolution, ResolutionApproval
    from models.status import ComplaintStage
    from workflows.complaint_approvals import ResolutionApprovals
    from workflows.complaint_checks import check_handler, check_stage, refuse
    from workflows.complaint_file import ComplaintFile
    from workflows.complaint_state import COORDINATOR_STEP
    from workflows.recorder import staff_info
    from workflows.signature_guard import SignatureGuard


class ComplaintInvestigation:
    """The findings and the resolution, as their messages bring them."""

    def __init__(self, file: ComplaintFile, guard: SignatureGuard) -> None:
        self.file = file
        self.state = file.state
        self.approvals = ResolutionApprovals(file.state)
        self._guard = guard

    def open_approval_task(self) -> None:
        """The work item of the next approval the resolution waits for."""
        step = self.approvals.next_step()
        if step is not None:
            self.file.rec.open_task(
                self.state.key(f"approve:{step}"),
                "approve_resolution",
                step,
                self.file.due("complaint"),
                level=2 if step == COORDINATOR_STEP else 3,
            )

    # ================================================================== findings

    def check_findings(self, f: ComplaintFindings) -> None:
        check_stage(self.state, self.file.stage, "record findings", (ComplaintStage.INVESTIGATING,))
        check_handler(self.state, f.handler)
        if self.state.findings is not None:
            raise refuse("the findings are already recorded")

    async def record_findings(self, f: ComplaintFindings) -> None:
        await self._guard.require(f)
        self.check_findings(f)  # again: other findings may have come in during the check
        self.state.findings = f
        self.file.rec.event("findings", f.handler, upheld=f.upheld)

    # ================================================================== the resolution

    def check_proposal(self, r: Resolution) -> None:
        self.approvals.check_proposal(self.file.stage, r)

    def propose(self, r: Resolution) -> None:
        self.approvals.propose(r)
        self.file.rec.event(
            "resolution_proposed",
            r.handler,
            kinds=list(r.kinds),
            amount=str(r.amount) if r.amount else None,
        )

    def check_approval(self) -> None:
        self.approvals.check_open(self.file.stage)

    async def approve(self, a: ResolutionApproval) -> None:
        """An approval (or a refusal, which sends the resolution back to the handler)."""
        rec = self.file.rec
        self.check_approval()
        staff = await staff_info(a.approver)
        self.check_approval()
        acting_as = self.approvals.acting_as(staff, a)
        await self._guard.require(a)
        self.check_approval()
        self.approvals.take(a, acting_as, workflow.now())
        rec.close_task(self.state.key(f"approve:{acting_as}"))
        rec.event(
            "resolution_approval", a.approver, acting_as=acting_as, approve=a.approve, note=a.note
        )
        if not a.approve:  # back to the handler
            rec.to(ComplaintStage.INVESTIGATING, a.approver, returned=a.note)
        elif not self.approvals.approved:
            self.open_approval_task()
        await self.file.flush()

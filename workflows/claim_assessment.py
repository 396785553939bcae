"""The loss assessment (定损, DOMAIN §6a) a claim waits for in ASSESSING: an assessor's
figures, signed like a decision, by update or by signal. Deterministic code only."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.claim import Assessment
    from models.records import StaffInfo
    from models.roles import ASSESSOR, missing_role
    from models.rules import AssessedFigures
    from models.status import AssessmentView, ClaimStatus, RefusedDecision
    from workflows.assessment import compare, declared_flags, read_figures
    from workflows.claim_approval import refusal
    from workflows.claim_case import ClaimCase
    from workflows.recorder import staff_info


class AssessmentDesk:
    """Takes or refuses an assessor's figures."""

    def __init__(self, case: ClaimCase) -> None:
        self._case = case

    async def record_assessment(self, a: Assessment) -> ClaimStatus:
        """An assessor's figures (定损, DOMAIN §6a), signed like a decision."""
        reason = self._check_assessment(a)
        if not reason:
            staff = await staff_info(a.assessor)
            reason = self._check_assessment(a) or self._assessor_refusal(a, staff)
        if reason:
            raise refusal(reason, "InvalidAssessment")
        await self._case.guard.require(a)
        reason = self._check_assessment(a)  # another assessment may have come in meanwhile
        if reason:
            raise refusal(reason, "InvalidAssessment")
        self._apply_assessment(a)
        await self._case.flush()
        return self._case.status()

    def validate_assessment(self, a: Assessment) -> None:
        reason = self._check_assessment(a)
        if reason:
            raise refusal(reason, "InvalidAssessment")

    async def assessment_signal(self, a: Assessment) -> None:
        """The same for systems that can only signal: a refused one is recorded and ignored."""
        s = self._case.state
        reason = (
            self._check_assessment(a)
            or self._case.guard.problem(a)
            or self._assessor_refusal(a, await staff_info(a.assessor))
            or await self._case.guard.refusal(a)
            or self._check_assessment(a)
        )
        if reason:
            s.refused.append(
                RefusedDecision(
                    approver=a.assessor,
                    decision="assessment",
                    at=workflow.now(),
                    reason=reason,
                    via="signal",
                )
            )
            self._case.rec.event("assessment_refused", a.assessor, reason=reason, via="signal")
            await self._case.flush()
            return
        self._apply_assessment(a)
        await self._case.flush()

    def _check_assessment(self, a: Assessment) -> str | None:
        """The checks that need no lookup (also the update's validator)."""
        s = self._case.state
        if s.report is None or not s.awaiting_assessment:
            return f"claim {s.claim_id} is {self._case.stage}; it is not waiting for an assessment"
        try:
            read_figures(a.figures, s.report.line, s.report.incident_type)
        except ValueError as exc:
            return str(exc)
        return None

    def _assessor_refusal(self, a: Assessment, staff: StaffInfo | None) -> str | None:
        s = self._case.state
        if staff is None:
            return f"unknown person {a.assessor!r}"
        if not staff.active:
            return f"{a.assessor} is not active"
        refused = missing_role(a.assessor, staff.roles, [ASSESSOR], "an assessment")
        if refused:
            return refused
        if s.recused.get(a.assessor) == "adjusted this claim":
            return f"{a.assessor} adjusted this claim and cannot assess its loss"
        return None

    def _apply_assessment(self, a: Assessment) -> None:
        s = self._case.state
        assert s.report
        values = read_figures(a.figures, s.report.line, s.report.incident_type)
        figures = AssessedFigures(assessor=a.assessor, at=workflow.now(), note=a.note, **values)
        comparisons = compare(s.report, figures)
        s.assessment = AssessmentView(figures=figures, comparisons=comparisons)
        s.flags += declared_flags(comparisons)
        s.awaiting_assessment = False
        self._case.rec.event(
            "assessed",
            a.assessor,
            figures={k: str(v) for k, v in values.items()},
            flagged=[c.figure for c in comparisons if c.flagged],
        )

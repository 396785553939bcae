"""How a claim is reviewed before it is decided (DOMAIN §5, §6, §6a): the investigation the
risk flags call for, the payee on the watch list, excluded causes, the loss assessment, the
adjustment, and the fast track or the approval chain. Deterministic code only."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.rules import RulesActivities
    from models.rules import AdjustmentResult, Flag
    from models.status import ApprovalRecord, ClaimStage, InvestigationView
    from workflows.adjustment import AdjustmentError, adjust
    from workflows.assessed_adjustment import adjust_assessed
    from workflows.claim_approval import ApprovalDesk
    from workflows.claim_case import ClaimCase
    from workflows.exclusions import (
        cause_unknown,
        declared_exclusions,
        findings_exclusions,
        merge,
    )
    from workflows.investigation import plan_investigation, weigh_findings
    from workflows.recorder import SYSTEM, record_call
    from workflows.triage import straight_through, triage


class Review:
    """The review steps of the claim's process, in the order it takes them."""

    def __init__(self, case: ClaimCase, approvals: ApprovalDesk) -> None:
        self._case = case
        self._approvals = approvals

    async def investigate(self) -> None:
        """Open an investigation task per check the risk flags call for; wait for findings."""
        s = self._case.state
        assert s.report and s.rules
        kinds = plan_investigation(s.flags, s.report.line, s.report.incident_type)
        if not kinds:
            return
        d = s.rules.deadlines
        self._case.rec.to(ClaimStage.INVESTIGATING, SYSTEM, tasks=kinds)
        investigator = s.rules.investigators[0] if s.rules.investigators else None
        now = workflow.now()
        for kind in kinds:
            key = f"{s.claim_id}:investigate:{kind}"
            clock = self._case.clocks.start(
                f"investigation:{kind}",
                d.investigation_days,
                owner=investigator or "investigator",
                customer_facing=False,
            )
            due = clock.due_at(now)
            s.investigations[kind] = InvestigationView(
                key=key, kind=kind, investigator=investigator or "-", due_at=due
            )
            self._case.rec.open_task(key, "investigate", "investigator", due, assignee=investigator)
        await self._case.letter_with_notice(
            "investigation",
            "investigation",
            "investigation",
            flags=[f.code for f in s.flags if f.effect != "flag"],
            tasks=[
                {"kind": v.kind, "due_on": self._case.clocks.calendar_date(v.due_at)}
                for v in s.investigations.values()
            ],
            determination_due=self._case.clocks.due_date("determination"),
        )
        await self._case.flush()
        await self._case.park(lambda: all(v.done for v in s.investigations.values()))
        s.investigation = weigh_findings(s.findings)
        self._case.rec.event("investigation_complete", SYSTEM, summary=s.investigation.summary)

    async def triage(self, payee_watched: bool | None = None) -> None:
        """The risk flags (DOMAIN §5), the account the money would go to among them (looked up
        here unless `payee_watched` already says whether it is on the watch list)."""
        s = self._case.state
        assert s.report and s.rules
        if payee_watched is None:
            payee_watched = await self._payee_on_watch_list()
        s.flags = triage(s.report, s.rules, s.received.values())
        if payee_watched and not any(f.code == "R07" for f in s.flags):
            s.flags.append(
                Flag(code="R07", effect="panel", reason="the payee's account is on the watch list")
            )
        if s.flags:
            self._case.rec.event("triage_flags", SYSTEM, flags=[f.code for f in s.flags])

    async def _payee_on_watch_list(self) -> bool:
        """R07 looks at the payee as well as the claimant: the account the money would go to."""
        s = self._case.state
        account = s.account()
        if not s.release or not account:
            return False
        return bool(await record_call(RulesActivities.check_watch_list, [account]))

    def find_exclusions(self) -> None:
        """Excluded causes (责任免除, DOMAIN §6a) declared in the report or found by the
        investigation: each is proposed, with its clause, to an approver who may deny."""
        s = self._case.state
        assert s.report and s.rules
        policy = s.rules.policy
        found = merge(
            declared_exclusions(s.report, policy),
            findings_exclusions(s.report.line, policy, [f.excluded_cause for f in s.findings]),
        )
        new = [hit for hit in found if hit not in s.exclusions]
        if not new:
            return
        s.exclusions += new
        for hit in new:
            s.flags.append(
                Flag(
                    code="X01",
                    effect="flag",
                    reason=f"excluded cause {hit.code} ({hit.source}), clause {hit.clause}",
                )
            )
        self._case.rec.event("exclusions", SYSTEM, exclusions=[h.model_dump() for h in new])

    async def assess(self) -> None:
        """Wait in ASSESSING for an assessor's figures (定损, DOMAIN §6a): the amount of an
        auto, property or disability claim rests on them, never on what was declared."""
        s = self._case.state
        assert s.rules
        self._case.rec.to(ClaimStage.ASSESSING, SYSTEM)
        key = f"{s.claim_id}:assess"
        due = workflow.now() + timedelta(days=s.rules.deadlines.assessment_task_days)
        self._case.rec.open_task(key, "assess", "assessor", due)
        s.awaiting_assessment = True
        await self._case.flush()
        await self._case.park(lambda: not s.awaiting_assessment)
        self._case.rec.close_task(key)

    def panel_grounds(self) -> list[str]:
        s = self._case.state
        grounds = []
        if any(f.code == "R07" for f in s.flags):
            grounds.append("watch_list")
        if s.investigation and s.investigation.disputed:
            grounds.append("inconclusive_investigation")
        return grounds

    async def decide(self, disputed: list[str]) -> None:
        """Adjust, then the fast track or the approval chain, until approved or denied."""
        s = self._case.state
        while True:
            await self._adjust()
            if not disputed and self._fast_track():
                return
            await self._approvals.await_approval(disputed)
            if s.outcome != "returned":
                return

    async def _adjust(self) -> None:
        """Compute the payable amount; after a return, or when the formula lacks a fact, wait
        for an adjuster's `adjust` update."""
        s = self._case.state
        assert s.report and s.rules
        self._case.rec.to(ClaimStage.ADJUSTING, SYSTEM)
        need_adjuster = s.outcome == "returned"
        if not need_adjuster:
            try:
                s.adjustment = self._compute()
            except AdjustmentError as exc:
                need_adjuster = True
                self._case.rec.event("adjustment_needs_adjuster", SYSTEM, reason=str(exc))
        if need_adjuster:
            s.round += 1
            key = f"{s.claim_id}:adjust:{s.round}"
            due = workflow.now() + timedelta(days=s.rules.deadlines.adjust_task_days)
            self._case.rec.open_task(key, "adjust", "L1", due, level=1)
            s.awaiting_adjustment = True
            await self._case.flush()
            await self._case.park(lambda: not s.awaiting_adjustment)
            self._case.rec.close_task(key)
        assert s.adjustment is not None
        if s.adjustment.adjuster != SYSTEM:
            s.recused[s.adjustment.adjuster] = "adjusted this claim"
        s.outcome = None
        s.reserve = s.adjustment.payable
        self._case.rec.event(
            "adjusted",
            s.adjustment.adjuster,
            payable=str(s.adjustment.payable),
            note=s.adjustment.note,
        )

    def _compute(self) -> AdjustmentResult:
        """The product formula over the policy, the invoices and the assessed figures."""
        s = self._case.state
        assert s.report and s.rules
        policy = s.rules.policy
        if not s.release or s.report.line == "medical" or policy is None:
            return adjust(s.report, s.rules)
        return adjust_assessed(
            s.report,
            policy,
            s.rules.usage,
            s.rules.triage.stp_max_amount,
            s.assessment.figures if s.assessment else None,
            s.grade_from_findings(),
            net_limits=s.release,
        )

    def _fast_track(self) -> bool:
        s = self._case.state
        assert s.report and s.rules and s.adjustment
        if s.release and (s.exclusions or cause_unknown(s.report)):
            return False
        if s.adjustment.adjuster != SYSTEM or not straight_through(
            s.report, s.rules, s.flags, s.missing, s.adjustment.payable
        ):
            return False
        s.stp = True
        s.approvals.append(
            ApprovalRecord(
                level=0,
                approver=SYSTEM,
                decision="approve",
                at=workflow.now(),
                note="straight-through processing",
            )
        )
        s.outcome = "approved"
        self._case.rec.to(ClaimStage.APPROVED, SYSTEM, straight_through=True)
        return True

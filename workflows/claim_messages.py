"""The messages a running claim takes (signals, updates, the status query) and the rules for
who may decide what. Deterministic code only (see workflows/claim.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.catalog import MATERIAL_KINDS
    from models.claim import (
        Adjustment,
        Appeal,
        Assessment,
        ConvenePanel,
        Decision,
        Findings,
        MaterialsRequest,
        MaterialsSubmission,
        Withdrawal,
    )
    from models.complaint import ClaimReviewRequest, ComplaintLink
    from models.records import StaffInfo
    from models.roles import (
        ASSESSOR,
        CLAIM_DECIDER_ROLES,
        INVESTIGATOR,
        MANAGER,
        SUPERVISOR,
        missing_role,
    )
    from models.rules import AdjustmentResult, AssessedFigures
    from models.status import (
        CLAIM_ENDED,
        ApprovalRecord,
        ApprovalState,
        AssessmentView,
        ClaimStatus,
        PanelView,
        RefusedDecision,
        VoteView,
    )
    from workflows.adjustment import manual_adjustment
    from workflows.approval import PANEL, level_name
    from workflows.assessment import compare, declared_flags, read_figures
    from workflows.case import NEXT_LEVEL, TOP_PRIORITY
    from workflows.decisions import (
        Vote,
        check_authority,
        check_decision,
        check_panel_members,
        panel_outcome,
    )
    from workflows.exclusions import known_exclusion
    from workflows.investigation import (
        RECOMMENDATIONS,
        Finding,
    )

from workflows.claim_case import NO_WITHDRAWAL, SYSTEM, ClaimCase, _refusal


class ClaimMessages(ClaimCase):
    # ================================================================== messages

    @workflow.signal(name="submit_materials")
    async def submit_materials(self, submission: MaterialsSubmission) -> None:
        if self.report is None:
            return
        self._receive(submission.materials, submission.submitted_by or "claimant")
        # The read model shows what arrived in the workflow task that took it, even when
        # items are still missing and the process does not move on yet.
        if workflow.patched("flush-on-message") and self.rules is not None:
            await self._flush()

    @workflow.update(name="decide")
    async def decide(self, decision: Decision) -> ApprovalState:
        async with self._decision_lock:
            reason = self._check_decision(decision) or await self._check_authority(decision)
            if reason:
                raise _refusal(reason)
            await self._require_signature(decision)
            reason = self._check_decision(decision)  # the chain may have moved on meanwhile
            if reason:
                raise _refusal(reason)
            self._apply_decision(decision)
            await self._flush()
            return self.approval_state()

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        reason = self._check_decision(decision)
        if reason:
            raise _refusal(reason)

    @workflow.signal(name="decision")
    async def decision_signal(self, decision: Decision) -> None:
        async with self._decision_lock:
            reason = (
                self._check_decision(decision)
                or self._signature_problem(decision)
                or await self._check_authority(decision)
                or await self._signature_refusal(decision)
                or self._check_decision(decision)
            )
            if reason:
                self.refused.append(
                    RefusedDecision(
                        approver=decision.approver,
                        decision=decision.decision,
                        at=workflow.now(),
                        reason=reason,
                        via="signal",
                    )
                )
                self._event("decision_refused", decision.approver, reason=reason, via="signal")
                await self._flush()
                return
            self._apply_decision(decision)
            await self._flush()

    @workflow.update(name="convene_panel")
    async def convene_panel(self, req: ConvenePanel) -> ApprovalState:
        async with self._decision_lock:
            reason = self._check_convene(req)
            if reason:
                raise _refusal(reason)
            convener = await self._staff(req.convener)
            staff = {m: await self._staff(m) for m in req.members}
            reason = (
                self._check_convene(req)
                or check_authority(convener, req.convener, PANEL, "approve", self._by_role)
                or check_panel_members(
                    req.members, staff, self._panel_recused(), by_role=self._by_role
                )
            )
            if reason:
                raise _refusal(reason)
            # Since the release the validator takes only signed requests; an unsigned one
            # reaches here only in the replay of a case recorded before panels were signed.
            if self._release_2026_12 and req.signature is not None:
                await self._require_signature(req)
                reason = self._check_convene(req)  # looked at again after the lookup
                if reason:
                    raise _refusal(reason)
            assert self.panel and self.rules
            self.panel.members = list(req.members)
            self.panel.convened_by = req.convener
            self.panel.convened_at = workflow.now()
            self._sync_panel_view()
            self._close_task(self._approval_task_key(PANEL))
            due = workflow.now() + timedelta(days=self.rules.deadlines.approval_task_days)
            for m in req.members:
                self._open_task(
                    f"{self.claim_id}:panel:{self.round}:{m}",
                    "panel_vote",
                    "L2",
                    due,
                    assignee=m,
                    level=2,
                )
            self._event(
                "panel_convened", req.convener, members=req.members, grounds=self.panel.grounds
            )
            await self._flush()
            return self.approval_state()

    @convene_panel.validator
    def _validate_convene(self, req: ConvenePanel) -> None:
        reason = self._check_convene(req)
        if reason:
            raise _refusal(reason)
        self._validate_release_signature(req)

    @workflow.update(name="report_findings")
    async def report_findings(self, findings: Findings) -> ClaimStatus:
        reason = self._check_findings(findings)
        if reason:
            raise _refusal(reason, "InvalidFindings")
        staff = await self._staff(findings.investigator)
        reason = self._check_findings(findings)
        view = self.investigations.get(findings.task)
        if not reason and staff is None:
            reason = f"unknown person {findings.investigator!r}"
        if not reason and staff and self._by_role:
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
            raise _refusal(reason, "InvalidFindings")
        await self._require_signature(findings)
        reason = self._check_findings(findings)  # other findings may have come in meanwhile
        if reason:
            raise _refusal(reason, "InvalidFindings")
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
        self.findings.append(
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
        self.recused[findings.investigator] = "investigated this claim"
        self._close_task(view.key)
        self._stop_clock(f"investigation:{findings.task}")
        self._event(
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
        await self._flush()
        return self.status()

    @report_findings.validator
    def _validate_findings(self, findings: Findings) -> None:
        reason = self._check_findings(findings)
        if reason:
            raise _refusal(reason, "InvalidFindings")

    @workflow.update(name="adjust")
    async def adjust_update(self, adjustment: Adjustment) -> ApprovalState:
        staff = await self._staff(adjustment.adjuster)
        if staff is None:
            raise _refusal(f"unknown person {adjustment.adjuster!r}")
        if self._by_role:
            refused = missing_role(
                adjustment.adjuster, staff.roles, CLAIM_DECIDER_ROLES, "a re-adjustment"
            )
            if refused:
                raise _refusal(refused)
        if staff.level < 1 or not staff.active:
            raise _refusal(f"{adjustment.adjuster} is not an adjuster (L1 or above)")
        if self._release_2026_12:
            await self._require_signature(adjustment)
        if not self.awaiting_adjustment:
            raise _refusal(f"claim {self.claim_id} is not waiting for an adjustment")
        if self.adjustment is None and adjustment.amount is None:
            raise _refusal("this claim has no computed amount: give the amount")
        base = self.adjustment or AdjustmentResult(lines=[], payable=Decimal("0"))
        self.adjustment = manual_adjustment(
            base, adjustment.adjuster, adjustment.note, adjustment.amount
        )
        self.awaiting_adjustment = False
        return self.approval_state()

    @adjust_update.validator
    def _validate_adjust(self, adjustment: Adjustment) -> None:
        if not self.awaiting_adjustment:
            raise _refusal(
                f"claim {self.claim_id} is {self.stage}; it is not waiting for an adjustment"
            )
        self._validate_release_signature(adjustment)

    @workflow.update(name="appeal")
    def appeal_update(self, appeal: Appeal) -> ClaimStatus:
        self.appeal = appeal
        self._event("appeal", appeal.by, reason=appeal.reason)
        return self.status()

    @appeal_update.validator
    def _validate_appeal(self, appeal: Appeal) -> None:
        if self.stage != "DENIAL_NOTIFIED" or "appeal" not in self.clocks:
            raise _refusal(
                f"claim {self.claim_id} is {self.stage}; only a denied claim can be appealed",
                "InvalidAppeal",
            )
        if self.clocks["appeal"].stopped_at is not None or self.appeal is not None:
            raise _refusal(
                f"the appeal window of claim {self.claim_id} has closed", "InvalidAppeal"
            )

    @workflow.update(name="withdraw")
    def withdraw_update(self, withdrawal: Withdrawal) -> ClaimStatus:
        self.withdrawal = withdrawal
        self._event("withdrawal_requested", withdrawal.by, reason=withdrawal.reason)
        return self.status()

    @withdraw_update.validator
    def _validate_withdraw(self, withdrawal: Withdrawal) -> None:
        if self.stage in NO_WITHDRAWAL or self._paying or self.payments:
            raise _refusal(
                f"claim {self.claim_id} is {self.stage}; a claim cannot be withdrawn once "
                "payment has begun or the case has ended",
                "InvalidWithdrawal",
            )
        if self.withdrawal is not None:
            raise _refusal(f"claim {self.claim_id} is already being withdrawn", "InvalidWithdrawal")
        if not self._parked:
            raise _refusal(
                f"claim {self.claim_id} is in the middle of a step; try again in a moment",
                "InvalidWithdrawal",
            )

    @workflow.update(name="record_assessment")
    async def record_assessment(self, a: Assessment) -> ClaimStatus:
        """An assessor's figures (定损, DOMAIN §6a), signed like a decision."""
        reason = self._check_assessment(a)
        if not reason:
            staff = await self._staff(a.assessor)
            reason = self._check_assessment(a) or self._assessor_refusal(a, staff)
        if reason:
            raise _refusal(reason, "InvalidAssessment")
        await self._require_signature(a)
        reason = self._check_assessment(a)  # another assessment may have come in meanwhile
        if reason:
            raise _refusal(reason, "InvalidAssessment")
        self._apply_assessment(a)
        await self._flush()
        return self.status()

    @record_assessment.validator
    def _validate_assessment(self, a: Assessment) -> None:
        reason = self._check_assessment(a)
        if reason:
            raise _refusal(reason, "InvalidAssessment")

    @workflow.signal(name="assessment")
    async def assessment_signal(self, a: Assessment) -> None:
        """The same for systems that can only signal: a refused one is recorded and ignored."""
        reason = (
            self._check_assessment(a)
            or self._signature_problem(a)
            or self._assessor_refusal(a, await self._staff(a.assessor))
            or await self._signature_refusal(a)
            or self._check_assessment(a)
        )
        if reason:
            self.refused.append(
                RefusedDecision(
                    approver=a.assessor,
                    decision="assessment",
                    at=workflow.now(),
                    reason=reason,
                    via="signal",
                )
            )
            self._event("assessment_refused", a.assessor, reason=reason, via="signal")
            await self._flush()
            return
        self._apply_assessment(a)
        await self._flush()

    def _check_assessment(self, a: Assessment) -> str | None:
        """The checks that need no lookup (also the update's validator)."""
        if self.report is None or not self.awaiting_assessment:
            return f"claim {self.claim_id} is {self.stage}; it is not waiting for an assessment"
        try:
            read_figures(a.figures, self.report.line, self.report.incident_type)
        except ValueError as exc:
            return str(exc)
        return None

    def _assessor_refusal(self, a: Assessment, staff: StaffInfo | None) -> str | None:
        if staff is None:
            return f"unknown person {a.assessor!r}"
        if not staff.active:
            return f"{a.assessor} is not active"
        refused = missing_role(a.assessor, staff.roles, [ASSESSOR], "an assessment")
        if refused:
            return refused
        if self.recused.get(a.assessor) == "adjusted this claim":
            return f"{a.assessor} adjusted this claim and cannot assess its loss"
        return None

    def _apply_assessment(self, a: Assessment) -> None:
        assert self.report
        values = read_figures(a.figures, self.report.line, self.report.incident_type)
        figures = AssessedFigures(assessor=a.assessor, at=workflow.now(), note=a.note, **values)
        comparisons = compare(self.report, figures)
        self.assessment = AssessmentView(figures=figures, comparisons=comparisons)
        self.flags += declared_flags(comparisons)
        self.awaiting_assessment = False
        self._event(
            "assessed",
            a.assessor,
            figures={k: str(v) for k, v in values.items()},
            flagged=[c.figure for c in comparisons if c.flagged],
        )

    @workflow.update(name="request_materials")
    async def request_materials(self, req: MaterialsRequest) -> ClaimStatus:
        """A second missing-materials notice, approved by a supervisor with a reason."""
        reason = self._check_materials_request(req)
        if not reason:
            staff = await self._staff(req.by)
            reason = self._check_materials_request(req) or self._supervisor_refusal(staff, req.by)
        if reason:
            raise _refusal(reason, "InvalidMaterialsRequest")
        assert self.report
        added = [k for k in dict.fromkeys(req.kinds) if k not in self.required]
        self.required += added
        self.document_rounds += 1
        self._event("second_notice", req.by, added=added, reason=req.reason)
        first = next((h.at for h in self.history if h.stage == "AWAITING_MATERIALS"), None)
        tz = self._cal.tz
        await self._letter(
            "additional_materials",
            added=added,
            missing=self.missing,
            reason=req.reason,
            approved_by=req.by,
            approved_by_name=staff.name if staff else req.by,
            first_notice_date=(first or workflow.now()).astimezone(tz).date().isoformat(),
        )
        await self._flush()
        return self.status()

    @request_materials.validator
    def _validate_materials_request(self, req: MaterialsRequest) -> None:
        reason = self._check_materials_request(req)
        if reason:
            raise _refusal(reason, "InvalidMaterialsRequest")

    def _check_materials_request(self, req: MaterialsRequest) -> str | None:
        if not self._second_notice_rules:
            return f"claim {self.claim_id} began before second notices were recorded"
        if self.stage not in ("AWAITING_MATERIALS", "SUSPENDED"):
            return (
                f"claim {self.claim_id} is {self.stage}; a second notice is sent only while "
                "the claim waits for materials"
            )
        if not req.reason.strip():
            return "a second missing-materials notice needs the supervisor's reason"
        unknown = [k for k in req.kinds if k not in MATERIAL_KINDS]
        if unknown:
            return f"unknown material kind {unknown[0]!r}"
        if all(k in self.required for k in req.kinds):
            return "these materials were already asked for; the reminders repeat them"
        return None

    def _supervisor_refusal(self, staff: StaffInfo | None, person: str) -> str | None:
        if staff is None:
            return f"unknown person {person!r}"
        if not staff.active:
            return f"{person} is not active"
        refused = missing_role(
            person, staff.roles, (SUPERVISOR, MANAGER), "a second missing-materials notice"
        )
        if refused:
            return refused
        if staff.level < 2:
            return f"{person} has authority L{staff.level}; a second notice needs L2 or above"
        return None

    @workflow.signal(name="complaint_filed")
    async def complaint_filed(self, link: ComplaintLink) -> None:
        """A complaint names this claim; a payment-timeliness one escalates it at once."""
        self.complaints.append(
            {
                "complaint_id": link.complaint_id,
                "category": link.category,
                "received_at": link.received_at.isoformat(),
                "escalated": False,
            }
        )
        self._event(
            "complaint_linked", SYSTEM, complaint_id=link.complaint_id, category=link.category
        )
        if link.escalate and self.stage not in CLAIM_ENDED:
            self.complaints[-1]["escalated"] = True
            self.priority = TOP_PRIORITY
            level = self.pending_level
            role = NEXT_LEVEL.get(level_name(level), "L2") if level and level < 4 else "L3"
            self._open_task(
                f"{self.claim_id}:complaint:{link.complaint_id}",
                "complaint_escalation",
                role,
                workflow.now() + timedelta(days=1),
                level=int(role[1]),
            )
            self._event("escalated_by_complaint", SYSTEM, complaint_id=link.complaint_id, to=role)
        await self._flush()

    @workflow.signal(name="reopen_for_review")
    def reopen_for_review(self, req: ClaimReviewRequest) -> None:
        """A complaint resolution asks for a panel re-review of this claim (DOMAIN §9)."""
        if self.review_request is None:
            self.review_request = req
            self._event("review_requested", f"complaint:{req.complaint_id}", reason=req.reason)

    @workflow.query(name="status")
    def status(self) -> ClaimStatus:
        report = self.report
        now = workflow.now()
        return ClaimStatus(
            claim_id=self.claim_id,
            stage=self.stage,
            # A report that could not be read leaves these empty (stage NOT_ACCEPTED).
            line=report.line if report else "",
            incident_type=report.incident_type if report else "",
            policy_no=report.policy_no if report else "",
            claimant_name=report.claimant.name if report else "",
            claimant_id_no=report.claimant.id_no if report else None,
            claimant_phone=report.claimant.phone if report else None,
            channel=report.channel if report else "",
            reported_at=(report.reported_at if report else None) or workflow.info().start_time,
            amount_claimed=report.amount_claimed if report else Decimal("0"),
            reserve=self.reserve,
            payable_amount=self.adjustment.payable if self.adjustment else None,
            missing_materials=self.missing,
            received_materials=sorted(self.received),
            document_rounds=self.document_rounds,
            pending_approval_level=self.pending_level,
            approval_chain=self.chain,
            approvals=self.approvals,
            refused_decisions=self.refused,
            deadlines=[c.view(now) for c in self.clocks.values()],
            open_tasks=list(self.tasks.values()),
            flags=[*self.flags, *self.calendar_flags.values()],
            straight_through=self.stp,
            adjustment=self.adjustment,
            denial_clause=self.denial_clause,
            denial_reason=self.denial_reason,
            not_accepted_reason=self.not_accepted_reason,
            letters=self.letters,
            payments=self.payments,
            history=self.history,
            rules_version=self.rules.version if self.rules else None,
            investigations=list(self.investigations.values()),
            investigation_summary=self.investigation.summary if self.investigation else None,
            panel=self.panel_view,
            breaches=self.breaches,
            priority=self.priority,
            appealed_at=self.appealed_at,
            appeal_reason=self.appeal.reason if self.appeal else None,
            overturned=self.overturned,
            withdrawn_reason=self.withdrawal.reason if self.withdrawal else None,
            paid_total=self.paid_total,
            complaints=self.complaints,
            exclusions=self.exclusions,
            assessment=self.assessment,
        )

    def approval_state(self) -> ApprovalState:
        return ApprovalState(
            claim_id=self.claim_id,
            stage=self.stage,
            pending_approval_level=self.pending_level,
            approvals=self.approvals,
            payable_amount=self.adjustment.payable if self.adjustment else None,
        )

    # ================================================================== decisions

    @property
    def pending_level(self) -> int | None:
        if self.stage != "PENDING_APPROVAL" or self.outcome is not None:
            return None
        done = len(self.approvals)
        return self.chain[done] if done < len(self.chain) else None

    def _check_decision(self, d: Decision) -> str | None:
        """The checks that need no lookup; also run by the update's validator, so a refused
        update leaves nothing in the history."""
        policy = self.rules.policy if self.rules else None
        return check_decision(
            claim_id=self.claim_id,
            stage=self.stage,
            pending_level=self.pending_level,
            decision=d.decision,
            approver=d.approver,
            approved_by=[a.approver for a in self.approvals],
            recused=self.recused,
            clause=d.clause,
            clause_ids=[c.id for c in policy.clauses] if policy else [],
            amount=d.amount,
            panel=self.panel,
        )

    async def _check_authority(self, d: Decision) -> str | None:
        staff = await self._staff(d.approver)
        again = self._check_decision(d)  # the chain may have moved on during the lookup
        if again:
            return again
        level = self.pending_level
        assert level is not None
        return check_authority(staff, d.approver, level, d.decision, self._by_role)

    def _panel_recused(self) -> dict[str, str]:
        """Who may not sit on the panel: the recused, and anyone who already approved."""
        earlier = {
            a.approver: "already approved this claim"
            for a in self.approvals
            if a.approver not in (SYSTEM, "panel")
        }
        return {**earlier, **self.recused}

    def _check_convene(self, req: ConvenePanel) -> str | None:
        if self.pending_level != PANEL or self.panel is None:
            return f"claim {self.claim_id} is {self.stage} and is not waiting for a panel"
        if self.panel.convened:
            return f"the panel of claim {self.claim_id} is already convened"
        return None

    def _check_findings(self, f: Findings) -> str | None:
        if self.stage != "INVESTIGATING":
            return f"claim {self.claim_id} is {self.stage}; findings are taken in INVESTIGATING"
        view = self.investigations.get(f.task)
        if view is None:
            return f"no investigation task {f.task!r}; open: " + ", ".join(
                k for k, v in self.investigations.items() if not v.done
            )
        if view.done:
            return f"the {f.task} findings are already in"
        if f.recommendation not in RECOMMENDATIONS:
            return f"unknown recommendation {f.recommendation!r}"
        if f.recommendation == "reduce" and f.amount is None:
            return "a reduce recommendation needs the amount"
        if f.excluded_cause is not None and self._exclusion_rules:
            assert self.report and self.rules
            return known_exclusion(self.report.line, self.rules.policy, f.excluded_cause)
        return None

    def _apply_decision(self, d: Decision) -> None:
        level = self.pending_level
        assert level is not None
        if level == PANEL:
            self._apply_vote(d)
            return
        self._close_task(self._approval_task_key(level))
        self.approvals.append(
            ApprovalRecord(
                level=level,
                approver=d.approver,
                decision=d.decision,
                at=workflow.now(),
                note=d.note,
                clause=d.clause,
            )
        )
        self._event(
            "decision",
            d.approver,
            level=level_name(level),
            decision=d.decision,
            note=d.note,
            clause=d.clause,
        )
        if d.decision == "approve":
            if len(self.approvals) == len(self.chain):
                self.outcome = "approved"
            else:
                self._open_approval_task()
        elif d.decision == "reject":
            self.denial_clause = d.clause
            self.denial_reason = d.note
            self.outcome = "denied"
        else:
            self.outcome = "returned"

    def _apply_vote(self, d: Decision) -> None:
        assert self.panel is not None and self.adjustment is not None
        self.panel.votes.append(
            Vote(
                member=d.approver,
                vote=d.decision,
                reason=d.note,
                at=workflow.now(),
                amount=d.amount,
                clause=d.clause,
            )
        )
        self._close_task(f"{self.claim_id}:panel:{self.round}:{d.approver}")
        self._event(
            "panel_vote",
            d.approver,
            vote=d.decision,
            note=d.note,
            clause=d.clause,
            amount=str(d.amount) if d.amount is not None else None,
        )
        self._sync_panel_view()
        if not self.panel.complete:
            return
        result = panel_outcome(self.panel.votes, self.adjustment.payable)
        assert self.panel_view is not None
        self.panel_view.outcome = result.outcome
        self.panel_view.amount = result.amount
        self.panel_view.dissent = [v.member for v in result.dissent]
        self.approvals.append(
            ApprovalRecord(
                level=PANEL,
                approver="panel",
                decision=result.outcome,
                at=workflow.now(),
                note="; ".join(v.reason for v in result.majority),
                clause=result.clause,
            )
        )
        self._event(
            "panel_decided",
            "panel",
            outcome=result.outcome,
            amount=str(result.amount) if result.amount is not None else None,
            dissent=[v.member for v in result.dissent],
        )
        if result.outcome == "reject":
            self.denial_clause = result.clause
            self.denial_reason = "; ".join(v.reason for v in result.majority)
            self.outcome = "denied"
            return
        if result.outcome == "amend" and result.amount != self.adjustment.payable:
            self.adjustment = manual_adjustment(
                self.adjustment, "panel", "amount set by the panel", result.amount
            )
        self.outcome = "approved"

    def _sync_panel_view(self) -> None:
        p = self.panel
        if p is None:
            return
        self.panel_view = PanelView(
            grounds=p.grounds,
            convened_by=p.convened_by,
            convened_at=p.convened_at,
            members=p.members,
            votes=[
                VoteView(
                    member=v.member,
                    vote=v.vote,
                    reason=v.reason,
                    at=v.at,
                    amount=v.amount,
                    clause=v.clause,
                )
                for v in p.votes
            ],
        )

    def _approval_task_key(self, level: int) -> str:
        return f"{self.claim_id}:approve:{self.round}:{level_name(level)}"

    def _open_approval_task(self) -> None:
        assert self.rules
        level = self.pending_level
        if level is None:
            return
        due = workflow.now() + timedelta(days=self.rules.deadlines.approval_task_days)
        if level == PANEL:
            self._open_task(self._approval_task_key(level), "convene_panel", "L3", due, level=3)
        else:
            self._open_task(
                self._approval_task_key(level), "approve", level_name(level), due, level=level
            )

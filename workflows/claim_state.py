"""What one claim holds while it runs: one typed record (the stage, history, work items and
clocks are kept by the case's recorder and clocks beside it). Deterministic code only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from models.catalog import NON_COVERED_MEDICAL, NON_COVERED_MEDICAL_CAUSE
    from models.claim import Appeal, ClaimReport, Material, Withdrawal
    from models.complaint import ClaimReviewRequest
    from models.rules import AdjustmentResult, ExclusionHit, Flag, RulesSnapshot
    from models.status import (
        ApprovalRecord,
        AssessmentView,
        FollowUpView,
        InvestigationView,
        NoticeView,
        PanelView,
        PaymentView,
        RefusedDecision,
        VoteView,
    )
    from workflows.approval import level_name
    from workflows.decisions import Panel
    from workflows.investigation import Finding, InvestigationResult

Outcome = Literal["approved", "denied", "returned"]


def panel_view(p: Panel) -> PanelView:
    """The panel as the status shows it."""
    return PanelView(
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


class LinkedComplaint(BaseModel):
    """A complaint that names this claim (status.complaints shows it as a plain record)."""

    complaint_id: str
    category: str | None
    received_at: str  # ISO time, as the read model has always shown it
    escalated: bool = False


@dataclass
class ClaimState:
    """The claim's facts and decisions so far."""

    # What the December 2026 release changed in how a case runs (workflows/case.py
    # RELEASE_2026_12), decided when the claim starts: authority by role, exclusions, the
    # loss assessment, limits net of earlier claims, the lapse, the second notice, the payee
    # on the watch list, clocks from receipt, the materials pause from delivery, signed
    # panels and re-adjustments. A claim begun before keeps the rules it started with.
    release: bool
    # What the January 2027 release changed (workflows/case.py RELEASE_2027_01), decided when
    # the claim starts: special care, the follow-up call, the notices at each key node.
    release_2027_01: bool = False
    report: ClaimReport | None = None
    invalid_report: str | None = None
    rules: RulesSnapshot | None = None
    claim_id: str = ""
    received: dict[str, Material] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    adjustment: AdjustmentResult | None = None
    chain: list[int] = field(default_factory=list)
    approvals: list[ApprovalRecord] = field(default_factory=list)
    refused: list[RefusedDecision] = field(default_factory=list)
    recused: dict[str, str] = field(default_factory=dict)
    panel: Panel | None = None
    panel_view: PanelView | None = None
    investigations: dict[str, InvestigationView] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    investigation: InvestigationResult | None = None
    exclusions: list[ExclusionHit] = field(default_factory=list)
    assessment: AssessmentView | None = None
    awaiting_assessment: bool = False
    payments: list[PaymentView] = field(default_factory=list)
    stp: bool = False
    reserve: Decimal | None = None
    denial_clause: str | None = None
    denial_reason: str | None = None
    not_accepted_reason: str | None = None
    document_rounds: int = 0
    round: int = 0
    outcome: Outcome | None = None
    awaiting_adjustment: bool = False
    appeal: Appeal | None = None
    appealed_at: datetime | None = None
    overturned: bool = False
    withdrawal: Withdrawal | None = None
    # The process waits for a person or a date, no step in flight: a withdrawal may stop it.
    parked: bool = False
    complaints: list[LinkedComplaint] = field(default_factory=list)
    review_request: ClaimReviewRequest | None = None
    paying: bool = False
    special_care: bool = False
    advisor: str | None = None
    follow_up_task: str | None = None  # the open follow-up work item's key
    follow_up: FollowUpView | None = None
    notices: list[NoticeView] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return [k for k in self.required if k not in self.received]

    @property
    def paid_total(self) -> Decimal:
        return sum((p.amount for p in self.payments), Decimal("0"))

    @property
    def zh(self) -> bool:
        return self.report is None or self.report.claimant.language == "zh-CN"

    def report_account(self) -> str | None:
        """The bank account the report gave for the money, if any: the one `account` will
        read once the report's materials are received (the last of a kind is kept)."""
        if self.report is None or not self.release:
            return None
        accounts = [m.ref for m in self.report.materials if m.kind == "bank_account"]
        return accounts[-1] if accounts else None

    def account(self) -> str:
        account = self.received.get("bank_account")
        return account.ref if account else ""

    def clause_context(self, clause_id: str | None) -> dict[str, str] | None:
        policy = self.rules.policy if self.rules else None
        clause = policy.clause(clause_id) if policy and clause_id else None
        if clause is None:
            return None
        return {
            "id": clause.id,
            "title": clause.title_zh if self.zh else clause.title_en,
            "text": clause.text_zh if self.zh else clause.text_en,
        }

    def approvals_context(self, detailed: bool) -> list[dict[str, Any]]:
        """The approval chain as letters name it; the letter finds each person's name, title
        and own level in the staff table."""
        return [
            {
                "level": "SYSTEM" if a.level == 0 else level_name(a.level),
                "approver": a.approver,
                "at": a.at.isoformat(),
                **({"decision": a.decision, "note": a.note} if detailed else {}),
            }
            for a in self.approvals
        ]

    def decision_details(self) -> dict[str, Any]:
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
            "non_covered_clause": self.clause_context(excluding.id) if excluding else None,
            "coverage_clause": self.clause_context(cover.id) if cover else None,
        }

    def grade_from_findings(self) -> int | None:
        grades = [f.disability_grade for f in self.findings if f.disability_grade is not None]
        return grades[-1] if grades else None

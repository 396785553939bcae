"""What the `status` query returns, and the small records a claim keeps in its state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from models.rules import AdjustmentResult, AssessedFigures, Comparison, ExclusionHit, Flag

STAGES = (
    "REPORTED",
    "ACCEPTED",
    "NOT_ACCEPTED",
    "AWAITING_MATERIALS",
    "SUSPENDED",
    "UNDER_REVIEW",
    "INVESTIGATING",
    "ASSESSING",
    "ADJUSTING",
    "PENDING_APPROVAL",
    "APPROVED",
    "DENIED",
    "RETURNED",
    "PAYING",
    "PAID",
    "DENIAL_NOTIFIED",
    "APPEALED",
    "REOPENED",
    "WITHDRAWN",
    "LAPSED",
    "CLOSED",
)


# Stages a claim does not leave (its workflow may still take a re-review for a while).
CLAIM_ENDED = frozenset({"CLOSED", "NOT_ACCEPTED", "WITHDRAWN", "LAPSED"})


class ApprovalRecord(BaseModel):
    level: int
    approver: str
    decision: str
    at: datetime
    note: str = ""
    clause: str | None = None


class RefusedDecision(BaseModel):
    approver: str
    decision: str
    at: datetime
    reason: str
    via: str


class DeadlineView(BaseModel):
    name: str
    started_at: datetime
    due_at: datetime
    days_left: int
    status: str = "running"
    days: int = 0
    paused_days: int = 0
    pauses: list[dict[str, Any]] = Field(default_factory=list)
    extensions: list[dict[str, Any]] = Field(default_factory=list)
    fired: list[str] = Field(default_factory=list)
    stopped_at: datetime | None = None


class TaskView(BaseModel):
    key: str
    kind: str
    role: str
    assignee: str | None = None
    due_at: datetime | None = None


class StageChange(BaseModel):
    stage: str
    at: datetime


class PaymentView(BaseModel):
    seq: int
    amount: Decimal
    reference: str
    paid_at: datetime


class InvestigationView(BaseModel):
    key: str
    kind: str
    investigator: str
    due_at: datetime
    done: bool = False
    facts: str | None = None
    fraud_suspected: bool | None = None
    recommendation: str | None = None
    amount: Decimal | None = None
    conclusive: bool | None = None
    excluded_cause: str | None = None
    disability_grade: int | None = None


class AssessmentView(BaseModel):
    """The loss assessment (定损) recorded on a claim, and the declared figures beside it."""

    figures: AssessedFigures
    comparisons: list[Comparison] = Field(default_factory=list)


class VoteView(BaseModel):
    member: str
    vote: str
    reason: str
    at: datetime
    amount: Decimal | None = None
    clause: str | None = None


class PanelView(BaseModel):
    grounds: list[str]
    convened_by: str = ""
    convened_at: datetime | None = None
    members: list[str] = Field(default_factory=list)
    votes: list[VoteView] = Field(default_factory=list)
    outcome: str | None = None
    amount: Decimal | None = None
    dissent: list[str] = Field(default_factory=list)


class ClaimStatus(BaseModel):
    claim_id: str
    stage: str
    line: str
    incident_type: str
    policy_no: str
    claimant_name: str
    # shown masked except to staff whose role allows the full view (security/masking.py)
    claimant_id_no: str | None = None
    claimant_phone: str | None = None
    channel: str
    reported_at: datetime
    amount_claimed: Decimal
    reserve: Decimal | None = None
    payable_amount: Decimal | None = None
    missing_materials: list[str] = Field(default_factory=list)
    received_materials: list[str] = Field(default_factory=list)
    document_rounds: int = 0
    pending_approval_level: int | None = None
    approval_chain: list[int] = Field(default_factory=list)
    approvals: list[ApprovalRecord] = Field(default_factory=list)
    refused_decisions: list[RefusedDecision] = Field(default_factory=list)
    deadlines: list[DeadlineView] = Field(default_factory=list)
    open_tasks: list[TaskView] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)
    straight_through: bool = False
    adjustment: AdjustmentResult | None = None
    denial_clause: str | None = None
    denial_reason: str | None = None
    not_accepted_reason: str | None = None
    letters: list[str] = Field(default_factory=list)
    payments: list[PaymentView] = Field(default_factory=list)
    history: list[StageChange] = Field(default_factory=list)
    rules_version: str | None = None
    investigations: list[InvestigationView] = Field(default_factory=list)
    investigation_summary: str | None = None
    panel: PanelView | None = None
    breaches: list[str] = Field(default_factory=list)
    priority: int = 0
    appealed_at: datetime | None = None
    appeal_reason: str | None = None
    overturned: bool = False
    withdrawn_reason: str | None = None
    paid_total: Decimal = Decimal("0")
    complaints: list[dict[str, Any]] = Field(default_factory=list)
    exclusions: list[ExclusionHit] = Field(default_factory=list)
    assessment: AssessmentView | None = None


class ApprovalState(BaseModel):
    """What the `decide` and `adjust` updates return."""

    claim_id: str
    stage: str
    pending_approval_level: int | None
    approvals: list[ApprovalRecord]
    payable_amount: Decimal | None = None

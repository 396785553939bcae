"""What the `status` query returns, and the small records a claim keeps in its state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from models.rules import AdjustmentResult, AssessedFigures, Comparison, ExclusionHit, Flag


class ClaimStage(StrEnum):
    """A claim's stages. The values are the strings the contract, the read model and the
    recorded histories carry (a member compares equal to its string and serialises as it)."""

    REPORTED = "REPORTED"
    ACCEPTED = "ACCEPTED"
    NOT_ACCEPTED = "NOT_ACCEPTED"
    AWAITING_MATERIALS = "AWAITING_MATERIALS"
    SUSPENDED = "SUSPENDED"
    UNDER_REVIEW = "UNDER_REVIEW"
    INVESTIGATING = "INVESTIGATING"
    ASSESSING = "ASSESSING"
    ADJUSTING = "ADJUSTING"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    APPROVED = "APPROVED"
    DENIED = "DENIED"
    RETURNED = "RETURNED"
    PAYING = "PAYING"
    PAID = "PAID"
    DENIAL_NOTIFIED = "DENIAL_NOTIFIED"
    APPEALED = "APPEALED"
    REOPENED = "REOPENED"
    WITHDRAWN = "WITHDRAWN"
    LAPSED = "LAPSED"
    CLOSED = "CLOSED"


class ComplaintStage(StrEnum):
    """A complaint's stages (values as the contract and the read model carry them)."""

    RECEIVED = "RECEIVED"
    REGISTERED = "REGISTERED"
    DECLINED = "DECLINED"
    NOT_ACCEPTED = "NOT_ACCEPTED"  # the report could not be read; nothing was written
    TRIAGED = "TRIAGED"
    INVESTIGATING = "INVESTIGATING"
    RESOLUTION_PROPOSED = "RESOLUTION_PROPOSED"
    DECIDED = "DECIDED"
    EXECUTING = "EXECUTING"
    AWAITING_CLAIM_REVIEW = "AWAITING_CLAIM_REVIEW"
    CALLBACK = "CALLBACK"
    REVIEW_OFFERED = "REVIEW_OFFERED"
    UNDER_REVIEW = "UNDER_REVIEW"
    CLOSED = "CLOSED"


STAGES = tuple(ClaimStage)
COMPLAINT_STAGES = tuple(ComplaintStage)

# Stages a claim does not leave (its workflow may still take a re-review for a while).
CLAIM_ENDED: frozenset[ClaimStage] = frozenset(
    {ClaimStage.CLOSED, ClaimStage.NOT_ACCEPTED, ClaimStage.WITHDRAWN, ClaimStage.LAPSED}
)
# Stages a complaint does not leave.
COMPLAINT_ENDED: frozenset[ComplaintStage] = frozenset(
    {ComplaintStage.CLOSED, ComplaintStage.DECLINED, ComplaintStage.NOT_ACCEPTED}
)
# Stages in which a claim is not yet decided (the advance payment is paid only then).
CLAIM_UNDECIDED: tuple[ClaimStage, ...] = (
    ClaimStage.UNDER_REVIEW,
    ClaimStage.INVESTIGATING,
    ClaimStage.ASSESSING,
    ClaimStage.ADJUSTING,
    ClaimStage.PENDING_APPROVAL,
    ClaimStage.RETURNED,
)
# Stages from which a claim can no longer be withdrawn.
CLAIM_NO_WITHDRAWAL: tuple[ClaimStage, ...] = (
    ClaimStage.PAYING,
    ClaimStage.PAID,
    ClaimStage.CLOSED,
    ClaimStage.NOT_ACCEPTED,
    ClaimStage.WITHDRAWN,
    ClaimStage.LAPSED,
)


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


class FollowUpView(BaseModel):
    """The follow-up call after payment or denial, once recorded."""

    by: str
    at: datetime
    reached: bool
    satisfied: bool | None = None
    note: str = ""


class NoticeView(BaseModel):
    """A notice sent at a key node (DOMAIN §11): how it went, never where to."""

    key: str
    kind: str
    channel: str | None = None
    status: str  # sent, delivered, or failed (staff contact the claimant instead)
    at: datetime | None = None


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
    # Since release 2027-01: special care (a named advisor, top priority, the internal
    # target), the follow-up call and the notices sent. Optional, so the contract only grows.
    special_care: bool = False
    advisor: str | None = None
    follow_up: FollowUpView | None = None
    notices: list[NoticeView] = Field(default_factory=list)


class ApprovalState(BaseModel):
    """What the `decide` and `adjust` updates return."""

    claim_id: str
    stage: str
    pending_approval_level: int | None
    approvals: list[ApprovalRecord]
    payable_amount: Decimal | None = None

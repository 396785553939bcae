"""What a complaint keeps while it runs (ComplaintWorkflow's state), as typed records.

The approvals and the claim re-review are records here; the status shows them as the
JSON objects the contract has always carried (`view()`), keys unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.complaint import (
        CallbackView,
        ClaimReviewOutcome,
        CloseRequest,
        ComplaintFindings,
        ComplaintReport,
        ComplaintRules,
        Execution,
        Resolution,
        ReviewDecision,
        ReviewRequest,
    )
    from models.records import CompensationRecord

COORDINATOR_STEP = "coordinator"
L3_STEP = "L3"


@dataclass
class Approval:
    """One answer to a proposed resolution: the coordinator's, then L3's above the limit."""

    approver: str
    acting_as: str  # COORDINATOR_STEP or L3_STEP
    approve: bool
    note: str
    at: str  # ISO time the approval was taken

    def view(self) -> dict[str, Any]:
        """As `status.resolution_approvals` carries it."""
        return {
            "approver": self.approver,
            "as": self.acting_as,
            "approve": self.approve,
            "note": self.note,
            "at": self.at,
        }


@dataclass
class ClaimReview:
    """The re-review of the complained-about claim that a resolution asked for."""

    claim_id: str | None
    requested_at: datetime
    outcome: str | None = None  # not_possible, or what the claim's panel decided
    answered: bool = False  # the claim sent its outcome back (payable_amount is then shown)
    payable_amount: str | None = None

    def view(self) -> dict[str, Any]:
        """As `status.claim_review` carries it (payable_amount once the claim answered)."""
        shown: dict[str, Any] = {
            "claim_id": self.claim_id,
            "requested_at": self.requested_at,
            "outcome": self.outcome,
        }
        if self.answered:
            shown["payable_amount"] = self.payable_amount
        return shown


@dataclass
class ComplaintState:
    """One complaint's own facts; the stages, clocks, work items and audit events beside
    them are the case's."""

    # Decided once, when the case starts, and kept for its life (the December 2026 release,
    # workflows/case.py RELEASE_2026_12): cases started before keep the rules they started
    # with (README "Changing workflow code").
    # Compensation is paid on its own ledger to the payee captured with the resolution
    # (DOMAIN §6a), not through pay_claim to the complainant's phone.
    compensation_ledger: bool = False
    # Complaint steps come from complaint staff only, by role and level (DOMAIN §1).
    complaint_roles: bool = False
    # A decision states its findings, basis and reasons (DOMAIN §8.6): a resolution
    # without them is refused.
    decision_grounds: bool = False
    # The review may be asked for within 30 days of the complainant receiving the decision
    # (CBIRC 2020 art. 20), counted as the Civil Code counts, callback or not.
    review_from_receipt: bool = False
    complaint_id: str = ""
    report: ComplaintReport | None = None
    invalid_report: str | None = None
    rules: ComplaintRules | None = None
    category: str | None = None
    department: str | None = None
    priority_label: str = "normal"
    priority_reasons: list[str] = field(default_factory=list)
    special_care: bool = False
    advisor: str | None = None
    coordinator: str | None = None
    handler: str | None = None
    decline_reason: str | None = None
    findings: ComplaintFindings | None = None
    resolution: Resolution | None = None
    approvals: list[Approval] = field(default_factory=list)
    executed: Execution | None = None
    claim_review: ClaimReview | None = None
    review_outcome: ClaimReviewOutcome | None = None
    callbacks: list[CallbackView] = field(default_factory=list)
    review_request: ReviewRequest | None = None
    review: ReviewDecision | None = None
    close_request: CloseRequest | None = None
    extensions: int = 0
    decided_at: datetime | None = None
    closed_at: datetime | None = None
    compensation: list[CompensationRecord] = field(default_factory=list)

    @property
    def complainant_key(self) -> str | None:
        c = self.report.complainant if self.report else None
        return (c.id_no or c.phone or c.email) if c else None

    def signature_window(self) -> int | None:
        """Minutes a signed decision's time may be from the case's; None before the rules."""
        return self.rules.signature_window_minutes if self.rules else None

    @property
    def zh(self) -> bool:
        return self.report is None or self.report.complainant.language == "zh-CN"

    def key(self, what: str) -> str:
        """A work item's key on this complaint."""
        return f"{self.complaint_id}:{what}"

    @property
    def callback_done(self) -> bool:
        """The callback is recorded, or the attempts the rules allow all failed."""
        assert self.rules
        reached = any(c.reached and c.satisfied is not None for c in self.callbacks)
        failed = sum(1 for c in self.callbacks if not c.reached)
        return reached or failed >= self.rules.callback_attempts

    def outcome(self, stage: str) -> str | None:
        if stage == "DECLINED":
            return "declined"
        answered = [c for c in self.callbacks if c.reached and c.satisfied is not None]
        if answered:
            return "satisfied" if answered[-1].satisfied else "not_satisfied"
        if self.rules and sum(1 for c in self.callbacks if not c.reached) >= (
            self.rules.callback_attempts
        ):
            return "unreachable"
        return None

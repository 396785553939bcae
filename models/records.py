"""Payloads of the activities: what the workflow asks the database, letters and payments for."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from models.status import ClaimStatus, StageChange


class LoadRulesRequest(BaseModel):
    claim_id: str
    policy_no: str
    line: str
    incident_type: str
    claimant_id_no: str
    occurred_on: date
    # the account the report gave for the money, looked up on the watch list with the rules
    # (since "fewer-steps"; before, triage looked it up on its own)
    payee_account: str | None = None


class StaffInfo(BaseModel):
    staff_id: str
    name: str
    level: int
    roles: list[str]
    active: bool = True


class AuditEventIn(BaseModel):
    seq: int
    kind: str
    actor: str
    at: datetime
    data: dict[str, Any] = Field(default_factory=dict)


class WorkItemIn(BaseModel):
    key: str
    kind: str
    role: str
    level: int = 0
    assignee: str | None = None
    due_at: datetime | None = None
    priority: int = 0
    title: str = ""


class ClaimSync(BaseModel):
    """One write per state change: the projection, new audit events, work items opened/closed."""

    status: ClaimStatus
    version: int = 0
    insured_id_no: str | None = None
    events: list[AuditEventIn] = Field(default_factory=list)
    open_items: list[WorkItemIn] = Field(default_factory=list)
    close_items: list[str] = Field(default_factory=list)
    priority: int = 0


class SyncReceipt(BaseModel):
    """What a projection write recorded, returned into the case's history: with the write a
    local activity, its input is not in the history, so the audit trail reads the stages and
    audit events from here."""

    version: int
    history: list[StageChange] = Field(default_factory=list)
    events: list[AuditEventIn] = Field(default_factory=list)


class LetterRequest(BaseModel):
    letter_id: str
    case_id: str
    kind: str
    language: str = "zh-CN"
    recipient: str
    channel: str
    context: dict[str, Any] = Field(default_factory=dict)


class LetterRecord(BaseModel):
    letter_id: str
    kind: str
    path: str
    sha256: str
    sent_at: datetime
    recipient: str = ""
    channel: str = ""


class PaymentRequest(BaseModel):
    claim_id: str
    seq: int
    amount: Decimal
    payee: str
    account_ref: str
    policy_no: str
    deductible_applied: Decimal = Decimal("0")


class PaymentRecord(BaseModel):
    idempotency_key: str
    seq: int
    amount: Decimal
    reference: str
    paid_at: datetime


class CompensationRequest(BaseModel):
    """Complaint compensation (DOMAIN §6a): its own ledger, keyed complaint:<id>:pay:<seq>,
    to the payee and bank account captured with the resolution; no policy, so it never
    counts against a policy's limits or deductibles."""

    complaint_id: str
    seq: int
    amount: Decimal
    payee: str
    account_ref: str
    bank_name: str | None = None
    claim_id: str | None = None  # the claim complained about, if any: for reference only


class CompensationRecord(CompensationRequest):
    """A compensation payment as the complaint ledger holds it."""

    idempotency_key: str
    reference: str
    paid_at: datetime

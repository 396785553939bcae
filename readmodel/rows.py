"""The read model's rows as the staff commands read them (readmodel/reads.py): frozen
dataclasses with the columns of their tables (models/tables.py) under the same names, so a
command reads `row.due_at` whichever way the row was fetched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class ClaimRecord:
    """A row of `claims` (ClaimRow)."""

    claim_id: str
    stage: str
    line: str
    incident_type: str
    policy_no: str
    insured_id_no: str | None
    claimant_name: str
    channel: str
    reported_at: datetime
    occurred_at: datetime | None
    amount_claimed: Decimal
    payable_amount: Decimal | None
    pending_level: int | None
    straight_through: bool
    updated_at: datetime
    closed_at: datetime | None
    priority: int
    history_len: int
    sync_version: int
    run_id: str | None
    status: dict[str, Any]


@dataclass(frozen=True)
class WorkItem:
    """A row of `work_items` (WorkItemRow)."""

    key: str
    case_id: str
    kind: str
    role: str
    level: int
    assignee: str | None
    title: str
    priority: int
    due_at: datetime | None
    state: str
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class Letter:
    """A row of `letters` (LetterRow)."""

    letter_id: str
    case_id: str
    kind: str
    language: str
    channel: str
    recipient: str
    sent_at: datetime
    sha256: str
    path: str
    body: str


@dataclass(frozen=True)
class StaffMember:
    """A row of `staff` (StaffRow)."""

    staff_id: str
    name: str
    level: int
    roles: list[str]
    active: bool
    signing_key: str | None
    key_set_at: datetime | None
    algorithm: str | None
    public_key: str | None


@dataclass(frozen=True)
class ComplaintRecord:
    """A row of `complaints` (ComplaintRow)."""

    complaint_id: str
    stage: str
    channel: str
    category: str | None
    department: str | None
    priority: str
    claim_id: str | None
    policy_no: str | None
    complainant_name: str
    complainant_key: str | None
    complainants: int
    handler: str | None
    received_at: datetime
    decided_at: datetime | None
    closed_at: datetime | None
    upheld: bool | None
    satisfied: bool | None
    extensions: int
    on_time: bool | None
    outcome: str | None
    updated_at: datetime
    history_len: int
    sync_version: int
    status: dict[str, Any]

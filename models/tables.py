"""The read model (sqlmodel tables). Only activities and the CLI touch these; they never
cross into a workflow (table classes skip validation)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, Numeric, Table, UniqueConstraint, text
from sqlmodel import Field, SQLModel

MONEY = Numeric(16, 2)


class PolicyRow(SQLModel, table=True):
    __tablename__ = "policies"

    policy_no: str = Field(primary_key=True)
    line: str = Field(index=True)
    product_code: str
    insured_name: str
    insured_id_no: str = Field(index=True)
    start_date: date
    end_date: date
    status: str = "in_force"
    terms: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class PolicyStatusRow(SQLModel, table=True):
    """A policy's status history (DOMAIN §2.2): issued, lapsed, reinstated, cancelled,
    surrendered, each effective from a day (Beijing time). Coverage is judged by the status on
    the day of the incident; `PolicyRow.status` is only the status today. A policy without
    rows is as its `status` says from its start date. Demo data's `issued` rows are seq 0;
    `claims policy ...` appends from seq 1."""

    __tablename__ = "policy_status"

    policy_no: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    event: str
    effective_on: date
    reason: str = ""
    recorded_at: datetime
    recorded_by: str


class ClauseRow(SQLModel, table=True):
    __tablename__ = "clauses"

    product_code: str = Field(primary_key=True)
    clause_id: str = Field(primary_key=True)
    kind: str
    title_zh: str
    title_en: str
    text_zh: str
    text_en: str
    # The exclusion codes (DOMAIN §6a) this clause states; empty for other clauses.
    causes: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class StaffRow(SQLModel, table=True):
    __tablename__ = "staff"

    staff_id: str = Field(primary_key=True)
    name: str
    level: int = 0
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    # The key derived from the person's signing secret, never the secret (signing.key_record).
    signing_key: str | None = None
    key_set_at: datetime | None = None
    # Since release 2026-12: the person's public key (PEM) and its algorithm (`ed25519`). The
    # private key stays with the person; `signing_key` is kept for cases begun under HMAC.
    algorithm: str | None = None
    public_key: str | None = None


class WatchListRow(SQLModel, table=True):
    __tablename__ = "watch_list"

    id_no: str = Field(primary_key=True)
    reason: str = ""


class ClaimRow(SQLModel, table=True):
    __tablename__ = "claims"
    # `claims claim list` filters then takes the newest: each filter's index ends in the time.
    __table_args__ = (
        Index("ix_claims_stage_reported", "stage", "reported_at"),
        Index("ix_claims_line_reported", "line", "reported_at"),
        Index("ix_claims_policy_reported", "policy_no", "reported_at"),
    )

    claim_id: str = Field(primary_key=True)
    stage: str = Field(index=True)
    line: str = Field(index=True)
    incident_type: str
    policy_no: str = Field(index=True)
    insured_id_no: str | None = Field(default=None, index=True)
    claimant_name: str
    channel: str
    reported_at: datetime = Field(index=True)
    occurred_at: datetime | None = None
    amount_claimed: Decimal = Field(sa_type=MONEY)
    payable_amount: Decimal | None = Field(default=None, sa_type=MONEY)
    pending_level: int | None = None
    straight_through: bool = False
    updated_at: datetime
    closed_at: datetime | None = None
    priority: int = Field(default=0, index=True)
    history_len: int = 0
    sync_version: int = 0
    # The workflow run that owns these records: a rule lookup repeated within that run (a local
    # activity runs again when its workflow task is lost) is not a second report of the claim.
    run_id: str | None = None
    status: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class WorkItemRow(SQLModel, table=True):
    __tablename__ = "work_items"
    # `claims tasks` reads open items in queue order (priority first, then soonest due) and
    # stops at its limit: the second index gives that order without sorting every open item.
    __table_args__ = (
        Index("ix_work_items_open_due", "state", "due_at"),
        Index("ix_work_items_queue", "state", text("priority DESC"), "due_at"),
    )

    key: str = Field(primary_key=True)
    case_id: str = Field(index=True)
    kind: str
    role: str
    level: int = 0
    assignee: str | None = Field(default=None, index=True)
    title: str = ""
    priority: int = 0
    due_at: datetime | None = None
    state: str = "open"
    opened_at: datetime
    closed_at: datetime | None = None


class ClaimRecusalRow(SQLModel, table=True):
    """Who may not decide a claim now: its adjuster and those who approved in the current
    chain. Kept by the claim's projection so the work queue can leave those approvals out with
    an index lookup instead of reading every claim's status."""

    __tablename__ = "claim_recusals"
    # The queue's lookup, person first. With statistics (ANALYZE), SQLite plans the lookup by the
    # key (case first) with a Bloom filter built by reading the whole table on every `claims
    # tasks --for`; by this index it probes only for the items it reads.
    __table_args__ = (Index("ix_claim_recusals_staff", "staff_id", "case_id"),)

    case_id: str = Field(primary_key=True)
    staff_id: str = Field(primary_key=True)


class LetterRow(SQLModel, table=True):
    __tablename__ = "letters"

    letter_id: str = Field(primary_key=True)
    case_id: str = Field(index=True)
    kind: str
    language: str
    channel: str
    recipient: str
    sent_at: datetime
    sha256: str
    path: str
    body: str


class PaymentRow(SQLModel, table=True):
    __tablename__ = "payments"

    idempotency_key: str = Field(primary_key=True)
    claim_id: str = Field(index=True)
    seq: int
    policy_no: str = Field(index=True)
    amount: Decimal = Field(sa_type=MONEY)
    deductible_applied: Decimal = Field(default=Decimal("0"), sa_type=MONEY)
    payee: str
    account_ref: str
    reference: str
    paid_at: datetime


class ComplaintPaymentRow(SQLModel, table=True):
    """The complaint compensation ledger (DOMAIN §6a): apart from claim payments, with no
    policy number, so nothing here counts against a policy's limits or deductibles."""

    __tablename__ = "complaint_payments"

    idempotency_key: str = Field(primary_key=True)  # complaint:<complaint id>:pay:<seq>
    complaint_id: str = Field(index=True)
    seq: int
    claim_id: str | None = None  # the claim complained about, for reference only
    amount: Decimal = Field(sa_type=MONEY)
    payee: str
    account_ref: str
    bank_name: str | None = None
    reference: str
    paid_at: datetime = Field(index=True)


class AuditEventRow(SQLModel, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_audit_case_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(index=True)
    seq: int
    kind: str = Field(index=True)
    actor: str
    at: datetime
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ComplaintRow(SQLModel, table=True):
    __tablename__ = "complaints"

    complaint_id: str = Field(primary_key=True)
    stage: str = Field(index=True)
    channel: str
    category: str | None = Field(default=None, index=True)
    department: str | None = None
    priority: str = Field(default="normal", index=True)
    claim_id: str | None = Field(default=None, index=True)
    policy_no: str | None = None
    complainant_name: str
    complainant_key: str | None = Field(default=None, index=True)
    complainants: int = 1
    handler: str | None = None
    received_at: datetime = Field(index=True)
    decided_at: datetime | None = None
    closed_at: datetime | None = None
    upheld: bool | None = None
    satisfied: bool | None = None
    extensions: int = 0
    on_time: bool | None = None
    outcome: str | None = None
    updated_at: datetime
    history_len: int = 0
    sync_version: int = 0
    status: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a row class, for plain statements (INSERT ... ON CONFLICT, UPDATE
    ... WHERE) where the ORM's load-then-flush would cost a round trip per row."""
    table = getattr(model, "__table__", None)
    assert isinstance(table, Table), model
    return table

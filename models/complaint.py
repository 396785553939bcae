"""The complaint report (ComplaintWorkflow's input), its messages and its status."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from models.records import AuditEventIn, CompensationRecord, WorkItemIn
from models.rules import Flag
from models.signature import Signed
from models.status import ComplaintStage, DeadlineView, StageChange, TaskView
from models.validation import (
    CASE_ID_PATTERN,
    Closed,
    Day,
    LongText,
    Money,
    Name,
    When,
    hardened,
    in_future,
    safe_case_id,
)

ComplaintChannel = Literal[
    "phone", "email", "wechat", "app", "web", "branch", "letter", "agent", "regulator"
]
Category = Literal[
    "claim_decision",
    "materials",
    "payment_timeliness",
    "service_attitude",
    "amount_dispute",
    "other",
]
CareReason = Literal["elderly", "seriously_ill", "disabled"]
ResolutionKind = Literal["apology", "explanation", "re_review", "payment", "process_fix"]

COMPLAINT_STAGES = tuple(ComplaintStage)  # models/status.py


class Complainant(Closed):
    name: Name = Field(min_length=1)
    id_no: Name | None = None
    phone: Name | None = None
    email: Name | None = None
    birth_date: Day | None = None
    special_care: bool | CareReason = False
    language: Literal["zh-CN", "en"] = "zh-CN"


class ComplaintReport(BaseModel):
    """What a complainant brings (投诉受理). JSON, snake_case; the contract of DESIGN.md."""

    model_config = ConfigDict(extra="forbid")

    complaint_id: str | None = Field(default=None, pattern=CASE_ID_PATTERN)
    channel: ComplaintChannel
    complainant: Complainant
    policy_no: Name | None = None
    claim_id: Name | None = None
    category: Category | None = None
    matter: LongText = Field(min_length=1)
    remedy_sought: LongText = ""
    received_at: When | None = None
    complainants: list[Complainant] = Field(default_factory=list, max_length=1000)
    media: bool = False
    medical_emergency: bool = False

    @field_validator("claim_id")
    @classmethod
    def _claim_id(cls, claim_id: str | None, info: ValidationInfo) -> str | None:
        if claim_id is not None and hardened(info) and not safe_case_id(claim_id):
            raise ValueError(f"a claim id matches {CASE_ID_PATTERN}")
        return claim_id

    @model_validator(mode="after")
    def _contactable(self) -> ComplaintReport:
        c = self.complainant
        if not (c.phone or c.email or self.channel in ("letter", "regulator", "branch")):
            raise ValueError("a complainant needs a phone or an email to be answered")
        return self


def impossible_dates(report: ComplaintReport, now: datetime) -> str | None:
    """A date in the report that cannot have happened yet, as one line; None when all are fine."""
    if in_future(report.received_at, now):
        return "received_at is in the future"
    if in_future(report.complainant.birth_date, now):
        return "complainant.birth_date is in the future"
    for n, person in enumerate(report.complainants):
        if in_future(person.birth_date, now):
            return f"complainants.{n}.birth_date is in the future"
    return None


class Assignment(BaseModel):
    """Update `assign`: the coordinator sets the category (optional) and the handler."""

    coordinator: Name
    handler: Name
    category: Category | None = None
    note: LongText = ""


class ComplaintFindings(Signed):
    """Update `record_findings`: the handler's facts (调查与事实确认)."""

    signer_field: ClassVar[str] = "handler"

    handler: Name
    findings: LongText = Field(min_length=1)
    upheld: bool


class Payee(BaseModel):
    """Who a resolution's compensation is paid to, captured with the resolution: a payment
    to a bank account, never to the complainant's phone (DOMAIN §6a)."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(min_length=1)
    account_ref: Name = Field(min_length=1)  # the bank account number
    bank_name: Name | None = None


class Resolution(BaseModel):
    """Update `propose_resolution`. A resolution that pays money names its payee."""

    handler: Name
    kinds: list[ResolutionKind] = Field(min_length=1)
    description: LongText = Field(min_length=1)
    basis: LongText = ""
    reasons: LongText = ""
    amount: Money | None = None
    payee: Payee | None = None

    @field_validator("amount")
    @classmethod
    def _positive(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and v <= 0:
            raise ValueError("a payment must be positive")
        return v

    @model_validator(mode="after")
    def _payment_has_amount(self) -> Resolution:
        if ("payment" in self.kinds) != (self.amount is not None):
            raise ValueError("a payment resolution needs an amount, and only it has one")
        return self

    def missing_grounds(self, findings: str) -> str | None:
        """The decision letter states findings, basis and reasons (DOMAIN §8.6); one line
        naming what is blank, or None. The fields keep their defaults so that resolutions
        already in histories still decode; the workflow refuses a blank one."""
        blank = [
            name
            for name, text in (
                ("findings", findings),
                ("basis", self.basis),
                ("reasons", self.reasons),
            )
            if not text.strip()
        ]
        if not blank:
            return None
        return (
            "a complaint decision states its findings, basis and reasons: "
            + " and ".join(blank)
            + (" is" if len(blank) == 1 else " are")
            + " missing"
        )


class ResolutionApproval(Signed):
    """Update `approve_resolution`: the coordinator, then L3 above the handler's limit."""

    approver: Name
    approve: bool = True
    note: LongText = ""


class ClockChange(BaseModel):
    """Updates `extend`, `pause`, `resume`, `new_facts` on the complaint clock."""

    by: Name
    reason: LongText = ""
    days: int | None = None  # extend: the new total (30, then 60)


class Execution(BaseModel):
    """Update `execute`: the resolution has been carried out."""

    by: Name
    note: LongText = ""


class Callback(BaseModel):
    """Update `callback`: one satisfaction callback attempt (满意度回访)."""

    by: Name
    reached: bool
    satisfied: bool | None = None
    note: LongText = ""


class ReviewRequest(BaseModel):
    """Update `request_review`: a dissatisfied complainant asks the superior office."""

    by: Name = "complainant"
    reason: LongText = ""


class ReviewDecision(Signed):
    """Update `review_decision`: the superior office (L3) decides the review."""

    signer_field: ClassVar[str] = "reviewer"

    reviewer: Name
    upheld: bool
    findings: LongText = Field(min_length=1)


class CloseRequest(BaseModel):
    by: Name
    note: LongText = ""


class ComplaintLink(BaseModel):
    """Signal `complaint_filed` to a claim, and what the claim keeps of it."""

    complaint_id: str
    category: str | None = None
    received_at: datetime
    escalate: bool = False


class ClaimReviewRequest(BaseModel):
    """Signal `reopen_for_review` to a claim: a complaint resolution asks for a re-review."""

    complaint_id: str
    reason: str = ""


class ClaimReviewOutcome(BaseModel):
    """Signal `claim_review_outcome` back to the complaint."""

    claim_id: str
    outcome: str  # upheld (decision stands) / overturned / amended
    payable_amount: Decimal | None = None


class CallbackView(BaseModel):
    at: datetime
    by: str
    reached: bool
    satisfied: bool | None = None
    note: str = ""


class ComplaintStatus(BaseModel):
    complaint_id: str
    stage: str
    channel: str
    complainant_name: str
    # shown masked except to staff whose role allows the full view (security/masking.py)
    complainant_id_no: str | None = None
    complainant_phone: str | None = None
    complainants: int = 1
    policy_no: str | None = None
    claim_id: str | None = None
    category: str | None = None
    department: str | None = None
    priority: str = "normal"
    priority_reasons: list[str] = Field(default_factory=list)
    special_care: bool = False
    advisor: str | None = None
    handler: str | None = None
    coordinator: str | None = None
    received_at: datetime
    matter: str
    remedy_sought: str = ""
    decline_reason: str | None = None
    findings: str | None = None
    upheld: bool | None = None
    resolution: dict[str, Any] | None = None
    resolution_approvals: list[dict[str, Any]] = Field(default_factory=list)
    executed: bool = False
    # compensation paid on the complaint ledger (complaint:<id>:pay:<seq>), never a claim's
    compensation: list[CompensationRecord] = Field(default_factory=list)
    claim_review: dict[str, Any] | None = None
    callbacks: list[CallbackView] = Field(default_factory=list)
    satisfied: bool | None = None
    review: dict[str, Any] | None = None
    extensions: int = 0
    deadlines: list[DeadlineView] = Field(default_factory=list)
    open_tasks: list[TaskView] = Field(default_factory=list)
    letters: list[str] = Field(default_factory=list)
    history: list[StageChange] = Field(default_factory=list)
    breaches: list[str] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)  # e.g. C01: a deadline the calendar lacks
    decided_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: str | None = None
    repeat: bool = False


class ComplaintRulesRequest(BaseModel):
    complaint_id: str
    policy_no: str | None = None
    claim_id: str | None = None
    complainant_key: str | None = None
    received_on: date


class ComplaintRules(BaseModel):
    """Loaded once when a complaint is registered; the complaint keeps it for its life."""

    version: str
    utc_offset_hours: int = 8
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)
    calendar_years: list[int] = Field(default_factory=list)  # none kept: years with a holiday
    # Days after sending a letter by this channel is taken to reach the complainant, unless
    # its delivery is recorded; other channels reach them when sent (DeadlineRules).
    presumed_delivery_days: dict[str, int] = Field(default_factory=lambda: {"post": 3})
    decision_days: int = 15
    first_extension_days: int = 30
    second_extension_days: int = 60
    special_care_days: int = 7
    review_request_days: int = 30
    review_decision_days: int = 30
    callback_attempts: int = 3
    group_size: int = 20
    elderly_age: int = 65
    handler_limit: Decimal = Decimal("5000")
    departments: dict[str, str] = Field(default_factory=dict)
    policy_known: bool | None = None
    claim_known: bool | None = None
    claim_people: dict[str, str] = Field(default_factory=dict)  # staff id -> role on the claim
    repeat_count: int = 0  # earlier complaints by the same complainant in 12 months
    advisors: list[str] = Field(default_factory=list)
    signature_window_minutes: int = 10  # models.catalog.SIGNATURE_WINDOW_MINUTES


class ComplaintSync(BaseModel):
    status: ComplaintStatus
    version: int = 0
    complainant_key: str | None = None
    events: list[AuditEventIn] = Field(default_factory=list)
    open_items: list[WorkItemIn] = Field(default_factory=list)
    close_items: list[str] = Field(default_factory=list)
    priority: int = 0

"""The rules a case runs under, copied into the workflow at its start, and the results of
the pure rule functions (coverage, triage, adjustment)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, Field

ClauseKind = Literal["coverage", "exclusion", "waiting_period", "general"]


class Clause(BaseModel):
    id: str
    kind: ClauseKind
    title_zh: str
    title_en: str
    text_zh: str
    text_en: str
    causes: list[str] = Field(default_factory=list)  # exclusion codes it states (DOMAIN §6a)


PolicyEvent = Literal["issued", "lapsed", "reinstated", "cancelled", "surrendered"]
PolicyStatus = Literal["in_force", "lapsed", "cancelled", "surrendered"]

# The status a policy is in from the day a change takes effect.
STATUS_AFTER = MappingProxyType(
    {
        "issued": "in_force",
        "reinstated": "in_force",
        "lapsed": "lapsed",
        "cancelled": "cancelled",
        "surrendered": "surrendered",
    }
)


class PolicyStatusChange(BaseModel):
    """One dated change of a policy's status (DOMAIN §2.2). It takes effect from the first
    minute of `effective_on` in Beijing time: a policy cancelled on day D does not cover an
    incident on D."""

    event: PolicyEvent
    effective_on: date
    reason: str = ""


class PolicyTerms(BaseModel):
    policy_no: str
    line: str
    product_code: str
    insured_name: str
    insured_id_no: str
    start_date: date
    end_date: date
    status: PolicyStatus = "in_force"  # today's status; coverage reads `status_history`
    sum_insured: Decimal
    deductible: Decimal = Decimal("0")
    ratio: Decimal = Decimal("1")
    annual_limit: Decimal | None = None
    waiting_period_days: int = 0
    vehicle_value: Decimal | None = None
    value_at_risk: Decimal | None = None
    accident_medical_deductible: Decimal = Decimal("100")
    accident_medical_ratio: Decimal = Decimal("1")
    accident_medical_share: Decimal = Decimal("0.1")
    clauses: list[Clause] = Field(default_factory=list)
    # Oldest first (effective date, then the order recorded). Snapshots recorded before the
    # history was kept have none: such a policy is as `status` says from its start date.
    status_history: list[PolicyStatusChange] = Field(default_factory=list)

    def clause(self, clause_id: str) -> Clause | None:
        return next((c for c in self.clauses if c.id == clause_id), None)

    def clause_of_kind(self, kind: str) -> Clause | None:
        return next((c for c in self.clauses if c.kind == kind), None)

    def exclusion_clause(self, cause: str) -> Clause | None:
        return next((c for c in self.clauses if cause in c.causes), None)


def status_on(policy: PolicyTerms, day: date) -> tuple[bool, PolicyStatusChange | None]:
    """Whether `policy` is in force on `day`, and the change that put it in that status (None
    when no recorded change had taken effect by then).

    The last change effective on or before `day` decides. A policy without a history is as its
    `status` says. Before its first recorded change a policy is not in force if that change
    is an issue or a reinstatement, and in force if it is a lapse, cancellation or surrender."""
    history = sorted(policy.status_history, key=lambda c: c.effective_on)  # stable: seq order
    if not history:
        return policy.status == "in_force", None
    current = None
    for change in history:
        if change.effective_on > day:
            break
        current = change
    if current is None:
        return STATUS_AFTER[history[0].event] != "in_force", None
    return STATUS_AFTER[current.event] == "in_force", current


class Usage(BaseModel):
    """What the policy has already used this policy year (for limits and deductibles)."""

    paid_this_year: Decimal = Decimal("0")
    deductible_used: Decimal = Decimal("0")


class TriageRules(BaseModel):
    new_policy_days: int = 90
    amount_share_of_sum_insured: Decimal = Decimal("0.5")
    amount_absolute: Decimal = Decimal("100000")
    claims_in_12_months: int = 3
    late_report_days: int = 30
    stp_max_amount: Decimal = Decimal("5000")


class DeadlineRules(BaseModel):
    profile: str = "CN"
    utc_offset_hours: int = 8
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)
    # The years the holidays cover, and where they came from (the chinesecalendar package);
    # snapshots taken before these were kept have none: the years with a holiday listed.
    calendar_years: list[int] = Field(default_factory=list)
    calendar_source: str = ""
    # When a notice sent by this channel is taken to have reached its addressee, in days after
    # sending, unless its delivery is recorded; channels not listed (email, SMS, the
    # self-service page) reach them when sent.
    presumed_delivery_days: dict[str, int] = Field(default_factory=lambda: {"post": 3})
    determination_days: int = 30
    advance_payment_days: int = 60
    investigation_days: int = 10
    appeal_review_days: int = 30
    reopen_window_days: int = 90
    payment_days: int = 10
    denial_notice_days: int = 3
    appeal_days: int = 30
    materials_reminder_days: list[int] = Field(default_factory=lambda: [15, 30])
    materials_suspension_days: int = 60
    approval_task_days: int = 3
    adjust_task_days: int = 3
    assessment_task_days: int = 5
    limitation_years: int = 2  # Insurance Law art. 26, non-life, accident and medical


class RulesSnapshot(BaseModel):
    """Loaded once by an activity at the start of a case; the case keeps it for its life."""

    version: str
    policy: PolicyTerms | None = None
    common_materials: list[str]
    checklist: list[str]
    held_materials: list[str] = Field(default_factory=list)
    authority_limits: dict[int, Decimal]
    triage: TriageRules = Field(default_factory=TriageRules)
    deadlines: DeadlineRules = Field(default_factory=DeadlineRules)
    usage: Usage = Field(default_factory=Usage)
    prior_claims_12m: int = 0
    watch_list_hit: bool = False
    # whether the request's payee account is on the watch list; None when it named none
    payee_watched: bool | None = None
    investigators: list[str] = Field(default_factory=list)
    previous_stage: str | None = None  # the claim id already has records from an earlier run
    signature_window_minutes: int = 10  # models.catalog.SIGNATURE_WINDOW_MINUTES

    @property
    def required_materials(self) -> list[str]:
        held = set(self.held_materials)
        wanted = [*self.common_materials, *self.checklist]
        return [kind for kind in dict.fromkeys(wanted) if kind not in held]


class CoverageResult(BaseModel):
    accepted: bool
    reason_code: str | None = None
    reason_zh: str | None = None
    reason_en: str | None = None
    clause_id: str | None = None


class Flag(BaseModel):
    code: str
    effect: Literal["investigate", "flag", "panel"]
    reason: str


ExclusionSource = Literal["declared", "findings"]  # the claimant's report, or findings


class ExclusionHit(BaseModel):
    """An excluded cause (责任免除) found on a claim, with the product clause that states it."""

    code: str
    clause: str
    source: ExclusionSource


class AssessedFigures(BaseModel):
    """What an assessor (定损员) recorded: the figures an amount may be computed from."""

    assessor: str
    at: datetime
    note: str = ""
    repair_cost: Decimal | None = None
    total_loss: bool | None = None
    salvage_value: Decimal | None = None
    value_at_risk: Decimal | None = None
    actual_value: Decimal | None = None
    loss_amount: Decimal | None = None
    depreciation_rate: Decimal | None = None
    disability_grade: int | None = None


class Comparison(BaseModel):
    """A figure the claimant declared beside the one the insurer assessed."""

    figure: str
    declared: Decimal
    assessed: Decimal
    flagged: bool = False


class AdjustmentLine(BaseModel):
    """One step of the computation, printed in the decision letter."""

    label_zh: str
    label_en: str
    amount: Decimal
    formula: str = ""


class AdjustmentResult(BaseModel):
    lines: list[AdjustmentLine]
    payable: Decimal
    deductible_applied: Decimal = Decimal("0")
    adjuster: str = "system"
    note: str = ""

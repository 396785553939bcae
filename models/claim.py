"""The claim report (the workflow's input) and the messages a running claim accepts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from models.catalog import CLAIM_CHANNELS, INCIDENT_TYPES, ITEM_CATEGORIES, MATERIAL_KINDS
from models.notices import NoticeReceipt, NoticeRequest
from models.records import ClaimSync, LetterRecord, LetterRequest, SyncReceipt
from models.signature import Signed
from models.validation import (
    CASE_ID_PATTERN,
    MAX_AMOUNT,
    Closed,
    Day,
    LongText,
    Money,
    Name,
    OneLine,
    PlainDecimal,
    SignedAmount,
    When,
    check_details,
    hardened,
    in_future,
    plain_number,
    strict,
)

Line = Literal["medical", "auto", "property", "accident"]
Channel = Literal["phone", "app", "web", "wechat", "branch", "agent", "api"]
Language = Literal["zh-CN", "en"]

assert set(CLAIM_CHANNELS) == set(get_args(Channel))


# Facts in `details` the formulas read: each must be a finite number in range.
NUMERIC_DETAILS = (
    "vehicle_value",
    "repair_estimate",
    "salvage_value",
    "value_at_risk",
    "age_years",
    "useful_life_years",
)


def _detail_number(key: str, value: Any, hardened: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise ValueError(f"details.{key} must be a decimal string, not {type(value).__name__}")
    if hardened and isinstance(value, str):
        plain_number(value.strip(), f"details.{key}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"details.{key} is not a number") from None
    if not number.is_finite() or not 0 <= number < MAX_AMOUNT:
        raise ValueError(f"details.{key} must be a number from 0 to below {MAX_AMOUNT:,}")


def _check_details(details: dict[str, Any], hardened: bool = False) -> None:
    if hardened:
        check_details(details)
    for key in NUMERIC_DETAILS:
        if details.get(key) is not None:
            _detail_number(key, details[key], hardened)
    # A grade outside 1-10 is the adjuster's to settle (AdjustmentError); one that is not a
    # whole number would stop triage and the formula, so it is refused here. "²" is a digit
    # to Python but not to int(): only 0-9 are taken.
    grade = details.get("disability_grade")
    if grade is not None:
        text = str(grade).strip()
        digits = text.isascii() and text.isdigit() if hardened else text.isdigit()
        if isinstance(grade, bool | float) or not digits or len(text) > 3:
            raise ValueError("details.disability_grade must be a whole number (the grade, 1-10)")


class Claimant(Closed):
    name: Name = Field(min_length=1)
    id_no: Name = Field(min_length=1)
    phone: Name = Field(min_length=1)
    email: Name | None = None
    birth_date: Day | None = None
    special_care: bool = False
    language: Language = "zh-CN"


class Material(Closed):
    kind: str
    ref: OneLine = Field(min_length=1)
    issued_on: Day | None = None

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in MATERIAL_KINDS:
            raise ValueError(f"unknown material kind {kind!r}; known: {', '.join(MATERIAL_KINDS)}")
        return kind


class Item(Closed):
    category: str
    description: OneLine = ""
    amount: Money
    age_years: PlainDecimal | None = Field(default=None, ge=0, le=1000)
    useful_life_years: PlainDecimal | None = Field(default=None, ge=0, le=1000)


class ClaimReport(BaseModel):
    """What a claimant reports (报案). JSON, snake_case; the contract of DESIGN.md."""

    model_config = ConfigDict(extra="forbid")

    claim_id: str | None = Field(default=None, pattern=CASE_ID_PATTERN)
    policy_no: Name = Field(min_length=1)
    line: Line
    incident_type: str
    channel: Channel = "api"
    claimant: Claimant
    occurred_at: When
    reported_at: When | None = None
    location: OneLine = ""
    description: LongText = ""
    amount_claimed: Money
    items: list[Item] = Field(default_factory=list, max_length=500)
    details: dict[str, Any] = Field(default_factory=dict)
    materials: list[Material] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _codes_fit_the_line(self, info: ValidationInfo) -> ClaimReport:
        kinds = INCIDENT_TYPES[self.line]
        if self.incident_type not in kinds:
            raise ValueError(
                f"incident_type {self.incident_type!r} is not one of {', '.join(kinds)} "
                f"for line {self.line}"
            )
        allowed = ITEM_CATEGORIES[self.line]
        for item in self.items:
            if item.category not in allowed:
                raise ValueError(
                    f"item category {item.category!r} is not one of {', '.join(allowed)} "
                    f"for line {self.line}"
                )
        # Items that do not add up to amount_claimed are taken as they are: the adjustment pays
        # from the items (DOMAIN §6); the claimed figure sets the reserve and triage (R02).
        if strict(info):
            _check_details(self.details, hardened(info))
        return self


def impossible_dates(report: ClaimReport, now: datetime, occurred: bool = True) -> str | None:
    """A date in the report that cannot have happened yet, as one line; None when all are fine.

    The workflow leaves `occurred` to the coverage check (NOT_ACCEPTED with a letter, DOMAIN
    §2.2); an incident reported before it occurred is a risk flag (R05), not an error."""
    if occurred and in_future(report.occurred_at, now):
        return "occurred_at is in the future"
    if in_future(report.reported_at, now):
        return "reported_at is in the future"
    if in_future(report.claimant.birth_date, now):
        return "claimant.birth_date is in the future"
    for n, material in enumerate(report.materials):
        if in_future(material.issued_on, now):
            return f"materials.{n}.issued_on is in the future"
    return None


class MaterialsSubmission(BaseModel):
    """Signal `submit_materials`."""

    materials: list[Material] = Field(min_length=1, max_length=200)
    submitted_by: Name | None = None


class Decision(Signed):
    """Update `decide` and signal `decision`.

    `decision` is a plain string so that a bad value sent as a signal can still be recorded
    as refused rather than dropped by the converter.
    """

    approver: Name
    decision: Name
    note: LongText = ""
    clause: Name | None = None
    amount: SignedAmount | None = None  # a panel member's amend vote


class Findings(Signed):
    """Update `report_findings`: an investigator's findings on one investigation task."""

    signer_field: ClassVar[str] = "investigator"

    investigator: Name
    task: Name
    facts: LongText = Field(min_length=1)
    fraud_suspected: bool = False
    recommendation: Literal["pay", "deny", "reduce"] = "pay"
    amount: SignedAmount | None = None
    conclusive: bool = True
    # DOMAIN §6a: a cause the investigation found excluded (e.g. drunk_or_drugged), and for an
    # accidental disability the grade read from the appraisal report (伤残鉴定书).
    excluded_cause: Name | None = None
    disability_grade: int | None = Field(default=None, ge=1, le=10)


class Assessment(Signed):
    """Update `record_assessment` and signal `assessment`: an assessor's (定损员) figures.

    `figures` is a plain mapping so that an unknown figure is refused by the claim with its
    name (`InvalidAssessment`) rather than dropped or failed by the converter."""

    signer_field: ClassVar[str] = "assessor"

    assessor: Name
    figures: dict[Name, Any] = Field(default_factory=dict, max_length=20)
    note: LongText = ""


class ConvenePanel(Signed):
    """Update `convene_panel`: name the three members of the claim's panel (合议小组). Signed
    by the convener in cases begun since release 2026-12."""

    signer_field: ClassVar[str] = "convener"

    convener: Name
    members: list[Name] = Field(max_length=10)


class Appeal(BaseModel):
    """Update `appeal`: the claimant appeals a denial (within 30 days of the notice)."""

    by: Name = "claimant"
    reason: LongText = ""


class MaterialsRequest(BaseModel):
    """Update `request_materials`: a second missing-materials notice. The first notice lists
    everything (Insurance Law art. 22); a second is a compliance exception that a supervisor
    approves with a recorded reason."""

    model_config = ConfigDict(extra="forbid")

    by: Name
    kinds: list[Name] = Field(min_length=1, max_length=30)
    reason: LongText = ""


class Withdrawal(BaseModel):
    """Update `withdraw`: the claimant withdraws the claim (before any payment)."""

    by: Name = "claimant"
    reason: LongText = ""


class Adjustment(Signed):
    """Update `adjust`: an adjuster re-adjusts a returned claim, optionally setting the amount.
    Signed by the adjuster in cases begun since release 2026-12."""

    signer_field: ClassVar[str] = "adjuster"

    adjuster: Name
    note: LongText = ""
    amount: Money | None = None


class FollowUp(Signed):
    """Update `record_follow_up`: the follow-up call after payment or denial (理赔回访, DOMAIN
    §11): whether the claimant was reached and, if so, satisfied or not. Signed by the member
    of staff who called."""

    signer_field: ClassVar[str] = "by"

    by: Name
    reached: bool
    satisfied: bool | None = None
    note: LongText = ""


class ClaimNotice(BaseModel):
    """What a claim asks NoticeActivities.notify_claimant to send at a key node (DOMAIN §11).
    With `with_link` the activity issues the claim's page link and puts it in the notice:
    the token is made there and never enters the workflow's history."""

    notice: NoticeRequest
    node: str
    with_link: bool = False


class LetterWithNotice(BaseModel):
    """A claim's letter at a key node and the notice that carries it, sent by one local
    activity (DeliveryActivities.send_letter_with_notice, since the "fewer-steps" patch): the
    notice goes with the letter's file."""

    letter: LetterRequest
    notice: ClaimNotice
    # the case's read model written first (the audit events and the stage so far)
    sync: ClaimSync | None = None


class LetterDelivered(BaseModel):
    """The letter as filed, and how its notice went: its receipt, or the notice's problem:
    `deferred` (a channel failed for now; the claim tries the notice again on its own, with
    the notices' back-off) or `undeliverable` (no channel can take it)."""

    letter: LetterRecord
    receipt: NoticeReceipt | None = None
    notice_problem: Literal["deferred", "undeliverable"] | None = None
    synced: SyncReceipt | None = None  # what the read-model write recorded, for the audit

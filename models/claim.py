"""The claim report (the workflow's input) and the messages a running claim accepts."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from models.catalog import CLAIM_CHANNELS, INCIDENT_TYPES, ITEM_CATEGORIES, MATERIAL_KINDS
from models.signature import Signed

Line = Literal["medical", "auto", "property", "accident"]
Channel = Literal["phone", "app", "web", "wechat", "branch", "agent", "api"]
Language = Literal["zh-CN", "en"]

assert set(CLAIM_CHANNELS) == set(Channel.__args__)  # type: ignore[attr-defined]


def _money(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("amounts cannot be negative")
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class Claimant(BaseModel):
    name: str = Field(min_length=1)
    id_no: str = Field(min_length=1)
    phone: str = Field(min_length=1)
    email: str | None = None
    birth_date: date | None = None
    special_care: bool = False
    language: Language = "zh-CN"


class Material(BaseModel):
    kind: str
    ref: str = Field(min_length=1)
    issued_on: date | None = None

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in MATERIAL_KINDS:
            raise ValueError(f"unknown material kind {kind!r}; known: {', '.join(MATERIAL_KINDS)}")
        return kind


class Item(BaseModel):
    category: str
    description: str = ""
    amount: Decimal
    age_years: Decimal | None = None
    useful_life_years: Decimal | None = None

    _amount = field_validator("amount")(_money)


class ClaimReport(BaseModel):
    """What a claimant reports (报案). JSON, snake_case; the contract of DESIGN.md."""

    model_config = ConfigDict(extra="forbid")

    claim_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    policy_no: str = Field(min_length=1)
    line: Line
    incident_type: str
    channel: Channel = "api"
    claimant: Claimant
    occurred_at: AwareDatetime
    reported_at: AwareDatetime | None = None
    location: str = ""
    description: str = ""
    amount_claimed: Decimal
    items: list[Item] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)
    materials: list[Material] = Field(default_factory=list)

    _amount = field_validator("amount_claimed")(_money)

    @model_validator(mode="after")
    def _codes_fit_the_line(self) -> ClaimReport:
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
        return self


class MaterialsSubmission(BaseModel):
    """Signal `submit_materials`."""

    materials: list[Material] = Field(min_length=1)
    submitted_by: str | None = None


class Decision(Signed):
    """Update `decide` and signal `decision`.

    `decision` is a plain string so that a bad value sent as a signal can still be recorded
    as refused rather than dropped by the converter.
    """

    approver: str
    decision: str
    note: str = ""
    clause: str | None = None
    amount: Decimal | None = None  # a panel member's amend vote


class Findings(Signed):
    """Update `report_findings`: an investigator's findings on one investigation task."""

    signer_field: ClassVar[str] = "investigator"

    investigator: str
    task: str
    facts: str = Field(min_length=1)
    fraud_suspected: bool = False
    recommendation: Literal["pay", "deny", "reduce"] = "pay"
    amount: Decimal | None = None
    conclusive: bool = True


class ConvenePanel(BaseModel):
    """Update `convene_panel`: name the three members of the claim's panel (合议小组)."""

    convener: str
    members: list[str]


class Appeal(BaseModel):
    """Update `appeal`: the claimant appeals a denial (within 30 days of the notice)."""

    by: str = "claimant"
    reason: str = ""


class Withdrawal(BaseModel):
    """Update `withdraw`: the claimant withdraws the claim (before any payment)."""

    by: str = "claimant"
    reason: str = ""


class Adjustment(BaseModel):
    """Update `adjust`: an adjuster re-adjusts a returned claim, optionally setting the amount."""

    adjuster: str
    note: str = ""
    amount: Decimal | None = None

    @field_validator("amount")
    @classmethod
    def _amount_money(cls, value: Decimal | None) -> Decimal | None:
        return None if value is None else _money(value)

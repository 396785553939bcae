"""Claim reports for the demo policies, as a claimant or an integrator would send them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from models.claim import ClaimReport, Material

CST = timezone(timedelta(hours=8))
ZHANG = {"name": "张三", "id_no": "110101198001011234", "phone": "13800000000"}
LI = {"name": "李四", "id_no": "110101195001011234", "phone": "13900000000"}

ALL_MEDICAL = [
    "claim_form",
    "identity",
    "bank_account",
    "diagnosis_certificate",
    "invoices",
    "expense_list",
]


ALL_AUTO_COLLISION = [
    "claim_form",
    "identity",
    "bank_account",
    "driving_licence",
    "vehicle_licence",
    "accident_report",
    "repair_estimate",
    "photos",
]


def materials(*kinds: str) -> list[Material]:
    return [Material(kind=k, ref=f"doc://{k}/{uuid.uuid4().hex[:8]}") for k in kinds]


def recent_incident() -> datetime:
    """Yesterday in Beijing: a report sent today about it is neither late (R04) nor entered
    late, so its clocks start when the case starts (README "The statutory clocks")."""
    return datetime.now(CST).replace(microsecond=0) - timedelta(days=1)


def medical_report(**overrides: Any) -> ClaimReport:
    """A medical claim as a claimant reports it today: received when it is entered
    (`reported_at` unset: the workflow takes its start time), the incident the day before.
    Tests of a report received earlier than it was entered give `reported_at`."""
    data: dict[str, Any] = dict(
        claim_id=f"T-{uuid.uuid4().hex[:10]}",
        policy_no="P-MED-0001",
        line="medical",
        incident_type="outpatient",
        channel="app",
        claimant=dict(ZHANG),
        occurred_at=recent_incident(),
        reported_at=None,
        location="北京市朝阳区",
        description="急性肠胃炎门诊治疗",
        amount_claimed=Decimal("1800.00"),
        items=[
            {"category": "treatment", "description": "诊疗费", "amount": "1200.00"},
            {"category": "drugs", "description": "药品费", "amount": "600.00"},
        ],
        materials=[m.model_dump() for m in materials(*ALL_MEDICAL)],
    )
    data.update(overrides)
    return ClaimReport.model_validate(data)

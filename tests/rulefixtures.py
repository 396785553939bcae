"""Factories for the pure rule tests (coverage, checklist, triage, adjustment, approval).

A plain helper module, not a conftest: import it as `from tests.rulefixtures import ...`.

The defaults are the default products of DOMAIN.md, written out here by hand so that the tests
do not borrow their expectations from the code under test:

- medical: deductible 500, ratio 80 %, annual limit 200,000, 30-day waiting period for illness
- auto: sum insured 200,000, vehicle actual value 150,000, deductible 1,000
- property: sum insured 500,000 = value at risk, deductible 1,000
- accident: sum insured 500,000; accidental medical deductible 100, ratio 100 %, limit 10 %

Every policy runs from 2024-01-01 to 2024-12-31 and belongs to the insured `INSURED_ID`; every
report happens on 2024-06-01 10:00 (+08:00), well after the first 90 days, and is reported the
next morning.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from models.claim import ClaimReport
from models.rules import (
    AdjustmentResult,
    Clause,
    PolicyTerms,
    RulesSnapshot,
    TriageRules,
    Usage,
)

CST = timezone(timedelta(hours=8))
START = date(2024, 1, 1)
END = date(2024, 12, 31)
INSURED_ID = "110101198001011234"
OTHER_ID = "110101199002023456"

DEFAULT_INCIDENT = {
    "medical": "outpatient",
    "auto": "collision",
    "property": "fire",
    "accident": "injury",
}

# DOMAIN §7, written out by hand
DOMAIN_AUTHORITY_LIMITS = {1: Decimal("20000"), 2: Decimal("200000"), 3: Decimal("1000000")}

# DOMAIN §4: the common three and each (line, incident type) list, written out by hand
DOMAIN_COMMON = ("claim_form", "identity", "bank_account")
DOMAIN_CHECKLISTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("medical", "outpatient"): ("diagnosis_certificate", "invoices", "expense_list"),
    ("medical", "inpatient"): (
        "diagnosis_certificate",
        "invoices",
        "expense_list",
        "discharge_summary",
    ),
    ("auto", "collision"): (
        "driving_licence",
        "vehicle_licence",
        "accident_report",
        "repair_estimate",
        "photos",
    ),
    ("auto", "theft"): ("vehicle_licence", "police_report", "keys_handover"),
    ("property", "fire"): ("loss_list", "ownership_proof", "photos", "fire_report"),
    ("property", "water"): ("loss_list", "ownership_proof", "photos"),
    ("property", "theft"): ("loss_list", "ownership_proof", "photos", "police_report"),
    ("accident", "injury"): ("accident_proof", "diagnosis_certificate", "invoices"),
    ("accident", "disability"): ("accident_proof", "disability_appraisal"),
    ("accident", "death"): (
        "accident_proof",
        "death_certificate",
        "household_cancellation",
        "relationship_proof",
    ),
}


def D(value: str | int) -> Decimal:  # noqa: N802 - reads like a literal in the tables
    """Money literal: always from a string or an int, never from a float."""
    return Decimal(str(value))


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """An aware datetime in China Standard Time on `day`."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST)


def day_after_start(days: int) -> date:
    return START + timedelta(days=days)


OCCURRED = at(date(2024, 6, 1))
REPORTED = at(date(2024, 6, 2), 9)
NOW = at(date(2024, 6, 15), 12)

_CLAUSES = {
    "medical": [("MED-1.1", "coverage"), ("MED-2.1", "exclusion"), ("MED-3.1", "waiting_period")],
    "auto": [("AUTO-1.1", "coverage"), ("AUTO-2.1", "exclusion")],
    "property": [("PROP-1.1", "coverage")],
    "accident": [("ACC-1.1", "coverage")],
}

_TERMS: dict[str, dict[str, Any]] = {
    "medical": {
        "product_code": "MED-STD",
        "sum_insured": D(200000),
        "annual_limit": D(200000),
        "deductible": D(500),
        "ratio": D("0.8"),
        "waiting_period_days": 30,
    },
    "auto": {
        "product_code": "AUTO-OD",
        "sum_insured": D(200000),
        "vehicle_value": D(150000),
        "deductible": D(1000),
    },
    "property": {
        "product_code": "PROP-STD",
        "sum_insured": D(500000),
        "value_at_risk": D(500000),
        "deductible": D(1000),
    },
    "accident": {
        "product_code": "ACC-STD",
        "sum_insured": D(500000),
        "accident_medical_deductible": D(100),
        "accident_medical_ratio": D(1),
        "accident_medical_share": D("0.1"),
    },
}


def clause(clause_id: str, kind: str) -> Clause:
    return Clause(
        id=clause_id,
        kind=kind,  # type: ignore[arg-type]
        title_zh=f"条款 {clause_id}",
        title_en=f"Clause {clause_id}",
        text_zh=f"条款 {clause_id} 正文",
        text_en=f"Text of clause {clause_id}",
    )


def policy(line: str = "medical", **overrides: Any) -> PolicyTerms:
    """The default product of `line` (DOMAIN §6 numbers), with `overrides` on top."""
    fields: dict[str, Any] = {
        "policy_no": f"P-{line.upper()}-0001",
        "line": line,
        "insured_name": "张三",
        "insured_id_no": INSURED_ID,
        "start_date": START,
        "end_date": END,
        "status": "in_force",
        "clauses": [clause(cid, kind) for cid, kind in _CLAUSES[line]],
        **_TERMS[line],
    }
    fields.update(overrides)
    return PolicyTerms(**fields)


_NO_POLICY = object()


def rules(
    line: str = "medical",
    incident_type: str | None = None,
    *,
    policy_terms: PolicyTerms | None | object = _NO_POLICY,
    paid_this_year: Decimal = D(0),
    deductible_used: Decimal = D(0),
    **overrides: Any,
) -> RulesSnapshot:
    """A rules snapshot for `line`: its default policy, the DOMAIN §4 checklist of the incident
    type, the DOMAIN §5 triage numbers and the DOMAIN §7 authority limits."""
    incident_type = incident_type or DEFAULT_INCIDENT[line]
    fields: dict[str, Any] = {
        "version": "test",
        "policy": policy(line) if policy_terms is _NO_POLICY else policy_terms,
        "common_materials": list(DOMAIN_COMMON),
        "checklist": list(DOMAIN_CHECKLISTS[(line, incident_type)]),
        "authority_limits": dict(DOMAIN_AUTHORITY_LIMITS),
        "triage": TriageRules(
            new_policy_days=90,
            amount_share_of_sum_insured=D("0.5"),
            amount_absolute=D(100000),
            claims_in_12_months=3,
            late_report_days=30,
            stp_max_amount=D(5000),
        ),
        "usage": Usage(paid_this_year=paid_this_year, deductible_used=deductible_used),
    }
    fields.update(overrides)
    return RulesSnapshot(**fields)


def report(
    line: str = "medical",
    incident_type: str | None = None,
    *,
    claimant_id: str = INSURED_ID,
    **overrides: Any,
) -> ClaimReport:
    """A claim report on the default policy of `line`; `occurred_at` alone moves `reported_at`
    to the next day unless that is given too."""
    fields: dict[str, Any] = {
        "claim_id": "C-TEST-1",
        "policy_no": f"P-{line.upper()}-0001",
        "line": line,
        "incident_type": incident_type or DEFAULT_INCIDENT[line],
        "channel": "app",
        "claimant": {"name": "张三", "id_no": claimant_id, "phone": "13800000000"},
        "occurred_at": OCCURRED,
        "reported_at": REPORTED,
        "amount_claimed": D(3000),
    }
    if "occurred_at" in overrides and "reported_at" not in overrides:
        fields["reported_at"] = overrides["occurred_at"] + timedelta(days=1)
    fields.update(overrides)
    return ClaimReport.model_validate(fields)


def items(*pairs: tuple[str, str | int], **extra: Any) -> list[dict[str, Any]]:
    """`items(("treatment", 3000), ("self_paid", 400))` -> item dicts for a report."""
    return [{"category": category, "amount": D(amount), **extra} for category, amount in pairs]


def is_money(value: object) -> bool:
    """A Decimal with exactly two places."""
    return isinstance(value, Decimal) and value.as_tuple().exponent == -2


def assert_well_formed(result: AdjustmentResult, payable: Decimal) -> None:
    """The payable amount is as expected, the last line of the computation shows it, and every
    amount in the result is a Decimal with two places."""
    assert result.payable == payable
    assert is_money(result.payable), repr(result.payable)
    assert result.lines, "an adjustment explains itself in lines"
    assert result.lines[-1].amount == result.payable
    for line in result.lines:
        assert is_money(line.amount), f"{line.label_en}: {line.amount!r}"

"""Loss assessment (定损 / 估损 / 公估), DOMAIN §6a: which claims wait for an assessor, how
the figures an assessor sends are read, and how they compare with what the claimant declared.

What a claimant declares in `details` is shown beside the insurer's figures, never used for
an amount. Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from models.catalog import (
    ASSESSED_FIGURES,
    ASSESSED_MONEY,
    DECLARED_TOLERANCE,
    INVOICED_PROPERTY,
    MAX_DISABILITY_GRADE,
)
from models.claim import ClaimReport
from models.money import ZERO, cents, fmt
from models.rules import AssessedFigures, Comparison, Flag, RulesSnapshot
from models.validation import MAX_AMOUNT

DECLARED_FLAG = "A01"


def invoiced(report: ClaimReport, stp_limit: Decimal) -> bool:
    """Every amount comes from invoice items and stays within the fast-track limit: a small
    repair invoiced by a repairer, or goods whose invoices prove their value."""
    if not report.items:
        return False
    if report.line == "property" and any(i.category not in INVOICED_PROPERTY for i in report.items):
        return False
    total = sum((i.amount for i in report.items), ZERO)
    return total <= stp_limit


def needs_assessment(
    report: ClaimReport, rules: RulesSnapshot, grade_from_findings: int | None
) -> bool:
    """Auto theft always; auto collision and property unless invoiced (see `invoiced`);
    accident disability unless an investigator already read the grade from the appraisal."""
    kind = (report.line, report.incident_type)
    if kind == ("auto", "theft"):
        return True
    if report.line in ("auto", "property"):
        return not invoiced(report, rules.triage.stp_max_amount)
    if kind == ("accident", "disability"):
        return grade_from_findings is None
    return False


def _number(name: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise ValueError(f"figure {name} must be a decimal string, not {type(value).__name__}")
    text = str(value).strip()
    if not text or not all(c.isascii() and (c.isdigit() or c == ".") for c in text):
        raise ValueError(f"figure {name} must be a plain decimal number, not {value!r}")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"figure {name} must be a plain decimal number, not {value!r}") from None
    if not number < MAX_AMOUNT:
        raise ValueError(f"figure {name} must be below {MAX_AMOUNT:,}")
    return number


def _figure(name: str, value: Any) -> Any:
    """One figure as a typed value (a figure this kind of claim takes)."""
    if name == "total_loss":
        if not isinstance(value, bool):
            raise ValueError("figure total_loss must be true or false")
        return value
    if name == "disability_grade":
        text = str(value).strip()
        if isinstance(value, bool) or not (text.isascii() and text.isdigit()):
            raise ValueError("figure disability_grade must be a whole number from 1 to 10")
        grade = int(text)
        if not 1 <= grade <= MAX_DISABILITY_GRADE:
            raise ValueError("figure disability_grade must be a whole number from 1 to 10")
        return grade
    if name == "depreciation_rate":
        rate = _number(name, value)
        if rate > 1:
            raise ValueError("figure depreciation_rate is a share from 0 to 1, e.g. 0.25")
        return rate
    assert name in ASSESSED_MONEY
    return cents(_number(name, value))


def read_figures(figures: dict[str, Any], line: str, incident_type: str) -> dict[str, Any]:
    """The figures as typed values; ValueError with one line for an unknown figure, one that
    does not apply to this kind of claim, or a bad value."""
    allowed = ASSESSED_FIGURES.get((line, incident_type), ())
    if not allowed:
        raise ValueError(f"a {line} {incident_type} claim takes no assessment")
    if not figures:
        raise ValueError("an assessment needs at least one figure: " + ", ".join(allowed))
    out: dict[str, Any] = {}
    for name, value in figures.items():
        if name not in allowed:
            raise ValueError(
                f"unknown figure {name!r} for a {line} {incident_type} claim; use "
                + ", ".join(allowed)
            )
        out[name] = _figure(name, value)
    required = {
        ("auto", "collision"): ("repair_cost", "total_loss"),
        ("auto", "theft"): (),
        ("accident", "disability"): ("disability_grade",),
    }.get((line, incident_type), ("loss_amount",))
    if required and not any(r in out for r in required):
        raise ValueError("this assessment needs " + " or ".join(required))
    return out


# figure -> the declaration in the report it is set against
_DECLARED: Mapping[str, str] = MappingProxyType(
    {
        "repair_cost": "repair_estimate",
        "actual_value": "vehicle_value",
        "salvage_value": "salvage_value",
        "value_at_risk": "value_at_risk",
        "disability_grade": "disability_grade",
    }
)


def declared_figure(report: ClaimReport, figure: str) -> Decimal | None:
    """What the claimant declared for a figure: from `details`, or the amount claimed for the
    assessed loss (or the repair cost when no estimate was declared)."""
    key = _DECLARED.get(figure)
    raw = report.details.get(key) if key else None
    if raw is None and (
        figure == "loss_amount" or (figure == "repair_cost" and report.line == "auto")
    ):
        return report.amount_claimed
    if raw is None:
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def compare(report: ClaimReport, assessed: AssessedFigures) -> list[Comparison]:
    """Each declared figure beside the assessed one; flagged when more than 20 % apart."""
    out = []
    for figure in ("repair_cost", "loss_amount", "actual_value", "salvage_value"):
        out += _compare(report, figure, getattr(assessed, figure))
    out += _compare(report, "value_at_risk", assessed.value_at_risk)
    grade = assessed.disability_grade
    out += _compare(report, "disability_grade", Decimal(grade) if grade is not None else None)
    return out


def _compare(report: ClaimReport, figure: str, assessed: Decimal | None) -> list[Comparison]:
    declared = declared_figure(report, figure)
    if assessed is None or declared is None:
        return []
    if assessed == 0:
        flagged = declared != 0
    else:
        flagged = abs(declared - assessed) / assessed > DECLARED_TOLERANCE
    return [Comparison(figure=figure, declared=declared, assessed=assessed, flagged=flagged)]


def declared_flags(comparisons: list[Comparison]) -> list[Flag]:
    flags = []
    for c in comparisons:
        if not c.flagged:
            continue
        way = "above" if c.declared > c.assessed else "below"
        show = str if c.figure == "disability_grade" else fmt
        flags.append(
            Flag(
                code=DECLARED_FLAG,
                effect="flag",
                reason=(
                    f"declared {c.figure} {show(c.declared)} is more than "
                    f"{DECLARED_TOLERANCE * 100:.0f} % {way} the assessed {show(c.assessed)} "
                    "(possible exaggeration, 夸大损失)"
                ),
            )
        )
    return flags

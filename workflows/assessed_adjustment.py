"""Adjustment (理算) from the insurer's own figures, DOMAIN §6 and §6a.

An amount is computed from the policy record, verified invoices and the assessor's figures,
never from what the claimant declared in `details`; each line that rests on an assessed
figure shows the declared one beside it. Accident and property limits and deductibles net
what earlier claims of the policy year used. Pure functions; amounts round half-up to the
cent at the end of each line.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from models.catalog import BUSINESS_TZ, VEHICLE_MAX_DEPRECIATION, VEHICLE_MONTHLY_DEPRECIATION
from models.claim import ClaimReport
from models.money import ZERO, cents, fmt
from models.rules import AdjustmentLine, AdjustmentResult, AssessedFigures, PolicyTerms, Usage
from workflows.adjustment import AdjustmentError, _line, _medical_expenses, under_insurance
from workflows.assessment import declared_figure, invoiced

TOTAL_LOSS_SHARE = Decimal("0.8")


def _months(start: date, on: date) -> int:
    months = (on.year - start.year) * 12 + on.month - start.month
    return max(0, months - (1 if on.day < start.day else 0))


def vehicle_value(
    report: ClaimReport, policy: PolicyTerms, assessed: AssessedFigures | None
) -> tuple[Decimal, AdjustmentLine]:
    """The vehicle's actual value at the time of loss: the assessor's, else the value at
    inception less the product's depreciation for the months since (at most 80 %)."""
    base = policy.vehicle_value or policy.sum_insured
    if assessed is not None and assessed.actual_value is not None:
        value = assessed.actual_value
        return value, _assessed_line(
            report, "actual_value", "车辆实际价值", "Actual value of the vehicle", value
        )
    if assessed is not None and assessed.depreciation_rate is not None:
        share = min(assessed.depreciation_rate, VEHICLE_MAX_DEPRECIATION)
        how = f"{fmt(base)} × (1 - {share * 100:.1f}%)"
    else:
        occurred_on = report.occurred_at.astimezone(BUSINESS_TZ).date()
        months = _months(policy.start_date, occurred_on)
        share = min(VEHICLE_MAX_DEPRECIATION, VEHICLE_MONTHLY_DEPRECIATION * months)
        how = f"{fmt(base)} × (1 - {months} × {VEHICLE_MONTHLY_DEPRECIATION * 100:.1f}%)"
    value = cents(base * (1 - share))
    return value, _line(
        "车辆实际价值（投保时价值扣除折旧）",
        "Actual value of the vehicle (value at inception less depreciation)",
        value,
        how,
    )


def _assessed_line(
    report: ClaimReport, figure: str, zh: str, en: str, amount: Decimal, sign: int = 1
) -> AdjustmentLine:
    declared = declared_figure(report, figure)
    if declared is not None:
        zh += f"（申报 {fmt(declared)}，核定 {fmt(amount)}）"
        en += f" (declared {fmt(declared)}, assessed {fmt(amount)})"
    return _line(zh, en, sign * amount)


def _auto(
    report: ClaimReport, policy: PolicyTerms, assessed: AssessedFigures | None, stp_limit: Decimal
) -> tuple[list[AdjustmentLine], Decimal, Decimal]:
    actual, value_line = vehicle_value(report, policy, assessed)
    si, deductible = policy.sum_insured, policy.deductible
    lines = [value_line]
    if report.incident_type == "theft":
        loss = cents(min(si, actual))
        payable = cents(max(ZERO, loss - deductible))
        lines += [
            _line("核定损失（以保险金额为限）", "Loss (within the sum insured)", loss),
            _line("扣除免赔额", "Less deductible", -min(loss, deductible)),
            _line("应赔付金额", "Payable", payable, f"{fmt(loss)} - {fmt(deductible)}"),
        ]
        return lines, payable, min(loss, deductible)
    if assessed is not None and assessed.repair_cost is not None:
        repair = assessed.repair_cost
        lines.append(_assessed_line(report, "repair_cost", "定损金额", "Repair cost", repair))
    elif invoiced(report, stp_limit) or (assessed is not None and assessed.total_loss):
        repair = cents(sum((i.amount for i in report.items), ZERO))
        lines.append(_line("维修发票金额", "Repair invoices", repair))
    else:
        raise AdjustmentError("an auto collision claim needs an assessment of the repair cost")
    total = (
        assessed.total_loss
        if assessed is not None and assessed.total_loss is not None
        else repair >= cents(actual * TOTAL_LOSS_SHARE)
    )
    if total:
        salvage = assessed.salvage_value if assessed and assessed.salvage_value else ZERO
        base = min(actual, si)
        payable = cents(max(ZERO, base - salvage - deductible))
        lines += [
            _line("推定全损：车辆实际价值", "Total loss: actual value of the vehicle", base),
            _assessed_line(report, "salvage_value", "扣除残值", "Less salvage", salvage, -1),
            _line("扣除免赔额", "Less deductible", -deductible),
            _line("应赔付金额", "Payable", payable),
        ]
        return lines, payable, min(base, deductible)
    capped = cents(min(si, repair))
    payable = cents(max(ZERO, capped - deductible))
    lines += [
        _line("核定损失（以保险金额为限）", "Loss (within the sum insured)", capped),
        _line("扣除免赔额", "Less deductible", -min(capped, deductible)),
        _line("应赔付金额", "Payable", payable, f"{fmt(capped)} - {fmt(deductible)}"),
    ]
    return lines, payable, min(capped, deductible)


class _Limits:
    """The property's or accident policy's limits and deductible for this claim: what the
    policy year has left after earlier claims when `net` (DOMAIN §6a)."""

    def __init__(self, sum_insured: Decimal, deductible: Decimal, usage: Usage, net: bool):
        self.sum_insured = sum_insured
        self.remaining = max(ZERO, sum_insured - usage.paid_this_year) if net else sum_insured
        self.deductible = max(ZERO, deductible - usage.deductible_used) if net else deductible
        self.used = usage.paid_this_year if net else ZERO

    def lines(self, lines: list[AdjustmentLine]) -> None:
        if self.used > 0:
            lines.append(
                _line(
                    f"本保单年度已赔付 {fmt(self.used)}，剩余保险金额",
                    f"Sum insured left after {fmt(self.used)} paid earlier this policy year",
                    self.remaining,
                )
            )


def _property(
    report: ClaimReport,
    policy: PolicyTerms,
    assessed: AssessedFigures | None,
    limits: _Limits,
    stp_limit: Decimal,
) -> tuple[list[AdjustmentLine], Decimal, Decimal]:
    lines: list[AdjustmentLine] = []
    if assessed is not None and assessed.loss_amount is not None:
        loss = assessed.loss_amount
        lines.append(_assessed_line(report, "loss_amount", "核定损失", "Assessed loss", loss))
    elif invoiced(report, stp_limit):
        for item in report.items:
            label = item.description or item.category
            lines.append(_line(f"{label}（发票金额）", f"{label} (invoice)", item.amount))
        loss = cents(sum((i.amount for i in report.items), ZERO))
        lines.append(_line("核定损失合计", "Total assessed loss", loss))
    else:
        raise AdjustmentError("a property claim needs an assessment of the loss")
    if assessed is not None and assessed.salvage_value:
        loss = cents(max(ZERO, loss - assessed.salvage_value))
        lines.append(_line("扣除残值", "Less salvage", -assessed.salvage_value))
    si = limits.sum_insured
    if assessed is not None and assessed.value_at_risk is not None:
        at_risk = assessed.value_at_risk
        lines.append(
            _assessed_line(report, "value_at_risk", "出险时保险价值", "Value at risk", at_risk)
        )
    else:
        at_risk = policy.value_at_risk or si
    loss = under_insurance(loss, si, at_risk, lines)
    limits.lines(lines)
    applied = min(loss, limits.deductible)
    payable = cents(min(limits.remaining, max(ZERO, loss - limits.deductible)))
    lines += [
        _line("扣除免赔额", "Less deductible", -applied),
        _line("应赔付金额（以保险金额为限）", "Payable (within the sum insured)", payable),
    ]
    return lines, payable, applied


def _accident(
    report: ClaimReport,
    policy: PolicyTerms,
    assessed: AssessedFigures | None,
    grade_from_findings: int | None,
    limits: _Limits,
) -> tuple[list[AdjustmentLine], Decimal, Decimal]:
    si = policy.sum_insured
    lines: list[AdjustmentLine] = []
    limits.lines(lines)
    if report.incident_type in ("death", "disability"):
        if report.incident_type == "death":
            share, zh, en = Decimal(1), "意外身故保险金", "Accidental death benefit"
        else:
            grade = (
                assessed.disability_grade
                if assessed is not None and assessed.disability_grade is not None
                else grade_from_findings
            )
            if grade is None:
                raise AdjustmentError("the disability grade from the appraisal report is missing")
            share = Decimal(110 - 10 * grade) / 100
            declared = declared_figure(report, "disability_grade")
            zh = f"伤残等级 {grade} 级（据伤残鉴定书核定），给付比例 {share * 100:.0f}%"
            en = f"Disability grade {grade} (from the appraisal report): {share * 100:.0f}%"
            if declared is not None:
                zh += f"（申报 {declared} 级）"
                en += f" (declared grade {declared})"
        benefit = cents(si * share)
        payable = cents(min(limits.remaining, benefit))
        lines += [
            _line(zh, en, benefit, f"{fmt(si)} × {share * 100:.0f}%"),
            _line("应赔付金额", "Payable", payable),
        ]
        return lines, payable, ZERO
    limit = min(cents(si * policy.accident_medical_share), limits.remaining)
    payable, applied = _medical_expenses(
        report, limits.deductible, policy.accident_medical_ratio, limit, lines
    )
    return lines, payable, applied


def adjust_assessed(
    report: ClaimReport,
    policy: PolicyTerms,
    usage: Usage,
    stp_limit: Decimal,
    assessed: AssessedFigures | None,
    grade_from_findings: int | None = None,
    net_limits: bool = True,
) -> AdjustmentResult:
    """The payable amount of an auto, property or accident claim from the insurer's figures."""
    if report.line == "auto":
        lines, payable, applied = _auto(report, policy, assessed, stp_limit)
    elif report.line == "property":
        limits = _Limits(policy.sum_insured, policy.deductible, usage, net_limits)
        lines, payable, applied = _property(report, policy, assessed, limits, stp_limit)
    else:
        limits = _Limits(policy.sum_insured, policy.accident_medical_deductible, usage, net_limits)
        lines, payable, applied = _accident(report, policy, assessed, grade_from_findings, limits)
    return AdjustmentResult(lines=lines, payable=payable, deductible_applied=cents(applied))

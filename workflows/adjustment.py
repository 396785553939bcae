"""Adjustment (理算), DOMAIN §6: the payable amount by the product formula for each line.

Every step becomes an `AdjustmentLine` for the decision letter. Amounts are rounded half-up to
the cent at the end of each line, never in between.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from models.catalog import NON_COVERED_MEDICAL
from models.claim import ClaimReport, Item
from models.money import ZERO, cents, fmt
from models.rules import AdjustmentLine, AdjustmentResult, PolicyTerms, RulesSnapshot


class AdjustmentError(ValueError):
    """The report lacks a fact the formula needs (e.g. no disability grade)."""


def _dec(value: object, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except Exception as exc:  # noqa: BLE001 - any bad literal is the same user error
        raise AdjustmentError(f"details.{name} is not a number: {value!r}") from exc


def _line(zh: str, en: str, amount: Decimal, formula: str = "") -> AdjustmentLine:
    return AdjustmentLine(label_zh=zh, label_en=en, amount=cents(amount), formula=formula)


def _items(report: ClaimReport, default_category: str) -> list[Item]:
    if report.items:
        return report.items
    return [Item(category=default_category, description="", amount=report.amount_claimed)]


def _medical_expenses(
    report: ClaimReport,
    deductible: Decimal,
    ratio: Decimal,
    limit: Decimal,
    lines: list[AdjustmentLine],
) -> tuple[Decimal, Decimal]:
    items = _items(report, "treatment")
    total = cents(sum((i.amount for i in items), ZERO))
    excluded = cents(sum((i.amount for i in items if i.category in NON_COVERED_MEDICAL), ZERO))
    eligible = cents(total - excluded)
    after = cents(max(ZERO, eligible - deductible))
    applied = min(eligible, deductible)
    reimbursed = cents(after * ratio)
    payable = cents(min(limit, reimbursed))
    lines += [
        _line("申请费用合计", "Expenses claimed", total, f"Σ {len(items)}"),
        _line("不属保险责任费用（自费/美容）", "Not covered (self-paid, cosmetic)", -excluded),
        _line("合理费用", "Eligible expenses", eligible, f"{fmt(total)} - {fmt(excluded)}"),
        _line(
            "扣除免赔额", "Less deductible", -applied, f"min({fmt(eligible)}, {fmt(deductible)})"
        ),
        _line(
            f"按给付比例 {ratio * 100:.0f}% 计算",
            f"At the reimbursement ratio of {ratio * 100:.0f}%",
            reimbursed,
            f"{fmt(after)} × {ratio}",
        ),
        _line(
            "应赔付金额（以剩余保额为限）",
            "Payable (within the remaining limit)",
            payable,
            f"min({fmt(limit)}, {fmt(reimbursed)})",
        ),
    ]
    return payable, cents(applied)


def _medical(report: ClaimReport, policy: PolicyTerms, rules: RulesSnapshot) -> AdjustmentResult:
    annual = policy.annual_limit if policy.annual_limit is not None else policy.sum_insured
    remaining_limit = max(ZERO, annual - rules.usage.paid_this_year)
    remaining_deductible = max(ZERO, policy.deductible - rules.usage.deductible_used)
    lines: list[AdjustmentLine] = []
    payable, applied = _medical_expenses(
        report, remaining_deductible, policy.ratio, remaining_limit, lines
    )
    return AdjustmentResult(lines=lines, payable=payable, deductible_applied=applied)


def _auto(report: ClaimReport, policy: PolicyTerms) -> AdjustmentResult:
    d = report.details
    actual = _dec(
        d.get("vehicle_value", policy.vehicle_value or policy.sum_insured), "vehicle_value"
    )
    si = policy.sum_insured
    deductible = policy.deductible
    lines: list[AdjustmentLine] = []
    if report.incident_type == "theft":
        loss = cents(min(si, actual))
        payable = cents(max(ZERO, loss - deductible))
        lines += [
            _line("车辆实际价值", "Actual value of the vehicle", actual),
            _line(
                "核定损失（以保险金额为限）",
                "Loss (within the sum insured)",
                loss,
                f"min({fmt(si)}, {fmt(actual)})",
            ),
            _line("扣除免赔额", "Less deductible", -deductible),
            _line("应赔付金额", "Payable", payable, f"{fmt(loss)} - {fmt(deductible)}"),
        ]
        return AdjustmentResult(
            lines=lines, payable=payable, deductible_applied=min(loss, deductible)
        )
    if "repair_estimate" in d:
        repair = _dec(d["repair_estimate"], "repair_estimate")
    else:
        repair = sum((i.amount for i in report.items), ZERO) or report.amount_claimed
    repair = cents(repair)
    threshold = cents(actual * Decimal("0.8"))
    lines.append(_line("定损/维修金额", "Repair estimate", repair))
    if repair >= threshold:
        salvage = cents(_dec(d.get("salvage_value", "0"), "salvage_value"))
        base = min(actual, si)
        payable = cents(max(ZERO, base - salvage - deductible))
        lines += [
            _line(
                "推定全损：车辆实际价值",
                "Total loss: actual value of the vehicle",
                base,
                f"{fmt(repair)} ≥ 80% × {fmt(actual)}",
            ),
            _line("扣除残值", "Less salvage", -salvage),
            _line("扣除免赔额", "Less deductible", -deductible),
            _line(
                "应赔付金额",
                "Payable",
                payable,
                f"{fmt(base)} - {fmt(salvage)} - {fmt(deductible)}",
            ),
        ]
    else:
        capped = cents(min(si, repair))
        payable = cents(max(ZERO, capped - deductible))
        lines += [
            _line(
                "核定损失（以保险金额为限）",
                "Loss (within the sum insured)",
                capped,
                f"min({fmt(si)}, {fmt(repair)})",
            ),
            _line("扣除免赔额", "Less deductible", -deductible),
            _line("应赔付金额", "Payable", payable, f"{fmt(capped)} - {fmt(deductible)}"),
        ]
    return AdjustmentResult(lines=lines, payable=payable, deductible_applied=deductible)


_PROPERTY_METHOD: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "building": ("重置成本扣除折旧", "replacement cost less depreciation"),
        "equipment": ("市场价值", "market value"),
        "contents": ("市场价值", "market value"),
        "stock": ("账面价值", "book value"),
        "jewellery": ("专家评估价值", "expert appraisal"),
        "art": ("专家评估价值", "expert appraisal"),
    }
)


def under_insurance(
    loss: Decimal, sum_insured: Decimal, at_risk: Decimal, lines: list[AdjustmentLine]
) -> Decimal:
    """比例分摊: insured for less than the value at risk, the loss is paid in proportion."""
    if sum_insured >= at_risk:
        return loss
    loss = cents(loss * sum_insured / at_risk)
    lines.append(
        _line(
            "不足额保险比例分摊",
            "Under-insurance (average)",
            loss,
            f"× {fmt(sum_insured)} / {fmt(at_risk)}",
        )
    )
    return loss


def _property(report: ClaimReport, policy: PolicyTerms) -> AdjustmentResult:
    d = report.details
    lines: list[AdjustmentLine] = []
    loss = ZERO
    for item in _items(report, "contents"):
        zh, en = _PROPERTY_METHOD[item.category]
        value = item.amount
        formula = ""
        if item.category == "building":
            age = item.age_years if item.age_years is not None else d.get("age_years")
            life = (
                item.useful_life_years
                if item.useful_life_years is not None
                else d.get("useful_life_years")
            )
            if age is None or life is None:
                raise AdjustmentError("a building loss needs age_years and useful_life_years")
            age_d, life_d = _dec(age, "age_years"), _dec(life, "useful_life_years")
            if life_d <= 0:
                raise AdjustmentError("useful_life_years must be positive")
            depreciated = item.amount * (1 - age_d / life_d)
            value = max(depreciated, item.amount * Decimal("0.2"))
            formula = f"max({fmt(item.amount)} × (1 - {age_d}/{life_d}), 20%)"
        value = cents(value)
        loss += value
        label = item.description or item.category
        lines.append(_line(f"{label}（{zh}）", f"{label} ({en})", value, formula))
    loss = cents(loss)
    lines.append(_line("核定损失合计", "Total assessed loss", loss))
    si = policy.sum_insured
    at_risk = _dec(d.get("value_at_risk", policy.value_at_risk or si), "value_at_risk")
    loss = under_insurance(loss, si, at_risk, lines)
    deductible = policy.deductible
    payable = cents(min(si, max(ZERO, loss - deductible)))
    lines += [
        _line("扣除免赔额", "Less deductible", -min(loss, deductible)),
        _line(
            "应赔付金额（以保险金额为限）",
            "Payable (within the sum insured)",
            payable,
            f"min({fmt(si)}, {fmt(loss)} - {fmt(deductible)})",
        ),
    ]
    return AdjustmentResult(lines=lines, payable=payable, deductible_applied=min(loss, deductible))


def _accident(report: ClaimReport, policy: PolicyTerms) -> AdjustmentResult:
    si = policy.sum_insured
    lines: list[AdjustmentLine] = []
    if report.incident_type == "death":
        payable = cents(si)
        lines += [
            _line(
                "意外身故保险金（保险金额 100%）",
                "Accidental death benefit (100% of sum insured)",
                payable,
                f"{fmt(si)} x 100%",
            ),
            _line("应赔付金额", "Payable", payable),
        ]
        return AdjustmentResult(lines=lines, payable=payable)
    if report.incident_type == "disability":
        grade_raw = report.details.get("disability_grade")
        if grade_raw is None:
            raise AdjustmentError("an accidental disability claim needs details.disability_grade")
        grade = int(grade_raw)
        if not 1 <= grade <= 10:
            raise AdjustmentError(f"disability_grade must be 1 to 10, not {grade}")
        share = Decimal(110 - 10 * grade) / 100
        payable = cents(si * share)
        lines += [
            _line(
                f"伤残等级 {grade} 级，给付比例 {share * 100:.0f}%",
                f"Disability grade {grade}: {share * 100:.0f}% of the sum insured",
                payable,
                f"{fmt(si)} × {share * 100:.0f}%",
            ),
            _line("应赔付金额", "Payable", payable),
        ]
        return AdjustmentResult(lines=lines, payable=payable)
    limit = cents(si * policy.accident_medical_share)
    payable, applied = _medical_expenses(
        report, policy.accident_medical_deductible, policy.accident_medical_ratio, limit, lines
    )
    return AdjustmentResult(lines=lines, payable=payable, deductible_applied=applied)


def adjust(report: ClaimReport, rules: RulesSnapshot) -> AdjustmentResult:
    policy = rules.policy
    if policy is None:
        raise AdjustmentError("no policy to adjust against")
    if report.line == "medical":
        return _medical(report, policy, rules)
    if report.line == "auto":
        return _auto(report, policy)
    if report.line == "property":
        return _property(report, policy)
    return _accident(report, policy)


def manual_adjustment(
    previous: AdjustmentResult, adjuster: str, note: str, amount: Decimal | None
) -> AdjustmentResult:
    """An adjuster re-adjusts after a return: the computation stays, the amount may change."""
    if amount is None:
        return previous.model_copy(update={"adjuster": adjuster, "note": note})
    lines = [
        *previous.lines,
        _line(
            f"理赔人员 {adjuster} 调整应赔付金额：{note}",
            f"Amount set by adjuster {adjuster}: {note}",
            amount,
        ),
    ]
    return AdjustmentResult(
        lines=lines,
        payable=cents(amount),
        deductible_applied=previous.deductible_applied,
        adjuster=adjuster,
        note=note,
    )

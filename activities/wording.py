"""Words for letters: amounts in Chinese capitals (大写), and the settlement computation as a
claimant reads it, each deduction with its clause and reason (DOMAIN §10).

Pure functions over plain data, called by the letter activity; the adjustment's own lines
(workflows/adjustment.py) keep their formulas for staff views.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from models.catalog import NON_COVERED_REASONS
from models.money import fmt

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ("仟", "佰", "拾", "")
_GROUPS = ("", "万", "亿", "万亿")


def _group(n: int) -> str:
    """1..9999 in capitals, zeros inside read as one 零 (壹仟零伍, 伍仟叁佰陆拾)."""
    out, zero = "", False
    for digit, unit in zip(f"{n:04d}", _UNITS, strict=True):
        if digit == "0":
            zero = bool(out)
        else:
            if zero:
                out += "零"
                zero = False
            out += _DIGITS[int(digit)] + unit
    return out


def rmb_capitals(amount: Decimal | str | int) -> str:
    """An amount in Chinese capitals as a cheque or notice writes it (支付结算办法):
    人民币伍仟叁佰陆拾元整, 人民币壹拾万零伍佰元整, 人民币壹仟陆佰捌拾元零叁角贰分, 人民币伍角."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if value < 0:
        raise ValueError("an amount in capitals cannot be negative")
    cents = int(value * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    if yuan >= 10**16:
        raise ValueError("amount too large to write in capitals")
    groups = []
    n = yuan
    while n:
        groups.append(n % 10000)
        n //= 10000
    text, gap = "", False
    for index in range(len(groups) - 1, -1, -1):
        g = groups[index]
        if g == 0:
            gap = bool(text)
            continue
        if text and (gap or g < 1000):
            text += "零"
        text += _group(g) + _GROUPS[index]
        gap = False
    if text:
        text += "元"
    if jiao == 0 and fen == 0:
        return "人民币" + (text or "零元") + "整"
    if jiao:
        if text and yuan % 10 == 0:
            text += "零"
        text += _DIGITS[jiao] + "角"
    if fen:
        if text and not jiao:
            text += "零"
        text += _DIGITS[fen] + "分"
    return "人民币" + text


# ================================================================== the settlement, in words


@dataclass
class Step:
    """One row of the computation: an amount (shown positive), a deduction, or the result."""

    label: str
    amount: Decimal
    less: bool = False
    result: bool = False


@dataclass
class Computation:
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# The wording of the computation's recognised steps: zh-CN, en.
_WORDS: Mapping[str, tuple[str, str]] = {
    "claimed": ("医疗费用合计", "Medical expenses claimed"),
    "non_covered": (
        "不属于保险责任的费用（自费药品、美容等）",
        "Expenses not covered (self-paid drugs, cosmetic treatment)",
    ),
    "eligible": ("属于保险责任的医疗费用", "Expenses covered by the policy"),
    "deductible": ("免赔额", "deductible"),
    "after_deductible": ("扣除免赔额后的费用", "Expenses after the deductible"),
    "ratio": ("按赔付比例 {r}% 计算", "Paid at the agreed ratio of {r}%"),
    "payable": ("本次赔付金额", "Amount payable"),
    "salvage": ("残值", "salvage value"),
    "average": (
        "按保险金额与保险价值的比例计算的损失",
        "Loss in proportion of the sum insured to the value at risk",
    ),
    "adjusted": ("复核调整后的赔付金额", "Amount payable as adjusted on review"),
    "panel": ("合议小组核定的赔付金额", "Amount payable as decided by the claims panel"),
}
_LESS = ("减：", "Less: ")
_RATIO = re.compile(r"(\d+(?:\.\d+)?)%")
_MANUAL = re.compile(r"^理赔人员 (?P<who>\S+) 调整应赔付金额：(?P<note>.*)$", re.S)


def _clause_ref(clause: Mapping[str, Any] | None, zh: bool) -> str:
    if not clause:
        return ""
    if zh:
        return f"保险条款 {clause['id']}（{clause['title']}）"
    return f"policy clause {clause['id']} ({clause['title']})"


def _clause_text(clause: Mapping[str, Any] | None, zh: bool) -> str:
    """The clause's own words after a note, so the claimant need not look it up."""
    if not clause or not clause.get("text"):
        return ""
    return f"条款原文：“{clause['text']}”" if zh else f' The clause reads: "{clause["text"]}"'


def settlement_in_words(
    lines: list[Mapping[str, Any]],
    context: Mapping[str, Any],
    zh: bool,
    person: Callable[[str], str],
) -> Computation:
    """The adjustment's lines as a claimant reads them: totals, each deduction as "less", the
    amount payable, and a note for every deduction naming its clause and its reason.

    `context` may carry what the decision letter knows beyond the lines (cases begun since
    "decision-letter-details"): `non_covered` items, `non_covered_clause`, `coverage_clause`,
    and the approvals' notes (the panel's reasons for an amount it set)."""
    i = 0 if zh else 1
    out = Computation()
    coverage = context.get("coverage_clause")
    basis = _clause_ref(coverage, zh)
    running = Decimal("0")
    previous_less = False

    def add(label: str, amount: Decimal, less: bool = False, result: bool = False) -> None:
        nonlocal running, previous_less
        out.steps.append(Step(label, abs(amount), less, result))
        running = running - abs(amount) if less else amount
        previous_less = less

    def less(what: str) -> str:
        return _LESS[i] + what

    for line in lines:
        zh_label = str(line["label_zh"])
        label = zh_label if zh else str(line["label_en"])
        amount = Decimal(str(line["amount"]))
        if zh_label == "申请费用合计":
            add(_WORDS["claimed"][i], amount)
        elif zh_label.startswith("不属保险责任费用"):
            if amount:
                _non_covered(out, amount, context, zh, add, less)
        elif zh_label == "合理费用":
            add(_WORDS["eligible"][i], amount)
        elif zh_label.startswith("扣除免赔额"):
            if amount:
                add(less(_WORDS["deductible"][i]), amount, less=True)
                out.notes.append(_deductible_note(abs(amount), basis, zh))
        elif zh_label.startswith("按给付比例"):
            found = _RATIO.search(zh_label)
            ratio = found.group(1) if found else "100"
            if previous_less:
                add(_WORDS["after_deductible"][i], running)
            add(_WORDS["ratio"][i].format(r=ratio), amount)
            if Decimal(ratio) < 100:
                out.notes.append(_ratio_note(ratio, basis, zh))
        elif zh_label.startswith("应赔付金额"):
            if "以剩余保额为限" in zh_label and amount < running:
                out.notes.append(_limit_note(basis, zh))
            add(_WORDS["payable"][i], amount, result=True)
        elif zh_label.startswith("扣除残值"):
            if amount:
                suffix = (
                    zh_label.removeprefix("扣除残值") if zh else label.removeprefix("Less salvage")
                )
                add(less(_WORDS["salvage"][i] + suffix), amount, less=True)
                out.notes.append(_salvage_note(abs(amount), zh))
        elif zh_label == "不足额保险比例分摊":
            add(_WORDS["average"][i], amount)
            out.notes.append(_average_note(zh))
        elif zh_label.startswith("推定全损"):
            add(label, amount)
            out.notes.append(_total_loss_note(zh))
        elif manual := _MANUAL.match(zh_label):
            _manual(out, manual["who"], manual["note"], amount, context, zh, person, add)
        elif amount < 0:
            add(less(label.removeprefix("扣除").removeprefix("Less ")), amount, less=True)
        else:
            add(label, amount)
    return out


def _non_covered(
    out: Computation,
    amount: Decimal,
    context: Mapping[str, Any],
    zh: bool,
    add: Callable[..., None],
    less: Callable[[str], str],
) -> None:
    i = 0 if zh else 1
    clause = context.get("non_covered_clause")
    items = [x for x in context.get("non_covered") or [] if Decimal(str(x["amount"]))]
    if not items or sum(Decimal(str(x["amount"])) for x in items) != abs(amount):
        # Cases begun before "decision-letter-details" name neither items nor clause.
        add(less(_WORDS["non_covered"][i]), amount, less=True)
        if zh:
            out.notes.append(
                f"不属于保险责任的费用 {fmt(abs(amount))} 元：医保目录外的自费药品费用及美容、"
                "整形等非医学必需的费用，"
                + (
                    f"根据{_clause_ref(clause, zh)}的约定"
                    if clause
                    else "根据保险合同责任免除的约定"
                )
                + "不属于保险责任，不予赔付。"
                + _clause_text(clause, zh)
            )
        else:
            out.notes.append(
                f"Expenses not covered, CNY {fmt(abs(amount))}: self-paid drugs outside the "
                "medical insurance catalogue and cosmetic or other non-medically-necessary "
                "treatment, which "
                + (_clause_ref(clause, zh) if clause else "the exclusions of your policy")
                + " do not cover."
                + _clause_text(clause, zh)
            )
        return
    for item in items:
        value = Decimal(str(item["amount"]))
        category = str(item.get("category", ""))
        what = str(item.get("description") or NON_COVERED_REASONS.get(category, (category,) * 2)[i])
        reason = NON_COVERED_REASONS.get(category, ("不属于保险责任的费用", "not covered"))[i]
        add(less(what), value, less=True)
        if zh:
            out.notes.append(
                f"{what} {fmt(value)} 元：属于{reason}，"
                + (f"根据{_clause_ref(clause, zh)}的约定" if clause else "根据保险合同的约定")
                + "不属于保险责任，不予赔付。"
                + _clause_text(clause, zh)
            )
        else:
            out.notes.append(
                f"{what}, CNY {fmt(value)}: {reason}, which "
                + (_clause_ref(clause, zh) if clause else "your policy")
                + " does not cover."
                + _clause_text(clause, zh)
            )


def _manual(
    out: Computation,
    who: str,
    note: str,
    amount: Decimal,
    context: Mapping[str, Any],
    zh: bool,
    person: Callable[[str], str],
    add: Callable[..., None],
) -> None:
    if who == "panel":
        reasons = [
            str(a.get("note"))
            for a in context.get("approvals") or []
            if str(a.get("level")) == "PANEL" and a.get("note")
        ]
        why = ("；" if zh else "; ").join(reasons)
        key = "panel"
        zh_note = f"合议小组经三人合议，以多数意见将赔付金额核定为 {fmt(amount)} 元" + (
            f"，理由：{why}。" if why else "。"
        )
        en_note = (
            "Our claims panel of three decided by a majority to set the amount payable at "
            f"CNY {fmt(amount)}" + (f", for these reasons: {why}." if why else ".")
        )
    else:
        key = "adjusted"
        zh_note = f"经{person(who)}复核，赔付金额调整为 {fmt(amount)} 元" + (
            f"，理由：{note}。" if note else "。"
        )
        en_note = f"On review, {person(who)} set the amount payable at CNY {fmt(amount)}" + (
            f", because: {note}." if note else "."
        )
    add(_WORDS[key][0 if zh else 1], amount)
    out.notes.append(zh_note if zh else en_note)


def _deductible_note(amount: Decimal, basis: str, zh: bool) -> str:
    if zh:
        return (
            f"免赔额 {fmt(amount)} 元：依据保险单约定的免赔额"
            + (f"及{basis}" if basis else "")
            + "，此部分由被保险人自行承担，在计算赔款时扣除。"
        )
    return (
        f"Deductible, CNY {fmt(amount)}: under the deductible stated in your policy"
        + (f" and {basis}" if basis else "")
        + ", this part of the loss is borne by the insured and is taken off the settlement."
    )


def _ratio_note(ratio: str, basis: str, zh: bool) -> str:
    rest = 100 - Decimal(ratio)
    if zh:
        return (
            f"赔付比例 {ratio}%：依据保险单约定的给付比例"
            + (f"及{basis}" if basis else "")
            + f"，扣除免赔额后的费用按 {ratio}% 赔付，其余 {rest}% 由被保险人自行承担。"
        )
    return (
        f"Ratio of {ratio}%: under the reimbursement ratio stated in your policy"
        + (f" and {basis}" if basis else "")
        + f", we pay {ratio}% of the expenses after the deductible; the other {rest}% is borne "
        "by the insured."
    )


def _limit_note(basis: str, zh: bool) -> str:
    if zh:
        return (
            "保险金额限额：依据保险单约定"
            + (f"及{basis}" if basis else "")
            + "，本次赔付以本保单年度剩余的保险金额为限，超出部分不予赔付。"
        )
    return (
        "Limit: under your policy"
        + (f" and {basis}" if basis else "")
        + ", we pay up to the sum insured left for this policy year; we cannot pay the part "
        "above it."
    )


def _salvage_note(amount: Decimal, zh: bool) -> str:
    if zh:
        return (
            f"残值 {fmt(amount)} 元：受损标的的残值经核定后作价归被保险人所有，依据保险合同约定"
            "在赔款中扣除。"
        )
    return (
        f"Salvage, CNY {fmt(amount)}: the damaged property, valued at this amount, stays with "
        "the insured, so under the policy its value is taken off the settlement."
    )


def _average_note(zh: bool) -> str:
    if zh:
        return (
            "比例赔偿：保险金额低于出险时的保险价值，依据《中华人民共和国保险法》第五十五条，"
            "按照保险金额与保险价值的比例承担赔偿责任。"
        )
    return (
        "Under-insurance: the sum insured is less than the value at risk at the time of the loss, "
        "so under Article 55 of the Insurance Law of the People's Republic of China we pay the "
        "loss in proportion of the sum insured to that value."
    )


def _total_loss_note(zh: bool) -> str:
    if zh:
        return "推定全损：维修费用达到车辆实际价值的 80% 及以上，按车辆实际价值计算损失。"
    return (
        "Total loss: the repair would cost 80% or more of the vehicle's actual value, so the loss "
        "is the vehicle's actual value."
    )

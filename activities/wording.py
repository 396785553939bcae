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
from typing import Any, Protocol

from activities.notes import (
    average_note,
    clause_ref,
    clause_text,
    deductible_note,
    limit_note,
    ratio_note,
    salvage_note,
    total_loss_note,
)
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


class LetterContext(Protocol):
    """What a letter's template knows: a mapping, or the template's own jinja2 context."""

    def get(self, key: str, /) -> Any: ...


def settlement_in_words(
    lines: list[Mapping[str, Any]],
    context: LetterContext,
    zh: bool,
    person: Callable[[str], str],
) -> Computation:
    """The adjustment's lines as a claimant reads them: totals, each deduction as "less", the
    amount payable, and a note for every deduction naming its clause and its reason.

    `context` may carry what the decision letter knows beyond the lines (cases begun since
    "decision-letter-details"): `non_covered` items, `non_covered_clause`, `coverage_clause`,
    and the approvals' notes (the panel's reasons for an amount it set)."""
    writer = _Writer(context, zh, person)
    for line in lines:
        zh_label = str(line["label_zh"])
        label = zh_label if zh else str(line["label_en"])
        amount = Decimal(str(line["amount"]))
        step = next(
            (
                write
                for key, exact, write in _STEPS
                if (zh_label == key if exact else zh_label.startswith(key))
            ),
            _Writer.other,
        )
        step(writer, zh_label, label, amount)
    return writer.out


class _Writer:
    """The computation as it is written, line by line: its steps, its notes, and the running
    amount a ratio applies to."""

    def __init__(self, context: LetterContext, zh: bool, person: Callable[[str], str]) -> None:
        self.context = context
        self.zh = zh
        self.i = 0 if zh else 1
        self.person = person
        self.out = Computation()
        self.basis = clause_ref(context.get("coverage_clause"), zh)
        self.running = Decimal("0")
        self.previous_less = False

    def add(self, label: str, amount: Decimal, less: bool = False, result: bool = False) -> None:
        self.out.steps.append(Step(label, abs(amount), less, result))
        self.running = self.running - abs(amount) if less else amount
        self.previous_less = less

    def less(self, what: str) -> str:
        return _LESS[self.i] + what

    def claimed(self, zh_label: str, label: str, amount: Decimal) -> None:
        self.add(_WORDS["claimed"][self.i], amount)

    def non_covered(self, zh_label: str, label: str, amount: Decimal) -> None:
        if amount:
            _non_covered(self.out, amount, self.context, self.zh, self.add, self.less)

    def eligible(self, zh_label: str, label: str, amount: Decimal) -> None:
        self.add(_WORDS["eligible"][self.i], amount)

    def deductible(self, zh_label: str, label: str, amount: Decimal) -> None:
        if amount:
            self.add(self.less(_WORDS["deductible"][self.i]), amount, less=True)
            self.out.notes.append(deductible_note(abs(amount), self.basis, self.zh))

    def ratio(self, zh_label: str, label: str, amount: Decimal) -> None:
        found = _RATIO.search(zh_label)
        ratio = found.group(1) if found else "100"
        if self.previous_less:
            self.add(_WORDS["after_deductible"][self.i], self.running)
        self.add(_WORDS["ratio"][self.i].format(r=ratio), amount)
        if Decimal(ratio) < 100:
            self.out.notes.append(ratio_note(ratio, self.basis, self.zh))

    def payable(self, zh_label: str, label: str, amount: Decimal) -> None:
        if "以剩余保额为限" in zh_label and amount < self.running:
            self.out.notes.append(limit_note(self.basis, self.zh))
        self.add(_WORDS["payable"][self.i], amount, result=True)

    def salvage(self, zh_label: str, label: str, amount: Decimal) -> None:
        if amount:
            suffix = (
                zh_label.removeprefix("扣除残值") if self.zh else label.removeprefix("Less salvage")
            )
            self.add(self.less(_WORDS["salvage"][self.i] + suffix), amount, less=True)
            self.out.notes.append(salvage_note(abs(amount), self.zh))

    def average(self, zh_label: str, label: str, amount: Decimal) -> None:
        self.add(_WORDS["average"][self.i], amount)
        self.out.notes.append(average_note(self.zh))

    def total_loss(self, zh_label: str, label: str, amount: Decimal) -> None:
        self.add(label, amount)
        self.out.notes.append(total_loss_note(self.zh))

    def other(self, zh_label: str, label: str, amount: Decimal) -> None:
        """A manual amount (staff or the panel), or a line the wording does not know."""
        if manual := _MANUAL.match(zh_label):
            _manual(
                self.out,
                manual["who"],
                manual["note"],
                amount,
                self.context,
                self.zh,
                self.person,
                self.add,
            )
        elif amount < 0:
            self.add(self.less(label.removeprefix("扣除").removeprefix("Less ")), amount, less=True)
        else:
            self.add(label, amount)


# The adjustment's lines the wording knows, by their zh-CN label (exact, or its start), in the
# order they are tried; any other line is written by `_Writer.other`.
_STEPS: tuple[tuple[str, bool, Callable[[_Writer, str, str, Decimal], None]], ...] = (
    ("申请费用合计", True, _Writer.claimed),
    ("不属保险责任费用", False, _Writer.non_covered),
    ("合理费用", True, _Writer.eligible),
    ("扣除免赔额", False, _Writer.deductible),
    ("按给付比例", False, _Writer.ratio),
    ("应赔付金额", False, _Writer.payable),
    ("扣除残值", False, _Writer.salvage),
    ("不足额保险比例分摊", True, _Writer.average),
    ("推定全损", False, _Writer.total_loss),
)


def _non_covered(
    out: Computation,
    amount: Decimal,
    context: LetterContext,
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
                    f"根据{clause_ref(clause, zh)}的约定"
                    if clause
                    else "根据保险合同责任免除的约定"
                )
                + "不属于保险责任，不予赔付。"
                + clause_text(clause, zh)
            )
        else:
            out.notes.append(
                f"Expenses not covered, CNY {fmt(abs(amount))}: self-paid drugs outside the "
                "medical insurance catalogue and cosmetic or other non-medically-necessary "
                "treatment, which "
                + (clause_ref(clause, zh) if clause else "the exclusions of your policy")
                + " do not cover."
                + clause_text(clause, zh)
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
                + (f"根据{clause_ref(clause, zh)}的约定" if clause else "根据保险合同的约定")
                + "不属于保险责任，不予赔付。"
                + clause_text(clause, zh)
            )
        else:
            out.notes.append(
                f"{what}, CNY {fmt(value)}: {reason}, which "
                + (clause_ref(clause, zh) if clause else "your policy")
                + " does not cover."
                + clause_text(clause, zh)
            )


def _manual(
    out: Computation,
    who: str,
    note: str,
    amount: Decimal,
    context: LetterContext,
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

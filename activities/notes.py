"""The notes under a settlement's computation in a letter: each deduction with its clause and
its reason (DOMAIN §10), in zh-CN or en. Pure functions of the figures (activities/wording.py
writes the computation they explain)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from models.money import fmt


def clause_ref(clause: Mapping[str, Any] | None, zh: bool) -> str:
    if not clause:
        return ""
    if zh:
        return f"保险条款 {clause['id']}（{clause['title']}）"
    return f"policy clause {clause['id']} ({clause['title']})"


def clause_text(clause: Mapping[str, Any] | None, zh: bool) -> str:
    """The clause's own words after a note, so the claimant need not look it up."""
    if not clause or not clause.get("text"):
        return ""
    return f"条款原文：“{clause['text']}”" if zh else f' The clause reads: "{clause["text"]}"'


def deductible_note(amount: Decimal, basis: str, zh: bool) -> str:
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


def ratio_note(ratio: str, basis: str, zh: bool) -> str:
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


def limit_note(basis: str, zh: bool) -> str:
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


def salvage_note(amount: Decimal, zh: bool) -> str:
    if zh:
        return (
            f"残值 {fmt(amount)} 元：受损标的的残值经核定后作价归被保险人所有，依据保险合同约定"
            "在赔款中扣除。"
        )
    return (
        f"Salvage, CNY {fmt(amount)}: the damaged property, valued at this amount, stays with "
        "the insured, so under the policy its value is taken off the settlement."
    )


def average_note(zh: bool) -> str:
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


def total_loss_note(zh: bool) -> str:
    if zh:
        return "推定全损：维修费用达到车辆实际价值的 80% 及以上，按车辆实际价值计算损失。"
    return (
        "Total loss: the repair would cost 80% or more of the vehicle's actual value, so the loss "
        "is the vehicle's actual value."
    )

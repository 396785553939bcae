"""The management measures of DOMAIN §8.9 and §11, computed from read-model rows as plain
data: the claims report, the complaint report and the regulator's quarterly CSV. The CLI
(`claims report ...`) prints them; the monthly archive report writes them to a file."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from statistics import mean
from typing import Any

from models.status import CLAIM_ENDED
from models.tables import ComplaintRow

ENDED = CLAIM_ENDED
AGE_BUCKETS = ((7, "0-7 d"), (30, "8-30 d"), (60, "31-60 d"), (10**6, "over 60 d"))


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _first(history: list[dict[str, Any]], *stages: str) -> datetime | None:
    return next((_at(h["at"]) for h in history if h["stage"] in stages), None)


def _days(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return (b - a).total_seconds() / 86400


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _avg(values: list[float]) -> float | None:
    return round(mean(values), 2) if values else None


def claim_measures(statuses: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """Counts by stage and age, STP rate, document rounds, statutory on-time rate net of
    pauses, denial and overturn rates, average cycle times, follow-up reach and satisfaction."""
    by_stage = Counter(s["stage"] for s in statuses)
    ages: Counter[str] = Counter()
    decided = stp = denied = appealed = overturned = 0
    rounds: list[float] = []
    met = breached = 0
    to_decision: list[float] = []
    to_payment: list[float] = []
    to_close: list[float] = []
    paid_total = Decimal("0")
    calls = reached = satisfied = 0
    for s in statuses:
        history = s.get("history", [])
        reported = _at(s["reported_at"])
        if s["stage"] not in ENDED:
            age = (now - reported).days
            ages[next(label for limit, label in AGE_BUCKETS if age <= limit)] += 1
        if s["stage"] != "NOT_ACCEPTED" and s.get("document_rounds"):
            rounds.append(s["document_rounds"])
        decision_at = _first(history, "APPROVED", "DENIED")
        if decision_at is not None:
            decided += 1
            stp += bool(s.get("straight_through"))
            denied += _first(history, "DENIED") == decision_at
            to_decision.append(_days(reported, decision_at) or 0)
            paid_at = _first(history, "PAID")
            approved_at = _first(history, "APPROVED")
            if paid_at and approved_at:
                to_payment.append(_days(approved_at, paid_at) or 0)
        if s.get("appealed_at"):
            appealed += 1
            overturned += bool(s.get("overturned"))
        closed_at = _first(history, "CLOSED")
        if closed_at:
            to_close.append(_days(reported, closed_at) or 0)
        for d in s.get("deadlines", []):
            if d["name"] == "determination" and d["status"] in ("met", "breached"):
                met += d["status"] == "met"
                breached += d["status"] == "breached"
        follow_up = s.get("follow_up")
        if follow_up:
            calls += 1
            reached += bool(follow_up.get("reached"))
            satisfied += bool(follow_up.get("reached") and follow_up.get("satisfied"))
        paid_total += sum((Decimal(str(p["amount"])) for p in s.get("payments", [])), Decimal(0))
    return {
        "claims": len(statuses),
        "by_stage": dict(sorted(by_stage.items())),
        "open_by_age": {label: ages.get(label, 0) for _, label in AGE_BUCKETS},
        "decided": decided,
        "stp_rate": rate(stp, decided),
        "document_rounds_per_claim": _avg(rounds),
        "statutory_on_time_rate": rate(met, met + breached),
        "determinations_on_time": met,
        "determinations_late": breached,
        "denial_rate": rate(denied, decided),
        "appeals": appealed,
        "overturn_rate": rate(overturned, appealed),
        "avg_days_report_to_decision": _avg(to_decision),
        "avg_days_decision_to_payment": _avg(to_payment),
        "avg_days_report_to_close": _avg(to_close),
        "paid_total": str(paid_total),
        # the follow-up call after payment or denial (DOMAIN §11): of the calls recorded, how
        # many reached the claimant; of those reached, how many were satisfied
        "follow_ups": calls,
        "follow_up_reach_rate": rate(reached, calls),
        "follow_up_satisfaction_rate": rate(satisfied, reached),
    }


# Months and quarters are counted on China Standard Time (the CN profile of DOMAIN §3). The
# read model returns aware datetimes in UTC (sqlmodel's UTCDateTime), so a complaint received
# at 01:00 on 1 December in China is 30 November in UTC: aware values are converted to China
# time first. Naive values (only from hand-made dicts) are taken as China time already.
CN_TZ = timezone(timedelta(hours=8))

CATEGORY_ZH = {
    "claim_decision": "理赔核定",
    "materials": "理赔资料",
    "payment_timeliness": "赔付时效",
    "service_attitude": "服务态度",
    "amount_dispute": "理赔金额争议",
    "other": "其他",
}
UNCATEGORISED = "uncategorised"
UNCATEGORISED_ZH = "未分类"
UNASSIGNED = "unassigned"
OPEN = "open"
DECLINED = "declined"

REGULATOR_HEADER = [
    "统计期间",
    "投诉类别",
    "受理件数",
    "办结件数",
    "按期办结件数",
    "延期件数",
    "投诉成立件数",
    "满意件数",
    "监管转办件数",
]
TOTAL_ZH = "合计"


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    at: datetime = value
    return at.astimezone(CN_TZ) if at.tzinfo is not None else at


def _month(value: Any) -> str | None:
    at = _when(value)
    return None if at is None else f"{at.year:04d}-{at.month:02d}"


def _quarter(value: Any) -> str:
    at = _when(value)
    return "" if at is None else f"{at.year:04d}-Q{(at.month - 1) // 3 + 1}"


def _months_between(first: str, last: str) -> list[str]:
    year, month = (int(p) for p in first.split("-"))
    out: list[str] = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _is_declined(row: dict[str, Any]) -> bool:
    return row.get("outcome") == DECLINED or row.get("stage") == "DECLINED"


def _is_closed(row: dict[str, Any]) -> bool:
    return row.get("closed_at") is not None or row.get("stage") == "CLOSED"


def _volume(rows: list[dict[str, Any]], field: str, missing: str) -> dict[str, int]:
    """Counts by a field, largest first (ties by name); a missing value counts as `missing`."""
    counts = Counter(row.get(field) or missing for row in rows)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def complaint_measures(
    rows: list[dict[str, Any]],
    claims_count: int,
    compensation: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The measures of DOMAIN §8.9 from complaint rows (plain dicts with the ComplaintRow
    fields) and the number of claims in the book; `compensation` is the complaint ledger
    (dicts with the ComplaintPaymentRow fields, at least `amount`).

    - on-time rate: on_time True / complaints decided (decided_at set) whose on_time is known;
    - extension rate: extensions > 0 / complaints registered (all but the declined ones);
    - upheld rate: upheld True / upheld known; satisfaction rate: satisfied True / known;
    - complaints per 1,000 claims: all complaints / claims * 1000 (None without claims);
    - repeat complainants: complainant keys with two complaints or more;
    - by month: complaints received per month (YYYY-MM, China time), gaps filled with 0;
    - compensation paid: the payments on the complaint ledger and their total, apart from
      claim payments (DOMAIN §6a: compensation is not a claim payment).
    """
    total = len(rows)
    declined = sum(_is_declined(r) for r in rows)
    registered = total - declined
    timed = [r for r in rows if r.get("decided_at") is not None and r.get("on_time") is not None]
    on_time = sum(r["on_time"] is True for r in timed)
    extended = sum((r.get("extensions") or 0) > 0 for r in rows if not _is_declined(r))
    judged = [r for r in rows if r.get("upheld") is not None]
    upheld = sum(r["upheld"] is True for r in judged)
    called = [r for r in rows if r.get("satisfied") is not None]
    satisfied = sum(r["satisfied"] is True for r in called)

    keys = Counter(r["complainant_key"] for r in rows if r.get("complainant_key"))
    repeats = sorted(
        ((key, n) for key, n in keys.items() if n >= 2), key=lambda kv: (-kv[1], kv[0])
    )

    months = Counter(m for m in (_month(r.get("received_at")) for r in rows) if m)
    by_month: dict[str, int] = {}
    if months:
        by_month = {m: months.get(m, 0) for m in _months_between(min(months), max(months))}

    return {
        "complaints": total,
        "registered": registered,
        "declined": declined,
        "complainants": sum(r.get("complainants") or 1 for r in rows),
        "by_category": _volume(rows, "category", UNCATEGORISED),
        "by_channel": _volume(rows, "channel", "unknown"),
        "by_priority": _volume(rows, "priority", "normal"),
        "by_department": _volume(rows, "department", UNASSIGNED),
        "by_outcome": _volume(rows, "outcome", OPEN),
        "decided_with_deadline": len(timed),
        "decided_on_time": on_time,
        "on_time_rate": rate(on_time, len(timed)),
        "extended": extended,
        "extension_rate": rate(extended, registered),
        "findings": len(judged),
        "upheld": upheld,
        "upheld_rate": rate(upheld, len(judged)),
        "callbacks_answered": len(called),
        "satisfied": satisfied,
        "satisfaction_rate": rate(satisfied, len(called)),
        "claims": claims_count,
        "complaints_per_1000_claims": (
            round(total / claims_count * 1000, 2) if claims_count else None
        ),
        "repeat_complainants": len(repeats),
        "repeat_complainant_keys": [{"key": k, "complaints": n} for k, n in repeats],
        "by_month": by_month,
        "compensation_paid": len(compensation or []),
        "compensation_total": str(
            sum((Decimal(str(p["amount"])) for p in compensation or []), Decimal("0.00"))
        ),
    }


def regulator_csv(rows: list[dict[str, Any]]) -> str:
    """Quarterly complaint statistics in the layout insurers send the regulator: per quarter
    (of received_at, China time) one row for each category and a 合计 row. Counts cover the
    complaints accepted (受理: all but the declined ones). 办结 = closed; 按期办结 = closed with
    its decision notice on time; 延期 = extended at least once; 投诉成立 = upheld; 满意 =
    satisfied at the callback; 监管转办 = forwarded by the regulator. UTF-8 with a BOM, so
    Excel reads the Chinese headers."""
    accepted = [r for r in rows if not _is_declined(r)]
    periods = sorted({_quarter(r.get("received_at")) for r in accepted}) or [""]

    def counts(group: list[dict[str, Any]]) -> list[int]:
        closed = [r for r in group if _is_closed(r)]
        return [
            len(group),
            len(closed),
            sum(r.get("on_time") is True for r in closed),
            sum((r.get("extensions") or 0) > 0 for r in group),
            sum(r.get("upheld") is True for r in group),
            sum(r.get("satisfied") is True for r in group),
            sum(r.get("channel") == "regulator" for r in group),
        ]

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REGULATOR_HEADER)
    for period in periods:
        in_period = [r for r in accepted if _quarter(r.get("received_at")) == period]
        categories = list(CATEGORY_ZH)
        extra = sorted({r["category"] for r in in_period if r.get("category")} - set(categories))
        categories += extra
        for category in categories:
            group = [r for r in in_period if r.get("category") == category]
            writer.writerow([period, CATEGORY_ZH.get(category, category), *counts(group)])
        missing = [r for r in in_period if not r.get("category")]
        if missing:
            writer.writerow([period, UNCATEGORISED_ZH, *counts(missing)])
        writer.writerow([period, TOTAL_ZH, *counts(in_period)])
    return "\ufeff" + out.getvalue()


COLUMNS = [name for name in ComplaintRow.model_fields if name != "status"]

"""`claims report ...`: the measures of DOMAIN §11, from the read model."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from statistics import mean
from typing import Annotated, Any

import typer
from rich.table import Table

from commands.common import console, db, handle_errors, print_json
from models.status import CLAIM_ENDED
from readmodel import queries

app = typer.Typer(help="Management measures from the read model.", no_args_is_help=True)

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


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _avg(values: list[float]) -> float | None:
    return round(mean(values), 2) if values else None


def claim_measures(statuses: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """Counts by stage and age, STP rate, document rounds, statutory on-time rate net of
    pauses, denial and overturn rates, average cycle times."""
    by_stage = Counter(s["stage"] for s in statuses)
    ages: Counter[str] = Counter()
    decided = stp = denied = appealed = overturned = 0
    rounds: list[float] = []
    met = breached = 0
    to_decision: list[float] = []
    to_payment: list[float] = []
    to_close: list[float] = []
    paid_total = Decimal("0")
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
        paid_total += sum((Decimal(str(p["amount"])) for p in s.get("payments", [])), Decimal(0))
    return {
        "claims": len(statuses),
        "by_stage": dict(sorted(by_stage.items())),
        "open_by_age": {label: ages.get(label, 0) for _, label in AGE_BUCKETS},
        "decided": decided,
        "stp_rate": _rate(stp, decided),
        "document_rounds_per_claim": _avg(rounds),
        "statutory_on_time_rate": _rate(met, met + breached),
        "determinations_on_time": met,
        "determinations_late": breached,
        "denial_rate": _rate(denied, decided),
        "appeals": appealed,
        "overturn_rate": _rate(overturned, appealed),
        "avg_days_report_to_decision": _avg(to_decision),
        "avg_days_decision_to_payment": _avg(to_payment),
        "avg_days_report_to_close": _avg(to_close),
        "paid_total": str(paid_total),
    }


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


@app.command("claims")
@handle_errors
def report_claims(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Claims measures: stages and ages, STP rate, document rounds, statutory on-time rate net
    of pauses, denial and overturn rates, cycle times.

    Example: claims report claims
    """
    statuses = queries.claim_statuses(engine=db())
    m = claim_measures(statuses, datetime.now(UTC))
    if as_json:
        print_json(m)
        return
    t = Table(title="Claims by stage", title_justify="left")
    t.add_column("stage")
    t.add_column("claims", justify="right")
    for stage, n in m["by_stage"].items():
        t.add_row(stage, str(n))
    console.print(t)
    t = Table(title="Open claims by age", title_justify="left")
    t.add_column("age")
    t.add_column("claims", justify="right")
    for label, n in m["open_by_age"].items():
        t.add_row(label, str(n))
    console.print(t)
    t = Table(title="Measures", title_justify="left")
    t.add_column("measure")
    t.add_column("value", justify="right")
    rows = [
        ("claims", str(m["claims"])),
        ("decided", str(m["decided"])),
        ("straight-through rate", _pct(m["stp_rate"])),
        ("document rounds per claim", _num(m["document_rounds_per_claim"])),
        ("statutory on-time rate (net of pauses)", _pct(m["statutory_on_time_rate"])),
        ("denial rate", _pct(m["denial_rate"])),
        ("appeals", str(m["appeals"])),
        ("overturn rate", _pct(m["overturn_rate"])),
        ("avg days report -> decision", _num(m["avg_days_report_to_decision"])),
        ("avg days decision -> payment", _num(m["avg_days_decision_to_payment"])),
        ("avg days report -> close", _num(m["avg_days_report_to_close"])),
        ("paid in total", m["paid_total"]),
    ]
    for name, value in rows:
        t.add_row(name, value)
    console.print(t)

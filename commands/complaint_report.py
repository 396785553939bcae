"""`claims report complaints`: the complaint measures of DOMAIN §8.9, from the read model,
with a regulator-style CSV and PNG charts. Joined to the `report` sub-app in cli.py."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from commands.common import console, db, handle_errors, money, print_json
from commands.complaint_charts import write_charts
from commands.report import _pct, _rate
from models.tables import ComplaintRow
from readmodel import queries
from security.masking import mask_contact

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

app = typer.Typer()


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
        "on_time_rate": _rate(on_time, len(timed)),
        "extended": extended,
        "extension_rate": _rate(extended, registered),
        "findings": len(judged),
        "upheld": upheld,
        "upheld_rate": _rate(upheld, len(judged)),
        "callbacks_answered": len(called),
        "satisfied": satisfied,
        "satisfaction_rate": _rate(satisfied, len(called)),
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


def _load() -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
    """The complaint rows and the ledger as the measures take them (plain dicts), and the
    number of claims."""
    engine = db()
    rows = [
        {name: getattr(row, name) for name in COLUMNS}
        for row in queries.all_complaints(engine=engine)
    ]
    paid = [
        {"complaint_id": p.complaint_id, "amount": p.amount, "paid_at": p.paid_at}
        for p in queries.compensation_paid(engine=engine)
    ]
    return rows, queries.claim_count(engine=engine), paid


def _volume_table(title: str, column: str, counts: dict[str, int], total: int) -> Table:
    t = Table(title=title, title_justify="left")
    t.add_column(column)
    t.add_column("complaints", justify="right")
    t.add_column("share", justify="right")
    for key, n in counts.items():
        t.add_row(key, str(n), _pct(_rate(n, total)))
    return t


def _of(part: int, whole: int) -> str:
    return f"{part} of {whole}"


@app.command("complaints")
@handle_errors
def report_complaints(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    csv_path: Annotated[
        Path | None,
        typer.Option("--csv", help="Write the regulator-style quarterly CSV to this file."),
    ] = None,
    charts: Annotated[
        Path | None,
        typer.Option("--charts", help="Write PNG charts (month, category, channel) here."),
    ] = None,
) -> None:
    """Complaint measures: volume by category, channel, priority, department and outcome;
    on-time, extension, upheld and satisfaction rates; complaints per 1,000 claims; repeat
    complainants; monthly volume.

    Compensation paid on complaints (the complaint ledger) is shown on its own, apart from
    claim payments.

    Example: claims report complaints --csv complaints.csv --charts charts/
    """
    rows, claims_count, paid = _load()
    m = complaint_measures(rows, claims_count, paid)
    # a complainant's key is their id number, phone or email: the report shows it masked
    m["repeat_complainant_keys"] = [
        {**item, "key": mask_contact(item["key"])} for item in m["repeat_complainant_keys"]
    ]
    written: list[Path] = []
    if csv_path is not None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        csv_path.write_text(regulator_csv(rows), encoding="utf-8", newline="")
        written.append(csv_path)
    if charts is not None:
        written += write_charts(m, charts)
    if as_json:
        print_json(m)
        for path in written:
            typer.echo(f"wrote {path}", err=True)
        return
    total = m["complaints"]
    for field, title, column in (
        ("by_category", "Complaints by category", "category"),
        ("by_channel", "Complaints by channel", "channel"),
        ("by_priority", "Complaints by priority", "priority"),
        ("by_department", "Complaints by department", "department"),
        ("by_outcome", "Complaints by outcome", "outcome"),
    ):
        console.print(_volume_table(title, column, m[field], total))
    t = Table(title="Measures", title_justify="left")
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_column("count", justify="right")
    per_1000 = m["complaints_per_1000_claims"]
    for name, value, count in (
        ("complaints", str(total), f"{m['declined']} declined"),
        (
            "on-time rate (decision notice)",
            _pct(m["on_time_rate"]),
            _of(m["decided_on_time"], m["decided_with_deadline"]),
        ),
        ("extension rate", _pct(m["extension_rate"]), _of(m["extended"], m["registered"])),
        ("upheld rate", _pct(m["upheld_rate"]), _of(m["upheld"], m["findings"])),
        (
            "satisfaction rate",
            _pct(m["satisfaction_rate"]),
            _of(m["satisfied"], m["callbacks_answered"]),
        ),
        (
            "complaints per 1,000 claims",
            "-" if per_1000 is None else f"{per_1000:g}",
            f"{m['claims']} claims",
        ),
        ("repeat complainants", str(m["repeat_complainants"]), ""),
        (
            "compensation paid (complaint ledger, not claim payments)",
            money(m["compensation_total"]),
            f"{m['compensation_paid']} payments",
        ),
    ):
        t.add_row(name, value, count)
    console.print(t)
    if m["repeat_complainant_keys"]:
        t = Table(title="Repeat complainants", title_justify="left")
        t.add_column("complainant")
        t.add_column("complaints", justify="right")
        for item in m["repeat_complainant_keys"]:
            t.add_row(item["key"], str(item["complaints"]))
        console.print(t)
    if m["by_month"]:
        t = Table(title="Complaints by month", title_justify="left")
        t.add_column("month")
        t.add_column("complaints", justify="right")
        for month, n in m["by_month"].items():
            t.add_row(month, str(n))
        console.print(t)
    for path in written:
        console.print(f"wrote {path}")

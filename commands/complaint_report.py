"""`claims report complaints`: the complaint measures of DOMAIN §8.9, from the read model,
with a regulator-style CSV and PNG charts. Joined to the `report` sub-app in cli.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from commands.common import console, db, handle_errors, money, print_json
from commands.complaint_charts import write_charts
from commands.report import _pct
from readmodel import queries
from readmodel.measures import COLUMNS, complaint_measures, rate, regulator_csv
from security.masking import mask_contact

app = typer.Typer()


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
        t.add_row(key, str(n), _pct(rate(n, total)))
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

"""`claims report ...`: the measures of DOMAIN §11, from the read model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from commands.common import console, db, handle_errors, print_json
from readmodel import queries
from readmodel.measures import claim_measures

app = typer.Typer(help="Management measures from the read model.", no_args_is_help=True)


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
    of pauses, denial and overturn rates, cycle times, follow-up reach and satisfaction.

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
        ("follow-up calls", str(m["follow_ups"])),
        ("follow-up reach rate", _pct(m["follow_up_reach_rate"])),
        ("satisfied, of those reached", _pct(m["follow_up_satisfaction_rate"])),
    ]
    for name, value in rows:
        t.add_row(name, value)
    console.print(t)

"""`claims calendar ...`: the public holidays the statutory clocks count with (README "The
statutory clocks"). The source is the `chinesecalendar` package; after upgrading it to a
release with a newly published year, `claims calendar refresh` gives that year to every open
case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from temporalio.service import RPCError, RPCStatusCode

from commands.common import UserError, handle_errors, print_json, run, temporal
from models.calendars import CalendarUpdate, published_calendar

app = typer.Typer(help="The public holiday calendar deadlines count with.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
OPEN_CASES = (
    "ExecutionStatus = 'Running' AND "
    "(WorkflowType = 'ClaimWorkflow' OR WorkflowType = 'ComplaintWorkflow')"
)


@app.command("show")
@handle_errors
def show(
    year: Annotated[
        int | None, typer.Option("--year", help="List this year's days off and make-up days.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The years the installed calendar covers; with --year, that year's public holidays and
    make-up working days (调休).

    Example: claims calendar show --year 2026
    """
    cal = published_calendar()
    if year is None:
        out = {"source": cal.source, "years": cal.years}
        if as_json:
            print_json(out)
            return
        typer.echo(f"source   {cal.source}")
        typer.echo(f"covers   {_ranges(cal.years)}")
        typer.echo("a deadline in a later year is flagged on its case until the year is published")
        return
    if year not in cal.years:
        raise UserError(
            f"{cal.source} does not cover {year}: upgrade it (pip install -U chinesecalendar) "
            "once the State Council has published that year, then run claims calendar refresh"
        )
    holidays = [d for d in cal.holidays if d.year == year]
    workdays = [d for d in cal.workdays if d.year == year]
    if as_json:
        print_json({"source": cal.source, "year": year, "holidays": holidays, "workdays": workdays})
        return
    typer.echo(f"{year} ({cal.source})")
    typer.echo("public holidays       " + ", ".join(d.isoformat() for d in holidays))
    typer.echo("make-up working days  " + (", ".join(d.isoformat() for d in workdays) or "-"))


@app.command("refresh")
@handle_errors
def refresh(as_json: JsonOpt = False) -> None:
    """Send the installed calendar (from last year on) to every open claim and complaint
    (signal calendar_updated): their running deadlines count with the newly published years
    from now on, and the flags those years answer are cleared. Safe to repeat: a case that
    already has these years changes nothing.

    Example: claims calendar refresh
    """
    cal = published_calendar(datetime.now(UTC).year - 1)
    sent, finished = run(_send_to_open_cases(cal))
    if as_json:
        print_json({"source": cal.source, "years": cal.years, "sent": sent, "finished": finished})
        return
    typer.echo(f"sent {cal.source} ({_ranges(cal.years)}) to {len(sent)} open case(s)")
    if finished:
        typer.echo(f"{len(finished)} case(s) finished meanwhile: nothing to send")


async def _send_to_open_cases(cal: CalendarUpdate) -> tuple[list[str], list[str]]:
    client = await temporal()
    sent: list[str] = []
    finished: list[str] = []
    async for wf in client.list_workflows(OPEN_CASES):
        try:
            await client.get_workflow_handle(wf.id).signal("calendar_updated", cal)
            sent.append(wf.id)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            finished.append(wf.id)
    return sent, finished


def _ranges(years: list[int]) -> str:
    """2004-2026, or 2004-2010, 2012 when a year is missing."""
    if not years:
        return "no year"
    parts: list[str] = []
    start = prev = years[0]
    for y in [*years[1:], None]:
        if y is not None and y == prev + 1:
            prev = y
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if y is not None:
            start = prev = y
    return ", ".join(parts)

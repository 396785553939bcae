"""`claims schedule ...`: the engine's Temporal Schedules, the nightly archive export and the
monthly complaint report (audit/schedules.py; README "Archive")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from temporalio.client import Client

from audit import schedules
from commands.common import (
    ZONE_NAME,
    UserError,
    console,
    handle_errors,
    print_json,
    run,
    settings,
    temporal,
    when,
)

app = typer.Typer(
    help="The engine's schedules: nightly archive export, monthly complaint report.",
    no_args_is_help=True,
)

T = TypeVar("T")


def _with_client(call: Callable[[Client], Awaitable[T]]) -> T:
    async def go() -> T:
        return await call(await temporal())

    try:
        return run(go())
    except schedules.UnknownSchedule as err:
        raise UserError(str(err)) from None


@app.command("install")
@handle_errors
def install() -> None:
    """Create the schedules, or update them in place when they exist (a paused one stays
    paused): claims-archive-nightly (02:00 Beijing time) and claims-complaint-report-monthly
    (03:00 Beijing time on the 1st). Their workflows run on the worker's task queue.

    Example: claims schedule install
    """
    s = settings()
    for schedule_id, action in _with_client(lambda c: schedules.install(c, s)):
        typer.echo(f"{schedule_id}: {action}")


@app.command("list")
@handle_errors
def list_schedules(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """The engine's schedules: when they run, the next run (Beijing time), runs so far.

    Example: claims schedule list
    """
    found = _with_client(schedules.summaries)
    if as_json:
        print_json([vars(summary) for summary in found])
        return
    t = Table(title=f"Schedules (times in {ZONE_NAME})", title_justify="left")
    for column in ("schedule", "runs at", "next run", "last run", "runs", "state"):
        t.add_column(column, justify="right" if column == "runs" else "left")
    for summary in found:
        if not summary.installed:
            t.add_row(summary.id, "-", "-", "-", "-", "not installed (claims schedule install)")
            continue
        t.add_row(
            summary.id,
            f"{summary.when} ({summary.time_zone})",
            when(summary.next_run),
            when(summary.last_run),
            str(summary.runs),
            "paused" if summary.paused else "active",
        )
    console.print(t)


@app.command("remove")
@handle_errors
def remove() -> None:
    """Delete the schedules (a run in flight finishes; the archive stays as it is).

    Example: claims schedule remove
    """
    for schedule_id, action in _with_client(schedules.remove):
        typer.echo(f"{schedule_id}: {action}")


@app.command("run-now")
@handle_errors
def run_now(
    name: Annotated[
        str,
        typer.Argument(help="archive, complaint-report, or the schedule's id."),
    ],
) -> None:
    """Run a schedule's action now, as a run of the schedule (the nightly export then covers
    the cases closed since the previous export; the report, the month before this one).

    Example: claims schedule run-now archive
    """
    schedule_id = _with_client(lambda c: schedules.run_now(c, name))
    typer.echo(f"{schedule_id}: started")

"""`claims notice ...`: the notices sent on a case, each channel tried with its status."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from commands.common import ZONE_NAME, UserError, console, db, handle_errors, print_json, when
from notify.queries import notices_of

app = typer.Typer(help="See the notices sent to claimants and complainants.", no_args_is_help=True)


@app.command("list")
@handle_errors
def list_notices(
    claim: Annotated[
        str, typer.Option("--claim", help="The claim (or complaint) id.", show_default=False)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List a case's notices, each channel tried.

    Its status (sent, delivered, retrying, failed), attempts, times in Beijing time and the
    last error, in words that name no person.

    Example: claims notice list --claim CLM-20261129-0001
    """
    rows = notices_of(db(), case_id=claim)
    if as_json:
        print_json([row.model_dump() for row in rows])
        return
    if not rows:
        raise UserError(f"no notices for {claim}")
    table = Table(title=f"Notices of {claim} (times in {ZONE_NAME})")
    for column in ("key", "kind", "channel", "status", "attempts", "first try", "sent"):
        table.add_column(column)
    table.add_column("delivered")
    table.add_column("last error")
    for row in rows:
        table.add_row(
            row.key,
            row.kind,
            row.channel,
            row.status,
            str(row.attempts),
            when(row.first_attempt_at),
            when(row.sent_at),
            when(row.delivered_at),
            row.last_error or "",
        )
    console.print(table)

"""`claims demo load`: demo policies, clauses and staff."""

from __future__ import annotations

import typer

import demo
from commands.common import db, handle_errors, settings

app = typer.Typer(help="Demo data for trying the engine.", no_args_is_help=True)


@app.command("load")
@handle_errors
def load() -> None:
    """Load the demo policies, product clauses and staff (safe to run twice). Demo staff sign
    with the secret demo-<staff id>, written to the keys file in the data folder.

    Example: claims demo load
    """
    counts = demo.load(db(), keys_file=settings().staff_keys_file)
    typer.echo(
        f"demo data loaded into {settings().db_url}: "
        + ", ".join(f"{n} {k}" for k, n in counts.items())
    )

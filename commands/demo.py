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
    with deterministic demo Ed25519 keys, written to the keys folder in the data folder (and,
    for cases begun before release 2026-12, the secret demo-<staff id> in the keys file).

    Example: claims demo load
    """
    counts = demo.load(
        db(), keys_file=settings().staff_keys_file, keys_dir=settings().staff_keys_dir
    )
    typer.echo(
        f"demo data loaded into {settings().db_url}: "
        + ", ".join(f"{n} {k}" for k, n in counts.items())
    )

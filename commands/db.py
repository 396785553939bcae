"""`claims db`: the read model's schema, managed by Alembic (revisions in migrations/)."""

from __future__ import annotations

import typer

from commands.common import handle_errors, print_json, settings
from database import head_revision, open_engine, prepare_schema, schema_state

app = typer.Typer(
    help="The read model's schema: its revision and the upgrade.", no_args_is_help=True
)


@app.command("upgrade")
@handle_errors
def upgrade() -> None:
    """Bring the read model to the newest revision: create it in an empty database, adopt one
    written before migrations. `claims run` and every worker do the same at start; running it
    beside them is safe (one process at a time migrates).

    Example: claims db upgrade
    """
    engine = open_engine(settings().db_url)
    try:
        change = prepare_schema(engine)
    finally:
        engine.dispose()
    typer.echo(f"read model {change}")


@app.command("current")
@handle_errors
def current(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The read model's revision, and the newest this release has.

    Example: claims db current
    """
    engine = open_engine(settings().db_url)
    try:
        revision, empty = schema_state(engine)
    finally:
        engine.dispose()
    head = head_revision()
    if revision == head:
        state, note = "head", "head"
    elif empty:
        state, note = "empty", f"empty database; `claims db upgrade` creates revision {head}"
    elif revision is None:
        state, note = "before migrations", f"written before migrations; upgrade to {head}"
    else:
        state, note = "behind", f"head is {head}; `claims db upgrade`"
    if as_json:
        print_json({"revision": revision, "head": head, "state": state})
    else:
        typer.echo(f"{revision or 'none'} ({note})")

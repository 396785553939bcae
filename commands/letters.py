"""`claims letter ...`: the letters a case produced, as sent."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from commands.common import (
    FullOpt,
    UserError,
    ViewerOpt,
    console,
    db,
    full_view_allowed,
    handle_errors,
    print_json,
    read_model,
    when,
)
from models.catalog import LOCAL_TIME_NAME
from security.masking import mask_text

app = typer.Typer(help="Read the letters sent on a case.", no_args_is_help=True)


@app.command("show")
@handle_errors
def show(
    letter_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    full: FullOpt = False,
    viewer: ViewerOpt = None,
) -> None:
    """Print a letter as it was sent; the recipient's phone is masked unless `--full --as`.

    Example: claims letter show CLM-1-decision-1
    """
    from readmodel import queries

    row = queries.letter(engine=db(), letter_id=letter_id)
    if row is None:
        raise UserError(f"unknown letter {letter_id}")
    shown_in_full = full_view_allowed(viewer, full, row.case_id, f"letter show {letter_id}")
    recipient = row.recipient if shown_in_full else mask_text(row.recipient)
    if as_json:
        print_json({**row.model_dump(), "recipient": recipient})
        return
    typer.echo(
        f"# {row.kind} to {recipient} via {_channel(row.channel)}, "
        f"sent {when(row.sent_at)} ({LOCAL_TIME_NAME['en']}), "
        f"sha256 {row.sha256}\n# file {row.path}\n"
    )
    typer.echo(row.body)


def _without_body(letter: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in letter.items() if name != "body"}


def _channel(channel: str) -> str:
    """A formal notice to someone without email goes by post: the file is the print copy, and
    an SMS points to it (the letter's last line says so)."""
    return (
        "post (this file is the print copy; an SMS points to it)" if channel == "post" else channel
    )


@app.command("list")
@handle_errors
def list_letters(
    case_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the letters of a case.

    Example: claims letter list CLM-1
    """
    from dataclasses import asdict

    from readmodel import reads

    rows = reads.letters_of(engine=read_model(), case_id=case_id)
    if as_json:
        print_json(
            [{**_without_body(asdict(r)), "recipient": mask_text(r.recipient)} for r in rows]
        )
        return
    t = Table()
    for c in ("letter", "kind", "language", "channel", "sent (Beijing time)", "file"):
        t.add_column(c)
    for r in rows:
        t.add_row(r.letter_id, r.kind, r.language, r.channel, when(r.sent_at), r.path)
    console.print(t)

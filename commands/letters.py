"""`claims letter ...`: the letters a case produced, as sent."""

from __future__ import annotations

from typing import Annotated

import typer

from commands.common import (
    FullOpt,
    UserError,
    ViewerOpt,
    db,
    full_view_allowed,
    handle_errors,
    print_json,
    when,
)
from commands.reading import print_letters
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
    print_letters(case_id, as_json)

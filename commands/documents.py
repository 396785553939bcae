"""Documents claimants uploaded through the portal: `claims claim documents ID` lists a
claim's, `claims document show DIGEST` prints where one is stored or writes it out."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from commands.common import UserError, console, db, handle_errors, print_json, settings, when
from portal import documents, queries

app = typer.Typer(help="Documents received from claimants.", no_args_is_help=True)
claim_app = typer.Typer()


@claim_app.command("documents")
@handle_errors
def claim_documents(
    claim_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the documents a claim received through the portal, oldest first.

    Example: claims claim documents CLM-20261123-0001
    """
    rows = queries.documents(engine=db(), claim_id=claim_id)
    if as_json:
        print_json([r.model_dump() for r in rows])
        return
    t = Table()
    for c in ("received", "kind", "type", "size", "sha256"):
        t.add_column(c, justify="right" if c == "size" else "left")
    for r in rows:
        t.add_row(when(r.received_at), r.kind, r.content_type, f"{r.size:,}", r.sha256)
    console.print(t)
    typer.echo(f"{len(rows)} document(s)")


@app.command("show")
@handle_errors
def show(
    digest: Annotated[str, typer.Argument(help="The document's sha256.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the document to this file.")
    ] = None,
) -> None:
    """Print where a document is stored (its type and size), or write it out with --out.

    Example: claims document show 9f86d0...0f00a08 --out invoice.pdf
    """
    digest = digest.strip().lower()
    try:
        path = documents.path_of(settings().data_dir, digest)
    except documents.DocumentRefused:
        raise UserError("a document is named by its sha256 (64 hex digits)") from None
    row = queries.document(engine=db(), sha256=digest)
    if row is None or not path.is_file():
        raise UserError(f"no document {digest}")
    if out is None:
        typer.echo(f"{path.resolve()}  {row.content_type}  {row.size:,} bytes")
        return
    shutil.copyfile(path, out)
    typer.echo(f"wrote {out} ({row.content_type}, {row.size:,} bytes)")

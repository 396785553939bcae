"""`claims portal`: the claimant self-service page alone; `claims claim link ID`: a claim's
page link for staff to hand over (re-sending it to the claimant, `--send`, comes with the
notifier)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from commands.common import UserError, db, handle_errors, settings
from portal import queries, tokens

app = typer.Typer(help="A claim's page link.")


@handle_errors
def portal(
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default CLAIMS_PORTAL_PORT, 8240).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the claimant self-service page: report a claim, follow it, upload documents,
    read letters, appeal, complain. Ctrl-C stops it.

    Example: claims portal --port 8240
    """
    from portal.server import serve

    s = settings()
    typer.echo(f"portal     http://{host}:{port or s.portal_port} (Ctrl-C to stop)")
    serve(s, host=host, port=port)


@app.command("link")
@handle_errors
def link(
    claim_id: str,
    revoke: Annotated[
        bool, typer.Option("--revoke", help="First revoke every earlier link of the claim.")
    ] = False,
) -> None:
    """Print a new page link for the claim, to give the claimant (earlier links stay valid
    unless --revoke, for a link that reached someone else). The link opens the claim without
    a password: hand it to the claimant only.

    Example: claims claim link CLM-20261123-0001 --revoke
    """
    from portal.server import base_url

    if queries.claim(engine=db(), claim_id=claim_id) is None:
        raise UserError(f"unknown claim {claim_id}")
    if revoke:
        n = queries.revoke_tokens(engine=db(), claim_id=claim_id, at=datetime.now(UTC))
        typer.echo(f"revoked {n} earlier link(s)", err=True)
    token = tokens.issue(engine=db(), claim_id=claim_id)
    typer.echo(f"{base_url(settings())}/c/{token}")

"""`claims portal`: the claimant self-service page alone; `claims claim link ID`: a claim's
page link for staff to hand over, or (`--send`) re-sent to the claimant's phone on record by
SMS through the notifier once the caller has confirmed its last four digits."""

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
    send: Annotated[
        bool,
        typer.Option("--send", help="Send the link by SMS to the claimant's phone on record."),
    ] = False,
    phone_last4: Annotated[
        str | None,
        typer.Option(help="With --send: the last four digits of the phone the caller gives."),
    ] = None,
) -> None:
    """Print a new page link for the claim, to give the claimant (earlier links stay valid
    unless --revoke, for a link that reached someone else). The link opens the claim without
    a password: hand it to the claimant only.

    Example: claims claim link CLM-20261123-0001 --send --phone-last4 0000
    """
    from portal.server import base_url

    if queries.claim(engine=db(), claim_id=claim_id) is None:
        raise UserError(f"unknown claim {claim_id}")
    phone = _confirmed_phone(claim_id, phone_last4) if send else None
    if revoke:
        n = queries.revoke_tokens(engine=db(), claim_id=claim_id, at=datetime.now(UTC))
        typer.echo(f"revoked {n} earlier link(s)", err=True)
    token = tokens.issue(engine=db(), claim_id=claim_id)
    url = f"{base_url(settings())}/c/{token}"
    if phone is None:
        typer.echo(url)
        return
    _send_link(claim_id, phone, url, tokens.digest(token))


def _confirmed_phone(claim_id: str, last4: str | None) -> str:
    """The claimant's phone on record (the workflow has it in full), once the caller's last
    four digits match it; otherwise one line and nothing is sent."""
    from commands.claim import load_status

    if not last4:
        raise UserError("--send needs --phone-last4: the last four digits of the claimant's phone")
    phone = load_status(claim_id, full=True).claimant_phone or ""
    if not (len(last4) == 4 and last4.isascii() and last4.isdigit() and phone.endswith(last4)):
        raise UserError(f"the phone does not match claim {claim_id}'s phone on record; not sent")
    return phone


LINK_TEXT = "【{company}】您的理赔案件 {case} 的查询链接：{link}"


def _send_link(claim_id: str, phone: str, url: str, token_sha256: str) -> None:
    """One SMS per link issued (its key names the token's digest, never the token)."""
    from models.catalog import COMPANY_NAME
    from models.notices import Channel, Contact, NoticeRequest
    from notify import build_notifier
    from notify.notifier import NoticeDeferred, NoticeUndeliverable
    from security.masking import mask_phone

    notifier = build_notifier(settings(), db())
    text = LINK_TEXT.format(company=COMPANY_NAME["zh-CN"], case=claim_id, link=url)
    request = NoticeRequest(
        case_id=claim_id,
        key=f"claim:{claim_id}:link:{token_sha256[:16]}",
        kind="link",
        channels=[Channel.SMS],
        subject=text,
        text=text,
        recipient=Contact(phone=phone),
        link=url,
    )
    try:
        receipt = notifier.send(request)
    except (NoticeDeferred, NoticeUndeliverable) as err:
        raise UserError(f"the link could not be sent: {err}") from None
    typer.echo(
        f"claim {claim_id}: page link sent by {receipt.channel.value} to {mask_phone(phone)}"
    )

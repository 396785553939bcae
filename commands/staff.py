"""`claims staff ...`: who is on the staff, and their signing keys (README "Signed decisions")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from commands.common import UserError, db, handle_errors, settings
from commands.reading import print_staff

app = typer.Typer(help="Staff and their signing keys.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@app.command("list")
@handle_errors
def list_staff(as_json: JsonOpt = False) -> None:
    """The staff, their level and roles, and each person's signing key: its `algorithm`
    (`ed25519`) and `public_key` (PEM). Private keys are never in the table.

    Example: claims staff list --json
    """
    print_staff(as_json)


@app.command("set-key")
@handle_errors
def set_key(
    staff_id: str,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the private key here rather than to the keys folder."),
    ] = None,
) -> None:
    """Give a staff member a new Ed25519 key pair. The table keeps only the public key; the
    private key is written once, readable by its owner only (0600), to `<data>/keys/<staff
    id>.pem` or `--out`, and the path is printed: hand it to the person, who signs with it
    (the file, or CLAIMS_STAFF_KEY). Decisions signed with the old key are refused from now
    on in cases begun since release 2026-12; earlier cases keep the HMAC key on record.

    Example: claims staff set-key adj1
    """
    import signing
    from readmodel import queries

    path = out or signing.private_key_path(settings().staff_keys_dir, staff_id)
    if queries.staff_member(engine=db(), staff_id=staff_id) is None:
        raise UserError(f"unknown person {staff_id!r}")
    if path.is_dir():
        raise UserError(f"{path} is a folder: give the file to write the private key to")
    key = signing.new_private_key()
    signing.write_private_key(path, key)
    queries.set_public_key(
        engine=db(),
        staff_id=staff_id,
        algorithm=signing.ED25519,
        public_key=signing.public_pem(key),
    )
    typer.echo(f"signing key of {staff_id} set (ed25519)")
    typer.echo(f"private key written to {path} (mode 0600): give it to {staff_id}")

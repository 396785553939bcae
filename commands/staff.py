"""`claims staff ...`: who is on the staff, and their signing keys (README "Signed decisions")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session, select

import signing
from commands.common import UserError, console, db, handle_errors, print_json, settings, when
from models.tables import StaffRow

app = typer.Typer(help="Staff and their signing keys.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@app.command("list")
@handle_errors
def list_staff(as_json: JsonOpt = False) -> None:
    """The staff, their level and roles, and who has a signing key (with the key's public
    salt and iterations, which a signer needs to derive it from the secret).

    Example: claims staff list
    """
    with Session(db()) as session:
        rows = session.exec(select(StaffRow).order_by(StaffRow.staff_id)).all()
    out = []
    for r in rows:
        iterations, salt = (None, None)
        if r.signing_key:
            n, raw_salt, _ = signing.parse_record(r.signing_key)
            iterations, salt = n, raw_salt.hex()
        out.append(
            {
                "staff_id": r.staff_id,
                "name": r.name,
                "level": r.level,
                "roles": list(r.roles or []),
                "active": r.active,
                "has_key": bool(r.signing_key),
                "key_set_at": r.key_set_at,
                "salt": salt,
                "iterations": iterations,
            }
        )
    if as_json:
        print_json(out)
        return
    t = Table()
    for c in ("staff", "name", "level", "roles", "active", "signing key", "key set"):
        t.add_column(c)
    for s in out:
        t.add_row(
            s["staff_id"],
            s["name"],
            f"L{s['level']}" if s["level"] else "-",
            ", ".join(s["roles"]),
            "yes" if s["active"] else "no",
            "yes" if s["has_key"] else "-",
            when(s["key_set_at"]) if s["has_key"] else "-",
        )
    console.print(t)


@app.command("set-key")
@handle_errors
def set_key(
    staff_id: str,
    secret: Annotated[
        str | None,
        typer.Option(help="Use this secret rather than a new random one (it is not printed)."),
    ] = None,
    save: Annotated[
        bool,
        typer.Option("--save", help="Also write the secret to the keys file in the data folder."),
    ] = False,
) -> None:
    """Give a staff member a new signing key. The table keeps only the key derived from the
    secret; a new random secret is printed once. Decisions signed with the old key are refused
    from now on.

    Example: claims staff set-key adj1 --save
    """
    chosen = secret is not None
    if chosen and not secret:
        raise UserError("the secret cannot be empty")
    secret = secret or signing.new_secret()
    record = signing.key_record(secret)
    with Session(db()) as session:
        row = session.get(StaffRow, staff_id)
        if row is None:
            raise UserError(f"unknown person {staff_id!r}")
        row.signing_key = record
        row.key_set_at = datetime.now(UTC)
        session.add(row)
        session.commit()
    iterations, salt, _ = signing.parse_record(record)
    typer.echo(
        f"signing key of {staff_id} set ({signing.SCHEME}, {iterations} iterations, "
        f"salt {salt.hex()})"
    )
    if not chosen:
        typer.echo(f"secret (shown once, give it to {staff_id}): {secret}")
    if save:
        signing.save_keys(settings().staff_keys_file, {staff_id: secret})
        typer.echo(f"secret saved to {settings().staff_keys_file}")

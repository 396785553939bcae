"""What every command shares: settings, the Temporal client, output, and turning errors into
one clear line with exit code 1."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

# The errors' words and the signature, offered here as before (commands/errors.py: no typer)
from commands.errors import UserError as UserError
from commands.errors import one_line as one_line
from commands.errors import signature_of as signature_of
from commands.errors import temporal_error as temporal_error

# Every command's output helpers, offered here as before (commands/plain.py: no typer nor rich)
from commands.plain import ZONE_NAME as ZONE_NAME
from commands.plain import deadline_table as deadline_table
from commands.plain import echo as echo
from commands.plain import local_time as local_time
from commands.plain import money as money
from commands.plain import print_json as print_json
from commands.plain import read_model as read_model
from commands.plain import when as when

if TYPE_CHECKING:
    from pydantic import BaseModel
    from sqlalchemy.engine import Engine
    from temporalio.client import Client

    from models.signature import Signed
    from models.tables import ClaimRow, ComplaintRow
    from readmodel.rows import ClaimRecord, ComplaintRecord
    from settings import Settings

# Every command imports this module, `claims tasks` and `claims --help` among them: the
# Temporal client, the database engine, the signing keys and the read model's queries are
# imported by the functions that use them, so a command pays only for what it touches.

# Tables stay readable when piped (rich would otherwise assume 80 columns).
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
T = TypeVar("T")
M = TypeVar("M", bound="BaseModel")


def settings() -> Settings:
    from settings import get_settings

    return get_settings()


def db() -> Engine:
    from database import engine_for

    return engine_for(settings().db_url)


async def temporal() -> Client:
    import asyncio

    from client import connect
    from settings import TemporalSettingsError

    s = settings()
    try:
        return await asyncio.wait_for(connect(s), timeout=10)
    except TemporalSettingsError as exc:
        raise UserError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the same to the user
        if s.embedded:
            hint = "is the engine running (claims run)?"
        else:  # a cluster: the address, the namespace, TLS or the API key may be wrong
            hint = f"namespace {s.namespace}: {one_line(exc) or type(exc).__name__}"
        raise UserError(f"cannot reach Temporal at {s.address}: {hint}") from exc


def signed(message: Signed, case_id: str) -> Any:
    """The decision signed by the acting person (README "Signed decisions"): a copy of the
    message with `signed_at` now and `signature` over its full JSON form (signature_of)."""
    import signing

    stamped = message.model_copy(update={"signed_at": signing.signed_now(), "signature": None})
    fields = stamped.model_dump(mode="json", exclude={"signature"})
    s = settings()
    sig = signature_of(message.signer, fields, case_id, s.staff_keys_dir, s.staff_keys_file)
    return stamped.model_copy(update={"signature": sig})


def read_json(path: Path) -> Any:
    """A JSON document from a file ('-' for stdin); a file that is not UTF-8 is one line."""
    if str(path) == "-":
        raw = typer.get_binary_stream("stdin").read()
        path_name = "stdin"
    else:
        raw = path.read_bytes()
        path_name = str(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UserError(
            f"{path_name} is not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start})"
        ) from None
    return json.loads(text)


def handle_errors(fn: Callable[..., T]) -> Callable[..., T]:
    """Every command: errors become one line on stderr and exit code 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the boundary where errors become messages
            typer.echo(f"error: {one_line(exc)}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def run(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio

    return asyncio.run(coro)


def full_view_allowed(person: str | None, full: bool, case_id: str = "", view: str = "") -> bool:
    """`--full --as STAFF`: id numbers and phones in full, for staff whose role allows it. Each
    full view allowed is recorded in the audit events (kind `full_view`: who, when, which case
    and through which view)."""
    if not full:
        return False
    from readmodel import queries
    from security.masking import FULL_VIEW_ROLES, may_see_full

    if not person:
        raise UserError("--full needs --as STAFF: the person who looks, checked against their role")
    staff = queries.staff_member(engine=db(), staff_id=person)
    if staff is None:
        raise UserError(f"unknown person {person!r}")
    if not may_see_full(staff.roles or [], staff.active):
        allowed = ", ".join(sorted(FULL_VIEW_ROLES))
        raise UserError(
            f"refused: {person} may not see id numbers and phones in full (roles: {allowed})"
        )
    record_full_view(person, case_id, view)
    return True


def record_full_view(person: str, case_id: str, view: str) -> None:
    """An audit event for personal data seen in full (numbered below the case's own events)."""
    from readmodel import queries

    for _ in range(5):
        if queries.record_full_view(engine=db(), person=person, case_id=case_id, view=view):
            return
    raise UserError(f"could not record the full view of {case_id}: try again")


def identity(id_no: str | None, phone: str | None, full: bool) -> tuple[str | None, str | None]:
    """A person's id number and phone as a view shows them: masked unless `full`."""
    from security.masking import mask_id_no, mask_phone

    if full:
        return id_no, phone
    return mask_id_no(id_no), mask_phone(phone)


FullOpt = Annotated[
    bool,
    typer.Option(
        "--full",
        help="Show id number and phone in full (with --as; supervisors, managers, "
        "complaint coordinators, special-care advisors, investigators).",
    ),
]
ViewerOpt = Annotated[
    str | None, typer.Option("--as", help="Staff id of the person looking (for --full).")
]


def case_status(
    model: type[M],
    row: ClaimRecord | ComplaintRecord | ClaimRow | ComplaintRow | None,
    workflow_id: str,
    noun: str,
    case_id: str,
    full: bool = False,
) -> M:
    """A case's status from its read-model row, which keeps id numbers, phones and accounts
    masked; one not yet projected, or wanted in `full`, is asked for through Temporal (its
    `status` query)."""
    if row is not None and row.status and not full:
        return model.model_validate(row.status)

    async def ask() -> M:
        client = await temporal()
        status: M = await client.get_workflow_handle(workflow_id).query("status", result_type=model)
        return status

    try:
        return run(ask())
    except UserError:
        raise
    except Exception as exc:
        if row is not None:  # known, wanted in full: only its workflow has the full values
            raise UserError(f"the {noun}'s workflow did not answer: {one_line(exc)}") from exc
        raise UserError(f"unknown {noun} {case_id}") from exc

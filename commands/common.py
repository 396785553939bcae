"""What every command shares: settings, the Temporal client, output, and turning errors into
one clear line with exit code 1."""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

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
    from temporalio.client import Client, WorkflowUpdateFailedError
    from temporalio.service import RPCError

    from models.signature import Signed
    from models.tables import ClaimRow, ComplaintRow
    from readmodel.rows import ClaimRecord, ComplaintRecord, StaffMember
    from settings import Settings

# Every command imports this module, `claims tasks` and `claims --help` among them: the
# Temporal client, the database engine, the signing keys and the read model's queries are
# imported by the functions that use them, so a command pays only for what it touches.

# Tables stay readable when piped (rich would otherwise assume 80 columns).
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
T = TypeVar("T")
M = TypeVar("M", bound="BaseModel")


class UserError(Exception):
    """A mistake the user can fix; printed as one line."""


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


def signature_of(
    who: str, fields: dict[str, Any], case_id: str, keys_dir: Path, keys_file: Path
) -> str:
    """The acting person's signature of a message's fields (all of them but `signature`): with
    their Ed25519 private key (CLAIMS_STAFF_KEY, else `<keys dir>/<staff id>.pem`), checked
    against the public key on record. For a case begun before release 2026-12, set
    CLAIMS_STAFF_SECRET: the fields are then signed with HMAC under the key derived from that
    secret (its other place: the keys file). Neither pydantic nor SQLAlchemy is imported."""
    import signing
    from readmodel import reads

    row = reads.staff_member(engine=read_model(), staff_id=who)
    if row is None:
        raise UserError(f"unknown person {who!r}")
    if os.environ.get("CLAIMS_STAFF_SECRET"):
        return _hmac_signature(who, fields, case_id, row, keys_file)
    if row.algorithm != signing.ED25519 or not row.public_key:
        raise UserError(
            f"{who} has no signing key: an administrator runs claims staff set-key {who} "
            "(for the demo staff: claims demo load)"
        )
    try:
        key = signing.private_key_for(who, keys_dir)
    except signing.SigningError as exc:
        raise UserError(str(exc)) from None
    if signing.public_pem(key).strip() != row.public_key.strip():
        raise UserError(f"the private key given for {who} does not match {who}'s public key")
    return signing.ed25519_signature(key, fields, case_id)


def _hmac_signature(
    who: str, fields: dict[str, Any], case_id: str, row: StaffMember, keys_file: Path
) -> str:
    """HMAC-SHA256, as before release 2026-12, for cases begun under it."""
    import signing

    record = row.signing_key
    if not record:
        raise UserError(f"{who} has no HMAC key record for cases begun before release 2026-12")
    try:
        key = signing.key_from_secret(record, signing.secret_for(who, keys_file))
    except signing.SigningError as exc:
        raise UserError(str(exc)) from None
    if key != signing.parse_record(record)[2]:
        raise UserError(f"the secret given for {who} does not match {who}'s signing key")
    return signing.signature(key, fields, case_id)


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


def _update_refused(exc: WorkflowUpdateFailedError) -> str:
    from temporalio.exceptions import ApplicationError

    cause = exc.cause
    return f"refused: {cause.message if isinstance(cause, ApplicationError) else cause}"


def _rpc_error(exc: RPCError) -> str:
    from temporalio.service import RPCStatusCode

    return temporal_error(exc.status == RPCStatusCode.NOT_FOUND, exc.message)


def temporal_error(not_found: bool, message: str) -> str:
    """Temporal's answer to a call it refused, as one line (through the SDK or the HTTP API)."""
    if not not_found:
        return f"Temporal error: {message}"
    if "already completed" in message or "closing workflow" in message:
        return "the case is finished; it takes no more messages"
    found = re.search(r"for ID: (claim|complaint)-(\S+)", message)
    if found:
        return f"unknown {found.group(1)} {found.group(2)}"
    return f"not found: {message}"


def _bad_json(exc: json.JSONDecodeError) -> str:
    return f"bad JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"


def _no_file(exc: FileNotFoundError) -> str:
    return f"no such file: {exc.filename}"


def _application_error(exc: Any) -> str:
    return f"refused: {exc.message}"


def _validation_message(exc: Any) -> str:
    from models.validation import validation_message

    return validation_message(exc)


# The first entry whose type the error has says it (a JSON error is a ValueError, so order
# matters); anything else is its type and message. Types are named `module:Class`: an error
# can only be of a class whose module this process imported, so no module is imported here.
_ONE_LINE: tuple[tuple[tuple[str, ...], Callable[[Any], str]], ...] = (
    (
        (
            "commands.common:UserError",
            "client:ReportRefused",
            "security.codec:PayloadKeyError",
            "security.keys:PayloadKeyError",
            "readmodel.sql:NotFound",
        ),
        str,
    ),
    (("pydantic:ValidationError",), _validation_message),
    (("temporalio.client:WorkflowUpdateFailedError",), _update_refused),
    (("temporalio.exceptions:ApplicationError",), _application_error),
    (("temporalio.service:RPCError",), _rpc_error),
    (("json:JSONDecodeError",), _bad_json),
    (("sqlite3:Error", "psycopg:Error"), lambda e: f"the read model: {' '.join(str(e).split())}"),
    (("builtins:FileNotFoundError",), _no_file),
)


def _loaded(names: tuple[str, ...]) -> Iterator[type[BaseException]]:
    for name in names:
        module, _, attr = name.partition(":")
        found = getattr(sys.modules.get(module), attr, None)
        if isinstance(found, type) and issubclass(found, BaseException):
            yield found


def one_line(exc: BaseException) -> str:
    """An error as the one line the user reads."""
    for names, say in _ONE_LINE:
        if isinstance(exc, tuple(_loaded(names))):
            return say(exc)
    return f"{type(exc).__name__}: {exc}"


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

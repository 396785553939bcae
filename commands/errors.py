"""Errors as the one line a user reads, and the acting person's signature: shared by the typer
commands and the front door (commands/front.py), so neither typer, rich, pydantic nor Temporal's
SDK is imported here."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commands.plain import read_model

if TYPE_CHECKING:
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.service import RPCError

    from readmodel.rows import StaffMember


class UserError(Exception):
    """A mistake the user can fix; printed as one line."""


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
            "commands.errors:UserError",
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

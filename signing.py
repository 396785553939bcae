"""Signed staff decisions: key derivation, the canonical form and the HMAC over it.

A staff member holds a secret. The read model keeps only the key derived from it,
`pbkdf2-sha256$<iterations>$<salt hex>$<key hex>`, where the key is
PBKDF2-HMAC-SHA256(secret as UTF-8, salt, iterations, 32 bytes). A decision is signed with
that key: HMAC-SHA256 over the canonical form of the message (every field sent except
`signature`, plus `case_id`), hex encoded. README "Signed decisions" states the algorithm for
other languages; the engine, the CLI and the tests all go through the functions below.

The trade-off: HMAC needs the verifier to hold the signing key, so whoever can read the staff
table can sign as anyone in it. What the derivation protects is the secret itself (a person
may have chosen it, or use it elsewhere), which the read model never holds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEME = "pbkdf2-sha256"
ITERATIONS = 200_000


class SigningError(Exception):
    """The acting person cannot sign: no key on record, or no secret at hand."""


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@lru_cache(maxsize=256)
def derive_key(secret: str, salt: bytes, iterations: int = ITERATIONS) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations, 32)


def key_record(secret: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """What the staff table stores for a secret: scheme, iterations, salt and derived key."""
    salt = salt if salt is not None else os.urandom(16)
    key = derive_key(secret, salt, iterations)
    return f"{SCHEME}${iterations}${salt.hex()}${key.hex()}"


def parse_record(record: str) -> tuple[int, bytes, bytes]:
    """(iterations, salt, key) of a stored key record."""
    scheme, iterations, salt, key = record.split("$")
    if scheme != SCHEME:
        raise ValueError(f"unknown key scheme {scheme!r}")
    return int(iterations), bytes.fromhex(salt), bytes.fromhex(key)


def key_from_secret(record: str, secret: str) -> bytes:
    """The signing key a secret gives under a stored record's salt and iterations."""
    iterations, salt, _ = parse_record(record)
    return derive_key(secret, salt, iterations)


def canonical(fields: dict[str, Any], case_id: str) -> bytes:
    """The bytes that are signed: the fields (without `signature`) and `case_id`, as JSON with
    sorted keys, no whitespace, non-ASCII characters as themselves, UTF-8."""
    body = {k: v for k, v in fields.items() if k != "signature"}
    body["case_id"] = case_id
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def signature(key: bytes, fields: dict[str, Any], case_id: str) -> str:
    return hmac.new(key, canonical(fields, case_id), hashlib.sha256).hexdigest()


def matches(key: bytes, fields: dict[str, Any], case_id: str, sig: str) -> bool:
    return hmac.compare_digest(signature(key, fields, case_id), sig.lower())


def signed_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def sign(message: Any, case_id: str, key: bytes, at: datetime | str | None = None) -> Any:
    """A copy of a pydantic message with `signed_at` and `signature` set. The fields signed are
    the message's full JSON form, which is what the data converter sends."""
    if isinstance(at, datetime):
        at = at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    stamped = message.model_copy(update={"signed_at": at or signed_now(), "signature": None})
    fields = stamped.model_dump(mode="json", exclude={"signature"})
    return stamped.model_copy(update={"signature": signature(key, fields, case_id)})


# ---------------------------------------------------------------- the keys file


def read_keys(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")))


def save_keys(path: Path, entries: dict[str, str], replace: bool = True) -> None:
    """Add secrets to the keys file (readable by its owner only); `replace=False` keeps any
    secret already there."""
    keys = read_keys(path)
    for staff_id, secret in entries.items():
        if replace or staff_id not in keys:
            keys[staff_id] = secret
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(keys, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)


def secret_for(staff_id: str, keys_file: Path) -> str:
    """The acting person's secret: CLAIMS_STAFF_SECRET, else their entry in the keys file."""
    secret = os.environ.get("CLAIMS_STAFF_SECRET")
    if secret:
        return secret
    secret = read_keys(keys_file).get(staff_id)
    if secret:
        return secret
    raise SigningError(
        f"no secret for {staff_id}: set CLAIMS_STAFF_SECRET or add it to {keys_file} "
        f"(claims staff set-key {staff_id} --save)"
    )

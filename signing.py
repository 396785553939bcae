"""Signed staff decisions: the canonical form, Ed25519 signatures over it, and (for cases
begun before release 2026-12) the key derivation and the HMAC over it.

Since release 2026-12 a staff member holds an Ed25519 private key and the read model keeps
only the public key; a decision's signature is the hex Ed25519 signature of the canonical form
(the functions after "Ed25519" below). A database reader can check signatures, not make them.

Before it, a staff member held a secret. The read model keeps only the key derived from it,
`pbkdf2-sha256$<iterations>$<salt hex>$<key hex>`, where the key is
PBKDF2-HMAC-SHA256(secret as UTF-8, salt, iterations, 32 bytes). A decision is signed with
that key: HMAC-SHA256 over the canonical form of the message (every field sent except
`signature`, plus `case_id`), hex encoded. README "Signed decisions" states the algorithm for
other languages; the engine, the CLI and the tests all go through the functions below.

HMAC needs the verifier to hold the signing key, so whoever can read the staff table can sign
as anyone in it: only cases begun before release 2026-12 still verify it.
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
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # cryptography is imported when a key is used, pydantic by the messages
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from models.signature import Signed

Signable = TypeVar("Signable", bound="Signed")

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


def sign(message: Signable, case_id: str, key: bytes, at: datetime | str | None = None) -> Signable:
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


# ---------------------------------------------------------------- Ed25519 (release 2026-12)
#
# Each person holds an Ed25519 private key (a PEM file, or CLAIMS_STAFF_KEY); the staff table
# holds the public key only, so reading it lets nobody sign. A decision's signature is the
# Ed25519 signature (RFC 8032, pure, no pre-hash) of the same canonical form, hex encoded: what
# `openssl pkeyutl -sign -rawin -inkey key.pem` writes, as hex.

ED25519 = "ed25519"
HMAC = "hmac-sha256"
DEMO_SEED = "claims-demo-ed25519:"


def new_private_key() -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


def demo_private_key(staff_id: str) -> Ed25519PrivateKey:
    """A demo person's key: its 32-byte seed is SHA-256 of `claims-demo-ed25519:<staff id>`, so
    every load of the demo gives the same keys (and anyone can sign as the demo staff)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = hashlib.sha256(f"{DEMO_SEED}{staff_id}".encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def private_pem(key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization as ser

    return key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public key the staff table stores: SubjectPublicKeyInfo PEM (openssl reads it)."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo).decode()


# An unencrypted PKCS#8 Ed25519 private key is this DER prefix and the 32-byte seed (RFC 8410).
_PKCS8_ED25519 = bytes.fromhex("302e020100300506032b657004220420")


def load_private_pem(data: bytes, where: str) -> Ed25519PrivateKey:
    """A signing key from its PEM file. The usual kind (PKCS#8, as `write_private_key` and
    `openssl genpkey -algorithm ed25519` write it) is read here directly, so that a staff
    decision does not load cryptography's serialization package; anything else goes to
    cryptography's reader, whose refusals name the file."""
    import base64
    import binascii

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    lines = data.strip().splitlines()
    begin, end = b"-----BEGIN PRIVATE KEY-----", b"-----END PRIVATE KEY-----"
    if len(lines) > 2 and lines[0] == begin and lines[-1] == end:
        try:
            der = base64.b64decode(b"".join(lines[1:-1]), validate=True)
        except binascii.Error:
            der = b""
        if len(der) == 48 and der.startswith(_PKCS8_ED25519):
            return Ed25519PrivateKey.from_private_bytes(der[16:])
    from cryptography.hazmat.primitives import serialization as ser

    try:
        key = ser.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{where} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{where} is not an Ed25519 key")
    return key


def ed25519_signature(key: Ed25519PrivateKey, fields: dict[str, Any], case_id: str) -> str:
    return key.sign(canonical(fields, case_id)).hex()


def ed25519_matches(public_key: str, fields: dict[str, Any], case_id: str, sig: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        pub = ser.load_pem_public_key(public_key.encode())
        raw = bytes.fromhex(sig)
    except ValueError:
        return False
    if not isinstance(pub, Ed25519PublicKey) or len(raw) != 64:
        return False
    try:
        pub.verify(raw, canonical(fields, case_id))
    except InvalidSignature:
        return False
    return True


def sign_ed25519(
    message: Signable, case_id: str, key: Ed25519PrivateKey, at: datetime | str | None = None
) -> Signable:
    """`sign` with an Ed25519 private key."""
    if isinstance(at, datetime):
        at = at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    stamped = message.model_copy(update={"signed_at": at or signed_now(), "signature": None})
    fields = stamped.model_dump(mode="json", exclude={"signature"})
    return stamped.model_copy(update={"signature": ed25519_signature(key, fields, case_id)})


def private_key_path(keys_dir: Path, staff_id: str) -> Path:
    return keys_dir / f"{staff_id}.pem"


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """The private key as PEM, readable by its owner only (written 0600 from the start)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private_pem(key))
    tmp.replace(path)


def private_key_for(staff_id: str, keys_dir: Path) -> Ed25519PrivateKey:
    """The acting person's private key: CLAIMS_STAFF_KEY (a PEM file's path, or the PEM
    itself), else `<keys dir>/<staff id>.pem`."""
    given = os.environ.get("CLAIMS_STAFF_KEY")
    if given:
        if given.lstrip().startswith("-----BEGIN"):
            return load_private_pem(given.encode(), "CLAIMS_STAFF_KEY")
        path = Path(given).expanduser()
        if not path.is_file():
            raise SigningError(f"CLAIMS_STAFF_KEY names no file: {path}")
        return load_private_pem(path.read_bytes(), str(path))
    path = private_key_path(keys_dir, staff_id)
    if path.is_file():
        return load_private_pem(path.read_bytes(), str(path))
    raise SigningError(
        f"no private key for {staff_id}: set CLAIMS_STAFF_KEY to a PEM file or put it at {path} "
        f"(claims staff set-key {staff_id})"
    )

"""Payload keys and the sealing itself, without Temporal's SDK: the key ring (CLAIMS_PAYLOAD_KEYS,
the key file) and AES-GCM over a serialised payload, as security/codec.py applies them to every
payload and commands/http_update.py to a staff decision sent over Temporal's HTTP API.

A sealed payload's metadata is `encoding: binary/encrypted` and `encryption-key-id: <kid>`;
its data is a 12-byte nonce followed by the AES-GCM ciphertext of the original payload's
protobuf bytes, the key id as associated data.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cryptography is imported when a key is used
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
KEY_FILE_NAME = "payload-keys"
_KID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class PayloadKeyError(ValueError):
    """A key ring that cannot be used, or a payload sealed with a key the ring lacks."""


def parse_keys(text: str) -> list[tuple[str, bytes]]:
    """`kid1:base64key,kid2:base64key` (commas or new lines; `#` starts a comment) into an
    ordered ring; the first key is the active one. Keys are 16, 24 or 32 bytes (AES-128/192/256).
    """
    ring: list[tuple[str, bytes]] = []
    entries = [e for line in text.splitlines() for e in line.split("#", 1)[0].split(",")]
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        kid, sep, encoded = entry.partition(":")
        kid, encoded = kid.strip(), encoded.strip()
        if not sep or not _KID.match(kid):
            raise PayloadKeyError(f"payload key entries look like kid:base64key, got {kid!r}")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise PayloadKeyError(f"payload key {kid!r} is not valid base64") from exc
        if len(key) not in (16, 24, 32):
            raise PayloadKeyError(
                f"payload key {kid!r} is {len(key)} bytes; AES-GCM needs 16, 24 or 32"
            )
        if any(k == kid for k, _ in ring):
            raise PayloadKeyError(f"payload key id {kid!r} is given twice")
        ring.append((kid, key))
    return ring


def new_key_entry(kid: str) -> str:
    """A fresh 256-bit key as one `kid:base64key` entry."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return f"{kid}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


def create_key_file(path: Path, kid: str = "k1") -> bool:
    """Write a key file with one fresh key, readable by its owner only; False if one exists."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(
            "# Payload encryption keys: kid:base64key, one a line; the first encrypts,\n"
            "# every one decrypts. Rotate by adding a new first line; keep the old ones.\n"
        )
        f.write(new_key_entry(kid) + "\n")
    return True


def key_ring(keys: str | None, key_file: Path | None) -> list[tuple[str, bytes]]:
    """The keys from the setting first, then those of the key file; empty when neither has any.

    The first key encrypts; a key id in both places must name the same key.
    """
    ring = parse_keys(keys or "")
    if key_file is not None and key_file.exists():
        known = dict(ring)
        for kid, key in parse_keys(key_file.read_text(encoding="utf-8")):
            if kid in known and known[kid] != key:
                raise PayloadKeyError(f"payload key id {kid!r} names two different keys")
            if kid not in known:
                ring.append((kid, key))
                known[kid] = key
    return ring


def ciphers(ring: list[tuple[str, bytes]]) -> dict[str, AESGCM]:
    """One AES-GCM cipher per key id of a ring."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    found = {kid: AESGCM(key) for kid, key in ring}
    if len(found) != len(ring):
        raise PayloadKeyError("a payload key id is given twice")
    return found


def seal(kid: str, cipher: AESGCM, plain: bytes) -> tuple[dict[str, bytes], bytes]:
    """The metadata and data of the encrypted payload around a payload's protobuf bytes."""
    nonce = os.urandom(NONCE_BYTES)
    # The key id is bound to the ciphertext, so a relabelled payload does not decrypt.
    sealed = cipher.encrypt(nonce, plain, kid.encode())
    return {"encoding": ENCODING, KEY_ID: kid.encode()}, nonce + sealed


def unseal(known: Mapping[str, AESGCM], metadata: Mapping[str, bytes], data: bytes) -> bytes:
    """The protobuf bytes of the payload an encrypted payload holds."""
    kid = metadata.get(KEY_ID, b"").decode(errors="replace")
    cipher = known.get(kid)
    if cipher is None:
        raise PayloadKeyError(
            f"payload encrypted with unknown key id {kid!r} (known: "
            f"{', '.join(known)}); add that key to CLAIMS_PAYLOAD_KEYS or the key file"
        )
    try:
        return cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], kid.encode())
    except Exception as exc:  # noqa: BLE001 - InvalidTag says nothing more useful
        raise PayloadKeyError(
            f"payload with key id {kid!r} does not decrypt: wrong key or altered data"
        ) from exc

"""Payload encryption: every payload the engine writes to Temporal is sealed with AES-GCM.

An encrypted payload carries `encoding: binary/encrypted` and the id of the key that sealed
it; its data is a 12-byte nonce followed by the ciphertext of the original payload (metadata
and data). Keys rotate: the first key of the ring encrypts, every key it holds decrypts. A
payload without the encrypted encoding passes through decoding as it is, so plain JSON from
any Temporal client (an integrator's start or signal) and histories written before encryption
still read and replay.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

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


class EncryptionCodec(PayloadCodec):
    """AES-GCM over whole payloads; the first key of the ring encrypts. With `encrypts`
    false (CLAIMS_PAYLOAD_ENCRYPTION=off) payloads are written in clear and those sealed
    earlier still decode."""

    def __init__(self, ring: Sequence[tuple[str, bytes]], *, encrypts: bool = True) -> None:
        if not ring:
            raise PayloadKeyError("no payload keys")
        self.encrypts = encrypts
        self.active_kid = ring[0][0]
        self._ciphers = {kid: AESGCM(key) for kid, key in ring}
        if len(self._ciphers) != len(ring):
            raise PayloadKeyError("a payload key id is given twice")

    @property
    def key_ids(self) -> list[str]:
        return list(self._ciphers)

    def encode_one(self, payload: Payload) -> Payload:
        if not self.encrypts:
            return payload
        kid = self.active_kid
        nonce = os.urandom(NONCE_BYTES)
        # The key id is bound to the ciphertext, so a relabelled payload does not decrypt.
        sealed = self._ciphers[kid].encrypt(nonce, payload.SerializeToString(), kid.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: kid.encode()}, data=nonce + sealed)

    def decode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        kid = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise PayloadKeyError(
                f"payload encrypted with unknown key id {kid!r} (known: "
                f"{', '.join(self._ciphers)}); add that key to CLAIMS_PAYLOAD_KEYS or the key file"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, kid.encode())
        except Exception as exc:  # noqa: BLE001 - InvalidTag says nothing more useful
            raise PayloadKeyError(
                f"payload with key id {kid!r} does not decrypt: wrong key or altered data"
            ) from exc
        return Payload.FromString(plain)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encode_one(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decode_one(p) for p in payloads]


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


def no_key_message(key_file: Path) -> str:
    """The one line a worker without a payload key refuses to start with."""
    return (
        "no payload key: set CLAIMS_PAYLOAD_KEYS=kid:base64key (make one with `claims new-key "
        f"k1`), or CLAIMS_PAYLOAD_KEY_FILE to a key file, or put one at {key_file} (`claims "
        "run` makes it); CLAIMS_PAYLOAD_ENCRYPTION=off runs without encryption"
    )


def _payloads_in(message: Message) -> Iterator[Payload]:
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if isinstance(value, Message):
            values: Iterable[Any] = [value]
        elif hasattr(value, "values"):  # a map field
            values = value.values()
        else:
            values = value
        for item in values:
            if isinstance(item, Payload):
                yield item
            elif isinstance(item, Message):
                yield from _payloads_in(item)


def decode_in_place(codec: EncryptionCodec, message: Message) -> None:
    """Decrypt every encrypted payload anywhere inside a proto message (a history event)."""
    for payload in list(_payloads_in(message)):
        plain = codec.decode_one(payload)
        if plain is not payload:
            payload.CopyFrom(plain)

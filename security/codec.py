"""Payload encryption: every payload the engine writes to Temporal is sealed with AES-GCM.

An encrypted payload carries `encoding: binary/encrypted` and the id of the key that sealed
it; its data is a 12-byte nonce followed by the ciphertext of the original payload (metadata
and data). Keys rotate: the first key of the ring encrypts, every key it holds decrypts. A
payload without the encrypted encoding passes through decoding as it is, so plain JSON from
any Temporal client (an integrator's start or signal) and histories written before encryption
still read and replay.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

# The keys and the sealing live in security/keys.py (no SDK there); named here as before.
from security.keys import (
    ENCODING,
    KEY_FILE_NAME,
    KEY_ID,
    NONCE_BYTES,
    PayloadKeyError,
    ciphers,
    create_key_file,
    key_ring,
    new_key_entry,
    parse_keys,
    seal,
    unseal,
)

__all__ = [
    "ENCODING",
    "KEY_FILE_NAME",
    "KEY_ID",
    "NONCE_BYTES",
    "EncryptionCodec",
    "PayloadKeyError",
    "create_key_file",
    "decode_in_place",
    "key_ring",
    "new_key_entry",
    "no_key_message",
    "parse_keys",
]


class EncryptionCodec(PayloadCodec):
    """AES-GCM over whole payloads; the first key of the ring encrypts. With `encrypts`
    false (CLAIMS_PAYLOAD_ENCRYPTION=off) payloads are written in clear and those sealed
    earlier still decode."""

    def __init__(self, ring: Sequence[tuple[str, bytes]], *, encrypts: bool = True) -> None:
        if not ring:
            raise PayloadKeyError("no payload keys")
        self.encrypts = encrypts
        self.active_kid = ring[0][0]
        self._ciphers = ciphers(list(ring))

    @property
    def key_ids(self) -> list[str]:
        return list(self._ciphers)

    def encode_one(self, payload: Payload) -> Payload:
        if not self.encrypts:
            return payload
        kid = self.active_kid
        metadata, data = seal(kid, self._ciphers[kid], payload.SerializeToString())
        return Payload(metadata=metadata, data=data)

    def decode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        return Payload.FromString(unseal(self._ciphers, payload.metadata, payload.data))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encode_one(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decode_one(p) for p in payloads]


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

"""What every channel's adapter shares: the message it is given, the one thing it answers
(its reference for the message), and the two ways it can fail."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from models.notices import Channel, Contact


@dataclass(frozen=True)
class Message:
    key: str
    case_id: str
    kind: str
    subject: str
    text: str
    recipient: Contact
    letter_path: str | None = None
    language: str = "zh-CN"


class DeliveryError(Exception):
    """A send that did not go through. The message is in words that name no person, phone,
    email or address: it is logged and kept in the `notices` table."""


class PermanentFailure(DeliveryError):
    """This channel will never take this message (no address, a refused recipient)."""


class TransientFailure(DeliveryError):
    """This channel may take it later (a server down, a full disk): try again."""


class Adapter(Protocol):
    channel: Channel

    def refusal(self, message: Message) -> str | None:
        """Why this channel cannot take the message at all (no address, not a valid one),
        known without handing anything over; None: it may."""
        ...

    def send(self, message: Message) -> str:
        """Hand the message over, once per `message.key` where the medium allows it; return
        this channel's reference for it. Raises PermanentFailure or TransientFailure."""
        ...


def key_digest(key: str) -> str:
    """A file or header name for a notice key: stable, and carrying nothing of the case."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def write_once(folder: Path, name: str, data: bytes) -> bool:
    """Write `folder/name` atomically (a reader never sees half a file) unless it is already
    there; True when this call wrote it. The file is made under a temporary name in the same
    folder and linked into place, which fails rather than replace a file already queued."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        if target.exists():
            return False
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.link(tmp, target)
        finally:
            os.unlink(tmp)
    except FileExistsError:
        return False
    except OSError as err:
        raise TransientFailure(f"cannot write to the queue folder ({type(err).__name__})") from None
    return True

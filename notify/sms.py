"""SMS through a provider. The default provider is an outbox folder an operator's gateway
picks up: one JSON file per message, written atomically, named by the notice key's digest."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from models.notices import Channel
from notify.base import Message, PermanentFailure, key_digest, write_once

# A mainland mobile number, with or without +86
_MOBILE = re.compile(r"(?:\+?86)?1[3-9]\d{9}")


class SmsProvider(Protocol):
    """An SMS gateway. It must accept the same `key` twice without sending twice."""

    def submit(self, key: str, phone: str, text: str) -> str:
        """Queue the text for the phone; return the provider's reference."""
        ...


class OutboxProvider:
    """Writes `<outbox>/<digest>.json` ({"key", "to", "text", "queued_at"}) for the gateway."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    def submit(self, key: str, phone: str, text: str) -> str:
        name = f"{key_digest(key)}.json"
        record = {"key": key, "to": phone, "text": text, "queued_at": datetime.now(UTC).isoformat()}
        write_once(self.outbox, name, json.dumps(record, ensure_ascii=False).encode("utf-8"))
        return name


class SmsAdapter:
    channel = Channel.SMS

    def __init__(self, provider: SmsProvider) -> None:
        self.provider = provider

    def refusal(self, message: Message) -> str | None:
        phone = _phone(message)
        if not phone:
            return "no mobile number for SMS"
        if not _MOBILE.fullmatch(phone):
            return "the mobile number is not one an SMS can reach"
        return None

    def send(self, message: Message) -> str:
        refused = self.refusal(message)
        if refused:
            raise PermanentFailure(refused)
        return self.provider.submit(message.key, _phone(message), message.text)


def _phone(message: Message) -> str:
    return re.sub(r"[\s-]", "", message.recipient.phone or "")

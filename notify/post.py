"""Post: a print queue folder. Each notice is one JSON job (address, the text, the letter file
to print), written atomically and named by the notice key's digest."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from models.notices import Channel
from notify.base import Message, PermanentFailure, key_digest, write_once


class PrintQueue:
    channel = Channel.POST

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def refusal(self, message: Message) -> str | None:
        has_address = (message.recipient.postal_address or "").strip()
        return None if has_address else "no postal address for post"

    def send(self, message: Message) -> str:
        refused = self.refusal(message)
        if refused:
            raise PermanentFailure(refused)
        address = (message.recipient.postal_address or "").strip()
        name = f"{key_digest(message.key)}.json"
        job = {
            "key": message.key,
            "case_id": message.case_id,
            "kind": message.kind,
            "to": message.recipient.name,
            "address": address,
            "subject": message.subject,
            "text": message.text,
            "letter_path": message.letter_path,
            "queued_at": datetime.now(UTC).isoformat(),
        }
        write_once(self.folder, name, json.dumps(job, ensure_ascii=False, indent=1).encode())
        return name

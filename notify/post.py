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

    def send(self, message: Message) -> str:
        address = (message.recipient.postal_address or "").strip()
        if not address:
            raise PermanentFailure("no postal address for post")
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

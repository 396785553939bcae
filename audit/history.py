"""Reading a case's Temporal history: payloads as JSON, the workflow id a history file belongs
to, decryption with the payload keys, and history files.

Histories hold personal data encrypted: decryption needs the configured codec; histories
written before encryption, and plain payloads that integrators sent, read as they are."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from models.ids import claim_workflow_id, complaint_workflow_id
from security.codec import EncryptionCodec, decode_in_place


def decode(payload: Payload) -> Any:
    """A payload as JSON data; null as None; anything else as base64 text."""
    encoding = payload.metadata.get("encoding", b"").decode()
    if encoding == "binary/null":
        return None
    if encoding.startswith("json"):
        try:
            return json.loads(payload.data)
        except ValueError:  # a raw start that was not JSON (the case refused it)
            return f"<{len(payload.data)} bytes that are not JSON>"
    return base64.b64encode(payload.data).decode()


def decode_all(payloads: Iterable[Payload]) -> list[Any]:
    return [decode(p) for p in payloads]


def workflow_id_of(history: WorkflowHistory | list[HistoryEvent], fallback: str) -> str:
    """The workflow id a history belongs to: from the case id in the start input (the JSON
    itself does not carry the workflow id), else the fallback (the file's name)."""
    events = history.events if isinstance(history, WorkflowHistory) else history
    if events and events[0].HasField("workflow_execution_started_event_attributes"):
        attrs = events[0].workflow_execution_started_event_attributes
        args = decode_all(attrs.input.payloads)
        report = args[0] if args and isinstance(args[0], dict) else {}
        if report.get("claim_id"):
            return claim_workflow_id(report["claim_id"])
        if report.get("complaint_id"):
            return complaint_workflow_id(report["complaint_id"])
    return fallback


def decrypted(history: WorkflowHistory, codec: EncryptionCodec | None) -> WorkflowHistory:
    """A copy of the history with its payloads decrypted by the codec (as it is without one:
    encrypted payloads then stay unreadable)."""
    if codec is None:
        return history
    events = []
    for event in history.events:
        copy = HistoryEvent()
        copy.CopyFrom(event)
        decode_in_place(codec, copy)
        events.append(copy)
    return WorkflowHistory(history.workflow_id, events)


def load_file(path: Path, codec: EncryptionCodec | None) -> WorkflowHistory:
    """A history file, decrypted; its workflow id from the case id in its start input."""
    text = path.read_text(encoding="utf-8")
    history = decrypted(WorkflowHistory.from_json(path.stem, text), codec)
    return WorkflowHistory(workflow_id_of(history, path.stem), history.events)

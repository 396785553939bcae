"""How the audit trail shows what a history carries: a payload in one line, who sent a message,
durations and failure messages; personal data masked like the other views."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure

from audit.history import decode_all
from security.masking import mask_fields, mask_text

# fields of a message payload that name the person acting, in order of preference
WHO_FIELDS = (
    "approver",
    "by",
    "convener",
    "coordinator",
    "handler",
    "investigator",
    "assessor",
    "adjuster",
    "reviewer",
    "submitted_by",
)


def who(payload: Any) -> str | None:
    if isinstance(payload, dict):
        for name in WHO_FIELDS:
            if payload.get(name):
                return str(payload[name])
    return None


def summary(payload: Any, limit: int = 200) -> str:
    """A payload in one line: `key=value, ...` without the empty values, cut at `limit`."""
    if payload is None:
        return ""
    if isinstance(payload, dict):
        text = ", ".join(
            f"{k}={json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v}"
            for k, v in payload.items()
            if v not in (None, [], {}, "")
        )
    else:
        text = json.dumps(payload, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def duration(d: Any) -> str:
    """A protobuf Duration as `1d 2h 3m 4s` (the parts that are not zero)."""
    seconds = int(d.ToTimedelta().total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] * bool(days) + [f"{hours}h"] * bool(hours)
    parts += [f"{minutes}m"] * bool(minutes) + [f"{secs}s"] * bool(secs)
    return " ".join(parts) or "0s"


def failure_message(failure: Failure) -> str:
    return failure.message or (failure.cause.message if failure.HasField("cause") else "")


def masked(text: str | None) -> str | None:
    return mask_text(text) if text else text


def shown(payloads: Iterable[Payload]) -> list[Any]:
    """Payloads as the trail shows them: bank accounts (and id number, phone and email
    fields) masked like the other views, summaries included."""
    shown: list[Any] = mask_fields(decode_all(payloads))
    return shown


def message(args: list[Any]) -> Any:
    """A message's payload: its one argument, else the list of them."""
    return args[0] if len(args) == 1 else args

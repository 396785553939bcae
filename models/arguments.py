"""A start or a message that carries more than the one argument every engine input is.

The SDK reads a workflow's or handler's arguments with their declared types only when their
number matches; otherwise it reads them without types, and the call fails for want of a place
to put the extra ones (a workflow task that fails again on every retry). The engine's payload
converter (client.py) reads several untyped arguments as one `SeveralArguments` instead, so
that a start ends NOT_ACCEPTED (workflows/case.py `read_report`) and a signal, update or query
is refused (worker.py `OneArgument`)."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.common import RawValue


@dataclass(frozen=True)
class SeveralArguments(RawValue):
    """The first of `count` arguments, undecoded; what a single-argument function receives."""

    count: int = 2

    @property
    def reason(self) -> str:
        return f"one argument is expected, not {self.count}"

"""The read model's rows as the staff commands read them (readmodel/reads.py): immutable records
with the columns of their tables (models/tables.py) under the same names, so a command reads
`row.due_at` whichever way the row was fetched.

Plain classes, not dataclasses: the staff's read commands (commands/front.py) start without
importing `dataclasses` (and `inspect` with it) or building a class's methods from source. A
record's `fields` are its annotated columns, in their order; readmodel/sql.py reads each
column's type from its annotation."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; type checkers read True
if TYPE_CHECKING:
    from datetime import datetime
    from decimal import Decimal
    from typing import Any, ClassVar


class Record:
    """A row: built with every column as a keyword, compared and hashed by its values in order,
    shown as `Name(column=value, ...)`, and never changed once built (as a frozen dataclass)."""

    fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls) -> None:
        cls.fields = tuple(cls.__dict__.get("__annotations__", ()))

    def __init__(self, **values: Any) -> None:
        if values.keys() != set(self.fields):
            missing = [name for name in self.fields if name not in values]
            extra = [name for name in values if name not in self.fields]
            raise TypeError(f"{type(self).__name__}: missing {missing}, unexpected {extra}")
        mine = self.__dict__
        for name in self.fields:
            mine[name] = values[name]

    def _values(self) -> tuple[Any, ...]:
        return tuple(self.__dict__[name] for name in self.fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record) or other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={self.__dict__[name]!r}" for name in self.fields)
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")


class ClaimRecord(Record):
    """A row of `claims` (ClaimRow)."""

    claim_id: str
    stage: str
    line: str
    incident_type: str
    policy_no: str
    insured_id_no: str | None
    claimant_name: str
    channel: str
    reported_at: datetime
    occurred_at: datetime | None
    amount_claimed: Decimal
    payable_amount: Decimal | None
    pending_level: int | None
    straight_through: bool
    updated_at: datetime
    closed_at: datetime | None
    priority: int
    history_len: int
    sync_version: int
    run_id: str | None
    status: dict[str, Any]


class WorkItem(Record):
    """A row of `work_items` (WorkItemRow)."""

    key: str
    case_id: str
    kind: str
    role: str
    level: int
    assignee: str | None
    title: str
    priority: int
    due_at: datetime | None
    state: str
    opened_at: datetime
    closed_at: datetime | None


class Letter(Record):
    """A row of `letters` (LetterRow)."""

    letter_id: str
    case_id: str
    kind: str
    language: str
    channel: str
    recipient: str
    sent_at: datetime
    sha256: str
    path: str
    body: str


class StaffMember(Record):
    """A row of `staff` (StaffRow)."""

    staff_id: str
    name: str
    level: int
    roles: list[str]
    active: bool
    signing_key: str | None
    key_set_at: datetime | None
    algorithm: str | None
    public_key: str | None


class ComplaintRecord(Record):
    """A row of `complaints` (ComplaintRow)."""

    complaint_id: str
    stage: str
    channel: str
    category: str | None
    department: str | None
    priority: str
    claim_id: str | None
    policy_no: str | None
    complainant_name: str
    complainant_key: str | None
    complainants: int
    handler: str | None
    received_at: datetime
    decided_at: datetime | None
    closed_at: datetime | None
    upheld: bool | None
    satisfied: bool | None
    extensions: int
    on_time: bool | None
    outcome: str | None
    updated_at: datetime
    history_len: int
    sync_version: int
    status: dict[str, Any]

"""The read model's queries behind the staff commands (`claims tasks`, `claims claim list` and
`show`, `claims letter list`, `claims staff list`), in plain SQL through the DB-API
(readmodel/sql.py), so that those commands start without SQLAlchemy. Each takes the read model
as `engine` (a `ReadModel` or an SQLAlchemy engine) with keyword-only arguments, like every
query in readmodel/queries.py, which offers these under the same names.

The statements are the ones SQLAlchemy wrote for these queries before (the same conditions,
order and limit), so the indexes named below serve them as they did (tests/test_bench.py checks
the plans)."""

from __future__ import annotations

from readmodel.rows import ClaimRecord, ComplaintRecord, Letter, StaffMember, WorkItem
from readmodel.sql import NotFound, ReadModel, columns, fetch

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; type checkers read True
if TYPE_CHECKING:
    from typing import Any

    from sqlalchemy.engine import Engine

__all__ = [
    "NotFound",
    "claim",
    "claims",
    "complaints_about",
    "letters_of",
    "open_items",
    "staff",
    "staff_member",
]

CLAIM = f"SELECT {columns(ClaimRecord, 'claims')} FROM claims"
ITEM = f"SELECT {columns(WorkItem, 'work_items')} FROM work_items"
LETTER = f"SELECT {columns(Letter, 'letters')} FROM letters"
STAFF = f"SELECT {columns(StaffMember, 'staff')} FROM staff"
COMPLAINT = f"SELECT {columns(ComplaintRecord, 'complaints')} FROM complaints"
QUEUE_ORDER = " ORDER BY work_items.priority DESC, work_items.due_at LIMIT :limit"


def claims(
    *,
    engine: ReadModel | Engine,
    stage: str | None = None,
    line: str | None = None,
    policy: str | None = None,
    limit: int = 50,
) -> list[ClaimRecord]:
    """Claims, newest first (each filter has an index ending in the report time, so the newest
    rows are read first and the scan stops at the limit)."""
    wanted = {"stage": stage.upper() if stage else None, "line": line, "policy_no": policy}
    equal = {name: value for name, value in wanted.items() if value is not None}
    where = " AND ".join(f"claims.{name} = :{name}" for name in equal)
    statement = CLAIM + (f" WHERE {where}" if where else "")
    statement += " ORDER BY claims.reported_at DESC LIMIT :limit"
    return fetch(engine, statement, {**equal, "limit": limit}, ClaimRecord)


def claim(*, engine: ReadModel | Engine, claim_id: str) -> ClaimRecord | None:
    found = fetch(engine, CLAIM + " WHERE claims.claim_id = :id", {"id": claim_id}, ClaimRecord)
    return found[0] if found else None


def complaints_about(*, engine: ReadModel | Engine, claim_id: str) -> list[ComplaintRecord]:
    """The complaints filed about a claim."""
    statement = COMPLAINT + " WHERE complaints.claim_id = :claim_id"
    return fetch(engine, statement, {"claim_id": claim_id}, ComplaintRecord)


def letters_of(*, engine: ReadModel | Engine, case_id: str) -> list[Letter]:
    """A case's letters, in the order they were sent."""
    statement = LETTER + " WHERE letters.case_id = :case_id ORDER BY letters.sent_at"
    return fetch(engine, statement, {"case_id": case_id}, Letter)


def staff_member(*, engine: ReadModel | Engine, staff_id: str) -> StaffMember | None:
    found = fetch(engine, STAFF + " WHERE staff.staff_id = :id", {"id": staff_id}, StaffMember)
    return found[0] if found else None


def staff(*, engine: ReadModel | Engine) -> list[StaffMember]:
    """Everyone on the staff, by staff id."""
    return fetch(engine, STAFF + " ORDER BY staff.staff_id", {}, StaffMember)


# ============================================================ work queue


def open_items(
    *, engine: ReadModel | Engine, person: str | None, limit: int = 100
) -> list[WorkItem]:
    """Open work items for a person: those assigned to them, and the pooled items they may
    take (models/roles.py: by role and level, on a claim or on a complaint), minus approvals of
    cases they may not decide. Without a person: every open item but the claimants'."""
    if person is None:
        statement = ITEM + " WHERE work_items.state = :state AND work_items.role != :role"
        params = {"state": "open", "role": "claimant", "limit": limit}
        return fetch(engine, statement + QUEUE_ORDER, params, WorkItem)
    member = staff_member(engine=engine, staff_id=person)
    if member is None:
        raise NotFound(f"unknown person {person!r}")
    return _queue_of(engine, member, limit)


def _listed(prefix: str, values: list[str], params: dict[str, Any]) -> str:
    """`:prefix0, :prefix1, ...` for an IN list, the values put in `params`."""
    names = [f"{prefix}{n}" for n in range(len(values))]
    params.update(zip(names, values, strict=True))
    return ", ".join(f":{name}" for name in names)


def _queue_of(engine: ReadModel | Engine, member: StaffMember, limit: int) -> list[WorkItem]:
    from models.roles import offer  # only a person's queue needs who may take what

    person = member.staff_id
    # Someone no longer active is refused by every case: offer them nothing pooled.
    may = offer(member.roles or [] if member.active else [], member.level)
    params: dict[str, Any] = {"person": person, "approve": "approve", "state": "open"}
    # Whether an item is a complaint's: its case has a complaint row. Not the key (a
    # claim's complaint_escalation key holds ":complaint:", and the complaint clocks would
    # have to be listed here in step with the workflow) nor the kind (the clock kinds are
    # shared). EXISTS, not an outer join: PostgreSQL takes "complaint_id IS NULL" under an
    # OR as almost never true and then sorts every open item instead of reading the queue
    # index to the limit. It hashes the complaint ids once (far fewer than the claims);
    # SQLite probes their key, and only for an unassigned item of a role this person could
    # take, since the cheaper conditions come first.
    is_complaint = (
        "(EXISTS (SELECT * FROM complaints WHERE complaints.complaint_id = work_items.case_id))"
    )
    by_case = [
        f"work_items.role IN ({_listed(name, sorted(roles), params)}) AND {case}"
        for name, roles, case in (
            ("claim_role", may.claim_roles, f"NOT {is_complaint}"),
            ("complaint_role", may.complaint_roles, is_complaint),
        )
        if roles
    ]
    if not by_case:
        return _assigned_only(engine, person, limit)
    pooled = "work_items.assignee IS NULL"
    if may.too_senior:
        senior = _listed("senior", sorted(may.too_senior), params)
        pooled += f" AND (work_items.kind NOT IN ({senior}))"
    cases = " OR ".join(f"({c})" for c in by_case) if len(by_case) > 1 else by_case[0]
    # Recusal: nobody decides a case they adjusted or already approved. An outer join on
    # the recusal key (not NOT EXISTS, which PostgreSQL hashes over the whole table) keeps
    # it to one index probe per item read, and the scan stops at the limit.
    statement = (
        ITEM + " LEFT OUTER JOIN claim_recusals ON claim_recusals.case_id = work_items.case_id"
        " AND claim_recusals.staff_id = :person"
        " WHERE (work_items.kind != :approve OR claim_recusals.case_id IS NULL)"
        " AND work_items.state = :state"
        f" AND (work_items.assignee = :person OR {pooled} AND ({cases}))"
    )
    return fetch(engine, statement + QUEUE_ORDER, {**params, "limit": limit}, WorkItem)


def _assigned_only(engine: ReadModel | Engine, person: str, limit: int) -> list[WorkItem]:
    """Nothing pooled (a complaint handler, intake): only what is assigned to them, a few
    items read by the assignee index and sorted. SQLite's statistics count every unassigned
    item under one assignee (NULL), so left to itself it may read the whole queue to find
    none; the index is named there. Recusal concerns pooled approvals only, never an item
    assigned to the person."""

    def statement(dialect: str) -> str:
        indexed = " INDEXED BY ix_work_items_assignee" if dialect == "sqlite" else ""
        return (
            ITEM
            + indexed
            + " WHERE work_items.assignee = :person AND work_items.state = :state"
            + QUEUE_ORDER
        )

    params = {"person": person, "state": "open", "limit": limit}
    return fetch(engine, statement, params, WorkItem)

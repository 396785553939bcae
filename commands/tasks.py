"""`claims tasks`: the work queue, soonest due first."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import and_, exists, or_, text
from sqlmodel import Session, col, select

from commands.common import ZONE_NAME, UserError, console, db, handle_errors, print_json, when
from models.roles import offer
from models.tables import ClaimRecusalRow, ComplaintRow, StaffRow, WorkItemRow


def open_items(person: str | None, limit: int = 100) -> list[WorkItemRow]:
    """Open work items for a person: those assigned to them, and the pooled items they may
    take (models/roles.py: by role and level, on a claim or on a complaint), minus approvals of
    cases they may not decide."""
    with Session(db()) as s:
        q = select(WorkItemRow).where(WorkItemRow.state == "open")
        if person is None:
            q = q.where(WorkItemRow.role != "claimant")
            q = q.order_by(col(WorkItemRow.priority).desc(), col(WorkItemRow.due_at)).limit(limit)
            return list(s.exec(q).all())
        staff = s.get(StaffRow, person)
        if staff is None:
            raise UserError(f"unknown person {person!r}")
        mine = WorkItemRow.assignee == person
        # Someone no longer active is refused by every case: offer them nothing pooled.
        may = offer(staff.roles or [] if staff.active else [], staff.level)
        # Recusal: nobody decides a case they adjusted or already approved. An outer join on
        # the recusal key (not NOT EXISTS, which PostgreSQL hashes over the whole table) keeps
        # it to one index probe per item read, and the scan stops at the limit.
        recusal = and_(
            ClaimRecusalRow.case_id == WorkItemRow.case_id, ClaimRecusalRow.staff_id == person
        )
        q = select(WorkItemRow).outerjoin(ClaimRecusalRow, recusal)
        q = q.where(or_(WorkItemRow.kind != "approve", col(ClaimRecusalRow.case_id).is_(None)))
        # Whether an item is a complaint's: its case has a complaint row. Not the key (a
        # claim's complaint_escalation key holds ":complaint:", and the complaint clocks would
        # have to be listed here in step with the workflow) nor the kind (the clock kinds are
        # shared). EXISTS, not an outer join: PostgreSQL takes "complaint_id IS NULL" under an
        # OR as almost never true and then sorts every open item instead of reading the queue
        # index to the limit. It hashes the complaint ids once (far fewer than the claims);
        # SQLite probes their key, and only for an unassigned item of a role this person could
        # take, since the cheaper conditions come first.
        is_complaint = exists().where(ComplaintRow.complaint_id == WorkItemRow.case_id)
        by_case = [
            col(WorkItemRow.role).in_(sorted(roles)) & case
            for roles, case in (
                (may.claim_roles, ~is_complaint),
                (may.complaint_roles, is_complaint),
            )
            if roles
        ]
        priority = col(WorkItemRow.priority)
        if not by_case:
            return _assigned_only(s, person, limit)
        else:
            q = q.where(WorkItemRow.state == "open")
            pooled = col(WorkItemRow.assignee).is_(None)
            if may.too_senior:
                pooled &= col(WorkItemRow.kind).not_in(sorted(may.too_senior))
            q = q.where(mine | (pooled & or_(*by_case)))
        q = q.order_by(priority.desc(), col(WorkItemRow.due_at)).limit(limit)
        return list(s.exec(q).all())


# Nothing pooled (a complaint handler, intake): only what is assigned to them, a few items
# read by the assignee index and sorted. SQLite's statistics count every unassigned item under
# one assignee (NULL), so left to itself it may read the whole queue to find none; the index
# is named. Recusal concerns pooled approvals only, never an item assigned to the person.
_ASSIGNED_SQLITE = text(
    "SELECT work_items.* FROM work_items INDEXED BY ix_work_items_assignee "
    "WHERE work_items.assignee = :person AND work_items.state = 'open' "
    "ORDER BY work_items.priority DESC, work_items.due_at LIMIT :limit"
)


def _assigned_only(s: Session, person: str, limit: int) -> list[WorkItemRow]:
    if s.get_bind().dialect.name == "sqlite":
        q = select(WorkItemRow).from_statement(_ASSIGNED_SQLITE)
        rows = s.execute(q, {"person": person, "limit": limit}).scalars()  # type: ignore[call-overload]
        return list(rows.all())
    q = (
        select(WorkItemRow)
        .where(WorkItemRow.assignee == person, WorkItemRow.state == "open")
        .order_by(col(WorkItemRow.priority).desc(), col(WorkItemRow.due_at))
        .limit(limit)
    )
    return list(s.exec(q).all())


def tasks(
    person: Annotated[
        str | None, typer.Option("--for", help="Staff id: only what this person may act on.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """The work queue: open tasks, soonest due first.

    Example: claims tasks --for sup1
    """
    rows = handle_errors(open_items)(person, limit)
    if as_json:
        print_json(
            [
                {
                    "key": r.key,
                    "case_id": r.case_id,
                    "kind": r.kind,
                    "role": r.role,
                    "assignee": r.assignee,
                    "due_at": r.due_at,
                    "priority": r.priority,
                }
                for r in rows
            ]
        )
        return
    t = Table()
    for c in ("due", "case", "task", "role", "assignee"):
        t.add_column(c)
    for r in rows:
        t.add_row(when(r.due_at), r.case_id, r.kind, r.role, r.assignee or "-")
    console.print(t)
    typer.echo(
        f"{len(rows)} open task(s)" + (f" for {person}" if person else "") + f"; {ZONE_NAME}"
    )

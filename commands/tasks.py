"""`claims tasks`: the work queue, soonest due first."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from commands.common import UserError, console, db, handle_errors, print_json, when
from models.tables import ClaimRecusalRow, StaffRow, WorkItemRow

# Pooled work that goes by role rather than authority level.
POOLS = {"coordinator": "complaint_coordinator", "investigator": "investigator"}


def open_items(person: str | None, limit: int = 100) -> list[WorkItemRow]:
    """Open work items for a person: those assigned to them, and the pooled items of a role
    they hold (approvals at or below their level, minus cases they may not decide)."""
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
        roles = set(staff.roles or [])
        by_level = (
            col(WorkItemRow.role).startswith("L")
            & (WorkItemRow.level <= staff.level)
            & (WorkItemRow.level > 0)
        )
        by_role = col(WorkItemRow.role).in_([r for r, needs in POOLS.items() if needs in roles])
        pooled = col(WorkItemRow.assignee).is_(None) & (by_level | by_role)
        # Recusal: nobody decides a case they adjusted or already approved. An outer join on
        # the recusal key (not NOT EXISTS, which PostgreSQL hashes over the whole table) keeps
        # it to one index probe per item read, and the scan stops at the limit.
        recusal = and_(
            ClaimRecusalRow.case_id == WorkItemRow.case_id, ClaimRecusalRow.staff_id == person
        )
        q = (
            select(WorkItemRow)
            .outerjoin(ClaimRecusalRow, recusal)
            .where(WorkItemRow.state == "open", mine | pooled)
            .where(or_(WorkItemRow.kind != "approve", col(ClaimRecusalRow.case_id).is_(None)))
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
    typer.echo(f"{len(rows)} open task(s)" + (f" for {person}" if person else ""))

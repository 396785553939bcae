"""`claims tasks`: the work queue, soonest due first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from commands.common import ZONE_NAME, console, handle_errors, print_json, read_model, when

if TYPE_CHECKING:
    from readmodel.rows import WorkItem


def open_items(person: str | None, limit: int = 100) -> list[WorkItem]:
    """The work queue of a person (all open items but the claimants' without one)."""
    from readmodel import reads

    return reads.open_items(engine=read_model(), person=person, limit=limit)


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
    from rich.table import Table

    t = Table()
    for c in ("due", "case", "task", "role", "assignee"):
        t.add_column(c)
    for r in rows:
        t.add_row(when(r.due_at), r.case_id, r.kind, r.role, r.assignee or "-")
    console.print(t)
    typer.echo(
        f"{len(rows)} open task(s)" + (f" for {person}" if person else "") + f"; {ZONE_NAME}"
    )

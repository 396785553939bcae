"""`claims events`: every state change of every case, in order, for other systems to follow.

The audit events table is the outbox: each row has a sequence number (`seq` in the output,
the table's id) that only grows, written in the same transaction as the projection.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from sqlmodel import Session, col, select

from commands.common import db, handle_errors
from models.tables import AuditEventRow


def events_since(since: int, limit: int = 1000) -> list[AuditEventRow]:
    with Session(db()) as s:
        q = (
            select(AuditEventRow)
            .where(col(AuditEventRow.id) > since)
            .order_by(col(AuditEventRow.id))
            .limit(limit)
        )
        return list(s.exec(q).all())


def _line(e: AuditEventRow) -> str:
    import json

    return json.dumps(
        {
            "seq": e.id,
            "case_id": e.case_id,
            "case_seq": e.seq,
            "kind": e.kind,
            "actor": e.actor,
            "at": e.at.isoformat(),
            "data": e.data,
        },
        ensure_ascii=False,
    )


@handle_errors
def events(
    since: Annotated[int, typer.Option(help="Only events after this sequence number.")] = 0,
    limit: Annotated[int, typer.Option(help="At most this many per batch.")] = 1000,
    follow: Annotated[bool, typer.Option("--follow", help="Keep printing new events.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between looks with --follow.")] = 1.0,
) -> None:
    """Print state changes as JSON lines, oldest first; resume with --since the last seq.

    Example: claims events --since 1200 --follow
    """
    last = since
    while True:
        batch = events_since(last, limit)
        for e in batch:
            typer.echo(_line(e))
            last = e.id or last
        if not follow:
            return
        if not batch:
            time.sleep(interval)

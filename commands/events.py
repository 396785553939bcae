"""`claims events`: every state change of every case, in order, for other systems to follow.

The audit events table is the outbox: each row has a sequence number (`seq` in the output,
the table's id) that only grows, written in the same transaction as the projection.

On PostgreSQL two transactions can commit out of sequence order: a row with a lower seq may
become visible after a higher one was already printed. The follower therefore remembers the
gaps it has seen in the sequence and looks for them again for `--gap-wait` seconds (a gap left
by a rolled-back transaction never fills). Such a late row is printed when it appears, with its
own seq; consumers key on seq.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import typer

from commands.common import db, handle_errors

if TYPE_CHECKING:
    from models.tables import AuditEventRow


def events_since(since: int, limit: int = 1000, also: Iterable[int] = ()) -> list[AuditEventRow]:
    """Rows after `since` in sequence order, and any of the ids in `also` that now exist."""
    from readmodel import queries

    return queries.events_since(engine=db(), since=since, limit=limit, also=also)


class Follower:
    """Reads the feed in batches and remembers gaps in the sequence for a while."""

    def __init__(self, since: int, limit: int = 1000, gap_wait: float = 30.0) -> None:
        self.last = since
        self.limit = limit
        self.gap_wait = gap_wait
        self.gaps: dict[int, float] = {}  # missing seq -> when it was first missed

    def poll(self, now: float | None = None) -> list[AuditEventRow]:
        now = time.monotonic() if now is None else now
        self.gaps = {g: t for g, t in self.gaps.items() if now - t < self.gap_wait}
        batch = events_since(self.last, self.limit, self.gaps)
        for e in batch:
            if e.id is None:  # not yet written (a row from the table always has its id)
                continue
            if e.id in self.gaps:
                del self.gaps[e.id]
                continue
            for missing in range(self.last + 1, e.id):
                self.gaps.setdefault(missing, now)
            self.last = e.id
        return batch


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
    gap_wait: Annotated[
        float, typer.Option(help="Seconds to keep looking for a seq skipped in the sequence.")
    ] = 30.0,
) -> None:
    """Print state changes as JSON lines, oldest first; resume with --since the last seq.

    Example: claims events --since 1200 --follow
    """
    follower = Follower(since, limit, gap_wait)
    while True:
        batch = follower.poll()
        for e in batch:
            typer.echo(_line(e))
        if not follow:
            return
        if len(batch) < limit:
            time.sleep(interval)

"""The read model: one idempotent write per state change of a case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session
from temporalio import activity

from database import insert_new, recused_staff
from models.records import AuditEventIn, ClaimSync, SyncReceipt, WorkItemIn
from models.status import CLAIM_ENDED, StageChange
from models.tables import AuditEventRow, ClaimRecusalRow, ClaimRow, WorkItemRow, table_of
from prepared import Prepared
from security.masking import for_read_model

TERMINAL = CLAIM_ENDED
CLAIMS = table_of(ClaimRow)
EVENTS = table_of(AuditEventRow)
ITEMS = table_of(WorkItemRow)
RECUSALS = table_of(ClaimRecusalRow)
# The statements every sync runs, prepared once (prepared.py)
_KNOWN = Prepared(
    select(
        CLAIMS.c.history_len, CLAIMS.c.sync_version, CLAIMS.c.closed_at, CLAIMS.c.updated_at
    ).where(CLAIMS.c.claim_id == bindparam("claim_id"))
)
_NEW_CLAIM = Prepared(insert(CLAIMS))
_CLAIM_CHANGED = Prepared(update(CLAIMS).where(CLAIMS.c.claim_id == bindparam("where_claim_id")))
_RECUSED = Prepared(select(RECUSALS.c.staff_id).where(RECUSALS.c.case_id == bindparam("case_id")))
_NOT_RECUSED = Prepared(
    delete(RECUSALS).where(
        RECUSALS.c.case_id == bindparam("case_id"), RECUSALS.c.staff_id == bindparam("staff_id")
    )
)
_ITEM_DONE = Prepared(
    update(ITEMS)
    .where(ITEMS.c.key == bindparam("item_key"), ITEMS.c.state == "open")
    .values(state="done", closed_at=bindparam("done_at"))
)
_TO_THE_TOP = Prepared(
    update(ITEMS)
    .where(
        ITEMS.c.case_id == bindparam("of_case"),
        ITEMS.c.state == "open",
        ITEMS.c.priority < bindparam("raise_to"),
    )
    .values(priority=bindparam("raised"))
)


class RecordActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="sync_claim")
    def sync_claim(self, sync: ClaimSync) -> SyncReceipt:
        """Upsert the claim's projection, append new audit events (natural key: case id and
        sequence), open and close work items. Running it twice leaves the same rows. Plain
        statements in one transaction: a few per sync, however many events and items."""
        st = sync.status
        now = datetime.now(UTC)
        with self.engine.begin() as conn:  # prepared statements: no ORM session
            known = _KNOWN.run(conn, {"claim_id": st.claim_id}).first()
            updated_at = known["updated_at"] if known is not None else now
            # A late retry of an older sync must not roll the projection back: history only
            # grows and the workflow numbers its syncs, so (history, version) orders them.
            incoming = (len(st.history), sync.version)
            if known is None or incoming >= (known["history_len"], known["sync_version"]):
                updated_at = st.history[-1].at if st.history else now
                # id numbers, phones and accounts masked: the workflow keeps them (--full)
                status = for_read_model(st.model_dump(mode="json"))
                values: dict[str, Any] = {
                    "history_len": incoming[0],
                    "sync_version": incoming[1],
                    "stage": st.stage,
                    "payable_amount": st.payable_amount,
                    "pending_level": st.pending_approval_level,
                    "straight_through": st.straight_through,
                    "priority": sync.priority,
                    "status": status,
                    "updated_at": updated_at,
                }
                if sync.insured_id_no:
                    values["insured_id_no"] = sync.insured_id_no
                if st.stage in TERMINAL and (known is None or known["closed_at"] is None):
                    values["closed_at"] = updated_at
                if known is None:
                    first = {
                        "claim_id": st.claim_id,
                        "line": st.line,
                        "incident_type": st.incident_type,
                        "policy_no": st.policy_no,
                        "claimant_name": st.claimant_name,
                        "channel": st.channel,
                        "reported_at": st.reported_at,
                        "amount_claimed": st.amount_claimed,
                        "run_id": _run_id(),
                    }
                    _NEW_CLAIM.run(conn, first | values, columns=True)
                else:
                    changed = {"where_claim_id": st.claim_id, **values}
                    _CLAIM_CHANGED.run(conn, changed, columns=True)
                # Only an open claim can be decided: a finished one keeps no recusal rows.
                recused = set() if st.stage in TERMINAL else recused_staff(status)
                write_recusals(conn, st.claim_id, recused)
            write_events_and_items(
                conn,
                st.claim_id,
                sync.events,
                sync.open_items,
                sync.close_items,
                sync.priority,
                updated_at,
            )
        return receipt(sync.version, st.history, sync.events)


def receipt(version: int, history: list[StageChange], events: list[AuditEventIn]) -> SyncReceipt:
    return SyncReceipt(version=version, history=history, events=events)


def _run_id() -> str | None:
    return activity.info().workflow_run_id if activity.in_activity() else None


def write_recusals(conn: Connection, claim_id: str, staff: set[str]) -> None:
    """Make the claim's recusal rows the given set (the chain restarts after a return, so
    earlier approvers may decide again): the rows not in it deleted, the new ones added."""
    kept = {row[0] for row in _RECUSED.run(conn, {"case_id": claim_id}).rows}
    for staff_id in sorted(kept - staff):
        _NOT_RECUSED.run(conn, {"case_id": claim_id, "staff_id": staff_id})
    rows = [{"case_id": claim_id, "staff_id": s} for s in sorted(staff - kept)]
    insert_new(conn, RECUSALS, rows, ("case_id", "staff_id"))


def write_events_and_items(
    db: Session | Connection,
    case_id: str,
    events: list[AuditEventIn],
    open_items: list[WorkItemIn],
    close_items: list[str],
    priority: int,
    at: datetime,
) -> None:
    """Append audit events (natural key: case and sequence), open and close work items, and
    move a breached case's open work to the top of the queue. Safe to run twice."""
    event_rows = [
        {
            "case_id": case_id,
            "seq": e.seq,
            "kind": e.kind,
            "actor": e.actor,
            "at": e.at,
            "data": for_read_model(e.data),
        }
        for e in events
    ]
    insert_new(db, EVENTS, event_rows, ("case_id", "seq"))
    item_rows = [
        {
            "key": item.key,
            "case_id": case_id,
            "kind": item.kind,
            "role": item.role,
            "level": item.level,
            "assignee": item.assignee,
            "title": item.title,
            "priority": item.priority,
            "due_at": item.due_at,
            "state": "open",
            "opened_at": at,
        }
        for item in open_items
    ]
    insert_new(db, ITEMS, item_rows, ("key",))
    conn = db.connection() if isinstance(db, Session) else db
    for key in close_items:
        _ITEM_DONE.run(conn, {"item_key": key, "done_at": at})
    if priority:
        # A breached case jumps the queue: all its open work moves to the top.
        moved = {"of_case": case_id, "raise_to": priority, "raised": priority}
        _TO_THE_TOP.run(conn, moved)

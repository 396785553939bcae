"""The read model: one idempotent write per state change of a case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select
from temporalio import activity

from database import insert_new, recused_staff
from models.records import AuditEventIn, ClaimSync, SyncReceipt, WorkItemIn
from models.status import CLAIM_ENDED, StageChange
from models.tables import AuditEventRow, ClaimRecusalRow, ClaimRow, WorkItemRow, table_of
from security.masking import for_read_model

TERMINAL = CLAIM_ENDED


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
        claims = table_of(ClaimRow)
        with self.engine.begin() as conn:  # plain statements: no ORM session
            known = conn.execute(
                select(
                    col(ClaimRow.history_len),
                    col(ClaimRow.sync_version),
                    col(ClaimRow.closed_at),
                    col(ClaimRow.updated_at),
                ).where(ClaimRow.claim_id == st.claim_id)
            ).first()
            updated_at = known.updated_at if known is not None else now
            # A late retry of an older sync must not roll the projection back: history only
            # grows and the workflow numbers its syncs, so (history, version) orders them.
            incoming = (len(st.history), sync.version)
            if known is None or incoming >= (known.history_len, known.sync_version):
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
                if st.stage in TERMINAL and (known is None or known.closed_at is None):
                    values["closed_at"] = updated_at
                if known is None:
                    conn.execute(
                        insert(claims).values(
                            claim_id=st.claim_id,
                            line=st.line,
                            incident_type=st.incident_type,
                            policy_no=st.policy_no,
                            claimant_name=st.claimant_name,
                            channel=st.channel,
                            reported_at=st.reported_at,
                            amount_claimed=st.amount_claimed,
                            run_id=_run_id(),
                            **values,
                        )
                    )
                else:
                    conn.execute(
                        update(claims).where(claims.c.claim_id == st.claim_id).values(**values)
                    )
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


def write_recusals(db: Session | Connection, claim_id: str, staff: set[str]) -> None:
    """Make the claim's recusal rows the given set (the chain restarts after a return, so
    earlier approvers may decide again)."""
    recusals = table_of(ClaimRecusalRow)
    gone = delete(recusals).where(recusals.c.case_id == claim_id)
    if staff:
        gone = gone.where(recusals.c.staff_id.not_in(sorted(staff)))
    db.execute(gone)
    rows = [{"case_id": claim_id, "staff_id": s} for s in sorted(staff)]
    insert_new(db, recusals, rows, ("case_id", "staff_id"))


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
    events_table = table_of(AuditEventRow)
    items = table_of(WorkItemRow)
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
    insert_new(db, events_table, event_rows, ("case_id", "seq"))
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
    insert_new(db, items, item_rows, ("key",))
    if close_items:
        db.execute(
            update(items)
            .where(items.c.key.in_(close_items), items.c.state == "open")
            .values(state="done", closed_at=at)
        )
    if priority:
        # A breached case jumps the queue: all its open work moves to the top.
        db.execute(
            update(items)
            .where(items.c.case_id == case_id, items.c.state == "open", items.c.priority < priority)
            .values(priority=priority)
        )

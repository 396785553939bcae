"""The read model: one idempotent write per state change of a case."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import activity

from database import recused_staff
from models.records import AuditEventIn, ClaimSync, SyncReceipt, WorkItemIn
from models.status import CLAIM_ENDED, StageChange
from models.tables import AuditEventRow, ClaimRecusalRow, ClaimRow, WorkItemRow
from security.masking import for_read_model

TERMINAL = CLAIM_ENDED


class RecordActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="sync_claim")
    def sync_claim(self, sync: ClaimSync) -> SyncReceipt:
        """Upsert the claim's projection, append new audit events (natural key: case id and
        sequence), open and close work items. Running it twice leaves the same rows."""
        st = sync.status
        now = datetime.now(UTC)
        with Session(self.engine) as session:
            row = session.get(ClaimRow, st.claim_id)
            if row is None:
                row = ClaimRow(
                    claim_id=st.claim_id,
                    stage=st.stage,
                    line=st.line,
                    incident_type=st.incident_type,
                    policy_no=st.policy_no,
                    claimant_name=st.claimant_name,
                    channel=st.channel,
                    reported_at=st.reported_at,
                    amount_claimed=st.amount_claimed,
                    updated_at=now,
                    run_id=_run_id(),
                )
            # A late retry of an older sync must not roll the projection back: history only
            # grows and the workflow numbers its syncs, so (history, version) orders them.
            incoming = (len(st.history), sync.version)
            if incoming >= (row.history_len, row.sync_version):
                row.history_len, row.sync_version = incoming
                row.stage = st.stage
                row.insured_id_no = sync.insured_id_no or row.insured_id_no
                row.payable_amount = st.payable_amount
                row.pending_level = st.pending_approval_level
                row.straight_through = st.straight_through
                row.priority = sync.priority
                # id numbers, phones and accounts masked: the workflow keeps them (--full)
                row.status = for_read_model(st.model_dump(mode="json"))
                row.updated_at = st.history[-1].at if st.history else now
                if st.stage in TERMINAL and row.closed_at is None:
                    row.closed_at = row.updated_at
                # Only an open claim can be decided: a finished one keeps no recusal rows.
                recused = set() if st.stage in TERMINAL else recused_staff(row.status)
                write_recusals(session, st.claim_id, recused)
            session.add(row)

            write_events_and_items(
                session,
                st.claim_id,
                sync.events,
                sync.open_items,
                sync.close_items,
                sync.priority,
                row.updated_at,
            )
            session.commit()
        return receipt(sync.version, st.history, sync.events)


def receipt(version: int, history: list[StageChange], events: list[AuditEventIn]) -> SyncReceipt:
    return SyncReceipt(version=version, history=history, events=events)


def _run_id() -> str | None:
    return activity.info().workflow_run_id if activity.in_activity() else None


def write_recusals(session: Session, claim_id: str, staff: set[str]) -> None:
    """Make the claim's recusal rows the given set (the chain restarts after a return, so
    earlier approvers may decide again)."""
    rows = session.exec(select(ClaimRecusalRow).where(ClaimRecusalRow.case_id == claim_id)).all()
    for r in rows:
        if r.staff_id not in staff:
            session.delete(r)
    for staff_id in staff - {r.staff_id for r in rows}:
        session.add(ClaimRecusalRow(case_id=claim_id, staff_id=staff_id))


def write_events_and_items(
    session: Session,
    case_id: str,
    events: list[AuditEventIn],
    open_items: list[WorkItemIn],
    close_items: list[str],
    priority: int,
    at: datetime,
) -> None:
    """Append audit events (natural key: case and sequence), open and close work items, and
    move a breached case's open work to the top of the queue. Safe to run twice."""
    if events:
        seqs = [e.seq for e in events]
        known = set(
            session.exec(
                select(AuditEventRow.seq).where(
                    AuditEventRow.case_id == case_id,
                    col(AuditEventRow.seq).in_(seqs),
                )
            ).all()
        )
        for e in events:
            if e.seq not in known:
                session.add(
                    AuditEventRow(
                        case_id=case_id,
                        seq=e.seq,
                        kind=e.kind,
                        actor=e.actor,
                        at=e.at,
                        data=for_read_model(e.data),
                    )
                )
    for item in open_items:
        existing = session.get(WorkItemRow, item.key)
        if existing is None:
            session.add(
                WorkItemRow(
                    key=item.key,
                    case_id=case_id,
                    kind=item.kind,
                    role=item.role,
                    level=item.level,
                    assignee=item.assignee,
                    title=item.title,
                    priority=item.priority,
                    due_at=item.due_at,
                    opened_at=at,
                )
            )
    for key in close_items:
        existing = session.get(WorkItemRow, key)
        if existing is not None and existing.state == "open":
            existing.state = "done"
            existing.closed_at = at
            session.add(existing)
    if priority:
        # A breached case jumps the queue: all its open work moves to the top.
        for row in session.exec(
            select(WorkItemRow).where(
                WorkItemRow.case_id == case_id,
                WorkItemRow.state == "open",
                WorkItemRow.priority < priority,
            )
        ).all():
            row.priority = priority
            session.add(row)

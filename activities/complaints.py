"""Complaint look-ups and the complaint projection in the read model."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio import activity

from activities.records import receipt, write_events_and_items
from activities.rules import calendar_since
from models.calendars import published_calendar
from models.catalog import COMPLAINT_DEPARTMENTS, SIGNATURE_WINDOW_MINUTES
from models.complaint import ComplaintRules, ComplaintRulesRequest, ComplaintSync
from models.records import SyncReceipt
from models.tables import ClaimRow, ComplaintRow, PolicyRow, StaffRow
from security.masking import for_read_model

RULES_VERSION = "CN-complaints-2020"


def claim_people(status: Mapping[str, Any]) -> dict[str, str]:
    """Everyone who decided, adjusted, investigated or sat on the panel of a claim."""
    people: dict[str, str] = {}
    adjuster = (status.get("adjustment") or {}).get("adjuster")
    if adjuster and adjuster not in ("system", "panel"):
        people[adjuster] = "adjusted the claim"
    for a in status.get("approvals", []):
        if a.get("approver") not in (None, "system", "panel"):
            people[a["approver"]] = "decided the claim"
    for v in status.get("investigations", []):
        if v.get("investigator") not in (None, "-"):
            people.setdefault(v["investigator"], "investigated the claim")
    for m in (status.get("panel") or {}).get("members", []):
        people.setdefault(m, "sat on the claim's panel")
    return people


class ComplaintActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="load_complaint_rules")
    def load_complaint_rules(self, req: ComplaintRulesRequest) -> ComplaintRules:
        with Session(self.engine) as session:
            policy_known = (
                session.get(PolicyRow, req.policy_no) is not None if req.policy_no else None
            )
            claim = session.get(ClaimRow, req.claim_id) if req.claim_id else None
            repeat = 0
            if req.complainant_key:
                since = datetime.combine(
                    req.received_on - timedelta(days=365), time.min, tzinfo=UTC
                )
                repeat = session.exec(
                    select(func.count())
                    .select_from(ComplaintRow)
                    .where(
                        ComplaintRow.complainant_key == req.complainant_key,
                        ComplaintRow.complaint_id != req.complaint_id,
                        ComplaintRow.received_at >= since,
                    )
                ).one()
            advisors = sorted(
                row.staff_id
                for row in session.exec(select(StaffRow)).all()
                if row.active and "special_care_advisor" in (row.roles or [])
            )
        calendar = published_calendar(calendar_since(req.received_on))
        return ComplaintRules(
            version=RULES_VERSION,
            holidays=calendar.holidays,
            workdays=calendar.workdays,
            calendar_years=calendar.years,
            departments=dict(COMPLAINT_DEPARTMENTS),
            policy_known=policy_known,
            claim_known=claim is not None if req.claim_id else None,
            claim_people=claim_people(claim.status) if claim is not None else {},
            repeat_count=int(repeat),
            advisors=advisors,
            signature_window_minutes=SIGNATURE_WINDOW_MINUTES,
        )

    @activity.defn(name="sync_complaint")
    def sync_complaint(self, sync: ComplaintSync) -> SyncReceipt:
        """Upsert the complaint's projection, append audit events, open and close work items;
        idempotent, and a late retry never rolls the projection back."""
        st = sync.status
        now = datetime.now(UTC)
        with Session(self.engine) as session:
            row = session.get(ComplaintRow, st.complaint_id)
            if row is None:
                row = ComplaintRow(
                    complaint_id=st.complaint_id,
                    stage=st.stage,
                    channel=st.channel,
                    complainant_name=st.complainant_name,
                    received_at=st.received_at,
                    updated_at=now,
                )
            incoming = (len(st.history), sync.version)
            if incoming >= (row.history_len, row.sync_version):
                row.history_len, row.sync_version = incoming
                row.stage = st.stage
                row.category = st.category
                row.department = st.department
                row.priority = st.priority
                row.claim_id = st.claim_id
                row.policy_no = st.policy_no
                row.complainant_key = sync.complainant_key
                row.complainants = st.complainants
                row.handler = st.handler
                row.decided_at = st.decided_at
                row.closed_at = st.closed_at
                row.upheld = st.upheld
                row.satisfied = st.satisfied
                row.extensions = st.extensions
                row.outcome = st.outcome
                decision = next((d for d in st.deadlines if d.name == "complaint"), None)
                row.on_time = (
                    decision.status == "met"
                    if decision is not None and decision.status in ("met", "breached")
                    else None
                )
                # id numbers, phones and accounts masked: the workflow keeps them (--full)
                row.status = for_read_model(st.model_dump(mode="json"))
                row.updated_at = st.history[-1].at if st.history else now
            session.add(row)
            write_events_and_items(
                session,
                st.complaint_id,
                sync.events,
                sync.open_items,
                sync.close_items,
                sync.priority,
                row.updated_at,
            )
            session.commit()
        return receipt(sync.version, st.history, sync.events)

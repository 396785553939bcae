"""Every query the CLI runs on the read model, with keyword-only arguments. Each takes the
engine and returns table rows (or a small typed record), never tuples of unknown shape.

The indexes these queries lean on are named where the order of the conditions matters
(tests/test_bench.py checks the plans)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import and_, exists, func, or_, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from activities.rules import policy_terms, status_rows
from models.roles import offer
from models.rules import PolicyTerms
from models.tables import (
    AuditEventRow,
    ClaimRecusalRow,
    ClaimRow,
    ComplaintPaymentRow,
    ComplaintRow,
    LetterRow,
    PolicyRow,
    PolicyStatusRow,
    StaffRow,
    WorkItemRow,
)

T = TypeVar("T")


class NotFound(LookupError):
    """A person or record a query needs is not in the read model; the message says which."""


def _newest(engine: Engine, table: type[T], at: Any, limit: int, **equal: Any) -> list[T]:
    """Rows of a table, newest first by `at`, whose columns equal the values given (a None
    value is no filter)."""
    q = select(table)
    for name, value in equal.items():
        if value is not None:
            q = q.where(getattr(table, name) == value)
    with Session(engine) as s:
        return list(s.exec(q.order_by(col(at).desc()).limit(limit)).all())


# ================================================================ claims


def claims(
    *,
    engine: Engine,
    stage: str | None = None,
    line: str | None = None,
    policy: str | None = None,
    limit: int = 50,
) -> list[ClaimRow]:
    """Claims, newest first (each filter has an index ending in the report time, so the newest
    rows are read first and the scan stops at the limit)."""
    stage = stage.upper() if stage else None
    return _newest(
        engine, ClaimRow, ClaimRow.reported_at, limit, stage=stage, line=line, policy_no=policy
    )


def claim(*, engine: Engine, claim_id: str) -> ClaimRow | None:
    with Session(engine) as s:
        return s.get(ClaimRow, claim_id)


def claim_statuses(*, engine: Engine) -> list[dict[str, Any]]:
    """Every projected claim's status (as its workflow wrote it), for the measures."""
    with Session(engine) as s:
        return [row.status for row in s.exec(select(ClaimRow)).all() if row.status]


def claim_count(*, engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(ClaimRow)).one())


# ============================================================ complaints


def complaints(
    *,
    engine: Engine,
    stage: str | None = None,
    category: str | None = None,
    priority: str | None = None,
    claim_id: str | None = None,
    limit: int = 50,
) -> list[ComplaintRow]:
    """Complaints, newest first."""
    return _newest(
        engine,
        ComplaintRow,
        ComplaintRow.received_at,
        limit,
        stage=stage.upper() if stage else None,
        category=category,
        priority=priority,
        claim_id=claim_id,
    )


def complaint(*, engine: Engine, complaint_id: str) -> ComplaintRow | None:
    with Session(engine) as s:
        return s.get(ComplaintRow, complaint_id)


def complaints_about(*, engine: Engine, claim_id: str) -> list[ComplaintRow]:
    """The complaints filed about a claim."""
    with Session(engine) as s:
        return list(s.exec(select(ComplaintRow).where(ComplaintRow.claim_id == claim_id)).all())


def all_complaints(*, engine: Engine) -> list[ComplaintRow]:
    with Session(engine) as s:
        return list(s.exec(select(ComplaintRow)).all())


@dataclass(frozen=True)
class CompensationPaid:
    """One payment on the complaint ledger, as the complaint measures count it."""

    complaint_id: str
    amount: Decimal
    paid_at: datetime


def compensation_paid(*, engine: Engine) -> list[CompensationPaid]:
    """The complaint ledger: every compensation paid on a complaint."""
    with Session(engine) as s:
        rows = s.exec(select(ComplaintPaymentRow)).all()
        return [CompensationPaid(r.complaint_id, r.amount, r.paid_at) for r in rows]


# ======================================================= letters, policies


def letter(*, engine: Engine, letter_id: str) -> LetterRow | None:
    with Session(engine) as s:
        return s.get(LetterRow, letter_id)


def letters_of(*, engine: Engine, case_id: str) -> list[LetterRow]:
    """A case's letters, in the order they were sent."""
    q = select(LetterRow).where(LetterRow.case_id == case_id).order_by(col(LetterRow.sent_at))
    with Session(engine) as s:
        return list(s.exec(q).all())


def policy_exists(*, engine: Engine, policy_no: str) -> bool:
    with Session(engine) as s:
        return s.get(PolicyRow, policy_no) is not None


def record_policy_change(
    *,
    engine: Engine,
    policy_no: str,
    event: str,
    effective_on: date,
    reason: str,
    recorded_by: str,
    status_after: Callable[[PolicyTerms], str],
) -> tuple[PolicyStatusRow, str]:
    """Append a status change to a policy's history and set its `status` to what
    `status_after` says of the policy as it was (it raises to refuse the change), in one
    transaction; returns the row and that status."""
    with Session(engine) as session:
        policy = policy_terms(session, policy_no)
        if policy is None:
            raise NotFound(f"unknown policy {policy_no}")
        status = status_after(policy)
        last_seq = session.exec(
            select(func.max(PolicyStatusRow.seq)).where(PolicyStatusRow.policy_no == policy_no)
        ).one()
        row = PolicyStatusRow(
            policy_no=policy_no,
            seq=(last_seq or 0) + 1,
            event=event,
            effective_on=effective_on,
            reason=reason,
            recorded_at=datetime.now(UTC),
            recorded_by=recorded_by,
        )
        policy_row = session.get(PolicyRow, policy_no)
        if policy_row is None:
            raise NotFound(f"unknown policy {policy_no}")
        policy_row.status = status
        session.add(row)
        session.add(policy_row)
        session.commit()
        session.refresh(row)
    return row, status


@dataclass(frozen=True)
class PolicyRecord:
    """A policy as the cases see it, its row (the terms as stored) and its status history."""

    terms: PolicyTerms
    row: PolicyRow
    history: list[PolicyStatusRow]


def policy(*, engine: Engine, policy_no: str) -> PolicyRecord | None:
    with Session(engine) as s:
        terms = policy_terms(s, policy_no)
        row = s.get(PolicyRow, policy_no)
        history = status_rows(s, policy_no)
    if terms is None or row is None:
        return None
    return PolicyRecord(terms=terms, row=row, history=history)


# ================================================================= staff


def staff_member(*, engine: Engine, staff_id: str) -> StaffRow | None:
    with Session(engine) as s:
        return s.get(StaffRow, staff_id)


def staff(*, engine: Engine) -> list[StaffRow]:
    """Everyone on the staff, by staff id."""
    with Session(engine) as s:
        return list(s.exec(select(StaffRow).order_by(col(StaffRow.staff_id))).all())


def set_public_key(*, engine: Engine, staff_id: str, algorithm: str, public_key: str) -> None:
    """Record a person's new public key (the private key never reaches the table)."""
    with Session(engine) as session:
        row = session.get(StaffRow, staff_id)
        if row is None:
            raise NotFound(f"unknown person {staff_id!r}")
        row.algorithm = algorithm
        row.public_key = public_key
        row.key_set_at = datetime.now(UTC)
        session.add(row)
        session.commit()


# ========================================================== audit events


def events_since(
    *, engine: Engine, since: int, limit: int = 1000, also: Iterable[int] = ()
) -> list[AuditEventRow]:
    """Audit events after `since` in sequence order, and any of the ids in `also` that now
    exist."""
    wanted = col(AuditEventRow.id) > since
    extra = sorted(also)
    if extra:
        wanted = or_(wanted, col(AuditEventRow.id).in_(extra))
    with Session(engine) as s:
        q = select(AuditEventRow).where(wanted).order_by(col(AuditEventRow.id)).limit(limit)
        return list(s.exec(q).all())


def record_full_view(*, engine: Engine, person: str, case_id: str, view: str) -> bool:
    """An audit event for personal data seen in full; False when another full view of the case
    took the number meanwhile (try again). The case's own events are numbered by its workflow
    from 1, so these take numbers below zero (-1, -2, ...) and never collide."""
    with Session(engine) as s:
        low = s.exec(
            select(func.min(AuditEventRow.seq)).where(AuditEventRow.case_id == case_id)
        ).one()
        s.add(
            AuditEventRow(
                case_id=case_id,
                seq=min(low or 0, 0) - 1,
                kind="full_view",
                actor=person,
                at=datetime.now(UTC),
                data={"view": view},
            )
        )
        try:
            s.commit()
            return True
        except IntegrityError:
            s.rollback()
            return False


# ============================================================ work queue


def open_items(*, engine: Engine, person: str | None, limit: int = 100) -> list[WorkItemRow]:
    """Open work items for a person: those assigned to them, and the pooled items they may
    take (models/roles.py: by role and level, on a claim or on a complaint), minus approvals of
    cases they may not decide. Without a person: every open item but the claimants'."""
    with Session(engine) as s:
        q = select(WorkItemRow).where(WorkItemRow.state == "open")
        if person is None:
            q = q.where(WorkItemRow.role != "claimant")
            q = q.order_by(col(WorkItemRow.priority).desc(), col(WorkItemRow.due_at)).limit(limit)
            return list(s.exec(q).all())
        staff = s.get(StaffRow, person)
        if staff is None:
            raise NotFound(f"unknown person {person!r}")
        return _queue_of(s, staff, limit)


def _queue_of(s: Session, staff: StaffRow, limit: int) -> list[WorkItemRow]:
    person = staff.staff_id
    mine = col(WorkItemRow.assignee) == person
    # Someone no longer active is refused by every case: offer them nothing pooled.
    may = offer(staff.roles or [] if staff.active else [], staff.level)
    # Recusal: nobody decides a case they adjusted or already approved. An outer join on
    # the recusal key (not NOT EXISTS, which PostgreSQL hashes over the whole table) keeps
    # it to one index probe per item read, and the scan stops at the limit.
    recusal = and_(
        col(ClaimRecusalRow.case_id) == col(WorkItemRow.case_id),
        col(ClaimRecusalRow.staff_id) == person,
    )
    q = select(WorkItemRow).outerjoin(ClaimRecusalRow, recusal)
    q = q.where(or_(col(WorkItemRow.kind) != "approve", col(ClaimRecusalRow.case_id).is_(None)))
    # Whether an item is a complaint's: its case has a complaint row. Not the key (a
    # claim's complaint_escalation key holds ":complaint:", and the complaint clocks would
    # have to be listed here in step with the workflow) nor the kind (the clock kinds are
    # shared). EXISTS, not an outer join: PostgreSQL takes "complaint_id IS NULL" under an
    # OR as almost never true and then sorts every open item instead of reading the queue
    # index to the limit. It hashes the complaint ids once (far fewer than the claims);
    # SQLite probes their key, and only for an unassigned item of a role this person could
    # take, since the cheaper conditions come first.
    is_complaint = exists().where(col(ComplaintRow.complaint_id) == col(WorkItemRow.case_id))
    by_case = [
        col(WorkItemRow.role).in_(sorted(roles)) & case
        for roles, case in (
            (may.claim_roles, ~is_complaint),
            (may.complaint_roles, is_complaint),
        )
        if roles
    ]
    if not by_case:
        return _assigned_only(s, person, limit)
    q = q.where(WorkItemRow.state == "open")
    pooled: ColumnElement[bool] = col(WorkItemRow.assignee).is_(None)
    if may.too_senior:
        pooled &= col(WorkItemRow.kind).not_in(sorted(may.too_senior))
    q = q.where(mine | (pooled & or_(*by_case)))
    q = q.order_by(col(WorkItemRow.priority).desc(), col(WorkItemRow.due_at)).limit(limit)
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
        rows = s.execute(q, {"person": person, "limit": limit}).scalars()
        return list(rows.all())
    q = (
        select(WorkItemRow)
        .where(WorkItemRow.assignee == person, WorkItemRow.state == "open")
        .order_by(col(WorkItemRow.priority).desc(), col(WorkItemRow.due_at))
        .limit(limit)
    )
    return list(s.exec(q).all())

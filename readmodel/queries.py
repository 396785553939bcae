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

from sqlalchemy import func, or_
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from activities.rules import policy_terms, status_rows
from models.rules import PolicyTerms
from models.tables import (
    AuditEventRow,
    ClaimRow,
    ComplaintPaymentRow,
    ComplaintRow,
    LetterRow,
    PolicyRow,
    PolicyStatusRow,
    StaffRow,
)

# The staff commands' queries, in plain SQL (readmodel/reads.py), are offered here too.
from readmodel.reads import NotFound as NotFound
from readmodel.reads import claim as claim
from readmodel.reads import claims as claims
from readmodel.reads import complaints_about as complaints_about
from readmodel.reads import letters_of as letters_of
from readmodel.reads import open_items as open_items
from readmodel.reads import staff as staff
from readmodel.reads import staff_member as staff_member

T = TypeVar("T")


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

"""Payments: exactly once per claim and payment sequence (the ledger's primary key)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.records import PaymentRecord, PaymentRequest
from models.tables import PaymentRow


class PaymentRail(Protocol):
    """The bank or payment provider. It must honour the idempotency key, as real rails do."""

    def transfer(self, idempotency_key: str, amount: Decimal, account_ref: str, payee: str) -> str:
        """Move the money; return the rail's reference."""
        ...


class SimulatedRail:
    """Stands in for the bank in the demo: answers with a reference derived from the key."""

    def transfer(self, idempotency_key: str, amount: Decimal, account_ref: str, payee: str) -> str:
        return "TRF-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16].upper()


def payment_key(claim_id: str, seq: int) -> str:
    return f"{claim_id}:pay:{seq}"


class PaymentActivities:
    def __init__(self, engine: Engine, rail: PaymentRail | None = None) -> None:
        self.engine = engine
        self.rail = rail or SimulatedRail()

    @activity.defn(name="pay_claim")
    def pay_claim(self, req: PaymentRequest) -> PaymentRecord:
        if req.amount <= 0:
            raise ApplicationError(
                f"payment amount must be positive, got {req.amount}",
                type="PaymentRejected",
                non_retryable=True,
            )
        key = payment_key(req.claim_id, req.seq)
        with Session(self.engine) as session:
            existing = session.get(PaymentRow, key)
            if existing is not None:
                return _record(existing)
            reference = self.rail.transfer(key, req.amount, req.account_ref, req.payee)
            row = PaymentRow(
                idempotency_key=key,
                claim_id=req.claim_id,
                seq=req.seq,
                policy_no=req.policy_no,
                amount=req.amount,
                deductible_applied=req.deductible_applied,
                payee=req.payee,
                account_ref=req.account_ref,
                reference=reference,
                paid_at=datetime.now(UTC),
            )
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                existing = session.get(PaymentRow, key)
                assert existing is not None
                return _record(existing)
            return _record(row)


def _record(row: PaymentRow) -> PaymentRecord:
    return PaymentRecord(
        idempotency_key=row.idempotency_key,
        seq=row.seq,
        amount=row.amount,
        reference=row.reference,
        paid_at=row.paid_at,
    )

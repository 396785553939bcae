"""Payments: exactly once per claim and payment sequence (the ledger's primary key), and
complaint compensation exactly once on a ledger of its own."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection, Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from database import insert_new
from models.records import (
    CompensationRecord,
    CompensationRequest,
    PaymentRecord,
    PaymentRequest,
)
from models.tables import ComplaintPaymentRow, PaymentRow, table_of
from prepared import Prepared
from security.masking import mask_account


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


def compensation_key(complaint_id: str, seq: int) -> str:
    """The complaint ledger's key: never the same as a claim's, whatever the two ids."""
    return f"complaint:{complaint_id}:pay:{seq}"


Row = TypeVar("Row", PaymentRow, ComplaintPaymentRow)


class PaymentActivities:
    def __init__(self, engine: Engine, rail: PaymentRail | None = None) -> None:
        self.engine = engine
        self.rail = rail or SimulatedRail()

    def _pay_once(
        self, table: type[Row], key: str, req: PaymentRequest | CompensationRequest
    ) -> Row:
        """Exactly once per ledger key: the ledger is looked at before the rail is called and
        again, through its primary key, when the row is written after it (a concurrent attempt
        that wrote first wins, and its row is the answer). The rail honours the key too. The
        row is the request's fields with the key, the rail's reference and the time."""
        if req.amount <= 0:
            raise ApplicationError(
                f"payment amount must be positive, got {req.amount}",
                type="PaymentRejected",
                non_retryable=True,
            )
        ledger = table_of(table)
        with self.engine.connect() as conn:  # plain statements: every payment comes here
            existing = _paid(conn, table, key)
            if existing is not None:
                return existing
            conn.commit()  # no read stays open while the rail is called
            reference = self.rail.transfer(key, req.amount, req.account_ref, req.payee)
            row = {
                # the rail has the account; the read model keeps its last four digits
                **req.model_dump(),
                "account_ref": mask_account(req.account_ref),
                "idempotency_key": key,
                "reference": reference,
                "paid_at": datetime.now(UTC),
            }
            insert_new(conn, ledger, [row], ("idempotency_key",))
            conn.commit()
            # as the database keeps it: this attempt's row, or a concurrent one's that won
            recorded = _paid(conn, table, key)
            assert recorded is not None
            return recorded

    @activity.defn(name="pay_claim")
    def pay_claim(self, req: PaymentRequest) -> PaymentRecord:
        row = self._pay_once(PaymentRow, payment_key(req.claim_id, req.seq), req)
        return PaymentRecord(
            idempotency_key=row.idempotency_key,
            seq=row.seq,
            amount=row.amount,
            reference=row.reference,
            paid_at=row.paid_at,
        )

    @activity.defn(name="pay_compensation")
    def pay_compensation(self, req: CompensationRequest) -> CompensationRecord:
        """Complaint compensation (DOMAIN §6a): on its own ledger, to the payee and account
        captured with the resolution, and never against a policy's limits or deductibles."""
        if not req.account_ref.strip():
            raise ApplicationError(
                "compensation is paid to a bank account and none was given",
                type="PaymentRejected",
                non_retryable=True,
            )
        key = compensation_key(req.complaint_id, req.seq)
        row = self._pay_once(ComplaintPaymentRow, key, req)
        paid = CompensationRecord.model_validate(row, from_attributes=True)
        return paid.model_copy(update={"account_ref": req.account_ref})  # as the workflow had it


def _ledger_row(table: type[Any]) -> Prepared:
    ledger = table_of(table)
    return Prepared(select(ledger).where(ledger.c.idempotency_key == bindparam("key")))


_CLAIM_LEDGER_ROW = _ledger_row(PaymentRow)
_COMPLAINT_LEDGER_ROW = _ledger_row(ComplaintPaymentRow)


def _paid(conn: Connection, table: type[Row], key: str) -> Row | None:
    """The ledger's row for a key, if it was paid."""
    lookup = _CLAIM_LEDGER_ROW if table is PaymentRow else _COMPLAINT_LEDGER_ROW
    found = lookup.run(conn, {"key": key}).first()
    return None if found is None else table(**found)

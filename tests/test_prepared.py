"""Prepared statements (prepared.py) write and read exactly what SQLAlchemy writes and reads, in
the caller's transaction, and fail as SQLAlchemy fails: on SQLite and on PostgreSQL (the `db`
fixture of conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

import activities.letters
import activities.payments
import activities.records
import activities.rules
import notify.notifier
from database import insert_new
from models.tables import ClaimRow, PaymentRow, table_of
from prepared import NotPreparable, Prepared

CLAIMS = table_of(ClaimRow)
PAYMENTS = table_of(PaymentRow)
AT = datetime(2026, 3, 2, 1, 30, 15, 123456, tzinfo=UTC)


def _claim(claim_id: str) -> dict[str, Any]:
    """A claim row with a time, an amount, JSON, a boolean, and columns left to defaults."""
    return {
        "claim_id": claim_id,
        "line": "medical",
        "incident_type": "illness",
        "policy_no": "P-1",
        "claimant_name": "张*",
        "channel": "app",
        "reported_at": AT,
        "amount_claimed": Decimal("1800.50"),
        "stage": "REPORTED",
        "status": {"stage": "REPORTED", "amounts": ["1.10"], "名": "值"},
        "straight_through": True,
        "updated_at": AT,
    }


def _stored(engine: Engine, claim_id: str) -> tuple[Any, ...]:
    """The row as the database keeps it, read without any column type's conversion."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM claims WHERE claim_id = :c"), {"c": claim_id}).one()
    return tuple(row)[1:]


def test_a_prepared_insert_stores_what_sqlalchemy_stores(db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(insert(CLAIMS).values(_claim("C-SA")))
        Prepared(insert(CLAIMS)).run(conn, _claim("C-PREP"), columns=True)
    assert _stored(db, "C-PREP") == _stored(db, "C-SA")
    with db.connect() as conn:
        by_sqlalchemy = conn.execute(select(CLAIMS).where(CLAIMS.c.claim_id == "C-PREP")).one()
        prepared = Prepared(select(CLAIMS).where(CLAIMS.c.claim_id == bindparam("c")))
        by_prepared = prepared.run(conn, {"c": "C-PREP"}).first()
    assert by_prepared == dict(by_sqlalchemy._mapping)
    assert by_prepared is not None
    assert by_prepared["amount_claimed"] == Decimal("1800.50")
    assert by_prepared["reported_at"] == AT
    assert by_prepared["status"]["名"] == "值"
    assert by_prepared["straight_through"] is True
    assert by_prepared["history_len"] == 0  # the column's default, as SQLAlchemy fills it


def test_a_prepared_update_changes_only_the_columns_given(db: Engine) -> None:
    change = Prepared(CLAIMS.update().where(CLAIMS.c.claim_id == bindparam("which")))
    with db.begin() as conn:
        conn.execute(insert(CLAIMS).values(_claim("C-1")))
        done = change.run(conn, {"which": "C-1", "stage": "CLOSED"}, columns=True)
        missed = change.run(conn, {"which": "C-2", "stage": "CLOSED"}, columns=True)
    assert (done.rowcount, missed.rowcount) == (1, 0)
    with db.connect() as conn:
        row = conn.execute(select(CLAIMS).where(CLAIMS.c.claim_id == "C-1")).one()
    assert (row.stage, row.amount_claimed, row.line) == ("CLOSED", Decimal("1800.50"), "medical")


def test_prepared_statements_run_in_the_callers_transaction(db: Engine) -> None:
    new = Prepared(insert(CLAIMS))
    with db.connect() as conn:
        new.run(conn, _claim("C-KEPT"), columns=True)
        conn.commit()
        new.run(conn, _claim("C-DROPPED"), columns=True)
        conn.rollback()
    with db.connect() as conn:
        kept = conn.execute(select(CLAIMS.c.claim_id).order_by(CLAIMS.c.claim_id)).scalars()
        assert list(kept) == ["C-KEPT"]


def test_insert_new_counts_the_rows_that_went_in_and_keeps_the_first(db: Engine) -> None:
    row = {
        "idempotency_key": "C-1:pay:1",
        "claim_id": "C-1",
        "seq": 1,
        "policy_no": "P-1",
        "amount": Decimal("12.30"),
        "payee": "张三",
        "account_ref": "****1234",
        "reference": "TRF-1",
        "paid_at": AT,
    }
    with db.begin() as conn:
        assert insert_new(conn, PAYMENTS, [row], ("idempotency_key",)) == 1
        again = {**row, "reference": "TRF-2"}
        assert insert_new(conn, PAYMENTS, [again], ("idempotency_key",)) == 0
    with db.connect() as conn:
        (kept,) = conn.execute(select(PAYMENTS)).all()
    assert (kept.reference, kept.deductible_applied) == ("TRF-1", Decimal("0.00"))


def test_a_database_error_is_sqlalchemys_and_carries_no_values(db: Engine) -> None:
    new = Prepared(insert(CLAIMS))
    with db.connect() as conn:
        new.run(conn, _claim("C-1"), columns=True)
        with pytest.raises(IntegrityError) as raised:
            new.run(conn, {**_claim("C-1"), "claimant_name": "王五"}, columns=True)
        conn.rollback()
    assert "INSERT INTO claims" in str(raised.value)
    assert "王五" not in str(raised.value)  # the SQL, never the values (personal data)


def test_a_statement_whose_sql_depends_on_its_values_is_refused(db: Engine) -> None:
    listed = Prepared(select(CLAIMS.c.claim_id).where(CLAIMS.c.claim_id.in_(["a", "b"])))
    with db.connect() as conn, pytest.raises(NotPreparable):
        listed.run(conn)


@pytest.mark.parametrize(
    "module",
    [
        activities.records,
        activities.rules,
        activities.letters,
        activities.payments,
        notify.notifier,
    ],
    ids=lambda m: m.__name__,
)
def test_every_prepared_statement_of_the_worker_compiles(db: Engine, module: Any) -> None:
    found = [v for v in vars(module).values() if isinstance(v, Prepared)]
    assert found
    with db.connect() as conn:
        for prepared in found:
            assert prepared._for(conn.dialect, None).sql

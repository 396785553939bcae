"""Baseline: the read model as models/tables.py defined it when migrations began.

On an empty database it creates every table and index. On a read model written before
migrations (no `alembic_version`), it adopts what is there, as start-up used to with hand-made
steps: missing tables are created, missing columns added (with their default where the model
has one, else nullable), missing indexes created, and the recusal table, when this is what
creates it beside existing claims, filled from the open claims. Rows are never changed or
dropped. The tables below are frozen: a later change to models/tables.py is a new revision.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateIndex, SchemaItem
from sqlalchemy.types import TypeEngine

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MONEY = sa.Numeric(16, 2)
TIME = sa.DateTime(timezone=True)  # sqlmodel's UTCDateTime
S = sa.String

tables = sa.MetaData()


def _table(name: str, *items: SchemaItem) -> sa.Table:
    return sa.Table(name, tables, *items)


def _col(name: str, kind: TypeEngine[Any], *, null: bool = False, **kw: Any) -> sa.Column[Any]:
    return sa.Column(name, kind, nullable=null, **kw)


_table(
    "policies",
    _col("policy_no", S(), primary_key=True),
    _col("line", S(), index=True),
    _col("product_code", S()),
    _col("insured_name", S()),
    _col("insured_id_no", S(), index=True),
    _col("start_date", sa.Date()),
    _col("end_date", sa.Date()),
    _col("status", S(), default="in_force"),
    _col("terms", sa.JSON()),
)
_table(
    "policy_status",
    _col("policy_no", S(), primary_key=True),
    _col("seq", sa.Integer(), primary_key=True),
    _col("event", S()),
    _col("effective_on", sa.Date()),
    _col("reason", S(), default=""),
    _col("recorded_at", TIME),
    _col("recorded_by", S()),
)
_table(
    "clauses",
    _col("product_code", S(), primary_key=True),
    _col("clause_id", S(), primary_key=True),
    _col("kind", S()),
    _col("title_zh", S()),
    _col("title_en", S()),
    _col("text_zh", S()),
    _col("text_en", S()),
    _col("causes", sa.JSON(), null=True),
)
_table(
    "staff",
    _col("staff_id", S(), primary_key=True),
    _col("name", S()),
    _col("level", sa.Integer(), default=0),
    _col("roles", sa.JSON()),
    _col("active", sa.Boolean(), default=True),
    _col("signing_key", S(), null=True),
    _col("key_set_at", TIME, null=True),
)
_table(
    "watch_list",
    _col("id_no", S(), primary_key=True),
    _col("reason", S(), default=""),
)
_table(
    "claims",
    _col("claim_id", S(), primary_key=True),
    _col("stage", S(), index=True),
    _col("line", S(), index=True),
    _col("incident_type", S()),
    _col("policy_no", S(), index=True),
    _col("insured_id_no", S(), null=True, index=True),
    _col("claimant_name", S()),
    _col("channel", S()),
    _col("reported_at", TIME, index=True),
    _col("occurred_at", TIME, null=True),
    _col("amount_claimed", MONEY),
    _col("payable_amount", MONEY, null=True),
    _col("pending_level", sa.Integer(), null=True),
    _col("straight_through", sa.Boolean(), default=False),
    _col("updated_at", TIME),
    _col("closed_at", TIME, null=True),
    _col("priority", sa.Integer(), default=0, index=True),
    _col("history_len", sa.Integer(), default=0),
    _col("sync_version", sa.Integer(), default=0),
    _col("run_id", S(), null=True),
    _col("status", sa.JSON()),
    sa.Index("ix_claims_stage_reported", "stage", "reported_at"),
    sa.Index("ix_claims_line_reported", "line", "reported_at"),
)
_table(
    "work_items",
    _col("key", S(), primary_key=True),
    _col("case_id", S(), index=True),
    _col("kind", S()),
    _col("role", S()),
    _col("level", sa.Integer(), default=0),
    _col("assignee", S(), null=True, index=True),
    _col("title", S(), default=""),
    _col("priority", sa.Integer(), default=0),
    _col("due_at", TIME, null=True),
    _col("state", S(), default="open"),
    _col("opened_at", TIME),
    _col("closed_at", TIME, null=True),
    sa.Index("ix_work_items_open_due", "state", "due_at"),
    sa.Index("ix_work_items_queue", "state", sa.text("priority DESC"), "due_at"),
)
recusals = _table(
    "claim_recusals",
    _col("case_id", S(), primary_key=True),
    _col("staff_id", S(), primary_key=True),
)
_table(
    "letters",
    _col("letter_id", S(), primary_key=True),
    _col("case_id", S(), index=True),
    _col("kind", S()),
    _col("language", S()),
    _col("channel", S()),
    _col("recipient", S()),
    _col("sent_at", TIME),
    _col("sha256", S()),
    _col("path", S()),
    _col("body", S()),
)
_table(
    "payments",
    _col("idempotency_key", S(), primary_key=True),
    _col("claim_id", S(), index=True),
    _col("seq", sa.Integer()),
    _col("policy_no", S(), index=True),
    _col("amount", MONEY),
    _col("deductible_applied", MONEY, default=Decimal("0")),
    _col("payee", S()),
    _col("account_ref", S()),
    _col("reference", S()),
    _col("paid_at", TIME),
)
_table(
    "complaint_payments",
    _col("idempotency_key", S(), primary_key=True),
    _col("complaint_id", S(), index=True),
    _col("seq", sa.Integer()),
    _col("claim_id", S(), null=True),
    _col("amount", MONEY),
    _col("payee", S()),
    _col("account_ref", S()),
    _col("bank_name", S(), null=True),
    _col("reference", S()),
    _col("paid_at", TIME, index=True),
)
_table(
    "audit_events",
    _col("id", sa.Integer(), primary_key=True),
    _col("case_id", S(), index=True),
    _col("seq", sa.Integer()),
    _col("kind", S(), index=True),
    _col("actor", S()),
    _col("at", TIME),
    _col("data", sa.JSON()),
    sa.UniqueConstraint("case_id", "seq", name="uq_audit_case_seq"),
)
_table(
    "complaints",
    _col("complaint_id", S(), primary_key=True),
    _col("stage", S(), index=True),
    _col("channel", S()),
    _col("category", S(), null=True, index=True),
    _col("department", S(), null=True),
    _col("priority", S(), default="normal", index=True),
    _col("claim_id", S(), null=True, index=True),
    _col("policy_no", S(), null=True),
    _col("complainant_name", S()),
    _col("complainant_key", S(), null=True, index=True),
    _col("complainants", sa.Integer(), default=1),
    _col("handler", S(), null=True),
    _col("received_at", TIME, index=True),
    _col("decided_at", TIME, null=True),
    _col("closed_at", TIME, null=True),
    _col("upheld", sa.Boolean(), null=True),
    _col("satisfied", sa.Boolean(), null=True),
    _col("extensions", sa.Integer(), default=0),
    _col("on_time", sa.Boolean(), null=True),
    _col("outcome", S(), null=True),
    _col("updated_at", TIME),
    _col("history_len", sa.Integer(), default=0),
    _col("sync_version", sa.Integer(), default=0),
    _col("status", sa.JSON()),
)


def upgrade() -> None:
    bind = op.get_bind()
    present = set(sa.inspect(bind).get_table_names())
    for table in tables.sorted_tables:
        if table.name not in present:
            table.create(bind)
        else:
            _adopt(bind, table)
    if "claims" in present and "claim_recusals" not in present:
        _fill_recusals(bind)


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: restore a backup instead")


def _adopt(bind: Connection, table: sa.Table) -> None:
    """A table a release before migrations created: add what that release did not have."""
    existing = {c["name"] for c in sa.inspect(bind).get_columns(table.name)}
    for column in table.columns:
        if column.name not in existing:
            default = column.default.arg if isinstance(column.default, sa.ColumnDefault) else None
            op.add_column(
                table.name,
                sa.Column(
                    column.name,
                    column.type,
                    nullable=default is None,
                    server_default=None if default is None else _literal(default),
                ),
            )
    for index in table.indexes:
        bind.execute(CreateIndex(index, if_not_exists=True))


def _literal(value: object) -> sa.ColumnElement[bool] | sa.TextClause | str:
    if isinstance(value, bool):
        return sa.true() if value else sa.false()
    if isinstance(value, str):
        return value
    return sa.text(str(value))


def _fill_recusals(bind: Connection) -> None:
    """The open claims' adjusters and approvers, from their projections (as the claim's
    projection keeps them from now on)."""
    from database import recused_staff

    claims = sa.table(
        "claims", sa.column("claim_id"), sa.column("status", sa.JSON()), sa.column("closed_at")
    )
    open_claims = sa.select(claims.c.claim_id, claims.c.status).where(claims.c.closed_at.is_(None))
    rows = bind.execute(open_claims)
    values = [
        {"case_id": claim_id, "staff_id": staff_id}
        for claim_id, status in rows
        for staff_id in sorted(recused_staff(status or {}))
    ]
    if values:
        bind.execute(recusals.insert(), values)

"""Notices: `notices`, one row per notice key and channel tried (status, attempts, times, the
last error in words that name no person), and `letter_box`, the notices the claimant's page
lists (models/notice_tables.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)  # sqlmodel's UTCDateTime


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "notices" not in existing:
        op.create_table(
            "notices",
            sa.Column("key", sa.String(), nullable=False),
            sa.Column("channel", sa.String(), nullable=False),
            sa.Column("case_id", sa.String(), nullable=False),
            sa.Column("kind", sa.String(), nullable=False),
            sa.Column("status", sa.String(), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("first_attempt_at", TIME, nullable=False),
            sa.Column("last_attempt_at", TIME, nullable=False),
            sa.Column("sent_at", TIME, nullable=True),
            sa.Column("delivered_at", TIME, nullable=True),
            sa.Column("last_error", sa.String(), nullable=True),
            sa.Column("reference", sa.String(), nullable=True),
            sa.PrimaryKeyConstraint("key", "channel"),
        )
        op.create_index("ix_notices_case_id", "notices", ["case_id"])
        op.create_index("ix_notices_status", "notices", ["status"])
    if "letter_box" not in existing:
        op.create_table(
            "letter_box",
            sa.Column("key", sa.String(), nullable=False),
            sa.Column("case_id", sa.String(), nullable=False),
            sa.Column("kind", sa.String(), nullable=False),
            sa.Column("subject", sa.String(), nullable=False),
            sa.Column("text", sa.String(), nullable=False),
            sa.Column("letter_path", sa.String(), nullable=True),
            sa.Column("placed_at", TIME, nullable=False),
            sa.Column("read_at", TIME, nullable=True),
            sa.PrimaryKeyConstraint("key"),
        )
        op.create_index("ix_letter_box_case_id", "letter_box", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_letter_box_case_id", table_name="letter_box")
    op.drop_table("letter_box")
    op.drop_index("ix_notices_status", table_name="notices")
    op.drop_index("ix_notices_case_id", table_name="notices")
    op.drop_table("notices")

"""Staff public keys: `algorithm` and `public_key` on the staff table (release 2026-12).

Decisions are signed with Ed25519; the table holds each person's public key only. The HMAC key
records (`signing_key`) stay, so cases begun before the release keep verifying.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("staff")}
    with op.batch_alter_table("staff") as batch:
        if "algorithm" not in columns:
            batch.add_column(sa.Column("algorithm", sa.String(), nullable=True))
        if "public_key" not in columns:
            batch.add_column(sa.Column("public_key", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("public_key")
        batch.drop_column("algorithm")

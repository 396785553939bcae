"""Claimant portal: the per-claim access links (`portal_tokens`, the token's sha256 only) and
the documents received through the page (`portal_documents`, content-addressed by sha256).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)  # sqlmodel's UTCDateTime


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "portal_tokens" not in existing:
        op.create_table(
            "portal_tokens",
            sa.Column("token_sha256", sa.String(), nullable=False),
            sa.Column("claim_id", sa.String(), nullable=False),
            sa.Column("created_at", TIME, nullable=False),
            sa.Column("expires_at", TIME, nullable=True),
            sa.Column("revoked_at", TIME, nullable=True),
            sa.PrimaryKeyConstraint("token_sha256"),
        )
        op.create_index("ix_portal_tokens_claim_id", "portal_tokens", ["claim_id"])
    if "portal_documents" not in existing:
        op.create_table(
            "portal_documents",
            sa.Column("claim_id", sa.String(), nullable=False),
            sa.Column("sha256", sa.String(), nullable=False),
            sa.Column("kind", sa.String(), nullable=False),
            sa.Column("size", sa.Integer(), nullable=False),
            sa.Column("content_type", sa.String(), nullable=False),
            sa.Column("name", sa.String(), nullable=False),
            sa.Column("received_at", TIME, nullable=False),
            sa.PrimaryKeyConstraint("claim_id", "sha256", "kind"),
        )
        op.create_index("ix_portal_documents_sha256", "portal_documents", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_portal_documents_sha256", table_name="portal_documents")
    op.drop_table("portal_documents")
    op.drop_index("ix_portal_tokens_claim_id", table_name="portal_tokens")
    op.drop_table("portal_tokens")

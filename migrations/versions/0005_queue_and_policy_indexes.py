"""Two indexes for a large book (a million claims): `ix_claim_recusals_staff` (staff_id,
case_id), the work queue's recusal lookup person first, and `ix_claims_policy_reported`
(policy_no, reported_at), so `claims claim list --policy` reads a policy's newest claims in order
instead of sorting all of them.

With statistics (ANALYZE), SQLite planned the recusal lookup by the key, case first, with a
Bloom filter built by reading the whole recusal table on every `claims tasks --for`: 20-40 ms at
a million claims. By the new index it probes only for the items it reads (about 1 ms). A SQLite
read model that has statistics gets them for the new indexes here, so its plans change at once;
PostgreSQL keeps statistics per column, which the new indexes reuse.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_claim_recusals_staff": ("claim_recusals", ["staff_id", "case_id"]),
    "ix_claims_policy_reported": ("claims", ["policy_no", "reported_at"]),
}


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for name, (table, columns) in INDEXES.items():
        if name not in {ix["name"] for ix in inspector.get_indexes(table)}:
            op.create_index(name, table, columns)
    if bind.dialect.name == "sqlite" and inspector.has_table("sqlite_stat1"):
        for name in INDEXES:
            op.execute(f"ANALYZE {name}")


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)

"""cell_versions: which (benchmark, agent) cells each write of executions touched (issue 18)

Every write of executions raises `store_versions.executions` (0003); it now also stamps the
cells it touched with that new version, so a reader that cached per-cell aggregates at version
V recomputes only the cells stamped after V (`reev.store.cache.VersionCache.cells`) instead of
every execution. No rows at first: a cell without one has not changed since the upgrade.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cell_versions",
        sa.Column("benchmark_id", sa.String(length=128), nullable=False),
        sa.Column("agent", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("benchmark_id", "agent"),
    )
    op.create_index("ix_cell_versions_version", "cell_versions", ["version"])


def downgrade() -> None:
    op.drop_index("ix_cell_versions_version", table_name="cell_versions")
    op.drop_table("cell_versions")

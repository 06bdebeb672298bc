"""indexes for the queries of the API and the dashboard (issue 18)

Every list is newest first with the execution id as tie-break, so each list index ends in
`created_at DESC, execution_id` (the status endpoint's latest-of-a-benchmark sorted in a
temporary B-tree before); `ix_executions_cells` covers what the per-(benchmark, agent)
aggregates read. The single-column indexes of 0001 are prefixes of the new ones.
`store_versions` holds the counter every write of executions raises (cached aggregates).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NEWEST = sa.text("created_at DESC")
OLD = {
    "ix_executions_agent": ["agent"],
    "ix_executions_benchmark_agent_created": ["benchmark_id", "agent", "created_at"],
    "ix_executions_benchmark_id": ["benchmark_id"],
    "ix_executions_created_at": ["created_at"],
    "ix_executions_status": ["status"],
}


def upgrade() -> None:
    versions = op.create_table(
        "store_versions",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(versions, [{"name": "executions", "version": 0}])
    with op.batch_alter_table("executions", schema=None) as batch_op:
        for name in OLD:
            batch_op.drop_index(name)
    # Outside the batch: SQLite's batch mode would copy the table once per index.
    op.create_index("ix_executions_created", "executions", [NEWEST, "execution_id"])
    op.create_index(
        "ix_executions_benchmark_created", "executions", ["benchmark_id", NEWEST, "execution_id"]
    )
    op.create_index("ix_executions_agent_created", "executions", ["agent", NEWEST, "execution_id"])
    op.create_index(
        "ix_executions_status_created", "executions", ["status", NEWEST, "execution_id"]
    )
    op.create_index(
        "ix_executions_cells",
        "executions",
        ["benchmark_id", "agent", "created_at", "status", "score", "passed", "finished_at"],
    )


def downgrade() -> None:
    for name in (
        "ix_executions_cells",
        "ix_executions_status_created",
        "ix_executions_agent_created",
        "ix_executions_benchmark_created",
        "ix_executions_created",
    ):
        op.drop_index(name, table_name="executions")
    for name, columns in OLD.items():
        op.create_index(name, "executions", columns)
    op.drop_table("store_versions")

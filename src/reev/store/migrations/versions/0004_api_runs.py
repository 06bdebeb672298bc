"""API executions belong to a run (issue 19): runs.source, and one index for a run's executions

`runs.source` says who made the run: `cli` (`reev run --record`; every row before this
migration) or `api` (one request that queued executions). `ix_executions_run` replaces 0002's
`ix_executions_run_id` (a prefix of it): it lists a run's executions in run order and holds the
columns a run's summary reads, so `GET /runs` counts from the index alone.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RUN_INDEX = ["run_id", "created_at", "execution_id", "status", "score", "passed"]


def upgrade() -> None:
    # ADD COLUMN with a constant default: no table copy, on SQLite and PostgreSQL alike.
    op.add_column(
        "runs", sa.Column("source", sa.String(length=16), server_default="cli", nullable=False)
    )
    op.drop_index("ix_executions_run_id", table_name="executions")
    op.create_index("ix_executions_run", "executions", RUN_INDEX)


def downgrade() -> None:
    op.drop_index("ix_executions_run", table_name="executions")
    op.create_index("ix_executions_run_id", "executions", ["run_id"])
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("source")

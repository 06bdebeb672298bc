"""The results database: SQLAlchemy 2 models. Migrations live in `migrations/` (Alembic).

One row per benchmark, per execution, and per tool call / model call / transaction of an
execution. Child rows have natural unique keys (execution, step, index) so every write is a
single upsert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from reev.events import ExecutionStatus


class StatusColumn(TypeDecorator[ExecutionStatus]):
    """A status as its spelled value in a VARCHAR(16) (the schema is unchanged), read back as
    an `ExecutionStatus`; an unknown value in the database is an error, not a new status."""

    impl = String(16)
    cache_ok = True

    def process_bind_param(self, value: ExecutionStatus | None, dialect: Dialect) -> str | None:
        return None if value is None else ExecutionStatus(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> ExecutionStatus | None:
        return None if value is None else ExecutionStatus(value)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class BenchmarkRow(Base):
    __tablename__ = "benchmarks"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    yaml: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    file_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RunRow(Base):
    """A run: one `reev run --record` (its run directory's run.json, in short) or one API
    request that queued executions (`source` says which). The dashboard and `GET /runs` group
    executions by it; a run's summary is computed from its executions, never stored."""

    __tablename__ = "runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    agent: Mapped[str] = mapped_column(String(256))
    model: Mapped[str | None] = mapped_column(String(256), nullable=True)
    profile: Mapped[str] = mapped_column(String(32), default="verified")
    seed: Mapped[int] = mapped_column(Integer, default=0)
    epochs: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16))  # running | finished | interrupted
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # api | cli (migration 0004; the rows before it were all the CLI's)
    source: Mapped[str] = mapped_column(String(16), default="cli", server_default="cli")


class ExecutionRow(Base):
    __tablename__ = "executions"

    execution_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    benchmark_id: Mapped[str] = mapped_column(ForeignKey("benchmarks.id"))
    agent: Mapped[str] = mapped_column(String(256))
    model: Mapped[str | None] = mapped_column(String(256), nullable=True)
    profile: Mapped[str] = mapped_column(String(32), default="verified")
    seed: Mapped[int] = mapped_column(Integer, default=0)
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[ExecutionStatus] = mapped_column(StatusColumn)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="api")  # api | cli
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    worker_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    session_file: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The run it belongs to (`runs.run_id`); null for rows older than runs, and for a CLI run
    # without a run directory. No foreign key: SQLite cannot add one to an existing table
    # without rebuilding it.
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    # One index per query the API and the dashboard make (migration 0002; tests/test_store_
    # queries.py checks each plan). Lists are newest first with the id as tie-break, so the
    # list indexes end in `created_at DESC, execution_id`; `ix_executions_cells` covers every
    # column the per-(benchmark, agent) aggregates read, so they never touch the table.
    __table_args__ = (
        Index("ix_executions_created", text("created_at DESC"), "execution_id"),
        Index(
            "ix_executions_benchmark_created",
            "benchmark_id",
            text("created_at DESC"),
            "execution_id",
        ),
        Index("ix_executions_agent_created", "agent", text("created_at DESC"), "execution_id"),
        Index("ix_executions_status_created", "status", text("created_at DESC"), "execution_id"),
        # A run's executions in run order, and its summary (migration 0004): the columns the
        # summary reads are in the index, so `GET /runs` never touches the table.
        Index(
            "ix_executions_run",
            "run_id",
            "created_at",
            "execution_id",
            "status",
            "score",
            "passed",
        ),
        Index(
            "ix_executions_cells",
            "benchmark_id",
            "agent",
            "created_at",
            "status",
            "score",
            "passed",
            "finished_at",
        ),
    )


class StoreVersionRow(Base):
    """A counter per table, raised in the same transaction as every write of that table's rows
    (`reev.store.repository`): readers cache an aggregate under the version they read before
    computing it, and one primary-key read tells them whether it is still current."""

    __tablename__ = "store_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class CellVersionRow(Base):
    """The `store_versions` executions version of the last write that touched a (benchmark,
    agent) cell, stamped in that write's transaction: a reader holding per-cell aggregates at
    version V recomputes only the cells stamped after V (`reev.store.cache`)."""

    __tablename__ = "cell_versions"

    benchmark_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    agent: Mapped[str] = mapped_column(String(256), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, index=True)


class ToolCallRow(Base):
    __tablename__ = "tool_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    execution_id: Mapped[str] = mapped_column(
        ForeignKey("executions.execution_id", ondelete="CASCADE")
    )
    step: Mapped[int] = mapped_column(Integer)
    index: Mapped[int] = mapped_column(Integer)
    tool: Mapped[str] = mapped_column(String(128))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)

    __table_args__ = (
        UniqueConstraint("execution_id", "step", "index", name="uq_tool_calls_position"),
    )


class ModelCallRow(Base):
    __tablename__ = "model_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    execution_id: Mapped[str] = mapped_column(
        ForeignKey("executions.execution_id", ondelete="CASCADE")
    )
    step: Mapped[int] = mapped_column(Integer)
    index: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(256))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        UniqueConstraint("execution_id", "step", "index", name="uq_model_calls_position"),
    )


class TransactionRow(Base):
    __tablename__ = "transactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    execution_id: Mapped[str] = mapped_column(
        ForeignKey("executions.execution_id", ondelete="CASCADE")
    )
    step: Mapped[int] = mapped_column(Integer)
    index: Mapped[int] = mapped_column(Integer)
    signature: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    compute_units: Mapped[int] = mapped_column(Integer, default=0)
    fee: Mapped[int] = mapped_column(Integer, default=0)
    logs: Mapped[list[Any]] = mapped_column(JSON, default=list)

    __table_args__ = (
        UniqueConstraint("execution_id", "step", "index", name="uq_transactions_position"),
    )

"""Reads and writes of the results database.

Every write is one statement: rows with a natural key are upserted (`INSERT … ON CONFLICT DO
UPDATE`, SQLite and PostgreSQL alike), and status changes are guarded updates
(`UPDATE … WHERE status IN (allowed predecessors)`), so a late Completed can never overwrite a
Cancelled, and nothing is ever inserted, caught and retried as an update.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, CursorResult, Row, bindparam, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from reev.events import ACTIVE, TERMINAL, ExecutionStatus
from reev.runner.session import SessionFile
from reev.store.models import (
    Base,
    BenchmarkRow,
    CellVersionRow,
    ExecutionRow,
    ModelCallRow,
    RunRow,
    StoreVersionRow,
    ToolCallRow,
    TransactionRow,
)

__all__ = ["ACTIVE", "TERMINAL"]  # re-exported: callers read the status sets from here too

Status = ExecutionStatus
TRANSITIONS: dict[ExecutionStatus, tuple[ExecutionStatus, ...]] = {
    Status.RUNNING: (Status.QUEUED,),
    Status.COMPLETED: (Status.RUNNING,),
    Status.FAILED: (Status.QUEUED, Status.RUNNING),
    Status.TIMEOUT: (Status.RUNNING,),
    Status.CANCELLED: (Status.QUEUED, Status.RUNNING),
}
ChildRow = ToolCallRow | ModelCallRow | TransactionRow


def now() -> datetime:
    return datetime.now(UTC)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _upsert(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    if not rows:
        return
    table = Base.metadata.tables[model.__tablename__]  # the Core table: rows are keyed by column
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(list(rows))
    columns = [c for c in rows[0] if c not in keys]
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={c: statement.excluded[c] for c in columns}
    )
    session.execute(statement)


# --------------------------------------------------------------------------- benchmarks


def upsert_benchmark(
    session: Session,
    *,
    benchmark_id: str,
    yaml: str,
    description: str,
    tags: list[str],
    file_path: str | None,
) -> str:
    """Store a benchmark's YAML; returns "created", "updated" or "unchanged"."""
    digest = content_hash(yaml)
    existing = session.get(BenchmarkRow, benchmark_id)
    if existing is not None and existing.content_hash == digest and existing.file_path == file_path:
        return "unchanged"
    stamp = now()
    row = {
        "id": benchmark_id,
        "yaml": yaml,
        "content_hash": digest,
        "description": description,
        "tags": tags,
        "file_path": file_path,
        "created_at": existing.created_at if existing is not None else stamp,
        "updated_at": stamp,
    }
    _upsert(session, BenchmarkRow, [row], ["id"])
    return "updated" if existing is not None else "created"


def list_benchmarks(session: Session) -> list[BenchmarkRow]:
    return list(session.scalars(select(BenchmarkRow).order_by(BenchmarkRow.id)))


def get_benchmark(session: Session, benchmark_id: str) -> BenchmarkRow | None:
    return session.get(BenchmarkRow, benchmark_id)


# --------------------------------------------------------------------------- executions


def _changed(session: Session, cells: Iterable[tuple[str, str]]) -> None:
    """Raise the executions' version in the writer's transaction (every write below calls it)
    and stamp the (benchmark, agent) cells the write touched with the new version: cached
    aggregates (`/agent-performance`, `/health`) see at once that they are stale, and per-cell
    ones which cells to recompute (`reev.store.cache`)."""
    session.execute(
        update(StoreVersionRow)
        .where(StoreVersionRow.name == "executions")
        .values(version=StoreVersionRow.version + 1)
    )
    touched = sorted(set(cells))
    if not touched:
        return
    version = executions_version(session)
    rows = [{"benchmark_id": b, "agent": a, "version": version} for b, a in touched]
    _upsert(session, CellVersionRow, rows, ["benchmark_id", "agent"])


def _cells_of(session: Session, *execution_ids: str) -> list[tuple[str, str]]:
    """The (benchmark, agent) cells of these executions (primary-key reads)."""
    query = select(ExecutionRow.benchmark_id, ExecutionRow.agent).where(
        ExecutionRow.execution_id.in_(execution_ids)
    )
    return [(b, a) for b, a in session.execute(query)]


def cells_changed_since(session: Session, version: int) -> set[tuple[str, str]]:
    """The cells a write stamped after `version` (a range of the version index)."""
    query = select(CellVersionRow.benchmark_id, CellVersionRow.agent).where(
        CellVersionRow.version > version
    )
    return {(b, a) for b, a in session.execute(query)}


def executions_version(session: Session) -> int | None:
    """The executions' version (one primary-key read); None before migration 0002."""
    return session.scalar(
        select(StoreVersionRow.version).where(StoreVersionRow.name == "executions")
    )


def create_execution(session: Session, **fields: Any) -> ExecutionRow:
    row = ExecutionRow(status=Status.QUEUED, progress=0.0, created_at=now(), **fields)
    session.add(row)
    session.flush()
    _changed(session, [(row.benchmark_id, row.agent)])
    return row


def transition(session: Session, execution_id: str, status: ExecutionStatus, **fields: Any) -> bool:
    """Move an execution to `status` if its current status allows it; False when it did not
    (already finished, cancelled, unknown). One guarded UPDATE: no read-modify-write race."""
    status = ExecutionStatus(status)  # a plain "Running" from a script works too; "Done" raises
    allowed = TRANSITIONS[status]
    values: dict[str, Any] = {"status": status, **fields}
    if status is Status.RUNNING:
        values.setdefault("started_at", now())
        values.setdefault("heartbeat_at", now())
    if status in TERMINAL:
        values.setdefault("finished_at", now())
        values.setdefault("progress", 1.0 if status is Status.COMPLETED else None)
        if values["progress"] is None:
            del values["progress"]
    result = session.execute(
        update(ExecutionRow)
        .where(ExecutionRow.execution_id == execution_id, ExecutionRow.status.in_(allowed))
        .values(**values)
    )
    assert isinstance(result, CursorResult)  # an UPDATE's result always is one
    if result.rowcount == 1:
        _changed(session, _cells_of(session, execution_id))
    return result.rowcount == 1


def reset_to_queued(session: Session, execution_id: str) -> None:
    """For `reev serve --requeue`: an interrupted execution waits in the queue again."""
    session.execute(
        update(ExecutionRow)
        .where(ExecutionRow.execution_id == execution_id, ExecutionRow.status.in_(ACTIVE))
        .values(status=Status.QUEUED, worker_pid=None, started_at=None, progress=0.0)
    )
    _changed(session, _cells_of(session, execution_id))


def heartbeat(session: Session, execution_id: str, progress: float | None = None) -> None:
    values: dict[str, Any] = {"heartbeat_at": now()}
    if progress is not None:
        values["progress"] = progress
    session.execute(
        update(ExecutionRow)
        .where(ExecutionRow.execution_id == execution_id, ExecutionRow.status == Status.RUNNING)
        .values(**values)
    )


def get_execution(session: Session, execution_id: str) -> ExecutionRow | None:
    return session.get(ExecutionRow, execution_id)


# Built once: a statement object caches its compiled form, where `Session.get` builds (and
# keys) a new one per call and then maps the row onto an ORM object.
_EXECUTION_BY_ID = select(*ExecutionRow.__table__.columns).where(
    ExecutionRow.__table__.c.execution_id == bindparam("execution_id")
)


def read_execution(connection: Connection, execution_id: str) -> Row[Any] | None:
    """The execution's columns as a plain row (the attributes an `ExecutionRow` has), for the
    reads clients poll (`/status`, `GET /executions/{id}`): on a bare connection, without an
    ORM session to open, map into and close, at a third of the CPU of `get_execution`."""
    return connection.execute(_EXECUTION_BY_ID, {"execution_id": execution_id}).first()


def active_executions(session: Session) -> list[ExecutionRow]:
    return list(session.scalars(select(ExecutionRow).where(ExecutionRow.status.in_(ACTIVE))))


def list_executions(
    session: Session,
    *,
    benchmark_id: str | None = None,
    agent: str | None = None,
    status: ExecutionStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ExecutionRow], int]:
    """A page of executions, newest first (id as tie-break), and how many match: each filter
    has an index ending in `created_at DESC, execution_id`, so neither sorts nor scans rows."""
    conditions = []
    if benchmark_id:
        conditions.append(ExecutionRow.benchmark_id == benchmark_id)
    if agent:
        conditions.append(ExecutionRow.agent == agent)
    if status:
        conditions.append(ExecutionRow.status == status)
    total = session.scalar(select(func.count()).select_from(ExecutionRow).where(*conditions)) or 0
    rows = session.scalars(
        select(ExecutionRow)
        .where(*conditions)
        .order_by(ExecutionRow.created_at.desc(), ExecutionRow.execution_id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def latest_execution(
    session: Session, benchmark_id: str, agent: str | None = None
) -> ExecutionRow | None:
    """The newest execution of a benchmark (by one agent): the first entry of the
    `(benchmark_id, created_at DESC, …)` index, or of `ix_executions_cells` read backwards."""
    query = select(ExecutionRow).where(ExecutionRow.benchmark_id == benchmark_id)
    if agent:
        query = query.where(ExecutionRow.agent == agent)
    return session.scalars(query.order_by(ExecutionRow.created_at.desc()).limit(1)).first()


def counts_by_status(session: Session) -> dict[ExecutionStatus, int]:
    """Executions per status (`/health`): read from the status index, not the table."""
    rows = session.execute(select(ExecutionRow.status, func.count()).group_by(ExecutionRow.status))
    return dict(rows.all())


def active_counts(session: Session) -> dict[ExecutionStatus, int]:
    """Queued and running executions (the dashboard header, after every status event): a range
    of the status index, however many executions have finished."""
    rows = session.execute(
        select(ExecutionRow.status, func.count())
        .where(ExecutionRow.status.in_(ACTIVE))
        .group_by(ExecutionRow.status)
    )
    return dict(rows.all())


# --------------------------------------------------------------------------- results


def store_session(session: Session, record: SessionFile, session_path: str | None) -> None:
    """Upsert an execution's results and its tool calls, model calls and transactions."""
    result = record.final_result
    session.execute(
        update(ExecutionRow)
        .where(ExecutionRow.execution_id == record.execution_id)
        .values(
            score=result.score,
            passed=result.passed,
            result={
                "final_result": result.model_dump(mode="json"),
                "usage": record.usage.model_dump(mode="json"),
                "key_map": record.key_map,
            },
            session_file=session_path,
            seed=_run_seed(record),
        )
    )
    tool_rows: list[dict[str, Any]] = []
    model_rows: list[dict[str, Any]] = []
    tx_rows: list[dict[str, Any]] = []
    for step in record.steps:
        for tool_call in step.tool_calls:
            tool_rows.append(
                {
                    "execution_id": record.execution_id,
                    "step": step.step,
                    "index": tool_call.index,
                    "tool": tool_call.tool,
                    "args": tool_call.args,
                    "ok": tool_call.ok,
                    "error": tool_call.error,
                    "error_kind": tool_call.error_kind,
                    "duration_ms": tool_call.duration_ms,
                }
            )
        for model_call in step.model_calls:
            model_rows.append(
                {
                    "execution_id": record.execution_id,
                    "step": step.step,
                    "index": model_call.index,
                    "provider": model_call.provider,
                    "model": model_call.model,
                    "input_tokens": model_call.input_tokens,
                    "output_tokens": model_call.output_tokens,
                    "cost_usd": model_call.cost_usd,
                    "latency_ms": model_call.latency_ms,
                    "attempts": len(model_call.attempts),
                    "error": model_call.error,
                }
            )
        for index, tx in enumerate(step.transactions):
            tx_rows.append(
                {
                    "execution_id": record.execution_id,
                    "step": step.step,
                    "index": index,
                    "signature": tx.signature,
                    "success": tx.success,
                    "error": tx.error,
                    "compute_units": tx.compute_units,
                    "fee": tx.fee,
                    "logs": tx.logs,
                }
            )
    _changed(session, _cells_of(session, record.execution_id))
    _upsert(session, ToolCallRow, tool_rows, ["execution_id", "step", "index"])
    _upsert(session, ModelCallRow, model_rows, ["execution_id", "step", "index"])
    _upsert(session, TransactionRow, tx_rows, ["execution_id", "step", "index"])


def _run_seed(record: SessionFile) -> int:
    """An execution's `seed` is the run seed it was asked to run with (what `reev run --seed` and
    POST /run take); the episode's derived seed stays in the session file."""
    return record.run_seed if record.run_seed is not None else record.seed


def record_finished_episode(
    session: Session,
    record: SessionFile,
    session_path: str | None,
    *,
    model: str | None,
    source: str,
    run_id: str | None = None,
) -> None:
    """A run the CLI did itself (`reev run --record`): the whole execution in one upsert.

    Nothing queued it, so it was created when the episode started: `created_at` is
    `started_at` (waited 0 in the queue), never the moment it was recorded, after it finished.
    In a run, a (benchmark, epoch) is one execution, as in its run directory: an episode run
    again (`reev retry`, a resumed interrupted one) replaces the run's earlier execution of it
    (its child rows go with it), whose session file the new one overwrote."""
    stamp = now()
    if run_id is not None:
        replaced = (
            ExecutionRow.run_id == run_id,
            ExecutionRow.benchmark_id == record.benchmark_id,
            ExecutionRow.epoch == record.epoch,
            ExecutionRow.execution_id != record.execution_id,
        )
        gone = [
            (b, a)
            for b, a in session.execute(
                select(ExecutionRow.benchmark_id, ExecutionRow.agent).where(*replaced)
            )
        ]
        if gone:  # the cached aggregates of the replaced executions' cells are stale
            session.execute(delete(ExecutionRow).where(*replaced))
            _changed(session, gone)
    started = datetime.fromisoformat(record.started_at)
    before = _cells_of(session, record.execution_id)  # a re-recorded row may move its cell
    _upsert(
        session,
        ExecutionRow,
        [
            {
                "execution_id": record.execution_id,
                "benchmark_id": record.benchmark_id,
                "agent": record.agent,
                "model": model,
                "profile": record.profile,
                "seed": _run_seed(record),
                "epoch": record.epoch,
                "status": record.final_result.status,
                "progress": 1.0,
                "error": record.error,
                "source": source,
                "created_at": started,
                "started_at": started,
                "finished_at": datetime.fromisoformat(record.finished_at),
                "heartbeat_at": stamp,
                "run_id": run_id,
            }
        ],
        ["execution_id"],
    )
    if before:
        _changed(session, before)
    store_session(session, record, session_path)


def upsert_run(session: Session, **fields: Any) -> None:
    """A run's row (RunRow's columns): `reev run --record` stores it at its start and again
    with its final status (a resumed or retried run updates its row). An API request's run is
    new by definition: `create_run`, in the transaction of the executions it queues."""
    _upsert(session, RunRow, [fields], ["run_id"])


def create_run(session: Session, **fields: Any) -> None:
    """A new run's row (an API request's): a plain INSERT, so a run id already taken is an
    integrity error, never another run's row overwritten (`upsert_run` updates on purpose)."""
    session.add(RunRow(**fields))
    session.flush()


def get_run(session: Session, run_id: str) -> RunRow | None:
    return session.get(RunRow, run_id)


@dataclass(frozen=True)
class RunSummary:
    """What a run's executions add up to, counted by SQL (`run_summaries`)."""

    executions: int = 0
    queued: int = 0
    running: int = 0
    finished: int = 0
    passed: int = 0
    failed: int = 0  # Failed or Timeout: the episode did not run to its end
    cancelled: int = 0
    mean_score: float | None = None  # over the finished executions that have a score

    @property
    def active(self) -> int:
        return self.queued + self.running

    @property
    def pass_rate(self) -> float | None:
        """Passed over finished (None before the first finishes)."""
        return self.passed / self.finished if self.finished else None


def run_status(row: RunRow, summary: RunSummary) -> str:
    """A run's status now: `running` while any of its executions is queued or running; an API
    run (which no process finishes) is `finished` once none is; a CLI run says what its process
    last stored (`running`, `finished`, `interrupted`)."""
    if summary.active:
        return "running"
    if row.source == "api":
        return "finished"
    return row.status


def run_summaries(session: Session, run_ids: Sequence[str]) -> dict[str, RunSummary]:
    """The summary of each run in `run_ids` in one GROUP BY, read from `ix_executions_run`
    alone (its columns are all the summary needs). Runs without executions get none."""
    if not run_ids:
        return {}
    status = ExecutionRow.status

    def count_of(*statuses: ExecutionStatus) -> Any:
        return func.sum(case((status.in_(statuses), 1), else_=0))

    rows = session.execute(
        select(
            ExecutionRow.run_id,
            func.count(),
            count_of(Status.QUEUED),
            count_of(Status.RUNNING),
            count_of(*TERMINAL),
            func.sum(case((status.in_(TERMINAL) & ExecutionRow.passed.is_(True), 1), else_=0)),
            count_of(Status.FAILED, Status.TIMEOUT),
            count_of(Status.CANCELLED),
            func.avg(case((status.in_(TERMINAL), ExecutionRow.score), else_=None)),
        )
        .where(ExecutionRow.run_id.in_(list(run_ids)))
        .group_by(ExecutionRow.run_id)
    )
    return {
        run_id: RunSummary(
            executions=total,
            queued=queued or 0,
            running=running or 0,
            finished=finished or 0,
            passed=passed or 0,
            failed=failed or 0,
            cancelled=cancelled or 0,
            mean_score=None if mean is None else float(mean),
        )
        for run_id, total, queued, running, finished, passed, failed, cancelled, mean in rows
    }


def list_runs(
    session: Session,
    *,
    agent: str | None = None,
    name: str | None = None,
    source: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[RunRow], int]:
    """A page of runs, newest first (id as tie-break), and how many match."""
    conditions = []
    if agent:
        conditions.append(RunRow.agent == agent)
    if name:
        conditions.append(RunRow.name == name)
    if source:
        conditions.append(RunRow.source == source)
    total = session.scalar(select(func.count()).select_from(RunRow).where(*conditions)) or 0
    rows = session.scalars(
        select(RunRow)
        .where(*conditions)
        .order_by(RunRow.created_at.desc(), RunRow.run_id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def run_executions(
    session: Session, run_id: str, *, limit: int = 500, offset: int = 0
) -> list[ExecutionRow]:
    """A page of a run's executions in run order (oldest first): a range of
    `ix_executions_run`, which holds that order."""
    return list(
        session.scalars(
            select(ExecutionRow)
            .where(ExecutionRow.run_id == run_id)
            .order_by(ExecutionRow.created_at, ExecutionRow.execution_id)
            .limit(limit)
            .offset(offset)
        )
    )


def stored_execution_ids(session: Session, execution_ids: Iterable[str]) -> set[str]:
    """Which of `execution_ids` the database has (a resumed run records what it lacks)."""
    wanted = list(execution_ids)
    if not wanted:
        return set()
    found = session.scalars(
        select(ExecutionRow.execution_id).where(ExecutionRow.execution_id.in_(wanted))
    )
    return set(found)


def child_rows(session: Session, execution_id: str) -> dict[str, Sequence[ChildRow]]:
    def rows(model: type[ChildRow]) -> Sequence[ChildRow]:
        return list(
            session.scalars(
                select(model)
                .where(model.execution_id == execution_id)
                .order_by(model.step, model.index)
            )
        )

    return {
        "tool_calls": rows(ToolCallRow),
        "model_calls": rows(ModelCallRow),
        "transactions": rows(TransactionRow),
    }


def finished_executions(
    session: Session, agents: Iterable[str] | None = None
) -> list[ExecutionRow]:
    """Every finished execution (of `agents`, if given) as a full row, oldest first: what
    `reev report --db` and `reev export --db` analyse. The API and dashboard never load rows
    like this; they read the aggregates of reev.store.aggregates."""
    query = select(ExecutionRow).where(ExecutionRow.status.in_(TERMINAL))
    if agents is not None:
        query = query.where(ExecutionRow.agent.in_(list(agents)))
    return list(session.scalars(query.order_by(ExecutionRow.created_at)))

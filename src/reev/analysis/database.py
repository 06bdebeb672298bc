"""Episodes from the results database: every finished execution (`Completed`, `Failed`,
`Timeout`, `Cancelled`) with its benchmark's tags. An execution whose session file is still
readable brings its whole record; otherwise its tool calls, model calls and transactions come
from the database's own rows.

The database is read, never migrated: a report must not change what it reports on.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from reev.analysis.sources import Dataset, Episode, Run, model_of
from reev.runner.session import SessionFile, read_session
from reev.store import repository as repo
from reev.store.engine import database_errors, display_url, make_engine, session_factory
from reev.store.models import BenchmarkRow, ExecutionRow


def load_database(url: str, agents: Iterable[str] | None = None) -> Dataset:
    """Open `url` (an `InputError` for a URL that is none, an `InfrastructureError` for a
    database that cannot be opened or has no reev tables) and read its executions."""
    with database_errors(url):
        engine = make_engine(url)
        try:
            with session_factory(engine)() as session:
                return dataset_of(session, agents, source=display_url(url))
        finally:
            engine.dispose()


def dataset_of(
    session: Session, agents: Iterable[str] | None = None, *, source: str = "database"
) -> Dataset:
    """The finished executions (of `agents`, if given) as one arm per agent, oldest first."""
    rows = repo.finished_executions(session, agents)
    tags = {b.id: list(b.tags or []) for b in session.scalars(select(BenchmarkRow))}
    episodes = [_episode(session, row, tags.get(row.benchmark_id, []), source) for row in rows]
    runs = [Run(agent, source, {"agent": agent}) for agent in dict.fromkeys(r.agent for r in rows)]
    return Dataset(runs, episodes)


def _episode(session: Session, row: ExecutionRow, tags: list[str], source: str) -> Episode:
    record = _session_file(row)
    result: dict[str, Any] = row.result or {}
    final = result.get("final_result") or {}
    children = None
    if record is None:
        children = {
            name: [_row_dict(r) for r in rows]
            for name, rows in repo.child_rows(session, row.execution_id).items()
        }
    model = row.model or model_of(record)
    duration = (
        record.duration_ms
        if record
        else (row.finished_at - row.started_at).total_seconds() * 1000
        if row.finished_at and row.started_at
        else 0.0
    )
    return Episode(
        run=row.agent,
        label=row.agent,
        source=source,
        agent=row.agent,
        benchmark_id=row.benchmark_id,
        epoch=row.epoch,
        execution_id=row.execution_id,
        status=str(row.status),
        passed=bool(row.passed),
        score=float(row.score or 0.0),
        profile=row.profile,
        seed=record.seed if record else None,
        run_seed=row.seed,
        model=model,
        breakdown=dict(final.get("breakdown") or {}),
        started_at=row.started_at.isoformat() if row.started_at else None,
        finished_at=row.finished_at.isoformat() if row.finished_at else None,
        duration_ms=float(duration),
        error=row.error,
        usage=dict(result.get("usage") or (record.usage.model_dump() if record else {})),
        tags=tuple(tags),
        session_file=row.session_file,
        session=record,
        db_children=children,
    )


def _session_file(row: ExecutionRow) -> SessionFile | None:
    if not row.session_file:
        return None
    try:
        return read_session(Path(row.session_file))
    except (OSError, ValidationError, ValueError):
        return None  # moved or deleted since: the database's rows still hold the calls


def _row_dict(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}

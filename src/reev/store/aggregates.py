"""Aggregates over the executions, computed by the database (issue 18).

`/agent-performance` and the dashboard's overview used to load every execution (the API every
finished one with its `result` JSON) and fold them in Python: 19.9 s and 1.3 GB for one request
at 100k executions. These queries return one row per (benchmark, agent) cell, per time bucket,
or per newest execution of a cell, read only the columns they need, and run on the covering
index `ix_executions_cells` (migration 0002), on SQLite and PostgreSQL alike.

"Newest" is the largest `created_at`, ties broken by the larger `execution_id` (a MAX-join on
the index, then the tie-break in Python over the few rows that share the maximum).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Row, and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from reev.events import ACTIVE
from reev.store.models import ExecutionRow

E = ExecutionRow
Unit = Literal["day", "hour", "minute"]
Key = tuple[str, str]  # (benchmark_id, agent)

# The light columns of one execution (no results JSON): what a matrix cell or a list row shows.
RUN_COLUMNS = (
    E.execution_id,
    E.benchmark_id,
    E.agent,
    E.model,
    E.status,
    E.score,
    E.passed,
    E.created_at,
    E.finished_at,
)
# "Not queued or running" rather than "in the terminal set": the same rows (a status is one of
# the seven), but not a range of the status index, so SQLite's planner reads the covering
# `ix_executions_cells` in its (benchmark, agent) order instead of seeking the status index and
# then fetching nine rows in ten from the table.
FINISHED = E.status.not_in(ACTIVE)
SCORED = and_(FINISHED, E.score.is_not(None))
STAMP = func.coalesce(E.finished_at, E.created_at)  # when a scored run lands on the chart


@dataclass(frozen=True)
class CellTotals:
    """The finished executions of one benchmark by one agent."""

    benchmark_id: str
    agent: str
    finished: int  # terminal executions
    completed: int  # of them, status Completed
    scored: int  # terminal with a score
    score_sum: float
    passed: int  # scored and passed
    best: float | None
    first: datetime | None  # the chart stamps of the scored ones (finished_at, else created_at)
    last: datetime | None
    newest: datetime  # the newest `created_at` of any status
    newest_scored: datetime | None  # ... of a finished execution with a score


def _cells_filter(cells: Collection[Key] | None) -> ColumnElement[bool]:
    if cells is None:
        return true()
    return or_(*(and_(E.benchmark_id == b, E.agent == a) for b, a in cells))


def _as_datetime(value: Any) -> datetime | None:
    """MIN/MAX over an expression lose the column type on SQLite (a string comes back)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def cell_totals(session: Session, cells: Collection[Key] | None = None) -> list[CellTotals]:
    """One row per (benchmark, agent) with an execution: one GROUP BY over the covering index
    (a single pass for the sums, the chart span and both "newest" times)."""
    finished = E.status.not_in(ACTIVE)
    scored = and_(finished, E.score.is_not(None))
    as_int = lambda condition: func.sum(case((condition, 1), else_=0))  # noqa: E731 (a local shorthand)
    query = (
        select(
            E.benchmark_id,
            E.agent,
            as_int(finished),
            as_int(E.status == "Completed"),
            as_int(scored),
            func.sum(case((scored, E.score))),
            as_int(and_(scored, E.passed.is_(True))),
            func.max(case((scored, E.score))),
            func.min(case((scored, STAMP))),
            func.max(case((scored, STAMP))),
            func.max(E.created_at),
            func.max(case((scored, E.created_at))),
        )
        .where(_cells_filter(cells))
        .group_by(E.benchmark_id, E.agent)
    )
    return [
        CellTotals(
            benchmark_id=b,
            agent=a,
            finished=int(n or 0),
            completed=int(completed or 0),
            scored=int(scored_n or 0),
            score_sum=float(total or 0.0),
            passed=int(passed or 0),
            best=best,
            first=_as_datetime(first),
            last=_as_datetime(last),
            newest=_as_datetime(newest) or datetime.min,
            newest_scored=_as_datetime(newest_scored),
        )
        for (
            b,
            a,
            n,
            completed,
            scored_n,
            total,
            passed,
            best,
            first,
            last,
            newest,
            newest_scored,
        ) in session.execute(query)
    ]


def latest_per_cell(
    session: Session, totals: Sequence[CellTotals], *, scored: bool
) -> dict[Key, Any]:
    """The newest execution of each (benchmark, agent) in `totals`: of any status, or
    (`scored=True`) the newest finished one with a score. Index seeks on
    `(benchmark_id, agent, created_at)` at the times `cell_totals` found; rows have the
    `RUN_COLUMNS`."""
    wanted = [
        (t.benchmark_id, t.agent, t.newest_scored if scored else t.newest)
        for t in totals
        if (t.newest_scored if scored else t.newest) is not None
    ]
    out: dict[Key, Any] = {}
    for start in range(0, len(wanted), 300):  # bounded statements, whatever the cell count
        chunk = wanted[start : start + 300]
        query = select(*RUN_COLUMNS).where(
            or_(
                *(and_(E.benchmark_id == b, E.agent == a, E.created_at == at) for b, a, at in chunk)
            ),
            SCORED if scored else true(),
        )
        for row in session.execute(query):
            key = (row.benchmark_id, row.agent)
            if key not in out or row.execution_id > out[key].execution_id:
                out[key] = row
    return out


def active_runs(session: Session) -> list[Row[Any]]:
    """Queued and running executions (a range of the status index), `RUN_COLUMNS`."""
    return list(session.execute(select(*RUN_COLUMNS).where(E.status.in_(ACTIVE))))


def daily_cell_scores(
    session: Session, cells: Collection[Key] | None = None
) -> list[tuple[str, str, str, int, float]]:
    """(benchmark, agent, day of `created_at`, scored runs, score sum). The day is the
    database's DATE of the stored time, which is what Python's `.date()` of the same value
    gives (UTC on SQLite, the session's zone on PostgreSQL). Grouped per cell, so the covering
    index serves it (and a seek per cell when `cells` are given)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    day = func.date(E.created_at) if postgres else func.substr(E.created_at, 1, 10)
    query = (
        select(E.benchmark_id, E.agent, day, func.count(), func.sum(E.score))
        .where(SCORED, _cells_filter(cells))
        .group_by(E.benchmark_id, E.agent, day)
    )
    return [
        (benchmark, agent, _day(value), int(n), float(total))
        for benchmark, agent, value, n, total in session.execute(query)
    ]


def _day(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)[:10]


# SQLite stores a time as text, 'YYYY-MM-DD HH:MM:SS.ffffff': a bucket is a prefix of it
# (half the CPU of strftime over 100k rows), completed to a time when it is read back.
PREFIX = {"day": 10, "hour": 13, "minute": 16}
COMPLETE = {"day": " 00:00:00", "hour": ":00:00", "minute": ":00"}


def _bucket(session: Session, unit: Unit) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(unit, STAMP)
    return func.substr(STAMP, 1, PREFIX[unit])


def score_buckets(
    session: Session, unit: Unit, cells: Collection[Key] | None = None
) -> list[tuple[str, str, datetime, int, float]]:
    """(benchmark, agent, bucket start, scored runs, score sum) per `unit` of the chart stamp:
    the dashboard's "mean score over time". Bucket starts are UTC on SQLite (naive values are
    stored as UTC) and in the session's zone on PostgreSQL, as the Python truncation was."""
    bucket = _bucket(session, unit)
    query = (
        select(E.benchmark_id, E.agent, bucket, func.count(), func.sum(E.score))
        .where(SCORED, _cells_filter(cells))
        .group_by(E.benchmark_id, E.agent, bucket)
    )
    out = []
    for b, a, start, n, total in session.execute(query):
        at = (
            start if isinstance(start, datetime) else datetime.fromisoformat(start + COMPLETE[unit])
        )
        out.append((b, a, at if at.tzinfo else at.replace(tzinfo=UTC), int(n), float(total)))
    return out


def cells_of(session: Session, execution_ids: Sequence[str]) -> set[Key]:
    """The (benchmark, agent) cells these executions belong to (primary-key lookups)."""
    if not execution_ids:
        return set()
    query = select(E.benchmark_id, E.agent).where(E.execution_id.in_(list(execution_ids)))
    return {(b, a) for b, a in session.execute(query)}

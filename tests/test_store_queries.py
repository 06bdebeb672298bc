"""The aggregates of issue 18 against the Python aggregation they replaced, and their plans.

A database seeded through the store (tests/helpers/seeded_db.py: every status, scores with and
without a pass, runs spread over ten days and two benchmarks whose runs fall in two hours) is
read twice: by the new SQL (`/agent-performance`'s `agent_performance(session)`, the
dashboard's `Overview.load`) and by the old code kept in tests/helpers/old_aggregation.py. The
answers must be the same, on SQLite and on a real PostgreSQL. Then every query the API and the
dashboard make is explained on SQLite: none may scan the executions table, and the lists and
the status endpoint's latest-of-a-benchmark may not sort in a temporary B-tree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from helpers import postgres as pg
from helpers import seeded_db
from helpers.old_aggregation import OldOverview, finished_executions, old_agent_performance
from helpers.postgres import PostgresServer
from reev.events import ExecutionStatus
from reev.service.performance import agent_performance
from reev.store import aggregates, make_engine, session_factory
from reev.store import repository as repo
from reev.store.models import ExecutionRow
from reev.web.data import Overview, Run
from reev.web.live import fingerprint

postgres = pg.postgres  # the session fixture (tests/helpers/postgres.py)
EXECUTIONS = 1_500


def close(a: Any, b: Any, path: str = "", tolerance: float = 1e-12) -> None:
    """Equal, floats to 1e-9 relative (SQL sums in another order than Python did)."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=tolerance), f"{path}: {a} != {b}"
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            close(a[key], b[key], f"{path}.{key}", tolerance)
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        assert len(a) == len(b), f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            close(x, y, f"{path}[{i}]", tolerance)
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def filters(overview: Overview) -> list[set[str]]:
    """Every benchmark; one category; the two-hour benchmarks (a chart by the minute); none."""
    every = {b.id for b in overview.benchmarks}
    system = {b.id for b in overview.filtered(category="system")}
    recent = {b.id for b in overview.filtered(tags=["recent"])}
    return [every, system, recent, set()]


def same_as_before(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        new_api = agent_performance(session)
        old_api = old_agent_performance(finished_executions(session))
        new = Overview.load(session)
        old = OldOverview.load(session)
        for ids in filters(new):
            new.load_unit(session, new.unit_for(ids))
    close(new_api, old_api, "agent-performance")
    assert len(new_api["agents"]) == len(seeded_db.DEFAULT.agents)
    assert sum(a["runs"] for a in new_api["agents"]) == len(
        [r for r in old.runs.values() if r.status.terminal]
    )
    check_overview(new, old)


def check_overview(new: Overview, old: OldOverview) -> None:
    assert new.agents == old.agents
    assert new.latest == old.latest  # the matrix: the newest run of any status per cell
    assert new.latest_scored() == old.latest_scored()
    assert new.counts() == old.counts()
    assert [b.id for b in new.benchmarks] == [b.id for b in old.benchmarks]
    units = set()
    for ids in filters(new):
        stats = [
            {k: v for k, v in vars(s).items() if k not in ("failed", "as_designed")}
            for s in new.agent_stats(ids)
        ]
        close(stats, [vars(s) for s in old.agent_stats(ids)], f"agent_stats {sorted(ids)[:2]}")
        # Points are percents to one decimal: a mean at a .x5 boundary can round either way
        # when the sum was added up in another order, so a point may differ by that one digit.
        close(new.score_over_time(ids), old.score_over_time(ids), "score_over_time", 0.1 + 1e-9)
        units.add(new.unit_for(ids))
    assert {"day", "minute"} <= units  # the filters did exercise other buckets


def live_updates(sessions: sessionmaker[Session]) -> None:
    """The shared overview folds live executions in as the old one did: the loaded copy plus
    the events of three new runs (one queued, then finished) equals a fresh old load."""
    with sessions() as session:
        new = Overview.load(session)
    stamp = datetime.now(UTC)
    changed = []
    with sessions.begin() as session:
        for i, (benchmark, agent) in enumerate(
            [("000-bench", "deterministic"), ("003-bench", "remote"), ("011-bench", "new-agent")]
        ):
            row = repo.create_execution(
                session, execution_id=f"live-{i}", benchmark_id=benchmark, agent=agent
            )
            row.created_at = stamp + timedelta(seconds=i)
            changed.append(row.execution_id)
    with sessions() as session:
        for execution_id in changed:  # the Queued events
            new.apply(Run.of(repo.get_execution(session, execution_id)))
    with sessions.begin() as session:
        for i, execution_id in enumerate(changed):
            repo.transition(session, execution_id, ExecutionStatus.RUNNING)
            repo.transition(
                session, execution_id, ExecutionStatus.COMPLETED, score=0.25 * i, passed=i == 2
            )
    with sessions() as session:
        for execution_id in changed + changed[:1]:  # a repeated event counts once
            new.apply(Run.of(repo.get_execution(session, execution_id)))
        old = OldOverview.load(session)
    check_overview(new, old)


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('queries') / 'reev.db'}"
    seeded_db.seed(url, EXECUTIONS)
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


@pytest.mark.slow
def test_sql_aggregates_give_what_the_python_aggregation_gave_sqlite(sqlite) -> None:
    _, engine = sqlite
    same_as_before(session_factory(engine))


@pytest.mark.slow
def test_live_events_fold_into_the_sql_overview_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reev.db'}"
    seeded_db.seed(url, 400)
    engine = make_engine(url)
    try:
        live_updates(session_factory(engine))
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_sql_aggregates_give_what_the_python_aggregation_gave_postgres(
    postgres: PostgresServer,
) -> None:
    url = postgres.create_database()
    seeded_db.seed(url, EXECUTIONS)
    engine = make_engine(url)
    try:
        same_as_before(session_factory(engine))
        live_updates(session_factory(engine))
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------- plans


def api_and_dashboard_reads(session: Session) -> None:
    """Every read the API routes and the dashboard pages make of the executions table."""
    repo.get_execution(session, "exec-0000001")
    repo.latest_execution(session, "000-bench")  # GET /benchmarks/{id}/status
    repo.latest_execution(session, "000-bench", "remote")  # … ?agent=
    for filters_ in (
        {},
        {"benchmark_id": "000-bench"},
        {"agent": "remote"},
        {"status": ExecutionStatus.COMPLETED},
    ):
        repo.list_executions(session, limit=50, offset=100, **filters_)  # type: ignore[arg-type]
    repo.active_executions(session)
    repo.counts_by_status(session)  # /health
    repo.active_counts(session)  # the dashboard header
    repo.child_rows(session, "exec-0000001")
    agent_performance(session)  # /agent-performance
    Overview.load(session)  # the dashboard overview
    aggregates.score_buckets(session, "minute", [("000-bench", "remote")])  # a live cell
    fingerprint(session)  # the overview's watch


def plans(engine: Engine, reads: Callable[[Session], None]) -> dict[str, list[str]]:
    statements: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "executions" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with session_factory(engine)() as session:
            reads(session)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    out: dict[str, list[str]] = {}
    with engine.connect() as connection:
        for statement, parameters in statements:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            out[statement] = [row[-1] for row in rows]
    return out


def test_every_api_and_dashboard_query_uses_an_index(sqlite) -> None:
    _, engine = sqlite
    found = plans(engine, api_and_dashboard_reads)
    assert len(found) >= 15
    for statement, steps in found.items():
        for step in steps:
            if step.startswith("SCAN executions"):
                # An aggregate over every row reads an index only; a page walks an index in
                # its order and stops at LIMIT + OFFSET rows.
                ordered_page = "LIMIT" in statement and "USING INDEX" in step
                assert "COVERING INDEX" in step or ordered_page, (
                    f"full scan of executions: {step}\n{statement}"
                )
        if "GROUP BY" in statement and "WHERE executions.benchmark_id" not in statement:
            assert "COVERING INDEX" in steps[0 if "anon" not in statement else 1], (
                f"an aggregate over every execution must read an index only: {steps}\n{statement}"
            )
        if "ORDER BY" in statement and "LIMIT" in statement:  # lists and latest-of
            assert not [s for s in steps if "TEMP B-TREE" in s], f"sorts: {steps}\n{statement}"


def test_status_endpoint_latest_is_one_index_seek(sqlite) -> None:
    """`GET /benchmarks/{id}/status` without `?agent=`: before 0002 it read the benchmark's
    rows through `ix_executions_benchmark_agent_created` and sorted them in a temporary B-tree."""
    _, engine = sqlite
    found = plans(engine, lambda s: repo.latest_execution(s, "000-bench"))
    [(_, steps)] = found.items()
    assert steps == [
        "SEARCH executions USING INDEX ix_executions_benchmark_created (benchmark_id=?)"
    ], steps
    with engine.connect() as connection:  # the index holds the order the endpoint asks for
        sql = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'ix_executions_benchmark_created'"
        ).scalar_one()
    assert "benchmark_id, created_at DESC" in sql


def test_counts_shown_often_read_an_index_not_the_table(sqlite) -> None:
    _, engine = sqlite
    for read in (repo.active_counts, repo.counts_by_status):
        [(statement, steps)] = plans(engine, read).items()
        assert all("INDEX" in step for step in steps if "executions" in step), (steps, statement)
    [(_, steps)] = plans(engine, repo.active_counts).items()
    assert any(s.startswith("SEARCH") for s in steps), steps  # a range: not every status
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT count(*) FROM executions")).scalar_one() == EXECUTIONS
        )


def test_cached_aggregates_are_recomputed_after_every_write(tmp_path: Path) -> None:
    """`/agent-performance` and `/health` answer from `AGGREGATES` while nothing changed (the
    very same object) and from a fresh computation after each write of the repository."""
    from reev.store.cache import VersionCache

    url = f"sqlite:///{tmp_path / 'reev.db'}"
    seeded_db.seed(url, 200, results=False)
    engine = make_engine(url)
    sessions = session_factory(engine)
    cache = VersionCache()

    def read() -> tuple[Any, Any, Any]:
        with sessions() as session:
            cached = cache.get(session, "agent-performance", agent_performance)
            counts = cache.get(session, "counts", repo.counts_by_status)
            return cached, counts, (agent_performance(session), repo.counts_by_status(session))

    def write(change: Callable[[Session], Any]) -> None:
        with sessions.begin() as session:
            change(session)
        cached, counts, (fresh, fresh_counts) = read()
        close(cached, fresh, "after a write")
        assert counts == fresh_counts

    try:
        first, counts, _ = read()
        again, counts_again, _ = read()
        assert again is first and counts_again is counts  # no write: not recomputed
        write(
            lambda s: repo.create_execution(
                s, execution_id="w-1", benchmark_id="000-bench", agent="new-agent"
            )
        )
        write(lambda s: repo.transition(s, "w-1", ExecutionStatus.RUNNING))
        write(lambda s: repo.reset_to_queued(s, "w-1"))
        write(lambda s: repo.transition(s, "w-1", ExecutionStatus.RUNNING))
        write(
            lambda s: repo.transition(s, "w-1", ExecutionStatus.COMPLETED, score=0.5, passed=False)
        )
        assert any(a["agent"] == "new-agent" for a in read()[0]["agents"])
    finally:
        engine.dispose()


def test_per_cell_aggregates_read_again_only_the_cells_a_write_touched(tmp_path: Path) -> None:
    """After a write, `/agent-performance`'s cells are read again only where the write stamped
    them (`cell_versions`), and the merged answer is still what the old Python aggregation
    gives on the same database."""
    from reev.service.performance import cell_performance, performance_of
    from reev.store.cache import VersionCache

    url = f"sqlite:///{tmp_path / 'reev.db'}"
    seeded_db.seed(url, 300)
    engine = make_engine(url)
    sessions = session_factory(engine)
    cache = VersionCache()
    asked: list[set[tuple[str, str]] | None] = []

    def compute(session: Session, cells: Any) -> Any:
        asked.append(None if cells is None else set(cells))
        return cell_performance(session, cells)

    def read() -> Any:
        with sessions() as session:
            cached = performance_of(cache.cells(session, "cells", compute))
            close(cached, old_agent_performance(finished_executions(session)), "merged cells")
            return cached

    def cell_of(execution_id: str) -> tuple[str, str]:
        with sessions() as session:
            row = repo.get_execution(session, execution_id)
            assert row is not None
            return row.benchmark_id, row.agent

    try:
        first = read()
        assert asked == [None]  # the first read is one full pass
        assert read() == first and asked == [None]  # nothing written: nothing read again
        with sessions.begin() as session:
            repo.create_execution(
                session, execution_id="w-1", benchmark_id="000-bench", agent="new-agent"
            )
        read()
        assert asked[-1] == {("000-bench", "new-agent")}
        with sessions.begin() as session:
            repo.transition(session, "w-1", ExecutionStatus.RUNNING)
            repo.transition(session, "w-1", ExecutionStatus.COMPLETED, score=0.5, passed=False)
        assert any(a["agent"] == "new-agent" for a in read()["agents"])
        assert asked[-1] == {("000-bench", "new-agent")}
        # A seeded execution that was still running finishes: its own cell, whichever it is.
        with sessions() as session:
            running = session.scalars(
                select(ExecutionRow.execution_id).where(
                    ExecutionRow.status == ExecutionStatus.RUNNING
                )
            ).first()
        assert running is not None
        with sessions.begin() as session:
            assert repo.transition(
                session, running, ExecutionStatus.COMPLETED, score=1.0, passed=True
            )
        read()
        assert asked[-1] == {cell_of(running)}
        assert len(asked) == 4  # one full pass, then one per-cell read per write
        # A writer that raises the version but stamps no cell (a reev from before the cells,
        # on the same database) finishes an execution: nothing says which cell, so all is read.
        with sessions.begin() as session:
            session.execute(
                text(
                    "UPDATE executions SET status = 'Completed', score = 0.25, passed = 0, "
                    "finished_at = CURRENT_TIMESTAMP WHERE execution_id = 'w-1'"
                )
            )
            session.execute(
                text("UPDATE store_versions SET version = version + 1 WHERE name = 'executions'")
            )
        read()  # compares with the old aggregation over the rows as they are now
        assert asked[-1] is None
    finally:
        engine.dispose()

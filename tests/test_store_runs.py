"""Runs in the store (issue 19, part 1): the migrations build exactly the models' schema; a run's
summary is counted by SQL as its definition says, on SQLite and PostgreSQL; the queries of
`GET /runs` and `GET /runs/{id}` read an index (the summary the index alone); migration 0004
keeps the runs before it (as `cli` runs) and goes down and up again."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import mean

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from helpers import postgres as pg
from helpers.postgres import PostgresServer
from reev.events import TERMINAL, ExecutionStatus
from reev.store import make_engine, session_factory, upgrade
from reev.store import repository as repo
from reev.store.migrate import alembic_config
from reev.store.models import Base

postgres = pg.postgres
S = ExecutionStatus
START = datetime(2026, 11, 1, tzinfo=UTC)
RUNS, PER_RUN = 30, 12


def seed(sessions: sessionmaker[Session], rng: random.Random) -> dict[str, list[dict]]:
    """RUNS runs of PER_RUN executions in every status, written through the repository; returns
    run id → its executions as plain values (what the expected summaries are computed from)."""
    with sessions.begin() as session:
        repo.upsert_benchmark(
            session, benchmark_id="b", yaml="id: b", description="", tags=[], file_path=None
        )
    written: dict[str, list[dict]] = {}
    for r in range(RUNS):
        run_id = f"run-{r:03d}"
        with sessions.begin() as session:
            repo.upsert_run(
                session,
                run_id=run_id,
                name=f"name-{r % 4}",
                agent="deterministic" if r % 2 else "remote",
                model=None,
                profile="verified",
                seed=0,
                epochs=PER_RUN,
                status="running",
                config={"benchmarks": [{"id": "b", "path": "/b.yml", "sha256": "0" * 64}]},
                created_at=START + timedelta(minutes=r),
                finished_at=None,
                source="api" if r % 3 else "cli",
            )
            rows = written.setdefault(run_id, [])
            for e in range(PER_RUN if r != RUNS - 1 else 0):  # the newest run has none yet
                execution_id = f"{run_id}-e{e:02d}"
                row = repo.create_execution(
                    session,
                    execution_id=execution_id,
                    benchmark_id="b",
                    agent="deterministic",
                    epoch=e,
                    run_id=run_id,
                )
                row.created_at = START + timedelta(minutes=r, seconds=e)
                status = rng.choice(list(S))
                score = None
                passed = None
                if status is not S.QUEUED:
                    repo.transition(session, execution_id, S.RUNNING)
                if status in TERMINAL:
                    score = rng.choice([0.0, 0.25, 0.5, 1.0])
                    passed = score == 1.0 and status is S.COMPLETED
                    repo.transition(session, execution_id, status, score=score, passed=passed)
                rows.append({"status": status, "score": score, "passed": passed})
    return written


def expected(rows: list[dict]) -> repo.RunSummary | None:
    """The summary by its definition (docs/api.md)."""
    if not rows:
        return None
    finished = [r for r in rows if r["status"] in TERMINAL]
    scores = [r["score"] for r in finished if r["score"] is not None]
    return repo.RunSummary(
        executions=len(rows),
        queued=sum(r["status"] is S.QUEUED for r in rows),
        running=sum(r["status"] is S.RUNNING for r in rows),
        finished=len(finished),
        passed=sum(bool(r["passed"]) for r in finished),
        failed=sum(r["status"] in (S.FAILED, S.TIMEOUT) for r in rows),
        cancelled=sum(r["status"] is S.CANCELLED for r in rows),
        mean_score=mean(scores) if scores else None,
    )


def check_summaries(sessions: sessionmaker[Session]) -> None:
    written = seed(sessions, random.Random(19))
    with sessions() as session:
        got = repo.run_summaries(session, list(written))
        for run_id, rows in written.items():
            want = expected(rows)
            have = got.get(run_id)
            if want is None:
                assert have is None, run_id
                continue
            assert have is not None, run_id
            assert have.mean_score == pytest.approx(want.mean_score), run_id
            assert vars(have) | {"mean_score": 0} == vars(want) | {"mean_score": 0}, run_id
            row = repo.get_run(session, run_id)
            assert row is not None
            assert repo.run_status(row, have) == (
                "running" if have.active else ("finished" if row.source == "api" else "running")
            )
        page, total = repo.list_runs(session, limit=5, offset=2)
        assert total == RUNS
        assert [r.run_id for r in page] == [f"run-{RUNS - 1 - i:03d}" for i in range(2, 7)]
        named, total = repo.list_runs(session, name="name-1", source="api")
        assert {r.run_id for r in named} == {
            f"run-{r:03d}" for r in range(RUNS) if r % 4 == 1 and r % 3
        }
        assert total == len(named)
        ordered = repo.run_executions(session, "run-004", limit=4, offset=3)
        assert [e.epoch for e in ordered] == [3, 4, 5, 6]


@pytest.fixture
def sqlite_sessions(tmp_path: Path) -> Iterator[tuple[Engine, sessionmaker[Session]]]:
    url = f"sqlite:///{tmp_path / 'reev.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine, session_factory(engine)
    engine.dispose()


def test_run_summaries_count_what_the_executions_say_sqlite(sqlite_sessions) -> None:
    check_summaries(sqlite_sessions[1])


@pytest.mark.slow
@pytest.mark.postgres
def test_run_summaries_count_what_the_executions_say_postgres(postgres: PostgresServer) -> None:
    url = postgres.create_database()
    upgrade(url)
    engine = make_engine(url)
    try:
        check_summaries(session_factory(engine))
    finally:
        engine.dispose()


def test_runs_queries_read_an_index(sqlite_sessions) -> None:
    engine, sessions = sqlite_sessions
    seed(sessions, random.Random(3))
    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "executions" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with sessions() as session:
            repo.run_summaries(session, [f"run-{r:03d}" for r in range(10)])
            repo.run_executions(session, "run-004", limit=50, offset=0)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(statements) == 2
    with engine.connect() as connection:
        (summary_sql, summary_args), (page_sql, page_args) = statements
        summary = [
            r[-1]
            for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {summary_sql}", summary_args)
        ]  # type: ignore[arg-type]
        page = [
            r[-1] for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {page_sql}", page_args)
        ]  # type: ignore[arg-type]
    assert any("COVERING INDEX ix_executions_run" in s for s in summary), summary
    assert not [s for s in summary if "TEMP B-TREE" in s], summary
    assert any("INDEX ix_executions_run" in s for s in page), page
    assert not [s for s in page if "TEMP B-TREE" in s], page


def test_the_migrations_build_the_models_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reev.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            indexes = {
                row[0]: row[1]
                for row in connection.execute(
                    text(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                    )
                )
            }
    finally:
        engine.dispose()
    # SQLite reflects an index on `created_at DESC` as one on the column, so Alembic proposes
    # to drop and re-add each such index: those pairs are no difference, as long as the
    # database's index does say DESC.
    expression = {
        index.name
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if any(not hasattr(e, "name") for e in index.expressions)
    }
    real = []
    for change in diff:
        kind, item = change[0], change[1]
        if kind in ("remove_index", "add_index") and item.name in expression:
            assert "created_at DESC" in indexes[item.name], indexes[item.name]
            continue
        real.append(change)
    assert real == [], real
    assert "ix_executions_run" in indexes and "ix_executions_run_id" not in indexes


def test_migration_0004_keeps_earlier_runs_as_cli_runs_and_goes_down_and_up(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'reev.db'}"
    upgrade(url, "0003")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO runs (run_id, name, agent, profile, seed, epochs, status, config,"
                    " created_at) VALUES ('old-run', NULL, 'deterministic', 'verified', 0, 1,"
                    " 'finished', '{}', '2026-11-30 10:00:00')"
                )
            )
        upgrade(url)
        with session_factory(engine)() as session:
            row = repo.get_run(session, "old-run")
            assert row is not None and row.source == "cli" and row.status == "finished"
        command.downgrade(alembic_config(url), "0003")
        with engine.connect() as connection:
            columns = [r[1] for r in connection.execute(text("PRAGMA table_info(runs)"))]
            assert "source" not in columns
            assert connection.execute(text("SELECT count(*) FROM runs")).scalar_one() == 1
        upgrade(url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT source FROM runs")).scalar_one() == "cli"
    finally:
        engine.dispose()


def test_a_new_run_never_overwrites_another_with_its_id(sqlite_sessions) -> None:
    """An API run is inserted (`create_run`), not upserted: a taken id is refused."""
    from sqlalchemy.exc import IntegrityError

    _, sessions = sqlite_sessions
    fields = {
        "run_id": "20261202-000000-0000abcd",
        "name": "first",
        "agent": "deterministic",
        "model": None,
        "profile": "verified",
        "seed": 0,
        "epochs": 1,
        "status": "running",
        "config": {},
        "created_at": START,
        "finished_at": None,
        "source": "api",
    }
    with sessions.begin() as session:
        repo.create_run(session, **fields)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        repo.create_run(session, **{**fields, "name": "second"})
    with sessions() as session:
        row = repo.get_run(session, fields["run_id"])
        assert row is not None and row.name == "first"

"""Storing runs the CLI or the TUI did themselves (`reev run --record`, `reev tui --db`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from reev.runner.episode import EpisodeResult
from reev.runner.session import read_session
from reev.spec.loader import LoadedBenchmark
from reev.store import repository as repo
from reev.store.engine import make_engine, session_factory
from reev.store.migrate import upgrade


def open_store(url: str | None) -> sessionmaker[Session]:
    """Migrate (idempotent) and connect."""
    upgrade(url)
    return session_factory(make_engine(url))


def store_benchmarks(sessions: sessionmaker[Session], loaded: Iterable[LoadedBenchmark]) -> None:
    """Make the benchmarks a CLI or TUI run used known to the database. A benchmark the server
    already runs from a file that still exists is left alone: the CLI may have run a copy (from
    a temporary folder, say) and the server must keep running its own file."""
    with sessions.begin() as session:
        for item in loaded:
            existing = repo.get_benchmark(session, item.benchmark.id)
            if existing is not None and existing.file_path and Path(existing.file_path).exists():
                continue
            repo.upsert_benchmark(
                session,
                benchmark_id=item.benchmark.id,
                yaml=item.source,
                description=item.benchmark.description,
                tags=item.benchmark.tags,
                file_path=str(
                    item.path.resolve()
                ),  # absolute: the server runs it from its own folder
            )


def record_run(sessions: sessionmaker[Session], **fields: Any) -> None:
    """Store (or update) a run's row: `repo.upsert_run`'s columns."""
    with sessions.begin() as session:
        repo.upsert_run(session, **fields)


def episode_recorder(
    sessions: sessionmaker[Session], *, model: str | None, source: str, run_id: str | None = None
) -> Callable[[EpisodeResult], bool]:
    """A callback storing each finished episode (with its tool calls, model calls,
    transactions); it answers whether it stored one (an episode without a session file, one
    that never started, is not stored)."""

    def record(result: EpisodeResult) -> bool:
        if not result.session_file:
            return False
        with sessions.begin() as session:
            repo.record_finished_episode(  # an absolute path: the server reads it from its own folder
                session,
                read_session(result.session_file),
                str(Path(result.session_file).resolve()),
                model=model,
                source=source,
                run_id=run_id,
            )
        return True

    return record


def unrecorded(sessions: sessionmaker[Session], execution_ids: Iterable[str]) -> set[str]:
    """Which of `execution_ids` the database lacks: a resumed or retried run given `--record`
    stores the episodes it keeps too, so the database run is the whole run."""
    wanted = set(execution_ids)
    with sessions() as session:
        return wanted - repo.stored_execution_ids(session, wanted)

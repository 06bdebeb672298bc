"""FastAPI dependencies of the routes: the service's parts, a database session, the lookups.

The app factory puts the settings, the session factory and the execution manager on
`app.state`; routes ask for them by type (`SettingsDep`, `ManagerDep`, `DbSession`) instead of
closing over the factory's locals. A lookup that finds nothing is a 404 naming what is missing,
raised before a route's body (or a stream) starts.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from pydantic import ValidationError
from sqlalchemy import Connection, Engine, Row
from sqlalchemy.orm import Session, sessionmaker

from reev.runner.session import SessionFile, read_session, session_path
from reev.service import schemas
from reev.service.manager import ExecutionManager
from reev.service.settings import ServiceSettings
from reev.store import repository as repo
from reev.store.models import BenchmarkRow, ExecutionRow

BENCHMARK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
EXECUTION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"

BenchmarkId = Annotated[str, PathParam(pattern=BENCHMARK_ID_PATTERN, description="Benchmark id")]
ExecutionId = Annotated[str, PathParam(pattern=EXECUTION_ID_PATTERN, description="Execution id")]
OptionalExecutionId = Annotated[schemas.Identifier | None, Query(max_length=128)]


# `async def` like every cheap dependency: FastAPI runs a plain `def` one in a worker thread,
# and that hop costs more than reading an attribute.
async def get_settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


async def get_sessions(request: Request) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


async def get_manager(request: Request) -> ExecutionManager:
    manager: ExecutionManager = request.app.state.manager
    return manager


SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
ManagerDep = Annotated[ExecutionManager, Depends(get_manager)]


async def db_session(sessions: SessionsDep) -> AsyncIterator[Session]:
    """One session per request, closed when the route returns (before the response is sent).

    `async` on purpose: the status reads clients poll stay on the event loop (creating a
    session opens no connection), instead of a hop to a worker thread and back."""
    with sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(db_session, scope="function")]


def find_benchmark(session: Session, benchmark_id: str) -> BenchmarkRow:
    row = repo.get_benchmark(session, benchmark_id)
    if row is None:
        raise HTTPException(404, f"unknown benchmark {benchmark_id!r}")
    return row


def find_execution(
    session: Session, execution_id: str, benchmark_id: str | None = None
) -> ExecutionRow:
    """The execution, which must belong to `benchmark_id` when one is given."""
    row = repo.get_execution(session, execution_id)
    if row is None or (benchmark_id is not None and row.benchmark_id != benchmark_id):
        of = f" of {benchmark_id}" if benchmark_id else ""
        raise HTTPException(404, f"unknown execution {execution_id!r}{of}")
    return row


def benchmark_row(benchmark_id: BenchmarkId, session: DbSession) -> BenchmarkRow:
    return find_benchmark(session, benchmark_id)


def read_execution(
    connection: Connection, execution_id: str, benchmark_id: str | None = None
) -> Row[Any]:
    """`find_execution` as a plain row (`repo.read_execution`): for the reads that only show it."""
    row = repo.read_execution(connection, execution_id)
    if row is None or (benchmark_id is not None and row.benchmark_id != benchmark_id):
        of = f" of {benchmark_id}" if benchmark_id else ""
        raise HTTPException(404, f"unknown execution {execution_id!r}{of}")
    return row


# The execution lookups are `async def`: one primary-key SELECT on SQLite runs on the event
# loop (see `db_session`; WAL: a writer never blocks it). A plain `def` dependency runs in a
# worker thread: the hop there and back was half of the server's time per status request
# (scripts/bench_api.py). A server database (PostgreSQL) is a network round trip and a pool
# checkout that can wait: there the lookup goes to a worker thread, as every other query does.
def _on_loop(bind: Engine | Connection | None) -> bool:
    return bind is not None and bind.dialect.name == "sqlite"


async def execution_row(execution_id: ExecutionId, session: DbSession) -> ExecutionRow:
    if _on_loop(session.get_bind()):
        return find_execution(session, execution_id)
    return await asyncio.to_thread(find_execution, session, execution_id)


async def benchmark_execution_row(
    benchmark_id: BenchmarkId, execution_id: ExecutionId, session: DbSession
) -> ExecutionRow:
    if _on_loop(session.get_bind()):
        return find_execution(session, execution_id, benchmark_id)
    return await asyncio.to_thread(find_execution, session, execution_id, benchmark_id)


# The plain-row lookups of the reads clients poll take the engine from the app and hold a bare
# connection for the one SELECT: no ORM session to build and close, no generator dependency
# (FastAPI's dependency solving was the largest part of the server's time per status request).
def _engine(request: Request) -> Engine:
    sessions: sessionmaker[Session] = request.app.state.sessions
    engine: Engine = sessions.kw["bind"]
    return engine


def _read_view(engine: Engine, execution_id: str, benchmark_id: str | None) -> Row[Any]:
    with engine.connect() as connection:
        return read_execution(connection, execution_id, benchmark_id)


async def execution_view(execution_id: ExecutionId, request: Request) -> Row[Any]:
    engine = _engine(request)
    if _on_loop(engine):
        return _read_view(engine, execution_id, None)
    return await asyncio.to_thread(_read_view, engine, execution_id, None)


async def benchmark_execution_view(
    benchmark_id: BenchmarkId, execution_id: ExecutionId, request: Request
) -> Row[Any]:
    engine = _engine(request)
    if _on_loop(engine):
        return _read_view(engine, execution_id, benchmark_id)
    return await asyncio.to_thread(_read_view, engine, execution_id, benchmark_id)


def picked_execution(
    benchmark_id: BenchmarkId, session: DbSession, execution_id: OptionalExecutionId = None
) -> ExecutionRow:
    """`?execution_id=` of this benchmark, or its latest execution."""
    find_benchmark(session, benchmark_id)
    if execution_id:
        return find_execution(session, execution_id, benchmark_id)
    row = repo.latest_execution(session, benchmark_id)
    if row is None:
        raise HTTPException(404, f"benchmark {benchmark_id} has no executions yet")
    return row


BenchmarkDep = Annotated[BenchmarkRow, Depends(benchmark_row)]
ExecutionDep = Annotated[ExecutionRow, Depends(execution_row)]
BenchmarkExecutionDep = Annotated[ExecutionRow, Depends(benchmark_execution_row)]
PickedExecutionDep = Annotated[ExecutionRow, Depends(picked_execution)]
# The same executions as plain rows (`read_execution`), for routes that only show them.
ExecutionViewDep = Annotated[Row[Any], Depends(execution_view)]
BenchmarkExecutionViewDep = Annotated[Row[Any], Depends(benchmark_execution_view)]


def require_token(request: Request, settings: SettingsDep) -> None:
    """Mutating endpoints need `Authorization: Bearer $REEV_API_TOKEN` when it is set."""
    if settings.api_token is None:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    # Compared as bytes: `compare_digest` refuses non-ASCII str (a TypeError, so a 500), and a
    # header is whatever bytes the client sent (Starlette decodes them as Latin-1).
    given = token.strip().encode("latin-1", "replace")
    if scheme.lower() != "bearer" or not secrets.compare_digest(
        given, settings.api_token.encode("utf-8")
    ):
        raise HTTPException(401, "this endpoint needs `Authorization: Bearer <REEV_API_TOKEN>`")


MUTATING = [Depends(require_token)]


SESSION_READ_ATTEMPTS = 3  # an OSError other than "no such file" is retried (EMFILE, EINTR…)


def read_record(settings: ServiceSettings, row: ExecutionRow) -> SessionFile:
    """The execution's session file. A 404 "has no session file yet" only while there cannot
    be one (queued, running); a finished execution whose file is gone or unreadable says that
    instead, and a transient read error (too many open files under a burst, say) is retried,
    then a 503, never the "not yet" of an execution that has one."""
    path = (
        Path(row.session_file)
        if row.session_file
        else session_path(settings.log_dir, row.execution_id)
    )
    for attempt in range(SESSION_READ_ATTEMPTS):
        try:
            return read_session(path)
        except FileNotFoundError:
            break
        except (ValidationError, ValueError) as exc:
            raise HTTPException(
                404,
                f"the session file of execution {row.execution_id} is not a valid session "
                f"({type(exc).__name__})",
            ) from None
        except OSError as exc:
            if attempt + 1 == SESSION_READ_ATTEMPTS:
                raise HTTPException(
                    503,
                    f"the session file of execution {row.execution_id} could not be read now "
                    f"({exc.strerror or type(exc).__name__}); retry",
                    headers={"Retry-After": "1"},
                ) from None
            time.sleep(0.05 * (attempt + 1))
    if row.status.active:
        raise HTTPException(
            404, f"execution {row.execution_id} has no session file yet (status {row.status})"
        )
    raise HTTPException(
        404,
        f"execution {row.execution_id} ended {row.status} and its session file is missing"
        + (" (it never wrote one)" if not row.session_file else " (deleted since)"),
    )

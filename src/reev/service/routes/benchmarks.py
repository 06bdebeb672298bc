"""Benchmarks and their executions: list, detail, run, status, stop, sync, upsert."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from reev.service import actions, schemas
from reev.service.deps import (
    MUTATING,
    BenchmarkDep,
    BenchmarkExecutionDep,
    BenchmarkExecutionViewDep,
    BenchmarkId,
    DbSession,
    ManagerDep,
    SessionsDep,
    SettingsDep,
    find_execution,
)
from reev.store import repository as repo

router = APIRouter()


@router.get("/benchmarks", response_model=list[schemas.BenchmarkSummary])
def benchmarks(session: DbSession) -> list[schemas.BenchmarkSummary]:
    return [schemas.BenchmarkSummary.of(row) for row in repo.list_benchmarks(session)]


@router.get("/benchmarks/{benchmark_id}", response_model=schemas.BenchmarkDetail)
def benchmark(row: BenchmarkDep, session: DbSession) -> schemas.BenchmarkDetail:
    recent, _ = repo.list_executions(session, benchmark_id=row.id, limit=20)
    return schemas.BenchmarkDetail.with_recent(row, recent)


@router.post(
    "/benchmarks/{benchmark_id}/run",
    response_model=schemas.RunAccepted,
    status_code=202,
    dependencies=MUTATING,
)
async def run(
    benchmark_id: BenchmarkId,
    request: schemas.RunRequest,
    settings: SettingsDep,
    sessions: SessionsDep,
    manager: ManagerDep,
) -> schemas.RunAccepted:
    try:  # on the event loop (the manager's queue is an asyncio queue); its database work is not
        return await actions.submit_run(settings, sessions, manager, benchmark_id, request)
    except actions.ActionError as exc:
        raise HTTPException(exc.status, exc.message, headers=exc.headers) from None


# The two status reads clients poll are `async def` on purpose: one primary-key SELECT (well
# under a millisecond) costs less on the event loop than the hop to a worker thread, which
# was 40% of the server's time per request (scripts/bench_api.py).
@router.get("/benchmarks/{benchmark_id}/status/{execution_id}", response_model=schemas.ExecutionOut)
async def status(row: BenchmarkExecutionViewDep) -> schemas.ExecutionOut:
    return schemas.ExecutionOut.of(row)


@router.get("/benchmarks/{benchmark_id}/status", response_model=schemas.ExecutionOut)
def latest_status(
    row: BenchmarkDep,
    session: DbSession,
    agent: Annotated[schemas.Identifier | None, Query(max_length=256)] = None,
) -> schemas.ExecutionOut:
    latest = repo.latest_execution(session, row.id, agent)
    if latest is None:
        raise HTTPException(404, f"no executions of {row.id}" + (f" by {agent}" if agent else ""))
    return schemas.ExecutionOut.of(latest)


@router.post(
    "/benchmarks/{benchmark_id}/stop/{execution_id}",
    response_model=schemas.ExecutionOut,
    dependencies=MUTATING,
)
async def stop(
    row: BenchmarkExecutionDep, session: DbSession, manager: ManagerDep
) -> schemas.ExecutionOut:
    execution_id = row.execution_id
    if row.status.terminal:
        raise HTTPException(409, f"execution {execution_id} already ended: {row.status}")
    # End the read before waiting: the manager writes the new status meanwhile, and the
    # rollback expires `row` (touch it only after the stop), so the read below is fresh.
    await run_in_threadpool(session.rollback)
    await manager.stop(execution_id)
    return schemas.ExecutionOut.of(await run_in_threadpool(find_execution, session, execution_id))


@router.post("/sync", response_model=schemas.SyncReport, dependencies=MUTATING)
async def sync(settings: SettingsDep, sessions: SessionsDep) -> schemas.SyncReport:
    return await asyncio.to_thread(actions.sync_benchmarks, settings, sessions)


@router.post(
    "/upsert-yml",
    response_model=schemas.UpsertResult,
    dependencies=MUTATING,
)
def upsert_yml(
    request: schemas.UpsertRequest, settings: SettingsDep, sessions: SessionsDep
) -> schemas.UpsertResult | JSONResponse:
    try:
        return actions.upsert_yaml(settings, sessions, request.yml_content)
    except actions.InvalidBenchmark as exc:
        return JSONResponse(
            status_code=422, content={"detail": "invalid benchmark", "errors": exc.errors}
        )
    except actions.ActionError as exc:
        raise HTTPException(exc.status, exc.message) from None

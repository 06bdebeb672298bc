"""Runs: the list (newest first, each with its summary) and one run with its executions.

A run is one request that queued executions (`POST /benchmarks/{id}/run`) or one
`reev run --record`; its summary is counted from its executions at every read (one GROUP BY
over `ix_executions_run`), so it is never stale and nothing has to keep it up to date.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query

from reev.service import schemas
from reev.service.deps import DbSession
from reev.store import repository as repo

router = APIRouter()

RunId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


@router.get("/runs", response_model=schemas.RunPage)
def runs(
    session: DbSession,
    agent: Annotated[schemas.Identifier | None, Query(max_length=256)] = None,
    name: Annotated[schemas.Identifier | None, Query(max_length=64)] = None,
    source: Literal["api", "cli"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> schemas.RunPage:
    rows, total = repo.list_runs(
        session, agent=agent, name=name, source=source, limit=limit, offset=offset
    )
    summaries = repo.run_summaries(session, [r.run_id for r in rows])
    return schemas.RunPage(
        items=[schemas.RunOut.of(r, summaries.get(r.run_id)) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/runs/{run_id}", response_model=schemas.RunDetail)
def run(
    run_id: RunId,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> schemas.RunDetail:
    row = repo.get_run(session, run_id)
    if row is None:
        raise HTTPException(404, f"unknown run {run_id!r}")
    summary = repo.run_summaries(session, [run_id]).get(run_id)
    executions = repo.run_executions(session, run_id, limit=limit, offset=offset)
    return schemas.RunDetail(
        **schemas.RunOut.of(row, summary).model_dump(),
        executions=[schemas.ExecutionOut.of(e) for e in executions],
        limit=limit,
        offset=offset,
    )

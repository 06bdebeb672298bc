"""Executions: the list, one execution, its session file, and its live events (SSE)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent

from reev.events import ExecutionStatus, LiveEvent, StatusEvent
from reev.service import schemas
from reev.service.deps import (
    DbSession,
    ExecutionDep,
    ExecutionId,
    ExecutionViewDep,
    ManagerDep,
    SessionsDep,
    SettingsDep,
    find_execution,
    read_record,
)
from reev.store import repository as repo
from reev.store.models import ExecutionRow

router = APIRouter()

LIVE_EVENT_REF = "#/components/schemas/LiveEvent"
# What `GET …/events` sends, in the schema: each SSE message's `event:` is the event's kind and
# its `data:` one `LiveEvent` as JSON. The app factory adds the LiveEvent schemas to the
# components (`reev.service.app.openapi_with_events`).
EVENTS_OPENAPI: dict[str, Any] = {
    "responses": {
        "200": {
            "description": "Live events until the execution ends (the last is its final status)",
            "content": {
                "text/event-stream": {
                    "itemSchema": {
                        "required": ["data"],
                        "properties": {
                            "data": {
                                "type": "string",
                                "contentMediaType": "application/json",
                                "contentSchema": {"$ref": LIVE_EVENT_REF},
                            },
                            "event": {
                                "type": "string",
                                "description": "The `event` field of the data",
                            },
                        },
                    }
                }
            },
        }
    }
}


@router.get("/executions", response_model=schemas.ExecutionPage)
def executions(
    session: DbSession,
    benchmark: Annotated[schemas.Identifier | None, Query(max_length=128)] = None,
    agent: Annotated[schemas.Identifier | None, Query(max_length=256)] = None,
    status: ExecutionStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> schemas.ExecutionPage:
    rows, total = repo.list_executions(
        session, benchmark_id=benchmark, agent=agent, status=status, limit=limit, offset=offset
    )
    return schemas.ExecutionPage(
        items=[schemas.ExecutionOut.of(r) for r in rows], total=total, limit=limit, offset=offset
    )


@router.get("/executions/{execution_id}", response_model=schemas.ExecutionOut)
async def execution(row: ExecutionViewDep) -> schemas.ExecutionOut:
    return schemas.ExecutionOut.of(row)


@router.get("/executions/{execution_id}/session")
def execution_session(row: ExecutionDep, settings: SettingsDep) -> JSONResponse:
    return JSONResponse(read_record(settings, row).model_dump(mode="json"))


def streamed_execution(execution_id: ExecutionId, sessions: SessionsDep) -> ExecutionRow:
    """The lookup of a stream, in a session of its own that is closed before the stream starts
    (a request-long session would hold a transaction open for as long as the client listens)."""
    with sessions() as session:
        return find_execution(session, execution_id)


def _sse(event: LiveEvent) -> ServerSentEvent:
    return ServerSentEvent(data=event.wire(), event=event.event)


@router.get(
    "/executions/{execution_id}/events",
    response_class=EventSourceResponse,
    openapi_extra=EVENTS_OPENAPI,
)
async def events(
    execution_id: ExecutionId,
    row: Annotated[ExecutionRow, Depends(streamed_execution)],
    manager: ManagerDep,
) -> AsyncIterator[ServerSentEvent]:
    if row.status.terminal and execution_id not in manager.events:
        yield _sse(StatusEvent(status=row.status, final=True))
        return
    async for event in manager.subscribe(execution_id):
        yield _sse(event)

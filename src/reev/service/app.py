"""The REST API: `/api/v1` (OpenAPI at `/docs`), served by `reev serve`.

Reads come from the database (never a cache that can go stale); every status change is the
execution manager's. Mutating endpoints require `Authorization: Bearer $REEV_API_TOKEN` when
that variable is set. Bad input is a 4xx with a message, never a 500.

The factory wires the parts (settings, database sessions, execution manager) onto `app.state`
and mounts the routers of `reev.service.routes`; the routes reach the parts through the
dependencies of `reev.service.deps`. It expects a migrated database: `reev serve` (or
`reev db upgrade`) migrates, and start-up fails with a clear message when the schema is old.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from reev import __version__
from reev.events import live_event_schemas
from reev.service.actions import sync_benchmarks
from reev.service.guards import install_guards
from reev.service.limits import BodySizeLimit
from reev.service.manager import ExecutionManager
from reev.service.performance import cached_agent_performance
from reev.service.routes import api_router
from reev.service.settings import ServiceSettings
from reev.store import make_engine, require_current, session_factory
from reev.store import repository as repo
from reev.store.cache import AGGREGATES

log = logging.getLogger(__name__)
DESCRIPTION = "Reproducible evaluation of LLM agents that act on Solana."


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    manager = ExecutionManager(settings, sessions)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(require_current, settings.database_url)
        await asyncio.to_thread(sync_benchmarks, settings, sessions)
        await manager.start()
        warm = asyncio.create_task(asyncio.to_thread(warm_aggregates, sessions))
        for hook in app.state.on_started:  # the dashboard's warm-up: after the sync above
            hook()
        yield
        await manager.shutdown()
        await asyncio.wait([warm], timeout=5)
        engine.dispose()

    app = FastAPI(title="reev", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings, app.state.manager, app.state.sessions = settings, manager, sessions
    # Called on the event loop once the benchmarks are synced and the manager runs.
    app.state.on_started = []
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    install_guards(app, settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.mount(
        "/static",
        StaticFiles(directory=str(resources.files("reev.report").joinpath("static"))),
        name="static",
    )
    app.include_router(api_router())

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_with_events(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
    return app


def warm_aggregates(sessions: sessionmaker[Session]) -> None:
    """Compute the cached aggregates once at start-up, in a worker thread, so the first client
    of `/agent-performance` and `/health` does not wait for the full pass over the executions
    (0.2–0.5 s at 100k); a request arriving meanwhile waits for this computation rather than
    repeating it (`VersionCache`). A failure here is only logged: the request computes again."""
    try:
        with sessions() as session:
            cached_agent_performance(session)
            AGGREGATES.get(session, "counts-by-status", repo.counts_by_status)
    except Exception:
        log.warning("could not compute the aggregates at start-up", exc_info=True)


def openapi_with_events(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the live events (`LiveEvent` and its members) as components: the
    SSE route's `contentSchema` refers to them, and no JSON route returns them."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in live_event_schemas().items():
        components.setdefault(name, definition)
    return schema

"""The web dashboard: NiceGUI pages mounted on the API's FastAPI app (`reev serve`).

    /                      overview: matrix, per-agent numbers, score over time, run panel
    /executions/{id}       one execution (linkable)
    /benchmarks/{id}       one benchmark: YAML, editor, recent executions
    /compare               two agents, or two executions, side by side
    /runs                  runs (a request, or a `reev run --record`) with their summaries
    /runs/{id}             one run and its executions

NiceGUI serves its own assets (Vue, Quasar, ECharts, Mermaid, CodeMirror) from the package, so
the dashboard needs no network. Pages read through the repository and the execution manager of
the same process; live updates come from the manager's events (`reev.web.hub`), not polling.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI, HTTPException, Request
from starlette.routing import Match

from reev.web.context import Dashboard, install
from reev.web.hub import EventHub

log = logging.getLogger(__name__)
_mounted = False
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def mount(app: FastAPI) -> None:
    """Add the dashboard to an app made by `reev.service.app.create_app` (once per process:
    NiceGUI's page registry is global)."""
    global _mounted
    if _mounted:
        raise RuntimeError("the dashboard is already mounted in this process")
    _mounted = True

    from nicegui import app as nicegui_app
    from nicegui import ui

    from reev.web.benchmark import benchmark_page
    from reev.web.compare import compare_page
    from reev.web.execution import execution_page
    from reev.web.overview import overview_page
    from reev.web.runs import run_page, runs_page

    hub = EventHub()
    dashboard = Dashboard(app.state.settings, app.state.sessions, app.state.manager, hub)
    install(dashboard)
    app.state.manager.listeners.append(hub.on_event)
    nicegui_app.on_startup(hub.bind_loop)
    app.state.on_started.append(lambda: _warm(dashboard))

    _keep_api_errors_json(app)

    ui.page("/", title="reev", response_timeout=30)(overview_page)
    ui.page("/executions/{execution_id}", title="reev · execution", response_timeout=30)(
        execution_page
    )
    ui.page("/benchmarks/{benchmark_id}", title="reev · benchmark", response_timeout=30)(
        benchmark_page
    )
    ui.page("/compare", title="reev · compare", response_timeout=30)(compare_page)
    ui.page("/runs", title="reev · runs", response_timeout=30)(runs_page)
    ui.page("/runs/{run_id}", title="reev · run", response_timeout=30)(run_page)

    ui.run_with(
        app,
        mount_path="/",
        title="reev",
        favicon="◆",
        dark=False,
        show_welcome_message=False,
        reconnect_timeout=10.0,
    )


_warming: set[asyncio.Task[None]] = set()


def _warm(dashboard: Dashboard) -> None:
    """Load the shared overview (and the chart buckets of the unfiltered page) at start-up, once
    the benchmarks are synced, in the background, so the first visitor's matrix does not wait
    for the full pass over the executions (0.5 s of the first page load at 100k executions)."""

    async def warm() -> None:
        try:
            overview = await dashboard.live.get()
            await dashboard.live.ensure_unit(overview.unit_for({b.id for b in overview.benchmarks}))
        except Exception:  # the first page loads it then, and says what is wrong
            log.warning("could not load the dashboard overview at start-up", exc_info=True)

    task = asyncio.get_running_loop().create_task(warm(), name="reev-overview-warm")
    _warming.add(task)
    task.add_done_callback(_warming.discard)


def _keep_api_errors_json(app: FastAPI) -> None:
    """NiceGUI is mounted at `/` and would answer every unknown path with its HTML 404. Unknown
    API paths keep FastAPI's JSON answers: 405 (with Allow) when the path exists for another
    method, 404 otherwise."""
    routes = list(app.router.routes)

    async def api_fallback(request: Request, path: str) -> None:
        # Asked method by method: included routers answer `matches` for their routes but have
        # no `methods` of their own.
        allowed = {
            method
            for method in METHODS
            if any(
                route.matches({**request.scope, "method": method})[0] == Match.FULL
                for route in routes
            )
        }
        if allowed:
            raise HTTPException(
                405, "Method Not Allowed", headers={"Allow": ", ".join(sorted(allowed))}
            )
        raise HTTPException(404, "Not Found")

    app.add_api_route(
        "/api/{path:path}",
        api_fallback,
        methods=list(METHODS),
        include_in_schema=False,
    )

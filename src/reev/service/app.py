"""The REST API: `/api/v1` (OpenAPI at `/docs`), served by `reev serve`.

Reads come from the database (never a cache that can go stale); every status change is the
execution manager's. Mutating endpoints require `Authorization: Bearer $REEV_API_TOKEN` when
that variable is set. Bad input is a 4xx with a message, never a 500.
"""

from __future__ import annotations

import asyncio
import io
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from rich.console import Console

from reev import __version__
from reev.agents.providers import PROVIDERS, key_status
from reev.runner.session import SessionFile, read_session, session_path
from reev.service import actions, schemas
from reev.service.limits import BodySizeLimit
from reev.service.manager import ExecutionManager
from reev.service.performance import agent_performance
from reev.service.settings import ServiceSettings
from reev.spec.loader import load_many
from reev.store import make_engine, session_factory, upgrade
from reev.store import repository as repo
from reev.telemetry.flow import flow_html, mermaid, nodes_from_session
from reev.telemetry.txlogs import render_tree, session_log_trees, transaction_tree

BenchmarkId = Annotated[
    str, PathParam(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", description="Benchmark id")
]
ExecutionId = Annotated[
    str, PathParam(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$", description="Execution id")
]


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    manager = ExecutionManager(settings, sessions)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(sync_benchmarks)
        await manager.start()
        yield
        await manager.shutdown()
        engine.dispose()

    app = FastAPI(
        title="reev",
        version=__version__,
        description="Reproducible evaluation of LLM agents that act on Solana.",
        lifespan=lifespan,
    )
    app.state.settings, app.state.manager, app.state.sessions = settings, manager, sessions
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.mount(
        "/static",
        StaticFiles(directory=str(resources.files("reev.telemetry").joinpath("static"))),
        name="static",
    )

    def require_token(request: Request) -> None:
        if settings.api_token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            token.strip(), settings.api_token
        ):
            raise HTTPException(401, "this endpoint needs `Authorization: Bearer <REEV_API_TOKEN>`")

    mutating = [Depends(require_token)]

    # ------------------------------------------------------------------ helpers

    def sync_benchmarks() -> schemas.SyncReport:
        report = schemas.SyncReport()
        if not settings.benchmarks_dir.is_dir():
            report.errors.append(f"{settings.benchmarks_dir}: not a directory")
            return report
        loaded, errors = load_many([settings.benchmarks_dir])
        report.errors += [str(d) for d in errors]
        with sessions.begin() as session:
            for item in loaded:
                outcome = repo.upsert_benchmark(
                    session,
                    benchmark_id=item.benchmark.id,
                    yaml=item.source,
                    description=item.benchmark.description,
                    tags=item.benchmark.tags,
                    file_path=str(
                        item.path.resolve()
                    ),  # absolute: the CLI records from other folders
                )
                getattr(report, outcome).append(item.benchmark.id)
        return report

    def benchmark_or_404(session: Any, benchmark_id: str) -> repo.BenchmarkRow:
        row = repo.get_benchmark(session, benchmark_id)
        if row is None:
            raise HTTPException(404, f"unknown benchmark {benchmark_id!r}")
        return row

    def execution_or_404(
        session: Any, execution_id: str, benchmark_id: str | None = None
    ) -> repo.ExecutionRow:
        row = repo.get_execution(session, execution_id)
        if row is None or (benchmark_id is not None and row.benchmark_id != benchmark_id):
            raise HTTPException(
                404,
                f"unknown execution {execution_id!r}"
                + (f" of {benchmark_id}" if benchmark_id else ""),
            )
        return row

    def session_of(row: repo.ExecutionRow) -> SessionFile:
        path = (
            Path(row.session_file)
            if row.session_file
            else session_path(settings.log_dir, row.execution_id)
        )
        try:
            return read_session(path)
        except (OSError, ValidationError, ValueError):
            raise HTTPException(
                404, f"execution {row.execution_id} has no session file yet (status {row.status})"
            ) from None

    def pick_execution(
        session: Any, benchmark_id: str, execution_id: str | None
    ) -> repo.ExecutionRow:
        benchmark_or_404(session, benchmark_id)
        if execution_id:
            return execution_or_404(session, execution_id, benchmark_id)
        row = repo.latest_execution(session, benchmark_id)
        if row is None:
            raise HTTPException(404, f"benchmark {benchmark_id} has no executions yet")
        return row

    # ------------------------------------------------------------------ endpoints

    api = "/api/v1"

    @app.get(f"{api}/health", response_model=schemas.Health)
    def health() -> schemas.Health:
        with sessions() as session:
            counts = repo.counts_by_status(session)
        return schemas.Health(status="ok", version=__version__, executions=counts)

    @app.get(f"{api}/benchmarks", response_model=list[schemas.BenchmarkSummary])
    def benchmarks() -> list[schemas.BenchmarkSummary]:
        with sessions() as session:
            return [schemas.BenchmarkSummary.of(row) for row in repo.list_benchmarks(session)]

    @app.get(f"{api}/benchmarks/{{benchmark_id}}", response_model=schemas.BenchmarkDetail)
    def benchmark(benchmark_id: BenchmarkId) -> schemas.BenchmarkDetail:
        with sessions() as session:
            row = benchmark_or_404(session, benchmark_id)
            recent, _ = repo.list_executions(session, benchmark_id=benchmark_id, limit=20)
            return schemas.BenchmarkDetail.of(row, recent)

    @app.post(
        f"{api}/benchmarks/{{benchmark_id}}/run",
        response_model=schemas.RunAccepted,
        status_code=202,
        dependencies=mutating,
    )
    async def run(benchmark_id: BenchmarkId, request: schemas.RunRequest) -> schemas.RunAccepted:
        try:  # on the event loop, not in a worker thread: the manager's queue is an asyncio queue
            return actions.submit_run(settings, sessions, manager, benchmark_id, request)
        except actions.ActionError as exc:
            raise HTTPException(exc.status, exc.message) from None

    # The two status reads clients poll are `async def` on purpose: one primary-key SELECT (well
    # under a millisecond) costs less on the event loop than the hop to a worker thread, which
    # was 40% of the server's time per request (scripts/bench_api.py).
    @app.get(
        f"{api}/benchmarks/{{benchmark_id}}/status/{{execution_id}}",
        response_model=schemas.ExecutionOut,
    )
    async def status(benchmark_id: BenchmarkId, execution_id: ExecutionId) -> schemas.ExecutionOut:
        with sessions() as session:
            return schemas.ExecutionOut.of(execution_or_404(session, execution_id, benchmark_id))

    @app.get(f"{api}/benchmarks/{{benchmark_id}}/status", response_model=schemas.ExecutionOut)
    def latest_status(
        benchmark_id: BenchmarkId, agent: Annotated[str | None, Query(max_length=256)] = None
    ) -> schemas.ExecutionOut:
        with sessions() as session:
            benchmark_or_404(session, benchmark_id)
            row = repo.latest_execution(session, benchmark_id, agent)
            if row is None:
                raise HTTPException(
                    404, f"no executions of {benchmark_id}" + (f" by {agent}" if agent else "")
                )
            return schemas.ExecutionOut.of(row)

    @app.post(
        f"{api}/benchmarks/{{benchmark_id}}/stop/{{execution_id}}",
        response_model=schemas.ExecutionOut,
        dependencies=mutating,
    )
    async def stop(benchmark_id: BenchmarkId, execution_id: ExecutionId) -> schemas.ExecutionOut:
        with sessions() as session:
            row = execution_or_404(session, execution_id, benchmark_id)
        if row.status in repo.TERMINAL:
            raise HTTPException(409, f"execution {execution_id} already ended: {row.status}")
        await manager.stop(execution_id)
        with sessions() as session:
            return schemas.ExecutionOut.of(execution_or_404(session, execution_id))

    @app.get(f"{api}/executions", response_model=schemas.ExecutionPage)
    def executions(
        benchmark: Annotated[str | None, Query(max_length=128)] = None,
        agent: Annotated[str | None, Query(max_length=256)] = None,
        status: Annotated[
            str | None, Query(pattern="^(Queued|Running|Completed|Failed|Timeout|Cancelled)$")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> schemas.ExecutionPage:
        with sessions() as session:
            rows, total = repo.list_executions(
                session,
                benchmark_id=benchmark,
                agent=agent,
                status=status,
                limit=limit,
                offset=offset,
            )
            return schemas.ExecutionPage(
                items=[schemas.ExecutionOut.of(r) for r in rows],
                total=total,
                limit=limit,
                offset=offset,
            )

    @app.get(f"{api}/executions/{{execution_id}}", response_model=schemas.ExecutionOut)
    async def execution(execution_id: ExecutionId) -> schemas.ExecutionOut:
        with sessions() as session:
            return schemas.ExecutionOut.of(execution_or_404(session, execution_id))

    @app.get(f"{api}/executions/{{execution_id}}/session")
    def execution_session(execution_id: ExecutionId) -> JSONResponse:
        with sessions() as session:
            row = execution_or_404(session, execution_id)
        return JSONResponse(session_of(row).model_dump(mode="json"))

    def existing_execution(execution_id: ExecutionId) -> repo.ExecutionRow:
        # a dependency, not the generator's first line: a 404 must come before the stream starts
        with sessions() as session:
            return execution_or_404(session, execution_id)

    @app.get(f"{api}/executions/{{execution_id}}/events", response_class=EventSourceResponse)
    async def events(
        execution_id: ExecutionId,
        row: repo.ExecutionRow = Depends(existing_execution),  # noqa: B008
    ) -> AsyncIterator[ServerSentEvent]:
        if row.status in repo.TERMINAL and execution_id not in manager.events:
            yield ServerSentEvent(
                data={"event": "status", "status": row.status, "final": True}, event="status"
            )
            return
        async for event in manager.subscribe(execution_id):
            yield ServerSentEvent(data=event, event=str(event.get("event", "message")))

    @app.get(f"{api}/agents", response_model=list[schemas.AgentOut])
    def agents() -> list[schemas.AgentOut]:
        out = [
            schemas.AgentOut(
                agent="deterministic",
                provider="oracle",
                model=None,
                base_url=None,
                key_env=None,
                key="not needed",
                needs_model=False,
            )
        ]
        for p in PROVIDERS.values():
            out.append(
                schemas.AgentOut(
                    agent=p.name,
                    provider=p.name,
                    model=p.default_model,
                    base_url=p.base_url,
                    key_env=p.api_key_env,
                    key=key_status(p),
                    needs_model=p.model_in_name,
                )
            )
        return out

    @app.get(f"{api}/agent-performance")
    def performance() -> dict[str, Any]:
        with sessions() as session:
            return agent_performance(repo.finished_executions(session))

    @app.get(f"{api}/flows/{{execution_id}}", response_model=None)
    def flows(
        execution_id: ExecutionId,
        format: Annotated[str, Query(pattern="^(json|html|mermaid)$")] = "json",
    ) -> Any:
        with sessions() as session:
            row = execution_or_404(session, execution_id)
        record = session_of(row)
        nodes = nodes_from_session(record)
        diagram = mermaid(nodes)
        if format == "mermaid":
            return PlainTextResponse(diagram)
        if format == "html":
            return HTMLResponse(
                flow_html(
                    diagram,
                    f"reev · {record.benchmark_id} · {execution_id}",
                    script_src="/static/mermaid.min.js",
                )
            )
        return {
            "execution_id": execution_id,
            "benchmark_id": record.benchmark_id,
            "mermaid": diagram,
            "nodes": [{"kind": n.kind, "lines": list(n.lines)} for n in nodes],
        }

    @app.get(f"{api}/execution-logs/{{benchmark_id}}")
    def execution_logs(
        benchmark_id: BenchmarkId, execution_id: Annotated[str | None, Query(max_length=128)] = None
    ) -> dict[str, Any]:
        with sessions() as session:
            row = pick_execution(session, benchmark_id, execution_id)
        record = session_of(row)
        return {
            "execution_id": row.execution_id,
            "status": row.status,
            "tree": schemas.trace_tree(record),
        }

    @app.get(f"{api}/flow-logs/{{benchmark_id}}")
    def flow_logs(
        benchmark_id: BenchmarkId, execution_id: Annotated[str | None, Query(max_length=128)] = None
    ) -> dict[str, Any]:
        with sessions() as session:
            row = pick_execution(session, benchmark_id, execution_id)
        record = session_of(row)
        return {
            "execution_id": row.execution_id,
            "benchmark_id": benchmark_id,
            "mermaid": mermaid(nodes_from_session(record)),
        }

    @app.get(f"{api}/transaction-logs/{{benchmark_id}}", response_model=None)
    def transaction_logs(
        benchmark_id: BenchmarkId,
        execution_id: Annotated[str | None, Query(max_length=128)] = None,
        format: Annotated[str, Query(pattern="^(tree|plain|yaml)$")] = "tree",
    ) -> Any:
        with sessions() as session:
            row = pick_execution(session, benchmark_id, execution_id)
        record = session_of(row)
        trees = session_log_trees(record)
        if format == "yaml":
            return PlainTextResponse(
                yaml.safe_dump(trees, sort_keys=False), media_type="application/yaml"
            )
        if format == "plain":
            buffer = io.StringIO()
            console = Console(file=buffer, width=120, no_color=True, force_terminal=False)
            for step in record.steps:
                for tx in step.transactions:
                    console.print(
                        render_tree(
                            transaction_tree(tx),
                            f"step {step.step} · {tx.signature} · {tx.compute_units} CU",
                        )
                    )
            return PlainTextResponse(buffer.getvalue())
        return {"execution_id": row.execution_id, "transactions": trees}

    @app.post(f"{api}/sync", response_model=schemas.SyncReport, dependencies=mutating)
    async def sync() -> schemas.SyncReport:
        return await asyncio.to_thread(sync_benchmarks)

    @app.post(f"{api}/upsert-yml", response_model=schemas.UpsertResult, dependencies=mutating)
    def upsert_yml(request: schemas.UpsertRequest) -> Any:
        try:
            return actions.upsert_yaml(settings, sessions, request.yml_content)
        except actions.InvalidBenchmark as exc:
            return JSONResponse(
                status_code=422, content={"detail": "invalid benchmark", "errors": exc.errors}
            )
        except actions.ActionError as exc:
            raise HTTPException(exc.status, exc.message) from None

    return app

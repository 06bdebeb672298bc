"""The interactive front ends: `reev serve` (API, dashboard, execution manager) and `reev tui`."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer

from reev.cli.common import console, load
from reev.cli.options import DatabaseUrl


def serve(
    host: Annotated[
        str, typer.Option(help="Interface to bind; keep 127.0.0.1 unless you set REEV_API_TOKEN")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 3001,
    db: DatabaseUrl = None,
    benchmarks: Annotated[Path, typer.Option(help="Benchmarks folder (synced at start)")] = Path(
        "benchmarks"
    ),
    log_dir: Annotated[
        Path, typer.Option(envvar="REEV_LOG_DIR", help="Where executions write sessions")
    ] = Path("logs"),
    max_concurrency: Annotated[int, typer.Option(min=1, help="Executions running at once")] = 2,
    execution_timeout: Annotated[
        float, typer.Option(min=1, help="Deadline of one execution, seconds")
    ] = 900.0,
    requeue: Annotated[
        bool, typer.Option(help="Re-queue executions a previous server left unfinished")
    ] = False,
    cors_origin: Annotated[
        list[str] | None, typer.Option(help="Allow this browser origin (repeatable)")
    ] = None,
    dashboard: Annotated[
        bool, typer.Option("--dashboard/--no-dashboard", help="Serve the web dashboard at /")
    ] = True,
) -> None:
    """Serve the web dashboard (/), the REST API (/api/v1, OpenAPI at /docs), and run executions in
    subprocesses. The database is migrated first (the API expects a current schema)."""
    import uvicorn

    from reev.rpc.serve import bind, url_of
    from reev.service.app import create_app
    from reev.service.settings import ServiceSettings
    from reev.store import upgrade

    upgrade(db)
    settings = ServiceSettings(
        database_url=db,
        benchmarks_dir=benchmarks,
        log_dir=log_dir,
        max_concurrency=max_concurrency,
        execution_timeout_s=execution_timeout,
        requeue=requeue,
        cors_origins=cors_origin or [],
    )
    api = create_app(settings)
    if dashboard:
        from reev.web import mount

        mount(api)
    # Bound here, not by uvicorn: a port in use is reev's one-line error (exit 1), not uvicorn's
    # log line and exit 3.
    sock = bind(host, port)
    banner = ready_banner(url_of("http", sock), db, benchmarks, dashboard=dashboard)

    class Server(uvicorn.Server):
        """uvicorn's server, saying where everything is once it accepts connections."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:  # not when the app's start-up failed (uvicorn then exits)
                console.print(banner, markup=False, highlight=False, soft_wrap=True)

    Server(uvicorn.Config(api, log_level="warning")).run(sockets=[sock])


def ready_banner(url: str, db: str | None, benchmarks: Path, *, dashboard: bool) -> str:
    """What `reev serve` prints once ready: where the dashboard, the API, the database (its
    password masked) and the benchmarks are."""
    from reev.store.engine import display_url

    lines = [
        "reev serve is ready",
        f"  dashboard   {url}/" if dashboard else "  dashboard   off (--no-dashboard)",
        f"  API         {url}/api/v1  (OpenAPI: {url}/docs)",
        f"  database    {display_url(db)}",
        f"  benchmarks  {benchmarks.resolve()}",
    ]
    return "\n".join(lines)


def tui(
    paths: Annotated[list[Path] | None, typer.Argument(help="Benchmark files or folders")] = None,
    agent: Annotated[
        list[str] | None, typer.Option("--agent", "-a", help="Add an agent tab (repeatable)")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model override for LLM agents")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible base URL override")
    ] = None,
    seed: Annotated[int, typer.Option(help="Run seed")] = 0,
    log_dir: Annotated[
        Path, typer.Option(envvar="REEV_LOG_DIR", help="Where session files go")
    ] = Path("logs"),
    db: Annotated[
        str | None, typer.Option(envvar="REEV_DATABASE_URL", help="Store runs in this database")
    ] = None,
) -> None:
    """The terminal cockpit: agent tabs, benchmark navigator, trace and transaction-log panels."""
    from reev.agents import AgentOptions
    from reev.tui import ReevTui, default_agents

    loaded = load(paths or [Path("benchmarks")], strict=False)
    ReevTui(
        loaded,
        agents=default_agents(agent or []),
        options=AgentOptions(model=model, base_url=base_url),
        log_dir=log_dir,
        seed=seed,
        db_url=db,
    ).run()

"""The interactive front ends: `reev serve` (API, dashboard, execution manager) and `reev tui`."""

from __future__ import annotations

import socket
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from reev.cli.common import console, fail, load
from reev.cli.options import DatabaseUrl, Executor, ExecutorOpt, RayAddress

# What uvicorn waits for open connections after SIGTERM before it cancels them; with the
# manager's drain (a few seconds) `reev serve` exits within 10 s.
GRACEFUL_SHUTDOWN_S = 5


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
    allow_remote_agents: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-remote-agents",
            help="Let API clients run remote HTTP agents whose URL matches this fnmatch "
            "pattern, e.g. 'http://10.0.0.5:8000/*' (repeatable; none by default; also "
            "REEV_ALLOW_REMOTE_AGENTS, space-separated)",
        ),
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Accept this Host header besides the loopback names (repeatable; '*' for any; "
            "also REEV_ALLOWED_HOSTS)"
        ),
    ] = None,
    max_queued: Annotated[
        int, typer.Option(min=1, help="Executions that may wait to start; more is a 429")
    ] = 1_000,
    executor: ExecutorOpt = Executor.LOCAL,
    ray_address: RayAddress = None,
) -> None:
    """Serve the web dashboard (/), the REST API (/api/v1, OpenAPI at /docs), and run executions in
    subprocesses. The database is migrated first (the API expects a current schema)."""
    if executor is Executor.RAY:
        from reev.errors import InputError
        from reev.runner.ray_executor import import_ray

        try:
            import_ray()
        except InputError as exc:
            fail(str(exc))
        if not ray_address:  # each execution would start, and stop, a Ray of its own
            fail("reev serve --executor ray needs --ray-address HOST:PORT (a running cluster)")
    elif ray_address:
        fail("--ray-address goes with --executor ray")
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
        host=host,
        port=port,
        max_queued=max_queued,
        executor=str(executor),
        ray_address=ray_address,
    )
    if allow_remote_agents:
        settings.allow_remote_agents = list(allow_remote_agents)
    if allowed_host:
        settings.allowed_hosts = [*settings.allowed_hosts, *allowed_host]
    api = create_app(settings)
    manager = api.state.manager
    if dashboard:
        from reev.web import mount

        mount(api)
    # Bound here, not by uvicorn: a port in use is reev's one-line error (exit 1), not uvicorn's
    # log line and exit 3.
    sock = bind(host, port)
    banner = ready_banner(url_of("http", sock), db, benchmarks, dashboard=dashboard)

    class Server(uvicorn.Server):
        """uvicorn's server, saying where everything is once it accepts connections, and
        telling the execution manager first on SIGTERM/SIGINT: uvicorn waits for open
        connections before the app's shutdown, and an SSE stream stays open until its
        execution ends, so the manager ends the streams (and cancels the runs) up front."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            manager.begin_shutdown()
            super().handle_exit(sig, frame)

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:  # not when the app's start-up failed (uvicorn then exits)
                console.print(banner, markup=False, highlight=False, soft_wrap=True)

    config = uvicorn.Config(api, log_level="warning", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    Server(config).run(sockets=[sock])


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

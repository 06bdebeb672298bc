"""`reev mcp serve`: one episode whose agent is whatever MCP client connects (docs/mcp.md).

Over stdio (the default: an MCP host starts `reev mcp serve TASK` as its server) or streamable
HTTP (`--http`; the URL is printed once it listens). The client reads the prompt `task`, calls
reev's tools and `finish`; then the episode is scored, its session file written, and `--output`
gets the results JSON `reev run --output` writes. stdout is the protocol's in stdio mode, so
everything reev says goes to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reev import __version__
from reev.cli.common import EXIT_INVALID, EXIT_OK, EXIT_RUN_FAILED, err_console, load
from reev.cli.options import Profile

if TYPE_CHECKING:
    from reev.runner.episode import EpisodeResult
    from reev.spec.models import Benchmark

app = typer.Typer(help="reev over the Model Context Protocol (docs/mcp.md).", no_args_is_help=True)

DISCONNECT_WAIT_S = 2.0  # after the last step, how long a stdio client has to hang up


def require_mcp(what: str) -> None:
    """The `mcp` SDK is an extra (`pip install 'reev[mcp]'`): without it, say so (exit 2)."""
    try:
        import mcp  # noqa: F401  # only whether it imports
    except ImportError:
        err_console.print(
            f"{what} needs the MCP SDK: pip install 'reev[mcp]'", style="red", markup=False
        )
        raise typer.Exit(EXIT_INVALID) from None


@app.command("serve")
def serve(
    benchmark: Annotated[Path, typer.Argument(help="One benchmark file: the episode served")],
    http: Annotated[bool, typer.Option("--http", help="Streamable HTTP instead of stdio")] = False,
    port: Annotated[int, typer.Option(help="HTTP port (0: any free port)")] = 8765,
    host: Annotated[str, typer.Option(help="Interface to bind (HTTP)")] = "127.0.0.1",
    seed: Annotated[
        int, typer.Option(help="Run seed: the addresses `reev run --seed N` gives epoch 0")
    ] = 0,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write results JSON (as reev run)")
    ] = None,
    log_dir: Annotated[
        Path, typer.Option(envvar="REEV_LOG_DIR", help="Session files go to LOG_DIR/sessions/")
    ] = Path("logs"),
    step_timeout: Annotated[
        float,
        typer.Option(min=0.01, help="Time limit of a step that declares no `timeout`, seconds"),
    ] = 600.0,
    profile: Annotated[Profile, typer.Option(help="Scoring profile")] = Profile.VERIFIED,
) -> None:
    """Serve one episode's tools and request over MCP; score it when the client finishes."""
    require_mcp("reev mcp serve")
    loaded = load([benchmark], strict=False)
    if len(loaded) != 1:
        err_console.print(f"{benchmark}: serve one benchmark file, not {len(loaded)}", style="red")
        raise typer.Exit(EXIT_INVALID)
    bench = loaded[0].benchmark
    code = asyncio.run(
        _serve(
            bench,
            http=http,
            host=host,
            port=port,
            seed=seed,
            log_dir=log_dir,
            step_timeout=step_timeout,
            profile=profile,
            report=lambda result: _report(result, output, seed=seed, profile=profile),
        )
    )
    raise typer.Exit(code)


async def _serve(
    bench: Benchmark,
    *,
    http: bool,
    host: str,
    port: int,
    seed: int,
    log_dir: Path,
    step_timeout: float,
    profile: Profile,
    report: Callable[[EpisodeResult], int],
) -> int:
    """Serve, run the episode, report it; the exit code."""
    from reev.mcp.bridge import EpisodeBridge
    from reev.mcp.served import ServedAgent
    from reev.mcp.server import build_server, serve_stdio, serving_http
    from reev.runner.episode import run_episode
    from reev.runner.suite import episode_seed
    from reev.telemetry.tracing import Tracing

    bridge = EpisodeBridge()
    server = build_server(bridge)
    tracing = Tracing(log_dir / "sessions")  # enhanced_otel_<id>.jsonl, as `reev run` writes

    async def episode() -> EpisodeResult:
        try:
            return await run_episode(
                bench,
                ServedAgent(bridge, name="mcp-http" if http else "mcp-stdio"),
                seed=episode_seed(seed, bench.id, 0),
                run_seed=seed,
                profile="reev" if profile is Profile.REEV else "verified",
                log_dir=log_dir,
                step_timeout_s=step_timeout,
                tracer=tracing.tracer,
            )
        finally:
            tracing.shutdown()

    if http:
        async with serving_http(server, bridge, host=host, port=port) as url:
            err_console.print(
                f"reev MCP server for {bench.id} (streamable HTTP): {url}\n"
                f"prompt `task`, tools of reev + `finish`; session files in {log_dir}/sessions",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            return report(await episode())
    serving = asyncio.create_task(serve_stdio(server, bridge))
    code = report(await episode())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(bridge.disconnected.wait(), timeout=DISCONNECT_WAIT_S)
    if not bridge.disconnected.is_set():
        # The client keeps the pipe open, and the SDK's reader of stdin is a thread blocked in
        # a read no cancellation reaches: the episode is scored and written, so the process
        # ends here, as the episode did.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    with contextlib.suppress(BaseException):
        await serving
    return code


def _report(result: EpisodeResult, output: Path | None, *, seed: int, profile: Profile) -> int:
    """The episode's line (and error) on stderr, the results JSON to `output`; the exit code."""
    from reev.cli.run import episode_line
    from reev.events import ExecutionStatus
    from reev.runner.suite import SuiteResult

    err_console.print(episode_line(result, 1, 1), markup=False, highlight=False, soft_wrap=True)
    if result.error:
        err_console.print(f"{result.benchmark_id}: {result.error}", style="red", markup=False)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        suite = SuiteResult(results=[result], duration_ms=result.duration_ms)
        results = suite.to_json(
            agent=result.agent,
            profile=str(profile),
            seed=seed,
            epochs=1,
            reev_version=__version__,
        )
        output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        err_console.print(f"results written to {output}", markup=False)
    return EXIT_OK if result.status is ExecutionStatus.COMPLETED else EXIT_RUN_FAILED

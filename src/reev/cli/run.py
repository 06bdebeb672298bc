"""`reev run`: the options (`run`), then the work (`execute`) on a typed `RunOptions`.

Exit codes (for CI): 0 every episode ran to its end, whatever the scores; 1 an episode failed
to run (agent error, crash); 2 invalid input (benchmark files, options); 3 `--fail-under` not met.
With `--events` (how `reev serve` runs an execution) each live event is one JSON line on stdout.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reev import __version__
from reev.cli.common import (
    EXIT_FAIL_UNDER,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_RUN_FAILED,
    account_source,
    chain_factory,
    console,
    err_console,
    load,
)
from reev.cli.options import ChainKind, ForkUrl, PathsArg, Profile, Snapshot, Tags
from reev.errors import InputError, exit_code_for

if TYPE_CHECKING:
    from reev.agents.base import Agent
    from reev.agents.budget import RunBudget
    from reev.events import EpisodeEvent
    from reev.runner.episode import EpisodeResult
    from reev.runner.suite import SuiteResult
    from reev.scoring import Profile as ScoringProfile
    from reev.spec.loader import LoadedBenchmark


@dataclass(frozen=True)
class RunOptions:
    """Everything `reev run` was asked to do, as typed values."""

    paths: list[Path]
    agent: str = "deterministic"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    max_turns: int = 10
    timeout: float = 60.0
    pricing: Path | None = None
    max_cost: float | None = None
    max_tokens: int | None = None
    step_timeout: float = 600.0
    profile: Profile = Profile.VERIFIED
    seed: int = 0
    epochs: int = 1
    max_concurrency: int = 1
    output: Path | None = None
    log_dir: Path = Path("logs")
    execution_id: str | None = None
    tags: str | None = None
    fail_under: float | None = None
    strict: bool = False
    verbose: bool = False
    trace: bool = True
    record: bool = False
    db: str | None = None
    events: bool = False
    chain: ChainKind = ChainKind.LITESVM
    rpc_url: str | None = None
    first_epoch: int = 0
    agent_cmd: str | None = None
    fork_url: str | None = None
    snapshot: Path | None = None
    agent_mcp: str | None = None
    mcp_servers: tuple[str, ...] = ()
    with_reev_tools: bool = False
    mcp_start_timeout: float = 30.0


def run(
    paths: PathsArg,
    agent: Annotated[
        str,
        typer.Option(
            "--agent",
            "-a",
            help="deterministic, a provider (glm-4.6, openai/<model>, …) or an http(s):// agent URL",
        ),
    ] = "deterministic",
    model: Annotated[str | None, typer.Option(help="Model name, overriding the provider's")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible base URL override")
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the API key")
    ] = None,
    max_turns: Annotated[int, typer.Option(min=1, help="Model calls per step, at most")] = 10,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Per-request timeout for model/agent calls, seconds")
    ] = 60.0,
    pricing: Annotated[
        Path | None,
        typer.Option(help="YAML/JSON prices: {model: {input, output}} USD per 1M tokens"),
    ] = None,
    max_cost: Annotated[
        float | None, typer.Option(help="Stop the run once this many USD are spent")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option(help="Stop the run once this many tokens are used")
    ] = None,
    step_timeout: Annotated[
        float,
        typer.Option(min=0.01, help="Time limit of a step that declares no `timeout`, seconds"),
    ] = 600.0,
    profile: Annotated[Profile, typer.Option(help="Scoring profile")] = Profile.VERIFIED,
    seed: Annotated[int, typer.Option(help="Run seed; keys and addresses derive from it")] = 0,
    epochs: Annotated[int, typer.Option(min=1, help="Runs per benchmark")] = 1,
    max_concurrency: Annotated[int, typer.Option(min=1, help="Episodes run at once")] = 1,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write results JSON")
    ] = None,
    log_dir: Annotated[
        Path, typer.Option(envvar="REEV_LOG_DIR", help="Session files go to LOG_DIR/sessions/")
    ] = Path("logs"),
    execution_id: Annotated[
        str | None, typer.Option(help="Execution id (one episode), or prefix (several)")
    ] = None,
    tags: Tags = None,
    fail_under: Annotated[
        float | None, typer.Option(help="Exit 3 when the mean score is below this")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Unknown benchmark fields are errors")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Print each episode as a tree")
    ] = False,
    trace: Annotated[
        bool,
        typer.Option(help="Write OpenTelemetry spans to LOG_DIR/sessions/enhanced_otel_<id>.jsonl"),
    ] = True,
    record: Annotated[
        bool, typer.Option(help="Store the results in the database (see --db)")
    ] = False,
    db: Annotated[
        str | None, typer.Option(envvar="REEV_DATABASE_URL", help="Database URL for --record")
    ] = None,
    events: Annotated[
        bool,
        typer.Option(
            hidden=True, help="Print live events as JSON lines on stdout (used by reev serve)"
        ),
    ] = False,
    chain: Annotated[
        ChainKind,
        typer.Option(
            help="litesvm (embedded) or rpc (a validator, surfpool or `reev chain serve`)"
        ),
    ] = ChainKind.LITESVM,
    rpc_url: Annotated[str | None, typer.Option(help="JSON-RPC URL for --chain rpc")] = None,
    first_epoch: Annotated[
        int,
        typer.Option(
            "--first-epoch",
            hidden=True,
            min=0,
            help="Index of the first epoch (used by reev serve)",
        ),
    ] = 0,
    agent_cmd: Annotated[
        str | None,
        typer.Option(
            "--agent-cmd",
            help="A program as the agent, talking JSON-RPC to the served chain (docs/rpc.md)",
        ),
    ] = None,
    fork_url: ForkUrl = None,
    snapshot: Snapshot = None,
    agent_mcp: Annotated[
        str | None,
        typer.Option(
            "--agent-mcp",
            help="An MCP-client program as the agent: {url} / REEV_MCP_URL is reev's MCP "
            "endpoint for the step (docs/mcp.md)",
        ),
    ] = None,
    mcp_server: Annotated[
        list[str] | None,
        typer.Option(
            "--mcp-server",
            help="An MCP tool server (stdio command) whose tools the --agent model uses instead "
            "of reev's; repeatable (docs/mcp.md)",
        ),
    ] = None,
    with_reev_tools: Annotated[
        bool, typer.Option(help="With --mcp-server: offer reev's tools beside the servers'")
    ] = False,
    mcp_start_timeout: Annotated[
        float,
        typer.Option(min=0.1, help="Seconds an --mcp-server has to start and list its tools"),
    ] = 30.0,
) -> None:
    """Run benchmarks with an agent on the embedded chain and print a results table."""
    execute(
        RunOptions(
            paths=paths,
            agent=agent,
            model=model,
            base_url=base_url,
            api_key_env=api_key_env,
            max_turns=max_turns,
            timeout=timeout,
            pricing=pricing,
            max_cost=max_cost,
            max_tokens=max_tokens,
            step_timeout=step_timeout,
            profile=profile,
            seed=seed,
            epochs=epochs,
            max_concurrency=max_concurrency,
            output=output,
            log_dir=log_dir,
            execution_id=execution_id,
            tags=tags,
            fail_under=fail_under,
            strict=strict,
            verbose=verbose,
            trace=trace,
            record=record,
            db=db,
            events=events,
            chain=chain,
            rpc_url=rpc_url,
            first_epoch=first_epoch,
            agent_cmd=agent_cmd,
            fork_url=fork_url,
            snapshot=snapshot,
            agent_mcp=agent_mcp,
            mcp_servers=tuple(mcp_server or ()),
            with_reev_tools=with_reev_tools,
            mcp_start_timeout=mcp_start_timeout,
        )
    )


def execute(opts: RunOptions) -> None:
    """Run the suite `opts` describe, report it, and exit with the code that says how it went."""
    from reev.agents import RunBudget
    from reev.runner import run_suite
    from reev.telemetry.tracing import NOOP_TRACER, Tracing, otlp_configured

    if opts.execution_id is not None:
        from reev.runner.episode import check_execution_id

        try:
            check_execution_id(opts.execution_id)
        except InputError as exc:
            err_console.print(str(exc), style="red", markup=False)
            raise typer.Exit(exit_code_for(exc)) from None
    budget = RunBudget(max_tokens=opts.max_tokens, max_cost_usd=opts.max_cost)
    agent_name, make_agent = _agent(opts, budget)
    loaded = load(opts.paths, opts.strict, opts.tags)
    benchmarks = [item.benchmark for item in loaded]

    tracing = (
        Tracing(opts.log_dir / "sessions", jsonl=opts.trace)
        if opts.trace or otlp_configured()
        else None
    )
    source = account_source(opts.fork_url, opts.snapshot, opts.chain)
    chains = chain_factory(opts.chain, opts.rpc_url, opts.max_concurrency, source)
    recorder = _recorder(opts.db, opts.model, loaded) if opts.record else None
    recorded: list[str] = []  # execution ids stored by --record
    total = len(benchmarks) * opts.epochs
    # Without a terminal there is no progress bar: one line per finished episode instead, so a
    # log or CI shows the run advancing (the events of `--events` are the server's own lines).
    line_per_episode = not opts.events and not err_console.is_terminal

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=opts.events or not err_console.is_terminal,
    ) as progress:
        task = progress.add_task("running", total=total)
        finished = 0

        def on_result(result: EpisodeResult) -> None:
            nonlocal finished
            finished += 1
            progress.update(task, advance=1, description=result.benchmark_id)
            if line_per_episode:
                err_console.print(
                    episode_line(result, finished, total), markup=False, soft_wrap=True
                )
            if recorder is not None and recorder(result):
                recorded.append(result.execution_id)

        suite = asyncio.run(
            run_suite(
                benchmarks,
                make_agent,
                seed=opts.seed,
                epochs=opts.epochs,
                first_epoch=opts.first_epoch,
                profile=_scoring_profile(opts.profile),
                execution_id=opts.execution_id,
                log_dir=opts.log_dir,
                max_concurrency=opts.max_concurrency,
                on_result=on_result,
                on_event=print_event if opts.events else None,
                stop=budget.exhausted,
                step_timeout_s=opts.step_timeout,
                tracer=tracing.tracer if tracing else NOOP_TRACER,
                chain_factory=chains,
            )
        )
    if tracing is not None:
        tracing.shutdown()  # flushes OTLP, closes the JSONL files
    if source is not None:
        err_console.print(
            f"snapshot {source.store.directory}: {len(source.store.addresses())} accounts"
            + (
                f", {source.fetched} fetched from {source.upstream.source} in this run"
                if source.upstream
                else " (replay, offline)"
            ),
            markup=False,
            soft_wrap=True,
        )
    summary = suite.summary()
    if opts.events:  # reev serve reads the session files; exit codes still say what happened
        raise typer.Exit(EXIT_RUN_FAILED if summary["failed"] or summary["cancelled"] else EXIT_OK)
    _report(opts, agent_name, suite, budget)
    if opts.record:
        from reev.store.engine import display_url

        console.print(
            f"{len(recorded)} execution{'' if len(recorded) == 1 else 's'} stored in "
            f"{display_url(opts.db)} (source cli)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if summary["failed"] or summary["cancelled"]:
        raise typer.Exit(EXIT_RUN_FAILED)
    if opts.fail_under is not None and summary["mean_score"] < opts.fail_under:
        err_console.print(
            f"mean score {summary['mean_score']:.3f} is below --fail-under {opts.fail_under}",
            style="red",
        )
        raise typer.Exit(EXIT_FAIL_UNDER)


def episode_line(result: EpisodeResult, finished: int, total: int) -> str:
    """`[2/5] 002-spl-transfer epoch 0 · Completed · score 1.000 · 0.41s`: a finished episode."""
    return (
        f"[{finished}/{total}] {result.benchmark_id} epoch {result.epoch} · {result.status} · "
        f"score {result.score:.3f} · {result.duration_ms / 1000:.2f}s"
    )


def print_event(event: EpisodeEvent) -> None:
    """One JSON line per event on stdout: what the execution manager reads (`parse_event`)."""
    print(json.dumps(event.wire()), flush=True)


def _scoring_profile(profile: Profile) -> ScoringProfile:
    return "reev" if profile is Profile.REEV else "verified"


def _agent(opts: RunOptions, budget: RunBudget) -> tuple[str, Callable[[], Agent]]:
    """The agent's name (as results show it) and a factory for one agent per episode."""
    from reev.agents import AgentOptions, ProviderError, agent_factory
    from reev.agents.pricing import PricingError

    options = AgentOptions(
        model=opts.model,
        base_url=opts.base_url,
        api_key_env=opts.api_key_env,
        max_turns=opts.max_turns,
        request_timeout_s=opts.timeout,
        pricing_file=opts.pricing,
        budget=budget,
    )
    try:
        make_agent = agent_factory(opts.agent, options)
    except (ProviderError, PricingError) as exc:
        err_console.print(str(exc), style="red", markup=False, soft_wrap=True)
        raise typer.Exit(exit_code_for(exc)) from None
    _check_agent_kinds(opts)
    limit = opts.step_timeout
    if opts.agent_mcp is not None or opts.mcp_servers:
        from reev.cli.mcp import require_mcp

        require_mcp("--agent-mcp" if opts.agent_mcp is not None else "--mcp-server")
    if opts.agent_mcp is not None:
        from reev.mcp.command import McpCommandAgent

        program = opts.agent_mcp
        return f"mcp:{program}", lambda: McpCommandAgent(program, time_limit_s=limit)
    if opts.mcp_servers:
        from reev.mcp.agent import McpToolsAgent

        servers, with_reev = list(opts.mcp_servers), opts.with_reev_tools
        started_in = opts.mcp_start_timeout
        return f"{opts.agent}+mcp", lambda: McpToolsAgent(
            make_agent(), servers, with_reev_tools=with_reev, start_timeout_s=started_in
        )
    if opts.agent_cmd is None:
        return opts.agent, make_agent
    from reev.agents.command import CommandAgent

    command = opts.agent_cmd
    return f"cmd:{command}", lambda: CommandAgent(command, time_limit_s=limit)


def _check_agent_kinds(opts: RunOptions) -> None:
    """One kind of agent per run: a program (--agent-cmd, --agent-mcp) or a model, whose tools
    may come from MCP servers. A contradiction is an input error (exit 2), said up front."""
    problem = None
    if opts.agent_cmd is not None and opts.agent_mcp is not None:
        problem = "--agent-cmd and --agent-mcp each name the agent: give one"
    elif opts.mcp_servers and (opts.agent_cmd is not None or opts.agent_mcp is not None):
        problem = "--mcp-server gives tools to a model (--agent PROVIDER), not to a program"
    elif opts.mcp_servers and (
        opts.agent == "deterministic" or opts.agent.startswith(("http://", "https://"))
    ):
        problem = (
            f"--mcp-server gives tools to a model (--agent PROVIDER); {opts.agent} calls no tools "
            "of a server"
        )
    elif opts.with_reev_tools and not opts.mcp_servers:
        problem = "--with-reev-tools goes with --mcp-server"
    if problem is not None:
        err_console.print(problem, style="red", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID)


def _report(opts: RunOptions, agent: str, suite: SuiteResult, budget: RunBudget) -> None:
    """The results table and totals on the terminal, errors on stderr, JSON to `--output`."""
    from reev.report.render import results_table, session_tree
    from reev.runner import read_session

    summary = suite.summary()
    if opts.verbose:
        for result in suite.results:
            if result.session_file:
                console.print(session_tree(read_session(result.session_file)))
    title = f"reev · agent={agent} · profile={opts.profile} · seed={opts.seed}"
    console.print(results_table(suite.results, title=title))
    console.print(
        f"{summary['episodes']} episodes · {summary['passed']} passed · "
        f"{summary['failed']} failed to run · mean score {summary['mean_score']:.3f} · "
        f"{summary['duration_ms'] / 1000:.2f}s"
    )
    epochs = opts.epochs
    if epochs > 1:
        console.print(
            f"pass@1 {summary['pass@1']:.3f} · pass@{epochs} {summary.get(f'pass@{epochs}', 0):.3f} · "
            f"pass^{epochs} {summary.get(f'pass^{epochs}', 0):.3f}"
        )
    usage = summary["usage"]
    if usage["model_calls"]:
        console.print(
            f"{usage['model_calls']} model calls · {usage['input_tokens']} input + "
            f"{usage['output_tokens']} output tokens · ${usage['cost_usd']:.4f}"
        )
    if summary["cancelled"]:
        err_console.print(
            f"{summary['cancelled']} episodes not started: {budget.exhausted()}", style="yellow"
        )
    for result in suite.results:
        if result.error:
            err_console.print(
                f"{result.benchmark_id}: {result.error}", style="red", markup=False, soft_wrap=True
            )
    if opts.output is not None:
        opts.output.parent.mkdir(parents=True, exist_ok=True)
        results = suite.to_json(
            agent=agent,
            profile=str(opts.profile),
            seed=opts.seed,
            epochs=epochs,
            reev_version=__version__,
        )
        opts.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        console.print(f"results written to {opts.output}")


def _recorder(
    db: str | None, model: str | None, loaded: list[LoadedBenchmark]
) -> Callable[[EpisodeResult], bool]:
    from reev.store.recording import episode_recorder, open_store, store_benchmarks

    sessions = open_store(db)
    store_benchmarks(sessions, loaded)
    return episode_recorder(sessions, model=model, source="cli")

"""`reev run`: the options (`run`), then the work (`execute`) on a typed `RunOptions`.

Exit codes (for CI): 0 every episode ran to its end, whatever the scores; 1 an episode failed
to run (agent error, crash); 2 invalid input (benchmark files, options); 3 `--fail-under` not met.
With `--events` (how `reev serve` runs an execution) each live event is one JSON line on stdout.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from enum import StrEnum
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
    fail,
    load,
    require_fork_source,
)
from reev.cli.options import (
    CacheDir,
    CacheMaxAge,
    CacheMaxMb,
    ChainKind,
    Executor,
    ExecutorOpt,
    ForkUrl,
    Profile,
    RayAddress,
    RaySharedDir,
    Record,
    RecordDb,
    Snapshot,
    Tags,
)
from reev.errors import InputError, exit_code_for
from reev.events import ExecutionStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from reev.agents.base import Agent
    from reev.agents.budget import RunBudget
    from reev.agents.cache import ResponseCache
    from reev.agents.providers import ModelEndpoint
    from reev.chain.protocol import Chain
    from reev.events import EpisodeEvent
    from reev.runner.episode import EpisodeResult
    from reev.runner.ray_executor import RayOptions
    from reev.runner.suite import SuiteResult
    from reev.runs import RunDir
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
    workers: str = "auto"
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
    name: str | None = None
    resume: str | None = None
    retry: bool = False  # with resume: run only the Failed and Timeout episodes (`reev retry`)
    force: bool = False
    cache: bool = False
    cache_dir: Path | None = None
    cache_max_mb: int = 512
    cache_max_age_h: float | None = None
    agent_mcp: str | None = None
    mcp_servers: tuple[str, ...] = ()
    with_reev_tools: bool = False
    mcp_start_timeout: float = 30.0
    executor: Executor = Executor.LOCAL
    ray_address: str | None = None
    ray_shared_dir: bool = False
    explicit: frozenset[str] = frozenset()  # the options given on the command line


# The options run.json keeps for --resume (the rest belong to one invocation: where output
# goes, whether to record, how verbose). URLs among them are stored redacted.
STORED_OPTIONS = (
    "agent",
    "model",
    "base_url",
    "api_key_env",
    "max_turns",
    "timeout",
    "pricing",
    "max_cost",
    "max_tokens",
    "step_timeout",
    "profile",
    "seed",
    "epochs",
    "max_concurrency",
    "tags",
    "strict",
    "trace",
    "chain",
    "rpc_url",
    "first_epoch",
    "agent_cmd",
    "fork_url",
    "snapshot",
    "execution_id",
)
# Connection details a resumed run may be given again: run.json stores URLs without their
# credentials, so a key-bearing URL must be passed anew. Everything else comes from run.json.
RESUME_OVERRIDES = frozenset({"base_url", "rpc_url", "fork_url", "api_key_env"})
URL_OPTIONS = ("base_url", "rpc_url", "fork_url")
RunPaths = Annotated[
    list[Path] | None,
    typer.Argument(help="Benchmark files or folders (none with --resume)", show_default=False),
]


def run(
    ctx: typer.Context,
    paths: RunPaths = None,
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
    workers: Annotated[
        str,
        typer.Option(
            help="Worker processes sharing --max-concurrency: N, or auto (1 unless "
            "--max-concurrency asks for more than one process can drive; docs/scale.md)"
        ),
    ] = "auto",
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
    record: Record = False,
    db: RecordDb = None,
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
    name: Annotated[
        str | None, typer.Option(help="A name for the run (`reev runs`, --resume NAME, show NAME)")
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            help="Continue a run (latest, its name or id) with its configuration: only the "
            "episodes it lacks run"
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="With --resume: run even if a benchmark file changed")
    ] = False,
    cache: Annotated[
        bool,
        typer.Option(
            help="Answer repeated model requests from the response cache (also when "
            "REEV_CACHE_DIR is set)"
        ),
    ] = False,
    cache_dir: CacheDir = None,
    cache_max_mb: CacheMaxMb = 512,
    cache_max_age: CacheMaxAge = None,
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
    executor: ExecutorOpt = Executor.LOCAL,
    ray_address: RayAddress = None,
    ray_shared_dir: RaySharedDir = False,
) -> None:
    """Run benchmarks with an agent on the embedded chain and print a results table."""
    explicit = frozenset(key for key in ctx.params if _given(ctx, key))
    execute(
        RunOptions(
            paths=paths or [],
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
            workers=workers,
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
            name=name,
            resume=resume,
            force=force,
            cache=cache or (cache_dir is not None and "cache" not in explicit),
            cache_dir=cache_dir,
            cache_max_mb=cache_max_mb,
            cache_max_age_h=cache_max_age,
            explicit=explicit,
            agent_mcp=agent_mcp,
            mcp_servers=tuple(mcp_server or ()),
            with_reev_tools=with_reev_tools,
            mcp_start_timeout=mcp_start_timeout,
            executor=executor,
            ray_address=ray_address,
            ray_shared_dir=ray_shared_dir,
        )
    )


def _given(ctx: typer.Context, key: str) -> bool:
    """The option was given (command line or environment), not left at its default. By the
    source's name: Typer ships its own copy of Click, so Click's enum is not the one returned."""
    source = ctx.get_parameter_source(key)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def execute(opts: RunOptions) -> None:
    """Run the suite `opts` describe, report it, and exit with the code that says how it went.

    Every run but a `--events` one (an execution of `reev serve`, which owns its records) has a
    run directory (reev.runs): created here, or resumed from `--resume`, and locked while this
    process runs it (the lock goes however the command ends)."""
    with ExitStack() as cleanup:
        _execute(opts, cleanup)


def _execute(opts: RunOptions, cleanup: ExitStack) -> None:
    from reev.agents import RunBudget
    from reev.runner import run_suite
    from reev.runner.suite import SuiteResult
    from reev.runs import in_plan_order, kept_episodes, not_run, result_from_session
    from reev.telemetry.tracing import NOOP_TRACER, Tracing, otlp_configured

    resumed: RunDir | None = None
    if opts.resume is not None:
        resumed, opts = _resumed(opts)
    elif not opts.paths:
        fail("give benchmark files or folders to run, or --resume RUN")
    from reev.runs import RUN_NAME

    if opts.name is not None and (not RUN_NAME.fullmatch(opts.name) or opts.name == "latest"):
        fail(f"invalid run name {opts.name!r}: letters, digits and . _ - (at most 64), not latest")
    if opts.execution_id is not None:
        from reev.runner.episode import check_execution_id

        try:
            check_execution_id(opts.execution_id)
        except InputError as exc:
            err_console.print(str(exc), style="red", markup=False)
            raise typer.Exit(exit_code_for(exc)) from None
    budget = RunBudget(max_tokens=opts.max_tokens, max_cost_usd=opts.max_cost)
    agent_name, make_agent, endpoint = _agent(opts, budget)
    loaded = load(opts.paths, opts.strict, opts.tags)
    benchmarks = [item.benchmark for item in loaded]
    tracing = (
        Tracing(opts.log_dir / "sessions", jsonl=opts.trace)
        if opts.trace or otlp_configured()
        else None
    )
    source = account_source(opts.fork_url, opts.snapshot, opts.chain)
    if opts.chain is ChainKind.LITESVM:  # an RPC endpoint may well be a fork of mainnet
        require_fork_source(loaded, source)
    chains = chain_factory(opts.chain, opts.rpc_url, opts.max_concurrency, source)
    ray = _ray_options(opts, source, make_agent, chains)  # refused before the run directory
    if ray is not None:  # connected before it too: an unreachable cluster leaves no run behind
        from reev.runner.ray_executor import connect, import_ray

        try:
            if connect(ray):
                cleanup.callback(import_ray().shutdown)
        except InputError as exc:
            fail(str(exc))
    store = _store(opts.db, loaded) if opts.record else None
    run_dir = resumed
    if run_dir is None and not opts.events:
        run_dir = _new_run(opts, loaded, endpoint)
    if run_dir is not None:
        from reev.runs import RunBusy

        try:
            run_dir.lock()
        except RunBusy as exc:
            fail(str(exc))
        cleanup.callback(run_dir.unlock)
    if resumed is not None:  # run.json says it runs from now on
        resumed.save_config(resumed.config)
    plan = (
        run_dir.config.plan()
        if run_dir is not None
        else [
            (b.id, e)
            for b in benchmarks
            for e in range(opts.first_epoch, opts.first_epoch + opts.epochs)
        ]
    )
    expected = {b.id: b.expected_outcome for b in benchmarks}
    kept = (
        {
            key: result_from_session(
                session, run_dir.session_file(*key), expected.get(key[0], "pass")
            )
            for key, session in kept_episodes(run_dir, retry=opts.retry).items()
        }
        if resumed is not None and run_dir is not None
        else {}
    )
    if opts.retry and run_dir is not None:  # only what failed or timed out runs again
        from reev.runs import finished_episodes

        wanted = {key for key in finished_episodes(run_dir) if key not in kept}
    else:
        wanted = {key for key in plan if key not in kept}
    recorder = None
    recorded: list[str] = []  # execution ids stored by --record
    if store is not None:
        from reev.store.recording import episode_recorder, unrecorded

        run_id = run_dir.config.run_id if run_dir is not None else None
        if run_dir is not None:
            _record_run(store, run_dir)
        recorder = episode_recorder(store, model=opts.model, source="cli", run_id=run_id)
        # A resumed or retried run records the episodes it keeps that the database lacks (a
        # run started without --record, say): the database run is the whole run.
        missing = unrecorded(store, (r.execution_id for r in kept.values() if r.execution_id))
        for result in kept.values():
            if result.execution_id in missing and recorder(result):
                recorded.append(result.execution_id)
    if run_dir is not None:
        err_console.print(
            f"run {run_dir.config.run_id}: {run_dir.path} · {len(wanted)} of {len(plan)} "
            "episodes to run",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )

    processes = _worker_count(opts, source, len(wanted)) if ray is None else 1
    copies_budget = processes > 1 or ray is not None
    fresh: list[EpisodeResult] = []  # the episodes this invocation ran
    total = len(wanted)
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
            if copies_budget:  # the workers' (tasks') agents spent it on copies of the budget
                budget.add(
                    result.usage.input_tokens + result.usage.output_tokens, result.usage.cost_usd
                )
            fresh.append(result)
            progress.update(task, advance=1, description=result.benchmark_id)
            if line_per_episode:
                err_console.print(
                    episode_line(result, finished, total), markup=False, soft_wrap=True
                )
            if recorder is not None and recorder(result):
                recorded.append(result.execution_id)

        started = time.perf_counter()
        interrupted = False
        try:
            asyncio.run(
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
                    workers=processes,
                    trace_jsonl=opts.trace,
                    on_result=on_result,
                    on_event=print_event if opts.events else None,
                    stop=budget.exhausted,
                    step_timeout_s=opts.step_timeout,
                    tracer=tracing.tracer if tracing else NOOP_TRACER,
                    chain_factory=chains,
                    only=lambda benchmark_id, epoch: (benchmark_id, epoch) in wanted,
                    session_file_for=run_dir.session_file if run_dir is not None else None,
                    ray=ray,
                )
            )
        except KeyboardInterrupt:  # SIGINT: asyncio.run cancelled the episodes still running
            interrupted = True
    if run_dir is not None:
        results = [*kept.values(), *fresh]
        done = {(r.benchmark_id, r.epoch) for r in results}
        reason = "interrupted: resume the run" if interrupted else "not run: resume the run"
        if opts.retry:  # a retry leaves what never ran as it was: not run
            reason = "not run: resume the run (reev run --resume)"
        results += [
            not_run(b, e, opts.seed, agent_name, str(opts.profile), reason)
            for b, e in plan
            if (b, e) not in done
        ]
        results = in_plan_order(plan, results)
    else:
        results = in_plan_order(plan, fresh)
    suite = SuiteResult(results=results, duration_ms=(time.perf_counter() - started) * 1000)
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
    if run_dir is not None:
        _finish_run(run_dir, opts, agent_name, suite, interrupted)
        if store is not None:
            _record_run(store, run_dir)
    _report(opts, agent_name, suite, budget)
    if run_dir is not None:
        name = f" ({run_dir.config.name})" if run_dir.config.name else ""
        console.print(
            f"run {run_dir.config.run_id}{name}: {run_dir.path}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if interrupted:
        ref = run_dir.config.name or run_dir.config.run_id if run_dir is not None else None
        fail(
            f"interrupted: {len(fresh)} of {len(wanted)} episodes finished"
            + (f"; continue with: reev run --resume {ref}" if ref else ""),
            EXIT_RUN_FAILED,
        )
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


def _worker_count(opts: RunOptions, source: object, episodes: int) -> int:
    """`--workers`: a number, or auto. Auto stays in one process unless --max-concurrency asks
    for more than one process can drive: the deterministic agent is CPU-bound (a process per
    slot, up to the cores), an LLM agent waits on its model (IO_SLOTS_PER_PROCESS slots per
    process). Auto also stays in one process where workers would change what a run means or
    could not share state: a fork (one snapshot), `--chain rpc` (one remote chain), the
    response cache, token or cost budgets (enforced per process), `reev serve`'s executions."""
    from reev.runner.workers import IO_SLOTS_PER_PROCESS, cpu_count

    if opts.workers != "auto":
        try:
            count = int(opts.workers)
        except ValueError:
            fail(f"--workers must be a number or auto, not {opts.workers!r}")
        if count < 1:
            fail("--workers must be at least 1")
        return count
    if (
        opts.max_concurrency <= 1
        or opts.events
        or opts.mcp_servers  # an MCP tool-server agent wraps the model's agent in-process
        or source is not None
        or opts.chain is not ChainKind.LITESVM
        or opts.cache
        or opts.max_cost is not None
        or opts.max_tokens is not None
    ):
        return 1
    per_process = (
        1 if opts.agent == "deterministic" and opts.agent_cmd is None else IO_SLOTS_PER_PROCESS
    )
    wanted = -(-opts.max_concurrency // per_process)
    return max(1, min(wanted, cpu_count(), episodes))


def _ray_options(
    opts: RunOptions,
    source: object,
    make_agent: Callable[[], Agent],
    chains: Callable[[], Chain],
) -> RayOptions | None:
    """`--executor ray`'s settings, or None for a local run. What cannot go to a cluster is
    refused here, before any run directory exists (exit 2): a fork (one snapshot this machine
    records into), `--chain rpc` (one remote chain reset per episode), `--workers` (Ray has its
    own), and an agent or chain factory that does not pickle (an `--mcp-server` agent)."""
    if opts.executor is Executor.LOCAL:
        for key in ("ray_address", "ray_shared_dir"):
            if key in opts.explicit:
                fail(f"--{key.replace('_', '-')} goes with --executor ray")
        return None
    from reev.runner.ray_executor import RayOptions, check_sendable, import_ray
    from reev.runner.workers import IO_SLOTS_PER_PROCESS

    try:
        import_ray()
    except InputError as exc:
        fail(str(exc))
    problem = None
    if source is not None:
        problem = "a fork (--fork-url/--snapshot) records into one snapshot on this machine"
    elif opts.chain is not ChainKind.LITESVM:
        problem = "--chain rpc resets one remote chain per episode"
    elif "workers" in opts.explicit:
        problem = "--workers sizes the local process pool; Ray places the tasks itself"
    if problem is not None:
        fail(f"--executor ray: {problem}; run it with --executor local")
    try:
        check_sendable("the agent", make_agent)
        check_sendable("the chain", chains)
    except InputError as exc:
        fail(f"--executor ray: {exc}")
    cpu_bound = opts.agent == "deterministic" and opts.agent_cmd is None
    return RayOptions(
        address=opts.ray_address,
        shared_dir=opts.ray_shared_dir,
        # A Ray worker process holds one CPU and runs one CPU-bound episode at a time, or
        # IO_SLOTS_PER_PROCESS of an agent that waits on its model, as `--workers auto` packs.
        slots=1 if cpu_bound else IO_SLOTS_PER_PROCESS,
        env_names=(opts.api_key_env,) if opts.api_key_env else (),
    )


def _scoring_profile(profile: Profile) -> ScoringProfile:
    return "reev" if profile is Profile.REEV else "verified"


def _agent(
    opts: RunOptions, budget: RunBudget
) -> tuple[str, Callable[[], Agent], ModelEndpoint | None]:
    """The agent's name (as results show it), a factory for one agent per episode, and the
    model endpoint it calls (None for an agent that calls no model). An LLM agent's endpoint is
    checked once here, so a dead one stops the run before any episode (unless the response
    cache may answer without it, or `reev serve` runs the episode)."""
    from reev.agents import AgentOptions, ProviderError, agent_factory
    from reev.agents.pricing import PricingError
    from reev.agents.registry import llm_endpoint

    cache = _cache(opts)
    options = AgentOptions(
        model=opts.model,
        base_url=opts.base_url,
        api_key_env=opts.api_key_env,
        max_turns=opts.max_turns,
        request_timeout_s=opts.timeout,
        pricing_file=opts.pricing,
        budget=budget,
        cache=cache,
    )
    try:
        make_agent = agent_factory(opts.agent, options)
        endpoint = llm_endpoint(opts.agent, options) if opts.agent_cmd is None else None
        if endpoint is not None and cache is None and not opts.events:
            from reev.agents.preflight import PREFLIGHT_TIMEOUT_S, check_endpoint

            check_endpoint(endpoint, min(PREFLIGHT_TIMEOUT_S, opts.timeout))
    except (ProviderError, PricingError, InputError) as exc:
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
        return (
            f"mcp:{program}",
            functools.partial(McpCommandAgent, program, time_limit_s=limit),
            None,
        )
    if opts.mcp_servers:
        from reev.mcp.agent import McpToolsAgent

        servers, with_reev = list(opts.mcp_servers), opts.with_reev_tools
        started_in = opts.mcp_start_timeout
        return (
            f"{opts.agent}+mcp",
            lambda: McpToolsAgent(
                make_agent(), servers, with_reev_tools=with_reev, start_timeout_s=started_in
            ),
            endpoint,
        )
    if opts.agent_cmd is None:
        return opts.agent, make_agent, endpoint
    from reev.agents.command import CommandAgent

    command, limit = opts.agent_cmd, opts.step_timeout
    return f"cmd:{command}", functools.partial(CommandAgent, command, time_limit_s=limit), None


def _cache(opts: RunOptions) -> ResponseCache | None:
    """The response cache of `--cache`: `--cache-dir`/REEV_CACHE_DIR, else LOG_DIR/cache."""
    if not opts.cache:
        return None
    from reev.agents.cache import ResponseCache

    return ResponseCache(
        opts.cache_dir or opts.log_dir / "cache",
        max_bytes=opts.cache_max_mb * 1024 * 1024,
        max_age_s=opts.cache_max_age_h * 3600 if opts.cache_max_age_h else None,
    )


def _stored_value(key: str, value: object) -> object:
    """An option as run.json keeps it: plain JSON, URLs without their credentials."""
    from reev.runs import redact_url

    if key in URL_OPTIONS and isinstance(value, str):
        return redact_url(value)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Path):
        return str(value.resolve())
    return value


def _restored_value(key: str, value: object) -> object:
    """The inverse of `_stored_value` (URLs stay as stored: pass a key-bearing one again)."""
    if value is None:
        return None
    if key == "profile":
        return Profile(str(value))
    if key == "chain":
        return ChainKind(str(value))
    if key in ("pricing", "snapshot"):
        return Path(str(value))
    return value


def _new_run(
    opts: RunOptions, loaded: list[LoadedBenchmark], endpoint: ModelEndpoint | None
) -> RunDir:
    """Create the run directory and its run.json before the first episode."""
    from reev.runs import (
        BenchmarkFile,
        RunConfig,
        create_run,
        file_sha256,
        new_run_id,
        now_iso,
        url_host,
    )

    host = url_host(endpoint.base_url) if endpoint is not None else url_host(opts.agent)
    config = RunConfig(
        run_id=new_run_id(),
        name=opts.name,
        created_at=now_iso(),
        reev_version=__version__,
        agent=opts.agent if opts.agent_cmd is None else f"cmd:{opts.agent_cmd}",
        model=endpoint.model if endpoint is not None else opts.model,
        provider=endpoint.provider if endpoint is not None else None,
        endpoint_host=host,
        seed=opts.seed,
        profile=str(opts.profile),
        epochs=opts.epochs,
        first_epoch=opts.first_epoch,
        max_concurrency=opts.max_concurrency,
        benchmarks=[
            BenchmarkFile(
                id=item.benchmark.id, path=str(item.path.resolve()), sha256=file_sha256(item.path)
            )
            for item in loaded
        ],
        options={key: _stored_value(key, getattr(opts, key)) for key in STORED_OPTIONS},
    )
    return create_run(opts.log_dir, config)


def _resumed(opts: RunOptions) -> tuple[RunDir, RunOptions]:
    """The run `--resume` names and the options it ran with (connection details may be given
    again); refuses changed benchmark files unless `--force`. The run's config is updated in
    memory (status, resumes, hashes after --force); `execute` saves it once the run starts."""
    from reev.runs import RunNotFound, file_sha256, now_iso, resolve_run

    assert opts.resume is not None
    if opts.paths:
        fail("--resume takes the run's benchmarks from its run.json: give no paths")
    try:
        run_dir = resolve_run(opts.resume, opts.log_dir)
    except RunNotFound as exc:
        fail(f"{opts.resume}: {exc}" if opts.resume not in str(exc) else str(exc))
    config = run_dir.config
    given = sorted(
        f"--{key.replace('_', '-')}"
        for key in opts.explicit & (set(STORED_OPTIONS) | {"name"})
        if key not in RESUME_OVERRIDES
    )
    if given:
        fail(
            f"--resume runs {config.run_id} with its own configuration (run.json): "
            f"drop {', '.join(given)}"
        )
    for bench in config.benchmarks:
        path = Path(bench.path)
        if not path.is_file():
            fail(f"run {config.run_id}: benchmark {bench.id}'s file {path} is gone")
        now = file_sha256(path)
        if now != bench.sha256 and not opts.force:
            fail(
                f"run {config.run_id}: benchmark {bench.id} changed since the run started "
                f"({path}: sha256 {bench.sha256[:12]}… then, {now[:12]}… now); "
                "start a new run, or resume with --force to run the changed file"
            )
    stored = config.options
    values = {
        key: _restored_value(key, stored[key])
        for key in STORED_OPTIONS
        if key in stored and not (key in RESUME_OVERRIDES and key in opts.explicit)
    }
    config.resumes.append(now_iso())
    config.status = "running"
    config.finished_at = None
    if opts.force:  # the run now stands for the files as they are
        for bench in config.benchmarks:
            bench.sha256 = file_sha256(Path(bench.path))
    values.pop("tags", None)  # the stored benchmark files were already chosen by the tags
    restored = replace(
        opts,
        paths=[Path(b.path) for b in config.benchmarks],
        name=config.name,
        tags=None,
        **values,  # type: ignore[arg-type]  # each value is restored to its field's type
    )
    return run_dir, restored


def _finish_run(
    run_dir: RunDir, opts: RunOptions, agent: str, suite: SuiteResult, interrupted: bool
) -> None:
    """results.json (the shape of `--output`) and the run's final status in run.json."""
    from reev.runs import now_iso

    run_dir.write_results(_results_json(opts, agent, suite, run_dir))
    config = run_dir.config
    config.status = "interrupted" if interrupted else "finished"
    config.finished_at = now_iso()
    run_dir.save_config(config)


def _results_json(
    opts: RunOptions, agent: str, suite: SuiteResult, run_dir: RunDir | None
) -> dict[str, object]:
    meta: dict[str, object] = {}
    if run_dir is not None:
        meta = {"run_id": run_dir.config.run_id, "run_name": run_dir.config.name}
    return suite.to_json(
        agent=agent,
        profile=str(opts.profile),
        seed=opts.seed,
        epochs=opts.epochs,
        reev_version=__version__,
        **meta,
    )


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
        reason = budget.exhausted() or "interrupted, or left for --resume"
        err_console.print(f"{summary['cancelled']} episodes not started: {reason}", style="yellow")
    for result in suite.results:
        # An episode never started has no error of its own: the line above counts them.
        if result.error and (result.execution_id or result.status is not ExecutionStatus.CANCELLED):
            err_console.print(
                f"{result.benchmark_id}: {result.error}", style="red", markup=False, soft_wrap=True
            )
    if opts.output is not None:
        opts.output.parent.mkdir(parents=True, exist_ok=True)
        results = _results_json(opts, agent, suite, None)
        opts.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        console.print(f"results written to {opts.output}")


def _store(db: str | None, loaded: list[LoadedBenchmark]) -> sessionmaker[Session]:
    """The database of --record (migrated), knowing the run's benchmarks."""
    from reev.store.recording import open_store, store_benchmarks

    sessions = open_store(db)
    store_benchmarks(sessions, loaded)
    return sessions


def _record_run(store: sessionmaker[Session], run_dir: RunDir) -> None:
    """The run's row in the database, as run.json says now."""
    from datetime import datetime

    from reev.store.recording import record_run

    config = run_dir.config
    record_run(
        store,
        run_id=config.run_id,
        name=config.name,
        agent=config.agent,
        model=config.model,
        profile=config.profile,
        seed=config.seed,
        epochs=config.epochs,
        status=config.status,
        config=config.model_dump(mode="json"),
        created_at=datetime.fromisoformat(config.created_at),
        finished_at=datetime.fromisoformat(config.finished_at) if config.finished_at else None,
    )

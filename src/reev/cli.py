"""The `reev` command.

Exit codes (for CI): 0 every episode ran to its end, whatever the scores; 1 an episode failed
to run (agent error, crash); 2 invalid input (benchmark files, options); 3 `--fail-under` not met.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from reev import __version__

if TYPE_CHECKING:  # imported lazily at run time: `reev --help` stays fast
    from reev.chain.fork import AccountSource
    from reev.chain.protocol import Chain
    from reev.events import EpisodeEvent

app = typer.Typer(
    name="reev",
    help="Reproducible evaluation of LLM agents that act on Solana.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

EXIT_OK, EXIT_RUN_FAILED, EXIT_INVALID, EXIT_FAIL_UNDER = 0, 1, 2, 3

PathsArg = Annotated[list[Path], typer.Argument(help="Benchmark files or folders")]


def _print_diagnostics(diagnostics: list) -> None:
    for d in diagnostics:
        style = "yellow" if d.severity == "warning" else "red"
        err_console.print(str(d), style=style, markup=False, highlight=False, soft_wrap=True)


def _load(paths: list[Path], strict: bool, tags: str | None = None) -> list:
    from reev.spec import load_many

    loaded, errors = load_many(paths, strict=strict)
    _print_diagnostics([w for item in loaded for w in item.warnings])
    if errors:
        _print_diagnostics(errors)
        raise typer.Exit(EXIT_INVALID)
    if tags:
        wanted = {t.strip() for t in tags.split(",") if t.strip()}
        loaded = [item for item in loaded if wanted <= set(item.benchmark.tags)]
    if not loaded:
        err_console.print("no benchmarks found", style="red")
        raise typer.Exit(EXIT_INVALID)
    return loaded


@app.callback(invoke_without_command=True)
def main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit")] = False,
) -> None:
    if version:
        console.print(f"reev {__version__}")
        raise typer.Exit()


FORK_URL_OPTION = typer.Option(
    "--fork-url",
    help="Upstream RPC: accounts the embedded chain lacks are fetched from it and recorded in --snapshot",
)
SNAPSHOT_OPTION = typer.Option(
    "--snapshot", help="Snapshot directory: recorded with --fork-url, replayed offline without it"
)


@app.command()
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
    profile: Annotated[str, typer.Option(help="Scoring profile: verified or reev")] = "verified",
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
    tags: Annotated[
        str | None, typer.Option(help="Only benchmarks with all these tags (comma-separated)")
    ] = None,
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
        str,
        typer.Option(
            help="litesvm (embedded) or rpc (a validator, surfpool or `reev chain serve`)"
        ),
    ] = "litesvm",
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
    fork_url: Annotated[str | None, FORK_URL_OPTION] = None,
    snapshot: Annotated[Path | None, SNAPSHOT_OPTION] = None,
) -> None:
    """Run benchmarks with an agent on the embedded chain and print a results table."""
    from reev.agents import AgentOptions, ProviderError, RunBudget, agent_factory
    from reev.agents.pricing import PricingError
    from reev.report.render import results_table, session_tree
    from reev.runner import read_session, run_suite
    from reev.scoring import PROFILES

    if profile not in PROFILES:
        err_console.print(
            f"unknown profile {profile!r}; choose one of: {', '.join(PROFILES)}", style="red"
        )
        raise typer.Exit(EXIT_INVALID)
    if execution_id is not None:
        from reev.runner.episode import check_execution_id

        try:
            check_execution_id(execution_id)
        except ValueError as exc:
            err_console.print(str(exc), style="red", markup=False)
            raise typer.Exit(EXIT_INVALID)
    budget = RunBudget(max_tokens=max_tokens, max_cost_usd=max_cost)
    options = AgentOptions(
        model=model,
        base_url=base_url,
        api_key_env=api_key_env,
        max_turns=max_turns,
        request_timeout_s=timeout,
        pricing_file=pricing,
        budget=budget,
    )
    try:
        make_agent = agent_factory(agent, options)
    except (ProviderError, PricingError) as exc:
        err_console.print(str(exc), style="red", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID)
    if agent_cmd is not None:
        from reev.agents.command import CommandAgent

        agent = f"cmd:{agent_cmd}"
        make_agent = lambda: CommandAgent(agent_cmd, time_limit_s=step_timeout)  # noqa: E731
    loaded = _load(paths, strict, tags)
    benchmarks = [item.benchmark for item in loaded]
    from reev.telemetry.tracing import NOOP_TRACER, Tracing, otlp_configured

    tracing = Tracing(log_dir / "sessions") if trace or otlp_configured() else None
    if tracing is not None and not trace:
        tracing = Tracing(log_dir / "sessions", jsonl=False)

    source = _account_source(fork_url, snapshot, chain)
    chain_factory = _chain_factory(chain, rpc_url, max_concurrency, source)
    recorder = _recorder(db, model, loaded) if record else None
    event_sink = _print_event if events else None

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=events or not err_console.is_terminal,
    ) as progress:
        task = progress.add_task("running", total=len(benchmarks) * epochs)

        def on_result(result) -> None:  # type: ignore[no-untyped-def]
            progress.update(task, advance=1, description=result.benchmark_id)
            if recorder is not None:
                recorder(result)

        suite = asyncio.run(
            run_suite(
                benchmarks,
                make_agent,
                seed=seed,
                epochs=epochs,
                first_epoch=first_epoch,
                profile=profile,  # type: ignore[arg-type]
                execution_id=execution_id,
                log_dir=log_dir,
                max_concurrency=max_concurrency,
                on_result=on_result,
                on_event=event_sink,
                stop=budget.exhausted,
                step_timeout_s=step_timeout,
                tracer=tracing.tracer if tracing else NOOP_TRACER,
                chain_factory=chain_factory,
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
    if events:  # reev serve reads the session files; exit codes still say what happened
        raise typer.Exit(EXIT_RUN_FAILED if summary["failed"] or summary["cancelled"] else EXIT_OK)
    if verbose:
        for result in suite.results:
            if result.session_file:
                console.print(session_tree(read_session(result.session_file)))
    console.print(
        results_table(
            suite.results, title=f"reev · agent={agent} · profile={profile} · seed={seed}"
        )
    )
    console.print(
        f"{summary['episodes']} episodes · {summary['passed']} passed · "
        f"{summary['failed']} failed to run · mean score {summary['mean_score']:.3f} · "
        f"{summary['duration_ms'] / 1000:.2f}s"
    )
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
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(
            json.dumps(
                suite.to_json(
                    agent=agent, profile=profile, seed=seed, epochs=epochs, reev_version=__version__
                ),
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        console.print(f"results written to {output}")
    if summary["failed"] or summary["cancelled"]:
        raise typer.Exit(EXIT_RUN_FAILED)
    if fail_under is not None and summary["mean_score"] < fail_under:
        err_console.print(
            f"mean score {summary['mean_score']:.3f} is below --fail-under {fail_under}",
            style="red",
        )
        raise typer.Exit(EXIT_FAIL_UNDER)


def _print_event(event: EpisodeEvent) -> None:
    """One JSON line per event on stdout: what the execution manager reads (`parse_event`)."""
    print(json.dumps(event.wire()), flush=True)


def _account_source(
    fork_url: str | None, snapshot: Path | None, chain: str = "litesvm"
) -> AccountSource | None:
    """The fork's account source for --fork-url / --snapshot (None: no fork)."""
    if fork_url is None and snapshot is None:
        return None
    if chain != "litesvm":
        err_console.print(
            "--fork-url and --snapshot fork the embedded chain: not with --chain rpc", style="red"
        )
        raise typer.Exit(EXIT_INVALID)
    if snapshot is None:
        err_console.print(
            "--fork-url records the accounts it fetches: add --snapshot DIR", style="red"
        )
        raise typer.Exit(EXIT_INVALID)
    if fork_url is not None:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(fork_url)
            valid = (
                parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 1) > 0
            )
        except ValueError:  # a port that is not a number, or out of range
            valid = False
        if not valid:
            err_console.print(
                "--fork-url must be an http(s) URL of a Solana JSON-RPC endpoint", style="red"
            )
            raise typer.Exit(EXIT_INVALID)
    elif not snapshot.is_dir():
        err_console.print(
            f"snapshot {snapshot} does not exist: record one with --fork-url URL --snapshot {snapshot}",
            style="red",
            markup=False,
        )
        raise typer.Exit(EXIT_INVALID)
    from reev.chain.fork import AccountSource

    return AccountSource(snapshot, fork_url)


def _chain_factory(
    chain: str, rpc_url: str | None, max_concurrency: int, source: AccountSource | None = None
) -> Callable[[], Chain]:
    from reev.chain.litesvm import LiteSVMChain

    if chain == "litesvm":
        return LiteSVMChain if source is None else (lambda: LiteSVMChain(source))
    if chain != "rpc":
        err_console.print(f"unknown chain {chain!r}: use litesvm or rpc", style="red")
        raise typer.Exit(EXIT_INVALID)
    if not rpc_url:
        err_console.print("--chain rpc needs --rpc-url", style="red")
        raise typer.Exit(EXIT_INVALID)
    if max_concurrency != 1:
        err_console.print(
            "--chain rpc resets the remote chain per episode: use --max-concurrency 1", style="red"
        )
        raise typer.Exit(EXIT_INVALID)
    from reev.chain.rpc_backend import RpcChain

    return lambda: RpcChain(rpc_url, reset=True)


def _recorder(db: str | None, model: str | None, loaded: list):  # type: ignore[no-untyped-def]
    from reev.store.recording import episode_recorder, open_store, store_benchmarks

    sessions = open_store(db)
    store_benchmarks(sessions, loaded)
    return episode_recorder(sessions, model=model, source="cli")


@app.command()
def agents() -> None:
    """List agents: providers, their models and endpoints, and whether their key is set."""
    from reev.agents.providers import PROVIDERS, key_status

    table = Table(title="agents", title_justify="left")
    for column in ("agent", "model", "endpoint", "key variable", "key"):
        table.add_column(column, overflow="fold")
    table.add_row(
        "deterministic", "-", "replays the benchmark's reference solution", "-", "not needed"
    )
    for p in PROVIDERS.values():
        name = f"{p.name}/<model>" if p.model_in_name else p.name
        endpoint = p.base_url or ""
        if p.base_url_env:
            endpoint += f" (or ${p.base_url_env})"
        status = key_status(p)
        style = {"set": "green", "missing": "red"}.get(status, "dim")
        table.add_row(
            name,
            p.default_model or "<model>",
            endpoint,
            p.api_key_env or "-",
            f"[{style}]{status}[/]",
        )
    table.add_row("http(s)://…", "-", "a remote agent service (docs/agents.md)", "-", "not needed")
    console.print(table)


db_app = typer.Typer(help="The results database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(
    db: Annotated[str | None, typer.Option(envvar="REEV_DATABASE_URL", help="Database URL")] = None,
) -> None:
    """Create or migrate the database schema to the latest version (Alembic)."""
    from reev.store import database_url, upgrade

    upgrade(db)
    console.print(f"database at {database_url(db)} is up to date")


chain_app = typer.Typer(
    help="The embedded chain over Solana's JSON-RPC (docs/rpc.md).", no_args_is_help=True
)
app.add_typer(chain_app, name="chain")


@chain_app.command("serve")
def chain_serve(
    benchmark: Annotated[
        Path | None,
        typer.Argument(
            help="One benchmark file: its initial state is served (none: an empty chain)"
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="HTTP and WebSocket port (0: any free port)")] = 8899,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    seed: Annotated[
        int, typer.Option(help="Run seed: the addresses `reev run --seed N` gives epoch 0")
    ] = 0,
    ws_port: Annotated[
        int | None,
        typer.Option(help="Also serve on this port (default PORT+1, as web3.js expects; -1: no)"),
    ] = None,
    keypair: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the user keypair (default logs/chain/<id>-seed<N>-user.json)"
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the connection details as one JSON line")
    ] = False,
    log_calls: Annotated[bool, typer.Option(help="Print every RPC call on stderr")] = False,
    fork_url: Annotated[str | None, FORK_URL_OPTION] = None,
    snapshot: Annotated[Path | None, SNAPSHOT_OPTION] = None,
) -> None:
    """Serve a benchmark's initial state over JSON-RPC + WebSocket for agents in any language."""
    from reev.rpc.serve import serve_benchmark
    from reev.runner.suite import episode_seed

    bench = None
    if benchmark is not None:
        loaded = _load([benchmark], strict=False)
        if len(loaded) != 1:
            err_console.print(
                f"{benchmark}: serve one benchmark file, not {len(loaded)}", style="red"
            )
            raise typer.Exit(EXIT_INVALID)
        bench = loaded[0].benchmark
    serve_benchmark(
        bench,
        seed=episode_seed(seed, bench.id, 0) if bench else 0,
        run_seed=seed,
        host=host,
        port=port,
        ws_port=ws_port,
        keypair_path=keypair,
        as_json=as_json,
        log_calls=log_calls,
        source=_account_source(fork_url, snapshot),
    )


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Interface to bind; keep 127.0.0.1 unless you set REEV_API_TOKEN")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 3001,
    db: Annotated[str | None, typer.Option(envvar="REEV_DATABASE_URL", help="Database URL")] = None,
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
    subprocesses."""
    import uvicorn

    from reev.service.app import create_app
    from reev.service.settings import ServiceSettings
    from reev.store import upgrade

    upgrade(db)  # the app expects a migrated database

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
    uvicorn.run(api, host=host, port=port, log_level="warning")


@app.command()
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

    loaded = _load(paths or [Path("benchmarks")], strict=False)
    ReevTui(
        loaded,
        agents=default_agents(agent or []),
        options=AgentOptions(model=model, base_url=base_url),
        log_dir=log_dir,
        seed=seed,
        db_url=db,
    ).run()


@app.command()
def validate(
    paths: PathsArg,
    strict: Annotated[bool, typer.Option(help="Unknown fields are errors, not warnings")] = False,
    snapshot: Annotated[
        Path | None,
        typer.Option(help="Dry-run the solutions on a fork replaying this snapshot (offline)"),
    ] = None,
) -> None:
    """Check benchmark files: schema, placeholders, initial state, solution tool names, and a dry
    run of each reference solution."""
    from reev.validation import check_benchmark

    source = _account_source(None, snapshot)
    factory = _chain_factory("litesvm", None, 1, source)
    loaded = _load(paths, strict)
    problems = [d for item in loaded for d in check_benchmark(item, chain_factory=factory)]
    _print_diagnostics(problems)
    if any(p.severity == "error" for p in problems):
        raise typer.Exit(EXIT_INVALID)
    console.print(f"{len(loaded)} benchmark(s) valid")


@app.command(name="list")
def list_benchmarks(
    paths: PathsArg,
    tags: Annotated[
        str | None, typer.Option(help="Only benchmarks with all these tags (comma-separated)")
    ] = None,
) -> None:
    """List benchmarks grouped by category: id, tier, steps, other tags and description."""
    from rich import box
    from rich.text import Text

    from reev.spec.categories import category_of, category_rank, tier_of

    loaded = _load(paths, strict=False, tags=tags)
    groups: dict[str, list] = {}
    for item in loaded:
        groups.setdefault(category_of(item.benchmark.tags), []).append(item.benchmark)
    # Fixed columns, then tags and description share what is left of the terminal (80 columns
    # still show every id, tier and step count); wider terminals stop growing at 132.
    table = Table(
        title=f"{len(loaded)} benchmark{'' if len(loaded) == 1 else 's'}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        width=min(console.width, 132),
    )
    headers = {c: f"{c} ({len(group)})" for c, group in groups.items()}
    id_width = max([len(i.benchmark.id) for i in loaded] + [len(h) for h in headers.values()])
    table.add_column("id", no_wrap=True, width=id_width)
    table.add_column("tier", no_wrap=True, width=4)
    table.add_column("steps", justify="right", no_wrap=True, width=5)
    table.add_column("tags", no_wrap=True, overflow="ellipsis", ratio=1)
    table.add_column("description", no_wrap=True, overflow="ellipsis", ratio=2)
    for category in sorted(groups, key=category_rank):
        benches = groups[category]
        table.add_row(Text(headers[category], style="bold"))
        for index, b in enumerate(benches):
            tier = tier_of(b.tags)
            rest = [t for t in b.tags if t not in (category, tier)]
            summary = " ".join(b.description.split())
            table.add_row(
                Text(b.id),
                tier or "-",
                str(b.step_count),
                Text(", ".join(rest)),
                Text(summary),
                end_section=index == len(benches) - 1,
            )
    console.print(table)


@app.command()
def show(
    session_file: Annotated[Path, typer.Argument(help="A session_<execution_id>.json file")],
) -> None:
    """Print a session file as a tree: steps, tool calls, transactions, instructions, score."""
    from reev.report.render import session_tree

    console.print(session_tree(_session_or_exit(session_file)))


def _session_or_exit(session_file: Path):
    from pydantic import ValidationError

    from reev.runner import read_session

    try:
        return read_session(session_file)
    except FileNotFoundError:
        err_console.print(f"{session_file}: no such file", style="red")
    except ValidationError as exc:
        err_console.print(
            f"{session_file}: not a reev session file: {exc.errors()[0]['msg']}", style="red"
        )
    raise typer.Exit(EXIT_INVALID)


@app.command()
def flow(
    source: Annotated[
        Path, typer.Argument(help="A session_<id>.json or an enhanced_otel_<id>.jsonl")
    ],
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write a page that renders the diagram offline"),
    ] = None,
) -> None:
    """Print the episode as a Mermaid flowchart: prompt, agent, tool calls, transactions, score."""
    from reev.report.flow import flow_html, load_nodes, mermaid

    if source.suffix != ".jsonl":
        _session_or_exit(source)  # clear errors for missing or foreign files
    elif not source.exists():
        err_console.print(f"{source}: no such file", style="red")
        raise typer.Exit(EXIT_INVALID)
    diagram = mermaid(load_nodes(source))
    console.print(diagram, markup=False, highlight=False, soft_wrap=True, end="")
    if html is not None:
        html.write_text(flow_html(diagram, f"reev · {source.name}"), encoding="utf-8")
        err_console.print(f"page written to {html}")


@app.command(name="tx-logs")
def tx_logs(
    session_file: Annotated[Path, typer.Argument(help="A session_<execution_id>.json file")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the trees as JSON")] = False,
) -> None:
    """Print every transaction's program-invocation tree with compute units and program logs."""
    from rich.text import Text

    from reev.report.txlogs import render_tree, session_log_trees, transaction_tree

    session = _session_or_exit(session_file)
    if as_json:
        console.print_json(json.dumps(session_log_trees(session)))
        return
    found = False
    for step in session.steps:
        for tx in step.transactions:
            found = True
            outcome = (
                Text("success", style="green")
                if tx.success
                else Text(f"failed: {tx.error}", style="red")
            )
            title = Text.assemble(
                (f"step {step.step} · {tx.signature or '(not sent)'} ", "bold"),
                outcome,
                f" · {tx.compute_units} CU · fee {tx.fee}",
            )
            console.print(render_tree(transaction_tree(tx), title))
    if not found:
        console.print("no transactions in this session")


if __name__ == "__main__":  # pragma: no cover
    app()

"""`reev runs` (the runs of a log directory) and `reev retry` (a run's Failed and Timeout
episodes again), plus the resolution `show`/`flow`/`tx-logs` share: `latest`, a run name or id
with a benchmark id, a run directory, or a session file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reev.cli.common import console, fail
from reev.cli.options import Record, RecordDb

if TYPE_CHECKING:
    from reev.runs import RunDir

LogDir = Annotated[
    Path, typer.Option(envvar="REEV_LOG_DIR", help="The log directory the runs are under")
]
RunRef = Annotated[
    Path, typer.Argument(help="A run: latest, its name, its id (or a prefix), or its directory")
]


def runs(log_dir: LogDir = Path("logs")) -> None:
    """List the runs under LOG_DIR/runs/: id, name, agent, when, episodes, mean, pass@1, cost."""
    from rich.table import Table

    from reev.runs import list_runs

    found = list_runs(log_dir)
    if not found:
        console.print(f"no runs in {log_dir / 'runs'}", markup=False, highlight=False)
        return
    table = Table(title=f"runs in {log_dir / 'runs'}")
    for column in ("id", "name", "agent", "when", "status", "episodes", "mean", "pass@1", "cost"):
        table.add_column(
            column,
            justify="right" if column in ("episodes", "mean", "pass@1", "cost") else "left",
            no_wrap=column in ("id", "when"),
        )
    for run in found:
        config = run.config
        results = run.results() or {}
        summary = results.get("summary", {}) if isinstance(results, dict) else {}
        planned = len(config.plan())
        episodes = summary.get("episodes", 0) - summary.get("cancelled", 0)
        table.add_row(
            config.run_id,
            config.name or "",
            config.agent if not config.model else f"{config.agent} ({config.model})",
            config.created_at.replace("T", " ")[:16],  # UTC, to the minute
            config.status,
            f"{episodes}/{planned}" if summary else f"?/{planned}",
            f"{summary['mean_score']:.3f}" if summary else "",
            f"{summary['pass@1']:.3f}" if summary else "",
            f"${summary['usage']['cost_usd']:.4f}" if summary else "",
        )
    console.print(table)


def retry(
    run: RunRef,
    log_dir: LogDir = Path("logs"),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the results JSON here")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Print each episode as a tree")
    ] = False,
    record: Record = False,
    db: RecordDb = None,
) -> None:
    """Run a run's Failed and Timeout episodes again (same configuration); the rest are kept.
    With --record the database's run is updated: a retried episode replaces its earlier
    execution, and kept episodes the database lacks are stored."""
    from reev.cli.run import RunOptions, execute

    execute(
        RunOptions(
            paths=[],
            resume=str(run),
            retry=True,
            log_dir=log_dir,
            output=output,
            verbose=verbose,
            record=record,
            db=db,
        )
    )


def session_source(
    source: Path, benchmark: str | None, epoch: int | None, log_dir: Path, *, traces: bool = False
) -> Path:
    """The session file `source` (plus `benchmark` and `epoch`) names: the file itself, or the
    session of (benchmark, epoch) in a run given as `latest`, a name, an id or a directory.
    With `traces` an `.jsonl` file is taken as it is (flow reads traces)."""
    from reev.runs import RunDir, RunNotFound, resolve_run

    if source.is_file():
        if benchmark is not None:
            fail(f"{source} is a file: give a benchmark id only after a run (reev show latest ID)")
        return source
    if source.is_dir():
        if not (source / "run.json").is_file():
            fail(
                f"{source}: a directory, not a session file or a run directory "
                "(give a session_<id>.json, or a run and a benchmark id)"
            )
        return run_session(RunDir(source), benchmark, epoch, str(source))
    if source.suffix in (".json", ".jsonl") or source.parent != Path("."):
        fail(f"{source}: no such file")
    try:
        found = resolve_run(str(source), log_dir)
    except RunNotFound as exc:
        fail(f"{source}: no such file or run ({exc})")
    return run_session(found, benchmark, epoch, str(source))


def run_session(run: RunDir, benchmark: str | None, epoch: int | None, ref: str) -> Path:
    """The session file of (benchmark, epoch) in `run`: the benchmark may be a unique prefix of
    an id (`002`), and may be left out when the run has one benchmark; the epoch defaults to
    the run's first."""
    from reev.runs import RunNotFound

    try:
        config = run.config
    except RunNotFound as exc:
        fail(str(exc))
    ids = run.benchmark_ids()
    if benchmark is None:
        if len(ids) != 1:
            fail(
                f"run {config.run_id} has {len(ids)} benchmarks: name one, "
                f"e.g. reev show {ref} {ids[0] if ids else 'BENCHMARK'}"
            )
        benchmark = ids[0]
    elif benchmark not in ids:
        matches = [i for i in ids if i.startswith(benchmark)]
        if len(matches) != 1:
            shown = ", ".join((matches or ids)[:8]) + (" …" if len(matches or ids) > 8 else "")
            what = "matches several" if matches else "is not in it"
            fail(f"run {config.run_id}: benchmark {benchmark!r} {what}: {shown}")
        benchmark = matches[0]
    epochs = range(config.first_epoch, config.first_epoch + config.epochs)
    chosen = epochs.start if epoch is None else epoch
    if chosen not in epochs:
        fail(f"run {config.run_id} has epochs {epochs.start}..{epochs.stop - 1}, not {chosen}")
    path = run.session_file(benchmark, chosen)
    if not path.is_file():
        fail(
            f"run {config.run_id}: {benchmark} epoch {chosen} has no session yet "
            f"(continue the run: reev run --resume {config.name or config.run_id})"
        )
    return path

"""The `reev` command (Typer + Rich): one module per group of commands, registered here.

Exit codes (for CI): 0 every episode ran to its end, whatever the scores; 1 an episode failed
to run (agent error, crash); 2 invalid input (benchmark files, options); 3 `--fail-under` not met.
The entry point is `reev = "reev.cli:app"`; `python -m reev.cli` runs the same app (how the
execution manager starts a run).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from reev import __version__
from reev.cli import benchmarks, chain, db, inspect, mcp, runs
from reev.cli import export as export_module
from reev.cli import report as report_module
from reev.cli import run as run_module
from reev.cli.common import console, err_console
from reev.cli.serve import serve, tui
from reev.errors import ReevError, exit_code_for


class ReevApp(typer.Typer):
    """The app with reev's one top-level guard: a `ReevError` that stops a command (bad input,
    an unreachable endpoint, a port in use) is one line on stderr and the exit code of its kind
    (`exit_code_for`). Anything else is a bug and keeps its traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ReevError as exc:
            err_console.print(
                f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True
            )
            sys.exit(exit_code_for(exc))


app = ReevApp(
    name="reev",
    help="Reproducible evaluation of LLM agents that act on Solana.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback(invoke_without_command=True)
def main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit")] = False,
) -> None:
    if version:
        console.print(f"reev {__version__}")
        raise typer.Exit()


app.command()(run_module.run)
app.command()(benchmarks.agents)
app.add_typer(db.app, name="db")
app.add_typer(chain.app, name="chain")
app.add_typer(mcp.app, name="mcp")
app.command()(serve)
app.command()(tui)
app.command()(benchmarks.validate)
app.command(name="list")(benchmarks.list_benchmarks)
app.command()(inspect.show)
app.command()(inspect.flow)
app.command(name="tx-logs")(inspect.tx_logs)
app.command()(report_module.report)
app.command()(export_module.export)
app.command()(runs.runs)
app.command()(runs.retry)

__all__ = ["app", "serve", "tui"]

"""`reev export`: episodes (or steps, calls, transactions) as CSV or Parquet, trajectories as
JSONL chat conversations for fine-tuning."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reev.analysis.export import ExportFormat, Table  # no pandas at import: `reev --help` works
from reev.cli.common import err_console
from reev.cli.report import AgentsOption, BenchmarksOption, DbOption, InputsArg


def export(
    inputs: InputsArg = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write (default: TABLE.csv / TABLE.parquet / trajectories.jsonl)",
        ),
    ] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="File format")] = (
        ExportFormat.PARQUET
    ),
    table: Annotated[
        Table, typer.Option(help="Which table (CSV and Parquet; JSONL writes conversations)")
    ] = Table.EPISODES,
    db: DbOption = None,
    agent: AgentsOption = None,
    benchmarks: BenchmarksOption = None,
) -> None:
    """Write runs' episodes as CSV, Parquet (one row per episode) or JSONL conversations."""
    from reev.analysis.deps import require
    from reev.analysis.sources import load_inputs
    from reev.errors import InputError

    require()
    from reev.analysis.export import export as write

    if not inputs and db is None:
        raise InputError("reev export needs an input: a run directory, results JSON or --db URL")
    data = load_inputs(inputs or [], db=db, agents=agent, benchmarks=benchmarks)
    if output is None:
        output = Path(
            "trajectories.jsonl" if fmt is ExportFormat.JSONL else f"{table.value}.{fmt.value}"
        )
    rows = write(data, fmt, output, table)
    what = "conversations" if fmt is ExportFormat.JSONL else f"rows of {table.value}"
    err_console.print(f"{rows} {what} written to {output}", markup=False, highlight=False)

"""Reading a finished episode: `reev show` (tree), `reev flow` (Mermaid), `reev tx-logs`.

Each takes a session file, or a run (`latest`, its name, its id or its directory) and a
benchmark id: `reev show latest 002-spl-transfer --epoch 1` (reev.cli.runs.session_source).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from reev.cli.common import console, err_console, fail, session_or_exit
from reev.cli.runs import LogDir, session_source

SessionArg = Annotated[
    Path,
    typer.Argument(
        help="A session_<execution_id>.json file, or a run: latest, its name, id or directory"
    ),
]
BenchmarkArg = Annotated[
    str | None,
    typer.Argument(help="With a run: the benchmark id (or a unique prefix of it)"),
]
EpochOpt = Annotated[
    int | None, typer.Option("--epoch", min=0, help="With a run: the epoch (default the first)")
]


def show(
    session_file: SessionArg,
    benchmark: BenchmarkArg = None,
    epoch: EpochOpt = None,
    log_dir: LogDir = Path("logs"),
) -> None:
    """Print a session file as a tree: steps, tool calls, transactions, instructions, score."""
    from reev.report.render import session_tree

    path = session_source(session_file, benchmark, epoch, log_dir)
    console.print(session_tree(session_or_exit(path)))


def flow(
    source: Annotated[
        Path,
        typer.Argument(
            help="A session_<id>.json, an enhanced_otel_<id>.jsonl, or a run (latest, name, id)"
        ),
    ],
    benchmark: BenchmarkArg = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write a page that renders the diagram offline"),
    ] = None,
    epoch: EpochOpt = None,
    log_dir: LogDir = Path("logs"),
) -> None:
    """Print the episode as a Mermaid flowchart: prompt, agent, tool calls, transactions, score."""
    from reev.report.flow import flow_html, load_nodes, mermaid

    if source.suffix != ".jsonl":
        source = session_source(source, benchmark, epoch, log_dir)
    if source.suffix != ".jsonl":
        session_or_exit(source)  # clear errors for missing or foreign files
    elif not source.exists():
        fail(f"{source}: no such file")
    elif not source.is_file():
        fail(f"{source}: a directory, not a trace file")
    diagram = mermaid(load_nodes(source))
    console.print(diagram, markup=False, highlight=False, soft_wrap=True, end="")
    if html is not None:
        html.write_text(flow_html(diagram, f"reev · {source.name}"), encoding="utf-8")
        err_console.print(f"page written to {html}")


def tx_logs(
    session_file: SessionArg,
    benchmark: BenchmarkArg = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the trees as JSON")] = False,
    epoch: EpochOpt = None,
    log_dir: LogDir = Path("logs"),
) -> None:
    """Print every transaction's program-invocation tree with compute units and program logs."""
    from rich.text import Text

    from reev.report.txlogs import render_tree, session_log_trees, transaction_tree

    session = session_or_exit(session_source(session_file, benchmark, epoch, log_dir))
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

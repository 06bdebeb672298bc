"""`reev report`: compare runs with confidence intervals (Markdown, self-contained HTML, JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from reev.cli.common import console, err_console

InputsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Run directories, folders of session files, results JSON or session files; "
        "LABEL=PATH names an input",
        show_default=False,
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option(help="Also read the finished executions of this database URL"),
]
AgentsOption = Annotated[
    list[str] | None,
    typer.Option("--agent", "-a", help="Only this agent or arm label (repeatable)"),
]
BenchmarksOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--benchmarks",
        help="Benchmark files or folders the categories (tags) are read from "
        "(default: the run's own files, else ./benchmarks)",
    ),
]


def report(
    inputs: InputsArg = None,
    db: DbOption = None,
    agent: AgentsOption = None,
    benchmarks: BenchmarksOption = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write a self-contained page")] = None,
    md: Annotated[Path | None, typer.Option("--md", help="Write Markdown (for a PR)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap resampling")] = 0,
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples")] = 10_000,
    min_effect: Annotated[
        float,
        typer.Option(
            min=0.001, max=1.0, help="Smallest score difference worth detecting (epochs needed)"
        ),
    ] = 0.05,
) -> None:
    """Per-agent scores, pass@k and pass^k with 95% intervals, categories, paired comparisons."""
    from reev.analysis.deps import require
    from reev.analysis.sources import load_inputs
    from reev.errors import InputError

    require()
    from reev.analysis.render import html_page, markdown
    from reev.analysis.report import build_report

    if not inputs and db is None:
        raise InputError("reev report needs an input: a run directory, results JSON or --db URL")
    data = load_inputs(inputs or [], db=db, agents=agent, benchmarks=benchmarks)
    result = build_report(data, seed=seed, resamples=resamples, min_effect=min_effect)
    text = markdown(result)
    for path, content in ((html, html_page(result) if html else ""), (md, text)):
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8")
            except OSError as exc:
                raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
            err_console.print(f"written to {path}", markup=False, highlight=False)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

"""The suite and what can run it: `reev validate`, `reev list`, `reev agents`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from reev.cli.common import (
    EXIT_INVALID,
    account_source,
    chain_factory,
    console,
    fail,
    load,
    print_diagnostics,
)
from reev.cli.options import ChainKind, PathsArg, Tags

if TYPE_CHECKING:
    from reev.spec.models import Benchmark


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
    from reev.spec import load_many
    from reev.validation import check_benchmark

    source = account_source(None, snapshot)
    factory = chain_factory(ChainKind.LITESVM, None, 1, source)
    # Not `load`: a file with a schema error must not stop the other files' checks (their
    # dry runs included); every problem of every file is printed, then the exit code.
    loaded, load_errors = load_many(paths, strict=strict)
    print_diagnostics([w for item in loaded for w in item.warnings])
    print_diagnostics(load_errors)
    problems = [d for item in loaded for d in check_benchmark(item, chain_factory=factory)]
    print_diagnostics(problems)
    if load_errors or any(p.severity == "error" for p in problems):
        raise typer.Exit(EXIT_INVALID)
    if not loaded:
        fail(f"no benchmarks found in {', '.join(map(str, paths))}")
    console.print(f"{len(loaded)} benchmark(s) valid")


def list_benchmarks(paths: PathsArg, tags: Tags = None) -> None:
    """List benchmarks grouped by category: id, tier, steps, other tags and description."""
    from rich import box
    from rich.text import Text

    from reev.spec.categories import category_of, category_rank, tier_of

    loaded = load(paths, strict=False, tags=tags)
    groups: dict[str, list[Benchmark]] = {}
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

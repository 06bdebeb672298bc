"""Checks beyond the schema: what `reev validate` adds to loading a file.

A benchmark can be valid YAML and a valid model and still be unusable: a token account whose
mint nobody declared, a solution calling a tool that does not exist or with arguments the tool
refuses, an oracle that does not reach the intended state. Those are found here by building the
initial state on a real (embedded) chain and dry-running the reference solution.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from reev.agents.deterministic import DeterministicAgent
from reev.chain.litesvm import LiteSVMChain
from reev.chain.protocol import Chain
from reev.errors import InputError
from reev.events import ExecutionStatus
from reev.runner.episode import run_episode
from reev.setup import build_initial_state
from reev.spec.loader import Diagnostic, LoadedBenchmark
from reev.spec.placeholders import resolve_placeholders
from reev.tools import TOOLS


def check_benchmark(
    item: LoadedBenchmark,
    *,
    dry_run: bool = True,
    chain_factory: Callable[[], Chain] = LiteSVMChain,
) -> list[Diagnostic]:
    """Problems of one benchmark. `chain_factory` is the oracle dry-run's chain: a fork
    replaying a snapshot for benchmarks that need upstream accounts (`--snapshot`)."""
    benchmark = item.benchmark
    problems: list[Diagnostic] = []
    try:
        keys = resolve_placeholders(benchmark, seed=0)
        build_initial_state(LiteSVMChain(), benchmark, keys)
    except InputError as exc:  # PlaceholderError, SetupError, AmountError
        problems.append(item.diagnostic(("initial_state",), str(exc)))

    solutions = (
        [(("flow", i, "solution"), s.solution) for i, s in enumerate(benchmark.flow)]
        if benchmark.flow
        else [(("solution",), benchmark.solution)]
    )
    for path, calls in solutions:
        if calls is None:
            problems.append(
                item.diagnostic(
                    path, "no reference solution: the deterministic agent cannot run it", "warning"
                )
            )
            continue
        for index, call in enumerate(calls):
            tool = TOOLS.get(call.tool)
            if tool is None:
                problems.append(
                    item.diagnostic((*path, index, "tool"), f"unknown tool {call.tool!r}")
                )

    if dry_run and not problems:
        problems += _oracle_dry_run(item, chain_factory)
    return problems


def _oracle_dry_run(item: LoadedBenchmark, chain_factory: Callable[[], Chain]) -> list[Diagnostic]:
    """Run the reference solution once: it must run cleanly and reach the declared outcome."""
    benchmark = item.benchmark
    result = asyncio.run(
        run_episode(benchmark, DeterministicAgent(), log_dir=None, chain_factory=chain_factory)
    )
    if result.status is not ExecutionStatus.COMPLETED:
        return [
            item.diagnostic(("solution",), f"the reference solution does not run: {result.error}")
        ]
    if result.passed != (benchmark.expected_outcome == "pass"):
        outcome = "passes" if result.passed else "does not pass"
        return [
            item.diagnostic(
                ("expected_outcome",),
                f"the reference solution {outcome} (score {result.score:.3f}) but expected_outcome "
                f"is {benchmark.expected_outcome!r}",
            )
        ]
    return []

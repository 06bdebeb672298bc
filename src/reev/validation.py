"""Checks beyond the schema: what `reev validate` adds to loading a file.

A benchmark can be valid YAML and a valid model and still be unusable: a token account whose
mint nobody declared, a solution calling a tool that does not exist or with arguments the tool
refuses, an oracle that does not reach the intended state. Those are found here by building the
initial state on a real (embedded) chain and dry-running the reference solution.
"""

from __future__ import annotations

import asyncio
import difflib
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from reev.agents.deterministic import DeterministicAgent
from reev.chain.litesvm import LiteSVMChain, pooled_chain
from reev.chain.protocol import Chain, Forked, Releasable
from reev.errors import InputError
from reev.events import ExecutionStatus
from reev.runner.episode import run_episode
from reev.setup import build_initial_state
from reev.spec.loader import Diagnostic, LoadedBenchmark
from reev.spec.placeholders import (
    PLACEHOLDER_RE,
    KeyMap,
    is_placeholder,
    resolve_placeholders,
)
from reev.tools import TOOLS


def check_benchmark(
    item: LoadedBenchmark,
    *,
    dry_run: bool = True,
    chain_factory: Callable[[], Chain] = pooled_chain,
) -> list[Diagnostic]:
    """Problems of one benchmark. `chain_factory` is the oracle dry-run's chain: a fork
    replaying a snapshot for benchmarks that need upstream accounts (`--snapshot`)."""
    benchmark = item.benchmark
    problems: list[Diagnostic] = []
    # A fork replaying a snapshot (`--snapshot`) supplies the upstream accounts: ask a chain.
    probe = chain_factory()
    forked = isinstance(probe, Forked) and probe.source is not None
    if isinstance(probe, Releasable):
        probe.release()
    try:
        keys = resolve_placeholders(benchmark, seed=0)
        chain = LiteSVMChain()
        build_initial_state(chain, benchmark, keys)
    except InputError as exc:  # PlaceholderError, SetupError, AmountError
        problems.append(item.diagnostic(("initial_state",), str(exc)))
    else:
        if not forked:
            problems += _missing_programs(item, chain, keys)

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
                    item.diagnostic((*path, index, "tool"), unknown_tool_message(call.tool))
                )

    if dry_run and not problems:
        problems += _oracle_dry_run(item, chain_factory)
    return problems + _lone_placeholders(item)


FORK_HINT = (
    "replay a recorded snapshot with --snapshot DIR, or record one with "
    "--fork-url URL --snapshot DIR (README: fork benchmarks)"
)


def _missing_programs(item: LoadedBenchmark, chain: Chain, keys: KeyMap) -> list[Diagnostic]:
    """Programs the expected instructions call that the embedded chain does not have after
    set-up. Such a benchmark can only be scored on a fork: without one every transaction fails
    and the score quietly says "the agent was wrong" when the chain was."""
    problems: list[Diagnostic] = []
    for index, expected in enumerate(item.benchmark.ground_truth.expected_instructions):
        try:
            program = keys.resolve(expected.program_id)
        except InputError:
            continue  # an unresolvable name is reported by the placeholder checks
        account = chain.get_account(program)
        if account is None or not account.executable:
            problems.append(
                item.diagnostic(
                    ("ground_truth", "expected_instructions", index, "program_id"),
                    f"program {program} does not exist on the embedded chain and initial_state "
                    f"does not declare it: this benchmark needs a fork ({FORK_HINT})",
                )
            )
    return problems


def unknown_tool_message(name: str) -> str:
    """`unknown tool 'memo' (did you mean 'add_memo'? …)`: the closest names, or the list."""
    close = difflib.get_close_matches(name, list(TOOLS), n=3, cutoff=0.5)
    hint = (
        "did you mean " + " or ".join(repr(c) for c in close) + "?"
        if close
        else "the tools are " + ", ".join(sorted(TOOLS))
    )
    return f"unknown tool {name!r} ({hint}; docs/tools.md)"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _lone_placeholders(item: LoadedBenchmark) -> list[Diagnostic]:
    """A name written once in a prompt or a solution and nowhere else (not declared, not
    asserted) is most likely a typo (`RECIPIENT_WALET_PUBKEY`): it would silently become a
    fresh, empty address. A warning, since a fresh address can be what the task means."""
    benchmark = item.benchmark
    everywhere: Counter[str] = Counter()
    for text in _strings(benchmark.model_dump(mode="json")):
        everywhere.update(n for n in PLACEHOLDER_RE.findall(text) if is_placeholder(n))
    steps = benchmark.flow or []
    spoken = [benchmark.prompt, *(s.prompt for s in steps)]
    calls = [benchmark.solution or [], *(s.solution or [] for s in steps)]
    used: list[tuple[str, tuple[str | int, ...]]] = []
    for text in spoken:
        used += [(n, ("prompt",)) for n in PLACEHOLDER_RE.findall(text)]
    for solution in calls:
        for call in solution:
            for text in _strings(call.model_dump(mode="json")):
                used += [(n, ("solution",)) for n in PLACEHOLDER_RE.findall(text)]
    return [
        item.diagnostic(
            where,
            f"{name} appears once and is declared and asserted nowhere: a typo? "
            "(it becomes a fresh, empty address)",
            "warning",
        )
        for name, where in dict(used).items()
        if everywhere[name] == 1 and is_placeholder(name)
    ]


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
        failing = [
            f"[{c.component}] {c.name}" + (f": {c.reason}" if c.reason else "")
            for c in result.checks
            if not c.passed
        ]
        return [
            item.diagnostic(
                ("expected_outcome",),
                f"the reference solution {outcome} (score {result.score:.3f}) but expected_outcome "
                f"is {benchmark.expected_outcome!r}"
                + (f"; failing checks: {'; '.join(failing)}" if failing else ""),
            )
        ]
    return []

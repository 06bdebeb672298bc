"""Checks beyond the schema: what `reev validate` adds to loading a file.

A benchmark can be valid YAML and a valid model and still be unusable: a token account whose
mint nobody declared, a solution calling a tool that does not exist. Those are found here by
resolving placeholders and building the initial state on a real (embedded) chain.
"""

from __future__ import annotations

from reev.chain.litesvm import LiteSVMChain
from reev.chain.setup import SetupError, build_initial_state
from reev.spec.loader import Diagnostic, LoadedBenchmark
from reev.spec.placeholders import PlaceholderError, resolve_placeholders
from reev.tools import TOOLS


def check_benchmark(item: LoadedBenchmark) -> list[Diagnostic]:
    benchmark = item.benchmark
    file = str(item.path)
    problems: list[Diagnostic] = []
    try:
        keys = resolve_placeholders(benchmark, seed=0)
        build_initial_state(LiteSVMChain(), benchmark, keys)
    except (PlaceholderError, SetupError) as exc:
        problems.append(Diagnostic(file, None, "initial_state", str(exc)))

    solutions = (
        [(f"flow[{i}].solution", s.solution) for i, s in enumerate(benchmark.flow)]
        if benchmark.flow
        else [("solution", benchmark.solution)]
    )
    for field, calls in solutions:
        if calls is None:
            problems.append(
                Diagnostic(file, None, field, "no reference solution: the deterministic agent cannot run it", "warning")
            )
            continue
        for index, call in enumerate(calls):
            if call.tool not in TOOLS:
                problems.append(
                    Diagnostic(file, None, f"{field}[{index}].tool", f"unknown tool {call.tool!r}")
                )
    return problems

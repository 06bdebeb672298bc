"""The deterministic oracle: replays a benchmark's reference `solution` through the tool layer.

Because it uses exactly the tools an LLM gets, a passing oracle run proves the benchmark is
solvable with that interface, and every benchmark needs no code of its own.
"""

from __future__ import annotations

from reev.agents.base import Agent, AgentError, AgentTask, ToolBox
from reev.spec.models import ToolCallSpec


class DeterministicAgent(Agent):
    name = "deterministic"
    uses_reference_solution = True

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        if reference is None:
            raise AgentError(
                f"benchmark {task.benchmark_id} has no `solution` for step {task.step}; "
                "the deterministic agent can only replay a reference solution"
            )
        for index, call in enumerate(reference):
            result = await tools.call(call.tool, call.args)
            if "error" in result and set(result) == {"error"}:
                # The oracle must not fail silently: a broken solution is the benchmark's bug.
                raise AgentError(
                    f"reference solution call {index} ({call.tool}) failed: {result['error']}"
                )

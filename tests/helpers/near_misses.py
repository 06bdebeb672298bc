"""Near misses of a benchmark's reference solution: one tool call replaced, the rest replayed
(the swap and lending benchmark tests share them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reev.agents.base import Agent, AgentError, AgentTask, ToolBox
from reev.spec.models import ToolCallSpec

Expectation = dict[tuple[str, str], int]  # (assertion type, pubkey) -> expected value

Call = tuple[str, dict[str, Any]]
Edit = Callable[[Call], list[Call]]  # the reference call -> what the near miss calls instead


def replace_args(**changes: Any) -> Edit:
    def edit(call: Call) -> list[Call]:
        tool, args = call
        new = {**args, **changes}
        return [(tool, {k: v for k, v in new.items() if v is not None})]

    return edit


def then_call(extra: Call) -> Edit:
    return lambda call: [call, extra]


SUBMIT: Call = ("submit_transaction", {})


class EditedAgent(Agent):
    """Replays the reference with one call replaced by `edit(call)`; stops at a tool error."""

    name = "edited"
    uses_reference_solution = True

    def __init__(self, step: int, index: int, edit: Edit):
        self.step, self.index, self.edit = step, index, edit
        self.refused: str | None = None

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        assert reference is not None
        calls: list[Call] = [(c.tool, dict(c.args)) for c in reference]
        if task.step == self.step:
            replaced = self.edit(calls[self.index])
            calls = calls[: self.index] + replaced + calls[self.index + 1 :]
            if not any(tool == "submit_transaction" for tool, _ in calls[self.index :]):
                calls.append(SUBMIT)  # a judgement's reference submits nothing
        names = task.observation.key_map
        for tool, args in calls:
            resolved = {k: names.get(v, v) if isinstance(v, str) else v for k, v in args.items()}
            result = await tools.call(tool, resolved)
            if set(result) == {"error"}:
                self.refused = f"{tool}: {result['error']}"
                raise AgentError(self.refused)

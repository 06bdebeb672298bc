"""A scripted agent and one episode run through the real runner (session file included)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from reev.agents.base import Agent, AgentTask, ToolBox
from reev.runner import EpisodeResult, read_session, run_episode
from reev.runner.session import SessionFile
from reev.spec import Benchmark
from reev.spec.models import ToolCallSpec


class ScriptedAgent(Agent):
    """Calls a fixed list of tools per step; `{NAME}` in string args is a placeholder name
    resolved from the task's visible key map (what a real agent would read from its prompt)."""

    name = "scripted"

    def __init__(self, steps: list[list[tuple[str, dict[str, Any]]]]):
        self.steps = steps
        self.seen_tasks: list[AgentTask] = []
        self.seen_results: list[dict[str, Any]] = []
        self.seen_references: list[Any] = []

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        self.seen_tasks.append(task)
        self.seen_references.append(reference)
        calls = self.steps[task.step - 1] if task.step - 1 < len(self.steps) else []
        names = task.observation.key_map
        for tool, args in calls:
            resolved = {
                k: names[v[1:-1]]
                if isinstance(v, str) and v.startswith("{") and v.endswith("}")
                else v
                for k, v in args.items()
            }
            self.seen_results.append(await tools.call(tool, resolved))


def run(
    bench: Benchmark, agent: Agent, tmp_path: Path, **kwargs: Any
) -> tuple[EpisodeResult, SessionFile]:
    """One episode with its session file written under `tmp_path`, read back."""
    result = asyncio.run(run_episode(bench, agent, log_dir=tmp_path, **kwargs))
    assert result.session_file is not None
    return result, read_session(result.session_file)

"""What an MCP server session reaches of an episode: the step being played, and its end.

The episode calls the agent; the agent publishes the step here (`begin`) and waits until the
MCP client calls `finish`, disconnects, or the step's time limit (the runner's) runs out. The
MCP server's handlers wait for a step to be published, act through its `ToolBox` and read its
`AgentTask`: nothing else of the episode, so nothing of its ground truth, is reachable.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from reev.agents.base import AgentTask, ToolBox


@dataclass
class Step:
    task: AgentTask
    tools: ToolBox
    finished: asyncio.Event
    summary: str | None = None  # what the client said with `finish`


class EpisodeBridge:
    """One episode's steps as its MCP server sees them, one at a time."""

    def __init__(self, *, one_step: bool = False) -> None:
        # One step only (`--agent-mcp`: a program and a server per step), or every step of the
        # episode in turn (`reev mcp serve`).
        self.one_step = one_step
        self._step: Step | None = None
        self._changed = asyncio.Event()
        self.over = False  # no step will come: the episode ended
        self.disconnected = asyncio.Event()  # the client went away

    def begin(self, task: AgentTask, tools: ToolBox) -> Step:
        """Publish a step; its `finished` event is set by the `finish` tool."""
        step = self._step = Step(task, tools, asyncio.Event())
        self._changed.set()
        return step

    def end_step(self) -> None:
        self._step = None

    def close(self) -> None:
        """The episode is over: requests still waiting for a step are answered as such."""
        self.over = True
        self._step = None
        self._changed.set()

    async def current(self) -> Step | None:
        """The step being played, waiting for one to begin; None once the episode is over."""
        while True:
            if self._step is not None and not self._step.finished.is_set():
                return self._step
            if self.over:
                return None
            self._changed.clear()
            await self._changed.wait()

    async def wait_step_end(self, step: Step) -> str:
        """Until `finish` ('finished') or the client's disconnection ('disconnected')."""
        finished = asyncio.ensure_future(step.finished.wait())
        gone = asyncio.ensure_future(self.disconnected.wait())
        try:
            await asyncio.wait({finished, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            finished.cancel()
            gone.cancel()
        return "finished" if step.finished.is_set() else "disconnected"

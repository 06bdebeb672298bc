"""The agent of an episode served over MCP: whoever the MCP client is, it plays every step.

`run_step` publishes the step on the bridge, where the MCP server's handlers find it, and
returns when the client calls `finish` or disconnects (the runner's time limit cancels it
otherwise). A client that disconnected before a later step began leaves that step to nobody:
the step fails, naming why.
"""

from __future__ import annotations

from reev.agents.base import Agent, AgentError, AgentTask, ToolBox
from reev.mcp.bridge import EpisodeBridge
from reev.spec.models import ToolCallSpec


class ServedAgent(Agent):
    def __init__(self, bridge: EpisodeBridge, *, name: str = "mcp-client"):
        self.bridge = bridge
        self.name = name

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        if self.bridge.disconnected.is_set():
            raise AgentError(f"the MCP client disconnected before step {task.step}")
        step = self.bridge.begin(task, tools)
        try:
            await self.bridge.wait_step_end(step)
        finally:
            self.bridge.end_step()

    async def aclose(self) -> None:
        self.bridge.close()

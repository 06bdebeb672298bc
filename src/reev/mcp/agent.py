"""An agent whose tools are MCP servers' (`reev run --agent M --mcp-server CMD`).

It wraps any tool-using agent (an LLM agent): for each step the runner serves the episode's
chain (it is an `EndpointAgent`), the servers start with that endpoint in their environment
(`REEV_RPC_URL`, `REEV_WS_URL`, `REEV_KEYPAIR`, `REEV_JUPITER_URL`, …, as `--agent-cmd` gets
them), and the wrapped agent plays the step with their tools. The transactions the servers send
land on the episode's chain through that endpoint, where the runner records them.

The servers start per step because the endpoint is served per step; a single-step benchmark
starts them once per episode.
"""

from __future__ import annotations

import os

from reev.agents.base import Agent, AgentEndpoint, AgentError, AgentTask, EndpointAgent, ToolBox
from reev.agents.command import REEV_SETTINGS
from reev.mcp.toolbox import (
    DEFAULT_START_TIMEOUT_S,
    OPENAI_TOOL_LIMIT,
    McpToolBox,
    connect_servers,
)


class McpToolsAgent(EndpointAgent):
    def __init__(
        self,
        inner: Agent,
        servers: list[str],
        *,
        with_reev_tools: bool = False,
        start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
        tool_limit: int = OPENAI_TOOL_LIMIT,
    ):
        if not servers:
            raise ValueError("McpToolsAgent needs at least one MCP server")
        self.inner = inner
        self.servers = servers
        self.with_reev_tools = with_reev_tools
        self.start_timeout_s = start_timeout_s
        self.tool_limit = tool_limit
        self.name = f"{inner.name}+mcp"

    async def run_step_at(self, task: AgentTask, tools: ToolBox, endpoint: AgentEndpoint) -> None:
        inherited = {k: v for k, v in os.environ.items() if k not in REEV_SETTINGS}
        env = {**inherited, **endpoint.env}
        async with connect_servers(
            self.servers, env, start_timeout_s=self.start_timeout_s
        ) as connections:
            box = McpToolBox(tools, connections, with_reev_tools=self.with_reev_tools)
            offered = len(box.tools)
            if offered > self.tool_limit:
                counts = ", ".join(f"{len(c.tools)} from `{c.command}`" for c in connections)
                own = f", {len(tools.tools)} of reev's" if self.with_reev_tools else ""
                raise AgentError(
                    f"{offered} tools ({counts}{own}) exceed the limit of {self.tool_limit} "
                    "tools per request of OpenAI-compatible APIs: offer fewer tools"
                )
            if offered == 0:
                raise AgentError(
                    "the MCP servers list no tools: "
                    + ", ".join(f"`{c.command}`" for c in connections)
                )
            await self.inner.run_step(task, box)

    async def aclose(self) -> None:
        await self.inner.aclose()

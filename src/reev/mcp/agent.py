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
    McpConnection,
    McpToolBox,
    connect_servers,
)


def tool_count_error(
    connections: list[McpConnection], *, reev_tools: int, limit: int
) -> str | None:
    """Why the tools are too many for one model request (providers refuse it: OpenAI at 128),
    said before the first model call; None when they fit."""
    offered = sum(len(c.tools) for c in connections) + reev_tools
    if offered <= limit:
        return None
    counts = ", ".join(f"{len(c.tools)} from `{c.command}`" for c in connections)
    own = f", {reev_tools} of reev's" if reev_tools else ""
    return (
        f"{offered} tools ({counts}{own}) exceed the limit of {limit} tools per request of "
        "OpenAI-compatible APIs: offer fewer tools"
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
            own = len(tools.tools) if self.with_reev_tools else 0
            too_many = tool_count_error(connections, reev_tools=own, limit=self.tool_limit)
            if too_many is not None:
                raise AgentError(too_many)
            if not box.tools:
                raise AgentError(
                    "the MCP servers list no tools: "
                    + ", ".join(f"`{c.command}`" for c in connections)
                )
            await self.inner.run_step(task, box)

    async def aclose(self) -> None:
        await self.inner.aclose()

"""An MCP-client program as the agent (`reev run --agent-mcp CMD`).

Like `--agent-cmd` (it is a `CommandAgent`: the same environment, the same record of the
program's run, the same time limit), plus, for each step, reev's tools and the step's request
served over streamable HTTP on a free loopback port: `{url}` in CMD and `REEV_MCP_URL` in its
environment are that endpoint. The tool `finish` ends the step (the program then has a few
seconds to exit); so does the program's exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
from collections.abc import AsyncIterator
from typing import Any

from reev.agents.base import AgentTask, ToolBox
from reev.agents.command import CommandAgent
from reev.mcp.bridge import EpisodeBridge, Step
from reev.mcp.server import build_server, serving_http

LOOPBACK = "127.0.0.1"


class McpCommandAgent(CommandAgent):
    def __init__(self, command: str, *, time_limit_s: float | None = 600.0):
        super().__init__(command, time_limit_s=time_limit_s)
        self.name = f"mcp:{command}"
        self._step: Step | None = None

    @contextlib.asynccontextmanager
    async def step_services(
        self, task: AgentTask, tools: ToolBox
    ) -> AsyncIterator[tuple[dict[str, str], asyncio.Event | None]]:
        bridge = EpisodeBridge(one_step=True)
        step = self._step = bridge.begin(task, tools)
        async with serving_http(build_server(bridge), bridge, host=LOOPBACK) as url:
            try:
                yield {"REEV_MCP_URL": url}, step.finished
            finally:
                bridge.close()  # a request still waiting is told the step is over

    def final_answer(self, outcome: dict[str, Any]) -> str | None:
        """What the program said with `finish`, else the end of its stdout."""
        said = self._step.summary if self._step is not None else None
        return said or super().final_answer(outcome)

    def command_for(self, told: dict[str, str]) -> str:
        return self.command.replace("{url}", shlex.quote(told["REEV_MCP_URL"]))

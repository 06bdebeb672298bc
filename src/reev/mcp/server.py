"""reev's tools for an episode as an MCP server (official `mcp` SDK, low-level `Server`).

What the client sees is exactly what an LLM agent is given, and nothing more:

- the tools of the step's `ToolBox` (the registry: same names, descriptions and JSON schemas a
  model gets), plus `finish`, which ends the step;
- the prompt `task`: the request of the current step with its on-chain context and real
  addresses, the text an LLM agent reads (`reev.agents.context`);
- each tool's result as the agent would get it (`{"error": ...}` marks a mistake).

Served over stdio (`serve_stdio`, `reev mcp serve`) or streamable HTTP on a socket
(`serving_http`, `reev mcp serve --http` and `--agent-mcp`). A client that goes away (stdio
closed, HTTP session deleted) sets the bridge's `disconnected`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError
from starlette.types import ASGIApp, Receive, Scope, Send

from reev import __version__
from reev.agents.context import system_prompt, user_prompt
from reev.mcp.bridge import EpisodeBridge
from reev.rpc.serve import bind, url_of

TASK_PROMPT = "task"
FINISH_TOOL = "finish"
MCP_PATH = "/mcp"
INVALID_PARAMS = -32602  # JSON-RPC

FINISH = types.Tool(
    name=FINISH_TOOL,
    description=(
        "End the current step of the task: call it once the request is done (or when you decide "
        "it cannot or should not be done), with a short summary. Nothing staged and not yet "
        "submitted is lost: the runner submits it. After the last step the episode is scored."
    ),
    input_schema={
        "type": "object",
        "properties": {"summary": {"type": "string", "description": "What you did, and why"}},
    },
)
# What the result of `finish` says comes next.
NEXT_STEP = "get the prompt `task` for the next step"
NEXT_PROGRAM = "exit: the next step starts your program again, with its own endpoint"
EPISODE_OVER = "the episode is over"
HOW_TO_FINISH = (
    "Over MCP: read the request with the prompt `task`; when it is done, call the tool `finish` "
    "with your summary (instead of replying without a tool call)."
)


def task_text(step_prompt: str, system: str) -> str:
    return f"{system}\n{HOW_TO_FINISH}\n\n{step_prompt}"


def _result(payload: dict[str, Any]) -> types.CallToolResult:
    """A tool's answer: the JSON an LLM agent reads as text, and as structured content."""
    return types.CallToolResult(
        content=[types.TextContent(text=json.dumps(payload, ensure_ascii=False))],
        structured_content=payload,
        is_error=set(payload) == {"error"},  # reev's tools answer a mistake with {"error": ...}
    )


def build_server(bridge: EpisodeBridge, *, name: str = "reev") -> Server[Any]:
    """An MCP server whose handlers act on the bridge's current step."""

    async def list_tools(
        ctx: Any, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        step = await bridge.current()
        tools = step.tools.tools if step is not None else []
        return types.ListToolsResult(
            tools=[
                types.Tool(name=t.name, description=t.description, input_schema=t.json_schema())
                for t in tools
            ]
            + [FINISH]
        )

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        step = await bridge.current()
        if step is None:
            return _result({"error": "the episode is over: nothing more can be done"})
        args = params.arguments or {}
        if params.name == FINISH_TOOL:
            summary = args.get("summary")
            step.summary = summary if isinstance(summary, str) else None
            step.tools.set_final_answer(step.summary)
            step.finished.set()
            more = step.task.step < step.task.step_count
            after = EPISODE_OVER if not more else NEXT_PROGRAM if bridge.one_step else NEXT_STEP
            return _result({"finished_step": step.task.step, "next": after})
        return _result(await step.tools.call(params.name, args))

    async def list_prompts(
        ctx: Any, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        return types.ListPromptsResult(
            prompts=[
                types.Prompt(
                    name=TASK_PROMPT,
                    description="The request of the current step, with its on-chain context",
                )
            ]
        )

    async def get_prompt(ctx: Any, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        if params.name != TASK_PROMPT:
            raise MCPError(INVALID_PARAMS, f"unknown prompt {params.name!r}; the prompt is 'task'")
        step = await bridge.current()
        if step is None:
            raise MCPError(INVALID_PARAMS, "the episode is over: there is no task left")
        task = step.task
        return types.GetPromptResult(
            description=f"{task.benchmark_id}, step {task.step} of {task.step_count}",
            messages=[
                types.PromptMessage(
                    role="user",
                    content=types.TextContent(
                        text=task_text(user_prompt(task), system_prompt(task))
                    ),
                )
            ],
        )

    return Server(
        name,
        version=__version__,
        instructions=HOW_TO_FINISH,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
    )


async def serve_stdio(server: Server[Any], bridge: EpisodeBridge) -> None:
    """Serve one client on this process's stdin/stdout until it closes them."""
    try:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
    finally:
        bridge.disconnected.set()


class _NoticeDisconnect:
    """ASGI wrapper: a client that deletes its MCP session (how the SDK's client closes a
    streamable-HTTP connection) has disconnected."""

    def __init__(self, app: ASGIApp, bridge: EpisodeBridge):
        self.app, self.bridge = app, bridge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http" and scope.get("method") == "DELETE":
            self.bridge.disconnected.set()


@contextlib.asynccontextmanager
async def serving_http(
    server: Server[Any], bridge: EpisodeBridge, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve streamable HTTP on host:port (0: a free port) in the running loop; yields the
    endpoint's URL (`http://host:port/mcp`). A port in use is an `InfrastructureError`."""
    sock = bind(host, port)
    app = _NoticeDisconnect(
        server.streamable_http_app(streamable_http_path=MCP_PATH, host=host), bridge
    )
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    http = uvicorn.Server(config)
    # Inside the caller's loop the caller owns the signals (as `reev.rpc.serve.serving`).
    http.install_signal_handlers = lambda: None  # type: ignore[attr-defined]
    task = asyncio.create_task(http.serve(sockets=[sock]))
    try:
        while not http.started:
            if task.done():
                task.result()
                raise RuntimeError("the MCP server stopped before it started")
            await asyncio.sleep(0.005)
        yield url_of("http", sock) + MCP_PATH
    finally:
        http.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=10)
        sock.close()

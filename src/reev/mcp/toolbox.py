"""MCP tool servers as an agent's toolbox (`reev run --mcp-server CMD`).

`connect_servers` starts each server (a shell command, stdio transport of the official SDK) with
the episode's endpoints in its environment, lists its tools and checks them; `McpToolBox` offers
them to the agent in place of reev's tools (or beside them, `with_reev_tools`) and sends the
agent's calls to the server that listed each. Every call is recorded in the step like one of
reev's tools (`ToolBox.record_tool_call`); the transactions a server sends reach the chain over
the endpoint the runner serves, which records them.

Whatever goes wrong with a server (it exits, hangs while starting, lists tools reev cannot
offer a model) is an `AgentError` naming the server: the episode ends as Failed, the run goes on.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO, Any

from mcp import Client, MCPError, StdioServerParameters, stdio_client
from mcp import types as mcp_types
from pydantic import ValidationError

from reev.agents.base import AgentError, ModelCallRecord, ToolBox
from reev.tools.base import Tool, ToolContext, ToolError, ToolParams

# OpenAI's function names (every provider reev reaches speaks its API) and its tool count limit.
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
OPENAI_TOOL_LIMIT = 128
DEFAULT_START_TIMEOUT_S = 30.0
DEFAULT_CALL_TIMEOUT_S = 120.0
STDERR_TAIL_CHARS = 400


def _elsewhere(ctx: ToolContext, params: Any) -> dict[str, Any]:
    raise ToolError("this tool runs on its MCP server, not in reev")


@dataclass(frozen=True)
class McpTool(Tool):
    """A tool an MCP server listed: its own JSON schema, run on its server."""

    schema: dict[str, Any] = field(default_factory=dict)
    server: str = ""

    def json_schema(self) -> dict[str, Any]:
        return self.schema


@dataclass
class McpConnection:
    command: str
    client: Client
    tools: list[McpTool]
    stderr: IO[str]


class McpServerError(AgentError):
    pass


def _tail(stderr: IO[str]) -> str:
    with contextlib.suppress(Exception):
        stderr.flush()
        stderr.seek(0)
        text = stderr.read().strip()
        if text:
            return f"; its stderr ends: {' | '.join(text.splitlines()[-3:])[-STDERR_TAIL_CHARS:]}"
    return ""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _describe(exc.exceptions[0])
    if isinstance(exc, ValidationError):  # what the server sent breaks the protocol's schema
        wrong = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()[:3]
        )
        return f"its answer does not follow the protocol: {wrong}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _timed_out(exc: BaseException) -> bool:
    """A request of the SDK's that got no answer in time (its read timeout), or an asyncio one."""
    if isinstance(exc, BaseExceptionGroup):
        return any(_timed_out(e) for e in exc.exceptions)
    return isinstance(exc, TimeoutError) or (
        isinstance(exc, MCPError) and exc.code == mcp_types.REQUEST_TIMEOUT
    )


def check_tool(command: str, tool: mcp_types.Tool) -> McpTool:
    """An MCP tool as a model can be offered it, or a `McpServerError` saying what is wrong."""
    if not TOOL_NAME.fullmatch(tool.name):
        raise McpServerError(
            f"MCP server `{command}` lists a tool named {tool.name!r}: a tool name must be 1-64 "
            "letters, digits, _ or -"
        )
    schema = tool.input_schema
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise McpServerError(
            f"MCP server `{command}`: the input schema of tool {tool.name!r} is not a JSON "
            f'schema of an object ({{"type": "object", …}}): {json.dumps(schema)[:200]}'
        )
    properties = schema.get("properties", {})
    if not isinstance(properties, dict) or not all(
        isinstance(p, dict) for p in properties.values()
    ):
        raise McpServerError(
            f"MCP server `{command}`: the input schema of tool {tool.name!r} has malformed "
            "`properties` (an object of schemas is expected)"
        )
    return McpTool(
        name=tool.name,
        description=tool.description or "",
        params=ToolParams,
        handler=_elsewhere,
        kind="action",
        schema=schema,
        server=command,
    )


async def _connect(
    stack: contextlib.AsyncExitStack, command: str, env: dict[str, str], start_timeout_s: float
) -> McpConnection:
    # Closed by `stack`, with the server.
    stderr = stack.enter_context(tempfile.TemporaryFile(mode="w+", encoding="utf-8"))  # noqa: SIM115
    params = StdioServerParameters(command="/bin/sh", args=["-c", command], env=env)
    client = Client(
        stdio_client(params, errlog=stderr), read_timeout_seconds=start_timeout_s, cache=None
    )
    try:
        await stack.enter_async_context(client)
        listed: list[mcp_types.Tool] = []
        cursor: str | None = None
        while True:
            page = await client.list_tools(cursor=cursor)
            listed += page.tools
            cursor = page.next_cursor
            if not cursor:
                break
    except Exception as exc:
        if _timed_out(exc):
            raise McpServerError(
                f"MCP server `{command}` did not answer within {start_timeout_s:g} s of starting"
                f"{_tail(stderr)}"
            ) from None
        raise McpServerError(
            f"MCP server `{command}` failed while starting and listing its tools "
            f"({_describe(exc)}){_tail(stderr)}"
        ) from None
    return McpConnection(command, client, [check_tool(command, t) for t in listed], stderr)


@contextlib.asynccontextmanager
async def connect_servers(
    commands: list[str], env: dict[str, str], *, start_timeout_s: float = DEFAULT_START_TIMEOUT_S
) -> AsyncIterator[list[McpConnection]]:
    """Start every server with `env`, list and check their tools; stop them all on exit.

    The SDK's clients run task groups, which wrap whatever passes through them (an error of
    the step, or of a check here) in an exception group: a lone exception comes out unwrapped,
    so the step fails with its own message."""
    try:
        async with contextlib.AsyncExitStack() as stack:
            connections = [await _connect(stack, c, env, start_timeout_s) for c in commands]
            seen: dict[str, str] = {}
            for connection in connections:
                for tool in connection.tools:
                    if tool.name in seen:
                        raise McpServerError(
                            f"tool {tool.name!r} is listed by MCP server `{seen[tool.name]}` "
                            f"and by `{connection.command}`: a model cannot tell them apart"
                        )
                    seen[tool.name] = connection.command
            yield connections
    except BaseExceptionGroup as group:
        lone: BaseException = group
        while isinstance(lone, BaseExceptionGroup) and len(lone.exceptions) == 1:
            lone = lone.exceptions[0]
        if lone is group:
            raise
        raise lone from None


def _payload(result: mcp_types.CallToolResult) -> dict[str, Any]:
    """A server's answer as a model reads a tool result: its structured content, its JSON
    text, or its text; `{"error": ...}` when the server flagged it as an error."""
    text = "\n".join(
        block.text for block in result.content if isinstance(block, mcp_types.TextContent)
    )
    if result.is_error:
        return {"error": text or "the tool reported an error"}
    if isinstance(result.structured_content, dict):
        return result.structured_content
    with contextlib.suppress(ValueError):
        parsed = json.loads(text)
        if isinstance(parsed, dict):
            return parsed
    return {"result": text}


class McpToolBox:
    """The tools of MCP servers (and reev's, with `with_reev_tools`) as an agent's `ToolBox`."""

    def __init__(
        self,
        inner: ToolBox,
        connections: list[McpConnection],
        *,
        with_reev_tools: bool = False,
        call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S,
    ):
        self._inner = inner
        self._with_reev = with_reev_tools
        self._call_timeout_s = call_timeout_s
        self._servers = {t.name: c for c in connections for t in c.tools}
        self._mcp_tools = [t for c in connections for t in c.tools]
        if with_reev_tools:
            clash = sorted({t.name for t in inner.tools} & set(self._servers))
            if clash:
                raise McpServerError(
                    f"MCP server `{self._servers[clash[0]].command}` lists {clash[0]!r}, a tool "
                    "of reev's too: drop --with-reev-tools or rename the server's tool"
                )

    @property
    def tools(self) -> list[Tool]:
        own: list[Tool] = list(self._inner.tools) if self._with_reev else []
        return own + list(self._mcp_tools)

    async def call(self, name: str, args: Any) -> dict[str, Any]:
        connection = self._servers.get(name)
        if connection is None and self._with_reev:
            return await self._inner.call(name, args)
        started = time.perf_counter()
        parsed, error = _arguments(args)
        if connection is None:
            known = ", ".join(sorted(t.name for t in self.tools))
            error = f"unknown tool {name!r}; available tools: {known}"
        payload: dict[str, Any]
        if error is not None or connection is None:
            payload = {"error": error}
        else:
            try:
                result = await connection.client.call_tool(
                    name, parsed, read_timeout_seconds=self._call_timeout_s
                )
                payload = _payload(result)
            except Exception as exc:
                payload = {
                    "error": f"MCP server `{connection.command}` failed on {name}: {_describe(exc)}"
                }
        ok = set(payload) != {"error"}
        self._inner.record_tool_call(
            name,
            parsed if parsed is not None else {"raw": str(args)},
            ok=ok,
            result=payload if ok else None,
            error=None if ok else str(payload["error"]),
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        return payload

    def record_model_call(self, record: ModelCallRecord) -> None:
        self._inner.record_model_call(record)

    def record_tool_call(
        self,
        tool: str,
        args: dict[str, Any],
        *,
        ok: bool,
        result: dict[str, Any] | None,
        error: str | None,
        duration_ms: float,
    ) -> None:
        self._inner.record_tool_call(
            tool, args, ok=ok, result=result, error=error, duration_ms=duration_ms
        )

    def set_final_answer(self, text: str | None) -> None:
        self._inner.set_final_answer(text)


def _arguments(args: Any) -> tuple[dict[str, Any] | None, str | None]:
    """A model's arguments (a JSON string, or already a dict) as a dict, or why they are not."""
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except ValueError as exc:
            return None, f"the arguments are not valid JSON: {exc}"
    if not isinstance(args, dict):
        return None, f"the arguments must be a JSON object, not {type(args).__name__}"
    return args, None

"""An MCP-client agent: a model on any OpenAI-compatible endpoint, with the tools of an MCP
server, doing the server's `task` (docs/mcp.md). With reev:

    reev run benchmarks/001-sol-transfer.yml --agent-mcp "python examples/mcp_agent.py {url}"
    reev mcp serve benchmarks/001-sol-transfer.yml --http --port 8765 &
    python examples/mcp_agent.py http://127.0.0.1:8765/mcp

The model is `OPENAI_MODEL` (default gpt-4.1-mini) at `OPENAI_BASE_URL` with `OPENAI_API_KEY`
(the `openai` SDK reads both). It reads the prompt `task`, calls tools until it answers without
one, and calls `finish` with that answer; then the next step's `task`, while there is one.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import openai
from mcp import Client
from mcp.types import TextContent

MAX_TURNS = 10


def _text(blocks: list[Any]) -> str:
    return "\n".join(b.text for b in blocks if isinstance(b, TextContent))


async def main(url: str) -> None:
    model = os.environ.get("OPENAI_MODEL", "gpt-4.1-mini")
    llm = openai.AsyncOpenAI()
    async with Client(url) as server:
        listed = (await server.list_tools()).tools
        tools = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description or "",
                    "parameters": t.input_schema,
                },
            }
            for t in listed
            if t.name != "finish"  # the agent finishes when the model stops calling tools
        ]
        while True:
            task = await server.get_prompt("task")
            messages: list[Any] = [{"role": "user", "content": _text([task.messages[0].content])}]
            answer = ""
            for _ in range(MAX_TURNS):
                completion = await llm.chat.completions.create(
                    model=model, messages=messages, tools=tools
                )
                reply = completion.choices[0].message
                messages.append(reply.model_dump(exclude_none=True))
                if not reply.tool_calls:
                    answer = reply.content or ""
                    break
                for call in reply.tool_calls:
                    result = await server.call_tool(
                        call.function.name, json.loads(call.function.arguments or "{}")
                    )
                    messages.append(
                        {"role": "tool", "tool_call_id": call.id, "content": _text(result.content)}
                    )
            done = await server.call_tool("finish", {"summary": answer})
            print(f"step done: {answer}", file=sys.stderr)
            if (done.structured_content or {}).get(
                "next"
            ) != "get the prompt `task` for the next step":
                return


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: mcp_agent.py MCP_URL")
    asyncio.run(main(sys.argv[1]))

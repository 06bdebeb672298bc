"""A scripted MCP-client agent on the official `mcp` SDK: what a user's MCP agent does.

`play` lists the tools and prompts, reads the prompt `task`, plays the benchmark's reference
solution with the addresses resolved ONLY from the prompt it was given (the `Named addresses:`
block), calls `finish`, and repeats per step until the episode is over. It returns every result
the server sent it (as JSON), for the tests to grep for ground truth.

As a program (`--agent-mcp`): `python -m helpers.mcp_agent URL BENCHMARK.yml [--amount-times F]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import TextContent

from helpers.fake_openai import SolutionPlayer, named_addresses
from reev.mcp.server import HOW_TO_FINISH, NEXT_STEP
from reev.spec import load_benchmark
from reev.spec.models import Benchmark
from reev.spec.placeholders import PLACEHOLDER_RE


def _resolve(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str) and PLACEHOLDER_RE.fullmatch(value):
        assert value in names, f"the solution uses {value}, which the agent was never shown"
        return names[value]
    if isinstance(value, dict):
        return {k: _resolve(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, names) for v in value]
    return value


async def play(
    client: Client, benchmarks: list[Benchmark], *, amount_times: float = 1.0
) -> list[str]:
    seen: list[str] = []

    def keep(result: Any) -> Any:
        seen.append(result.model_dump_json())
        return result

    player = SolutionPlayer(benchmarks)
    keep(await client.list_tools())
    keep(await client.list_prompts())
    while True:
        prompt = keep(await client.get_prompt("task"))
        content = prompt.messages[0].content
        assert isinstance(content, TextContent)
        # What an LLM agent reads as its user message follows reev's system text.
        body = {
            "messages": [
                {"role": "user", "content": content.text.split(HOW_TO_FINISH, 1)[1].strip()}
            ]
        }
        names = named_addresses(body)
        for tool, args in player.calls_for(body):
            resolved = _resolve(args, names)
            if "amount" in resolved and amount_times != 1.0:
                resolved["amount"] = str(float(resolved["amount"]) * amount_times)
            keep(await client.call_tool(tool, resolved))
        done = keep(await client.call_tool("finish", {"summary": "done as asked"}))
        if done.structured_content["next"] != NEXT_STEP:  # over, or a program per step
            return seen


async def _main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("benchmark", type=Path)
    parser.add_argument("--amount-times", type=float, default=1.0)
    parser.add_argument("--dump", type=Path, help="Write what the server sent, one JSON a line")
    args = parser.parse_args()
    async with Client(args.url) as client:
        seen = await play(
            client, [load_benchmark(args.benchmark).benchmark], amount_times=args.amount_times
        )
    if args.dump:
        args.dump.write_text("\n".join(seen) + "\n", encoding="utf-8")
    print(f"played {len(seen)} results", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(_main())

"""What an LLM episode costs on the CPU besides the model's latency (issue 18, part 2): nothing
that does not change is rebuilt per episode or per step."""

from __future__ import annotations

import asyncio

from helpers.fake_openai import FakeOpenAI, SolutionPlayer
from helpers.suite import benchmark
from reev.agents import AgentOptions, agent_factory
from reev.agents.llm import shared_ssl_context
from reev.runner import run_suite
from reev.tools import TOOLS


def test_tool_schemas_are_built_once_per_tool():
    for tool in TOOLS.values():
        assert tool.openai_schema()["function"]["parameters"] is tool.json_schema()
        assert tool.json_schema() == _fresh_schema(tool)


def _fresh_schema(tool):
    """What the cache must equal: pydantic's schema with the titles removed."""
    schema = tool.params.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return schema


def test_every_episode_of_a_run_shares_one_tls_context(tmp_path):
    benches = [
        benchmark(b) for b in ("001-sol-transfer", "002-spl-transfer", "005-sol-transfer-multi")
    ]
    shared_ssl_context.cache_clear()
    with FakeOpenAI(SolutionPlayer(benches)) as server:
        factory = agent_factory("local/scripted", AgentOptions(base_url=server.base_url))
        suite = asyncio.run(run_suite(benches, factory, log_dir=tmp_path, max_concurrency=2))
    assert all(r.passed == (r.expected_outcome == "pass") for r in suite.results)
    info = shared_ssl_context.cache_info()
    # One context built (a miss), reused by every other episode's client (hits).
    assert info.misses == 1 and info.hits == len(benches) - 1

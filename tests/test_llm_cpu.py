"""What an LLM episode costs on the CPU besides the model's latency (issue 18, part 2): nothing
that does not change is rebuilt per episode or per step."""

from __future__ import annotations

import asyncio
import functools

from helpers.fake_openai import FakeOpenAI, SolutionPlayer
from helpers.suite import benchmark
from reev.agents import AgentOptions, agent_factory
from reev.agents.llm import LLMAgent, shared_ssl_context
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


class TypedCallAgent(LLMAgent):
    """The reference: the same agent making its calls through the SDK's typed parameters."""

    def _create(self, request):
        return self.client().chat.completions.create(**request)


def test_requests_are_what_the_sdks_typed_call_sends(tmp_path):
    """The agent hands its messages and tools to the SDK as `extra_body` (skipping the SDK's
    per-call transform of typed parameters): every body the provider receives must be the one
    the SDK's typed `create(**request)` sends, episode for episode."""
    benches = [benchmark(b) for b in ("002-spl-transfer", "005-sol-transfer-multi")]
    sent = {}
    for name, agent_class in (("extra_body", LLMAgent), ("typed", TypedCallAgent)):
        with FakeOpenAI(SolutionPlayer(benches)) as server:
            factory = agent_factory("local/scripted", AgentOptions(base_url=server.base_url))
            # The run's LLMSettings (the factory is a partial of LLMAgent), for either class.
            same_settings = functools.partial(agent_class, factory.args[0])
            suite = asyncio.run(run_suite(benches, same_settings, log_dir=tmp_path / name))
            sent[name] = list(server.requests)
        assert all(r.passed == (r.expected_outcome == "pass") for r in suite.results)
    # Several turns per episode: tool results and assistant tool calls are in the history.
    assert len(sent["typed"]) > len(benches)
    assert any(m["role"] == "tool" for body in sent["typed"] for m in body["messages"])
    assert {"tools", "tool_choice", "temperature"} <= set(sent["typed"][0])
    assert sent["extra_body"] == sent["typed"]

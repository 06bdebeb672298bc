"""What an LLM episode costs on the CPU besides the model's latency (issue 18, part 2): nothing
that does not change is rebuilt per episode or per step."""

from __future__ import annotations

import asyncio
import functools

from helpers.fake_openai import FakeOpenAI, SolutionPlayer
from helpers.suite import benchmark
from reev.agents import AgentOptions, agent_factory
from reev.agents.llm import (
    _TOOLS_JSON_ENTRIES,
    LLMAgent,
    _dumps,
    _tools_json,
    shared_ssl_context,
)
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


def test_a_tool_set_is_encoded_once_per_process_and_a_changed_schema_is_encoded_again():
    """Episodes offering the built-in tools get one JSON encoding between them; a tool of the
    same name with other parameters (an MCP server's, say) is not mistaken for it."""
    tools = list(TOOLS.values())[:3]
    first = _tools_json([t.openai_schema() for t in tools])
    again = _tools_json([t.openai_schema() for t in tools])  # new outer dicts, same tools
    assert again is first and first == _dumps([t.openai_schema() for t in tools])
    other = [t.openai_schema() for t in tools]
    other[0]["function"]["parameters"] = {"type": "object", "properties": {"x": {"type": "string"}}}
    changed = _tools_json(other)
    assert changed == _dumps(other) and changed != first


def test_tool_sets_seen_once_do_not_push_out_the_one_every_episode_uses():
    """An MCP agent's tools are new dicts every step: each is a miss. The built-in set, used
    in between, stays encoded (the cache keeps the most recently used sets)."""
    builtin = list(TOOLS.values())[:2]
    first = _tools_json([t.openai_schema() for t in builtin])
    for step in range(3 * _TOOLS_JSON_ENTRIES):
        schema = {"type": "object", "properties": {f"x{step}": {"type": "string"}}}
        mcp = [{"type": "function", "function": {"name": "m", "parameters": schema}}]
        assert _tools_json(mcp) == _dumps(mcp)
        if step % (_TOOLS_JSON_ENTRIES // 2) == 0:
            assert _tools_json([t.openai_schema() for t in builtin]) is first
    assert _tools_json([t.openai_schema() for t in builtin]) is first


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

    def _create(self, request, body):
        return self.client().chat.completions.create(**request)


def test_requests_are_what_the_sdks_typed_call_sends(tmp_path, monkeypatch):
    """The agent sends its own encoding of the body through the SDK's `post` (skipping the
    SDK's per-call transform and the re-encoding of the tool schemas): every body the provider
    receives must be the one the SDK's typed `create(**request)` sends, episode for episode,
    and the API key must go as `create` sends it (the server refuses a request without it)."""
    benches = [benchmark(b) for b in ("002-spl-transfer", "005-sol-transfer-multi")]
    sent = {}
    key = "sk-test-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    for name, agent_class in (("encoded", LLMAgent), ("typed", TypedCallAgent)):
        with FakeOpenAI(SolutionPlayer(benches), api_key=key) as server:
            factory = agent_factory("openai/scripted", AgentOptions(base_url=server.base_url))
            # The run's LLMSettings (the factory is a partial of LLMAgent), for either class.
            same_settings = functools.partial(agent_class, factory.args[0])
            suite = asyncio.run(run_suite(benches, same_settings, log_dir=tmp_path / name))
            sent[name] = list(server.requests)
        assert all(r.passed == (r.expected_outcome == "pass") for r in suite.results)
    # Several turns per episode: tool results and assistant tool calls are in the history.
    assert len(sent["typed"]) > len(benches)
    assert any(m["role"] == "tool" for body in sent["typed"] for m in body["messages"])
    assert {"tools", "tool_choice", "temperature"} <= set(sent["typed"][0])
    assert sent["encoded"] == sent["typed"]


def test_an_untraced_run_builds_no_span_attributes(tmp_path, monkeypatch):
    """attributes() JSON-encodes tool arguments and results and scans the environment for
    secrets: work for nothing when the tracer records nothing (the default, no --trace)."""
    import reev.telemetry.tracing as tracing_module
    from reev.telemetry.tracing import Tracing

    built: list[dict] = []
    real = tracing_module.attributes

    def counted(**values):
        built.append(values)
        return real(**values)

    monkeypatch.setattr(tracing_module, "attributes", counted)
    benches = [benchmark("002-spl-transfer")]
    with FakeOpenAI(SolutionPlayer(benches)) as server:
        factory = agent_factory("local/scripted", AgentOptions(base_url=server.base_url))
        asyncio.run(run_suite(benches, factory, log_dir=tmp_path / "plain"))
        assert built == []
        tracing = Tracing(tmp_path / "traced" / "sessions")
        asyncio.run(run_suite(benches, factory, log_dir=tmp_path / "traced", tracer=tracing.tracer))
        tracing.shutdown()
    # Traced, every model call, tool call and transaction carries its attributes.
    names = {key for values in built for key in values}
    assert {"gen_ai__request__model", "gen_ai__tool__name", "solana__signature"} <= names

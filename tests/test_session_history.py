"""Session files linear in turns (issue 18, item 5): schema version 2 stores each model call's
request as a delta on the step's conversation (reev.runner.history), the full requests are
rebuilt exactly as the scripted server received them, and version 1 files still read.

Episodes run an LLM agent through the real `openai` SDK against the scripted server, which keeps
every request body: that record, not reev's, is what the rebuilt requests are compared with."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from helpers.fake_openai import FakeOpenAI, Reply, SolutionPlayer, turns_so_far
from helpers.reev_cli import reev
from helpers.suite import benchmark
from reev.agents import AgentOptions, agent_factory
from reev.agents.base import Agent, AgentTask, ModelCallRecord, ToolBox
from reev.agents.cache import ResponseCache
from reev.agents.retry import RetryPolicy
from reev.analysis import load
from reev.analysis.export import conversations
from reev.runner import read_session, run_episode, run_suite
from reev.runner.history import full_requests
from reev.runner.session import SESSION_SCHEMA_VERSION
from reev.spec.models import ToolCallSpec

FAST_RETRY = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.1, max_total_wait_s=1)
LIMIT_50_TURNS = 200_000  # bytes: the target for a 50-turn episode


def overview_then_done(tool_turns: int):
    """A model that asks for the wallet overview `tool_turns` times, then answers."""

    def script(body: dict[str, Any]) -> Reply:
        if turns_so_far(body) < tool_turns:
            return Reply(tool_calls=[("get_wallet_overview", {})])
        return Reply(content="Done.")

    return script


def run_llm(bench_ids: list[str], script: Any, log_dir: Path, max_turns: int):
    """One episode per benchmark; returns (results, the request bodies the server received)."""
    benches = [benchmark(b) for b in bench_ids]
    with FakeOpenAI(script(benches) if script is SolutionPlayer else script) as server:
        options = AgentOptions(base_url=server.base_url, retry=FAST_RETRY, max_turns=max_turns)
        suite = asyncio.run(
            run_suite(benches, agent_factory("local/scripted-model", options), log_dir=log_dir)
        )
    assert all(r.session_file for r in suite.results)
    return suite.results, server.requests


def episode(tool_turns: int, log_dir: Path) -> tuple[Path, list[dict[str, Any]]]:
    results, requests = run_llm(
        ["001-sol-transfer"], overview_then_done(tool_turns), log_dir, tool_turns + 1
    )
    assert len(requests) == tool_turns + 1
    return Path(results[0].session_file or ""), requests


def as_v1(raw: dict[str, Any], requests: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """The version 1 file of the same episode: each call's whole request, as the server got it
    (not as reev rebuilds it) in `request_messages`, no `messages_from` and delta."""
    old = json.loads(json.dumps(raw))
    old["schema_version"] = 1
    calls = [c for s in old["steps"] for c in s["model_calls"]]
    assert len(calls) == len(requests)
    for call, sent in zip(calls, requests, strict=True):
        del call["messages_from"], call["request_messages_delta"]
        call["request_messages"] = sent
    return old


@pytest.fixture(scope="module")
def fifty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    return episode(50, tmp_path_factory.mktemp("fifty"))


def test_a_50_turn_session_is_small_and_rebuilds_every_request_as_sent(fifty):
    path, requests = fifty
    size = path.stat().st_size
    assert size < LIMIT_50_TURNS, f"{size} bytes"
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["schema_version"] == SESSION_SCHEMA_VERSION == 2
    stored = raw["steps"][0]["model_calls"]
    sent = [body["messages"] for body in requests]
    # The first call stores its request whole; every later one only the tool result that came
    # after the previous call's response (which the file already holds as that `response`).
    assert stored[0]["messages_from"] == 0 and stored[0]["request_messages_delta"] == sent[0]
    for i, call in enumerate(stored[1:], start=1):
        assert call["messages_from"] == len(sent[i - 1]) + 1
        assert [m["role"] for m in call["request_messages_delta"]] == ["tool"]
    # No call keeps the version 1 key: a reader that predates version 2 refuses the file rather
    # than taking a delta for a whole request.
    assert not any("request_messages" in call for call in stored)
    # Rebuilt from the raw JSON, and as the model read_session returns: what the server received.
    assert full_requests(stored) == sent
    session = read_session(path)
    assert [c.request_messages for c in session.steps[0].model_calls] == sent


def test_growth_is_linear_in_turns(tmp_path: Path, fifty):
    """size(n) = fixed + n · per-turn when each turn stores its own messages only, so doubling
    the turns at most doubles the file; quadratic storage made it about 3.5 times larger."""
    path_50, _ = fifty
    path_25, _ = episode(25, tmp_path)
    ratio = path_50.stat().st_size / path_25.stat().st_size
    assert ratio < 2.1, f"50 turns / 25 turns = {ratio:.2f}"


def test_a_version_1_file_reads_to_the_same_session_and_shows_the_same(tmp_path: Path, fifty):
    path, requests = fifty
    raw = json.loads(path.read_text(encoding="utf-8"))
    v1 = tmp_path / "session_v1.json"
    v1.write_text(json.dumps(as_v1(raw, [b["messages"] for b in requests])), encoding="utf-8")
    old, new = read_session(v1), read_session(path)
    assert old.model_dump() == new.model_dump()
    assert old.schema_version == SESSION_SCHEMA_VERSION  # read into the current model
    # Rewritten, a version 1 file becomes the version 2 file of the same episode.
    assert json.loads(old.model_dump_json()) == raw
    shown_old, shown_new = reev("show", str(v1)), reev("show", str(path))
    assert shown_old.returncode == shown_new.returncode == 0, shown_old.stderr
    assert "get_wallet_overview" in shown_new.stdout
    assert shown_old.stdout == shown_new.stdout


def test_every_step_of_a_flow_starts_its_own_conversation(tmp_path: Path):
    """Each step of a flow is a fresh conversation: its first call stores its request whole
    (`messages_from` 0), so a step reads on its own, and every request still rebuilds."""
    results, requests = run_llm(["012-flow-wrap-then-send-wsol"], SolutionPlayer, tmp_path, 10)
    path = Path(results[0].session_file or "")
    raw = json.loads(path.read_text(encoding="utf-8"))
    steps = raw["steps"]
    assert len(steps) >= 2 and all(s["model_calls"] for s in steps)
    for step in steps:
        assert step["model_calls"][0]["messages_from"] == 0
        assert step["model_calls"][0]["request_messages_delta"][0]["role"] == "system"
    sent = [b["messages"] for b in requests]
    assert [r for s in steps for r in full_requests(s["model_calls"])] == sent
    session = read_session(path)
    assert [c.request_messages for s in session.steps for c in s.model_calls] == sent


def test_trajectory_export_and_the_api_form_carry_the_whole_conversation(fifty):
    """`reev export --format jsonl` writes a step as its last request plus that call's response;
    the session as the API serves it (`model_dump(mode="json")`) is the file's own form."""
    path, requests = fifty
    (line,) = conversations(load(path.parent))
    last = requests[-1]["messages"]
    assert line["messages"][: len(last)] == last
    assert line["messages"][len(last) :] == [{"role": "assistant", "content": "Done."}]
    session = read_session(path)
    assert session.model_dump(mode="json") == json.loads(path.read_text(encoding="utf-8"))


def test_a_damaged_or_newer_file_is_refused_naming_why(tmp_path: Path, fifty):
    path, _ = fifty
    raw = json.loads(path.read_text(encoding="utf-8"))
    calls = raw["steps"][0]["model_calls"]
    past_end = len(calls[0]["request_messages_delta"]) + 2  # call 0's request + response, plus one
    calls[1]["messages_from"] = past_end
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValidationError, match=f"model call 1: messages_from {past_end}"):
        read_session(damaged)
    shown = reev("show", str(damaged))
    assert shown.returncode == 2 and "messages_from" in shown.stderr
    assert "Traceback" not in shown.stderr

    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["schema_version"] = SESSION_SCHEMA_VERSION + 1
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(raw), encoding="utf-8")
    shown = reev("show", str(newer))
    assert shown.returncode == 2 and f"schema_version {SESSION_SCHEMA_VERSION + 1}" in shown.stderr


class ContextTrimmingAgent(Agent):
    """Records model calls through the runner's toolbox as an agent that rewrites its context
    would: call 1 extends call 0, call 2 drops the oldest turn, call 3 resends a message with
    `1.0` where it had sent `1` (equal in Python, not in JSON), call 4 resends everything."""

    name = "trimming"

    def __init__(self) -> None:
        self.sent: list[list[dict[str, Any]]] = []

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        system = {"role": "system", "content": "s", "n": 1}
        user = {"role": "user", "content": task.prompt}
        turns = [[system, user]]
        turns.append(
            [*turns[0], {"role": "assistant", "content": "a0"}, {"role": "tool", "content": "t0"}]
        )
        turns.append([system, {"role": "user", "content": "summary"}])
        turns.append([{**system, "n": 1.0}, *turns[2][1:]])
        turns.append([*turns[3], {"role": "assistant", "content": "a3"}])
        for i, request in enumerate(turns):
            self.sent.append(json.loads(json.dumps(request)))
            tools.record_model_call(
                ModelCallRecord(
                    index=i,
                    provider="test",
                    model="m",
                    request_messages=request,
                    response={"role": "assistant", "content": f"a{i}"},
                )
            )


def test_an_agent_that_rewrites_its_context_is_recorded_exactly(tmp_path: Path):
    agent = ContextTrimmingAgent()
    result = asyncio.run(run_episode(benchmark("001-sol-transfer"), agent, log_dir=tmp_path))
    path = Path(result.session_file or "")
    stored = json.loads(path.read_text(encoding="utf-8"))["steps"][0]["model_calls"]
    # call 1 extends call 0's request and response ("a0"): 3 shared; call 2 keeps only the
    # system message; call 3 none (its 1.0 is not 1); call 4 is call 3's 2 messages and then its
    # own "a3", which is call 3's response: 3 shared.
    assert [c["messages_from"] for c in stored] == [0, 3, 1, 0, 3]
    assert full_requests(stored) == agent.sent
    rebuilt = [c.request_messages for c in read_session(path).steps[0].model_calls]
    assert rebuilt == agent.sent
    assert type(rebuilt[3][0]["n"]) is float and type(rebuilt[2][0]["n"]) is int


def test_the_cache_keys_of_a_run_are_those_of_its_rebuilt_requests(tmp_path: Path):
    """The response cache hashes each request as sent, before it is recorded: the requests a
    version 2 file rebuilds give exactly the keys the run stored, and a re-run is all hits."""
    bench = benchmark("001-sol-transfer")
    cache = ResponseCache(tmp_path / "cache")
    with FakeOpenAI(SolutionPlayer([bench])) as server:
        options = AgentOptions(base_url=server.base_url, retry=FAST_RETRY, cache=cache)
        factory = agent_factory("local/scripted-model", options)
        first = asyncio.run(run_suite([bench], factory, log_dir=tmp_path / "a"))
        sent = list(server.requests)
        again = asyncio.run(run_suite([bench], factory, log_dir=tmp_path / "b"))
        assert len(server.requests) == len(sent) >= 3  # the re-run sent nothing
    session = read_session(first.results[0].session_file or "")
    calls = session.steps[0].model_calls
    assert len(calls) == len(sent)
    for call, body in zip(calls, sent, strict=True):
        request = {**body, "messages": call.request_messages}  # the rest as the server got it
        key = ResponseCache.key(
            provider="local",
            base_url=server.base_url,
            model=body["model"],
            request=request,
            epoch=0,
        )
        assert cache.get(key) is not None
    cached = read_session(again.results[0].session_file or "")
    assert all(c.cached for c in cached.steps[0].model_calls)
    assert [c.request_messages for c in cached.steps[0].model_calls] == [
        c.request_messages for c in calls
    ]

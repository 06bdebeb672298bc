"""LLM agents through the real `openai` SDK against a scripted OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.fake_openai import FakeOpenAI, Reply, SolutionPlayer, named_addresses, turns_so_far
from helpers.paths import ROOT
from helpers.suite import benchmark, bundled
from reev.agents import AgentOptions, RunBudget, agent_factory
from reev.agents.providers import ProviderError, resolve_endpoint
from reev.agents.retry import RetryPolicy
from reev.runner import run_suite

FAST_RETRY = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=1.0, max_total_wait_s=10)


def local_factory(server: FakeOpenAI, **kwargs):
    options = AgentOptions(
        base_url=server.base_url, retry=kwargs.pop("retry", FAST_RETRY), **kwargs
    )
    return agent_factory("local/scripted-model", options)


def run(benches, factory, tmp_path, **kwargs):
    return asyncio.run(run_suite(benches, factory, log_dir=tmp_path, **kwargs))


def sessions(suite):
    return {
        r.benchmark_id: json.loads(Path(r.session_file).read_text())
        for r in suite.results
        if r.session_file
    }


@pytest.mark.slow
def test_competent_model_matches_the_oracle_on_the_whole_suite(tmp_path):
    from reev.agents import DeterministicAgent

    benches = list(bundled().values())
    oracle = run(benches, DeterministicAgent, tmp_path / "oracle")
    with FakeOpenAI(SolutionPlayer(benches)) as server:
        llm = run(benches, local_factory(server), tmp_path / "llm")
    expected = {r.benchmark_id: (r.passed, round(r.score, 9)) for r in oracle.results}
    got = {r.benchmark_id: (r.passed, round(r.score, 9)) for r in llm.results}
    assert got == expected
    for session in sessions(llm).values():
        assert session["usage"]["model_calls"] >= 2  # at least one tool call and a final answer
        step = session["steps"][0]
        assert step["model_calls"][0]["request_messages_delta"][0]["role"] == "system"
        assert step["final_answer"] == "Done."


def test_wrong_amount_scores_like_the_rules_say(tmp_path):
    def mutate(tool, args):
        return {**args, "amount": "0.2"} if tool == "sol_transfer" else args

    bench = benchmark("001-sol-transfer")
    with FakeOpenAI(SolutionPlayer([bench], mutate=mutate)) as server:
        suite = run([bench], local_factory(server), tmp_path)
    result = suite.results[0]
    assert result.status == "Completed" and not result.passed
    # state 0/2, instruction 3/4 (data differs), transaction 1 → 0.6·0 + 0.3·0.75 + 0.1·1
    assert result.score == pytest.approx(0.3 * 0.75 + 0.1)


def test_unknown_tool_and_malformed_arguments_are_recoverable_errors(tmp_path):
    bench = benchmark("001-sol-transfer")
    player = SolutionPlayer([bench])

    def script(body):
        turn = turns_so_far(body)
        if turn == 0:
            return Reply(tool_calls=[("teleport_funds", {"to": "moon"})])
        if turn == 1:
            return Reply(tool_calls=[("sol_transfer", '{"recipient": "abc", "amount": ')])
        if turn == 2:
            names = named_addresses(body)
            return Reply(
                tool_calls=[("sol_transfer", {"recipient": names["RECIPIENT_WALLET_PUBKEY"]})]
            )
        # then behave: the last two turns of the solution, then a final answer
        shifted = {
            **body,
            "messages": [m for m in body["messages"] if m["role"] != "assistant"][:2],
        }
        shifted["messages"] += [m for m in body["messages"] if m["role"] in ("assistant", "tool")][
            6:
        ]
        return player(shifted)

    with FakeOpenAI(script) as server:
        suite = run([bench], local_factory(server), tmp_path)
    session = sessions(suite)[bench.id]
    kinds = [c["error_kind"] for c in session["steps"][0]["tool_calls"]]
    assert kinds[:3] == ["unknown_tool", "invalid_arguments", "invalid_arguments"]
    assert "not valid JSON" in session["steps"][0]["tool_calls"][1]["error"]
    assert "amount: Field required" in session["steps"][0]["tool_calls"][2]["error"]
    assert session["usage"]["tool_errors"] == 3
    assert suite.results[0].passed  # it recovered


def test_model_that_never_calls_a_tool(tmp_path):
    bench = benchmark("001-sol-transfer")
    with FakeOpenAI(lambda body: Reply(content="I would rather not.")) as server:
        suite = run([bench], local_factory(server), tmp_path)
    result, session = suite.results[0], sessions(suite)[bench.id]
    assert result.status == "Completed" and not result.passed and result.score == 0.0
    assert session["usage"]["transactions"] == 0
    assert session["steps"][0]["final_answer"] == "I would rather not."


def test_max_turns_bounds_a_model_that_never_stops(tmp_path):
    bench = benchmark("001-sol-transfer")
    with FakeOpenAI(lambda body: Reply(tool_calls=[("get_wallet_overview", {})])) as server:
        suite = run([bench], local_factory(server, max_turns=3), tmp_path)
    session = sessions(suite)[bench.id]
    assert session["usage"]["model_calls"] == 3
    assert len(server.requests) == 3


def test_429_twice_then_success_records_three_attempts(tmp_path):
    bench = benchmark("001-sol-transfer")
    player = SolutionPlayer([bench])
    state = {"calls": 0}

    def script(body):
        state["calls"] += 1
        if state["calls"] <= 2:
            return Reply(status=429, headers={"Retry-After": "0.05"}, error_message="slow down")
        return player(body)

    with FakeOpenAI(script) as server:
        suite = run([bench], local_factory(server), tmp_path)
    assert suite.results[0].passed
    first_call = sessions(suite)[bench.id]["steps"][0]["model_calls"][0]
    attempts = first_call["attempts"]
    assert [a["status_code"] for a in attempts] == [429, 429, 200]
    assert [a["ok"] for a in attempts] == [False, False, True]
    assert attempts[0]["retry_after_s"] == pytest.approx(0.05)


@pytest.mark.slow
def test_server_that_never_answers_is_an_agent_error_and_the_suite_goes_on(tmp_path):
    slow, fine = benchmark("001-sol-transfer"), benchmark("002-spl-transfer")
    player = SolutionPlayer([fine])

    def script(body):
        if "0.1 SOL" in json.dumps(body["messages"][1]):
            return Reply(content="late", delay_s=30)
        return player(body)

    retry = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.05, max_total_wait_s=1)
    with FakeOpenAI(script) as server:
        suite = run(
            [slow, fine], local_factory(server, request_timeout_s=0.5, retry=retry), tmp_path
        )
    by_id = {r.benchmark_id: r for r in suite.results}
    assert by_id[slow.id].status == "Failed"
    assert "timed out" in by_id[slow.id].error and "2 attempt" in by_id[slow.id].error
    assert by_id[fine.id].passed


@pytest.mark.slow
def test_no_ground_truth_in_any_request(tmp_path):
    """What reev itself sends (system and user messages, tool definitions) carries no assertion
    value, expected instruction data, hidden name or hidden address that is not also in the
    user's request; tool results (consequences of the model's own calls) carry no hidden names."""
    benches = list(bundled().values())
    with FakeOpenAI(SolutionPlayer(benches)) as server:
        suite = run(benches, local_factory(server), tmp_path)
    by_id = sessions(suite)
    own_text: dict[str, str] = dict.fromkeys(by_id, "")
    tool_text: dict[str, str] = dict.fromkeys(by_id, "")
    for body in server.requests:
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        bench_id = next(b for b, s in by_id.items() if s["key_map"]["USER_WALLET_PUBKEY"] in user)
        own_text[bench_id] += json.dumps(
            [m for m in body["messages"] if m["role"] in ("system", "user")] + body["tools"]
        )
        tool_text[bench_id] += json.dumps([m for m in body["messages"] if m["role"] == "tool"])
    for bench in benches:
        session = by_id[bench.id]
        request = bench.prompt + " ".join(s.prompt for s in bench.flow or [])
        request += json.dumps(bench.model_dump(include={"initial_state", "mints"}))
        visible = set(session["steps"][0]["observation"]["key_map"])
        hidden_names = {n for n in session["key_map"] if n not in visible}
        secrets = set(hidden_names) | {session["key_map"][n] for n in hidden_names}
        for a in bench.ground_truth.final_state_assertions:
            for field in ("expected", "expected_gte", "expected_change", "expected_change_gte"):
                value = getattr(a, field, None)
                if isinstance(value, int) and value > 1000:
                    secrets.add(str(value))
        secrets |= {ix.data for ix in bench.ground_truth.expected_instructions if ix.checks_data}
        for call in bench.solution or []:
            secrets |= {v for v in call.args.values() if isinstance(v, str) and v.startswith("INV")}
        # What the chain shows before each step is public, whoever created it (a step-1 account).
        public = request + json.dumps([step["observation"] for step in session["steps"]])
        for secret in secrets - {s for s in secrets if s in public}:
            assert secret not in own_text[bench.id], f"{bench.id}: {secret!r} was sent to the model"
        for name in hidden_names:
            assert name not in tool_text[bench.id], (
                f"{bench.id}: hidden name {name} in a tool result"
            )
        for word in ("solution", "final_state_assertions", "expected_instructions"):
            assert word not in own_text[bench.id] + tool_text[bench.id]


@pytest.mark.slow
def test_epochs_and_concurrency_overlap_model_calls(tmp_path):
    benches = [benchmark("001-sol-transfer"), benchmark("002-spl-transfer")]
    player = SolutionPlayer(benches)

    def slow(body):
        reply = player(body)
        reply.delay_s = 0.2
        return reply

    with FakeOpenAI(slow) as server:
        suite = run(benches, local_factory(server), tmp_path, epochs=3, max_concurrency=4)
    assert server.max_in_flight >= 2  # episodes really ran at the same time
    assert len(suite.results) == 6
    summary = suite.summary()
    assert summary["pass@1"] == 1.0 and summary["pass@3"] == 1.0 and summary["pass^3"] == 1.0
    seeds = {(r.benchmark_id, r.epoch): r.seed for r in suite.results}
    assert len(set(seeds.values())) == 6  # each (benchmark, epoch) has its own seed


def test_token_budget_stops_the_run_cleanly(tmp_path):
    benches = list(bundled().values())[:4]
    with FakeOpenAI(SolutionPlayer(benches)) as server:
        budget = RunBudget(max_tokens=1)
        factory = local_factory(server, budget=budget)
        suite = run(benches, factory, tmp_path, stop=budget.exhausted)
    statuses = [r.status for r in suite.results]
    assert statuses[0] == "Failed" and "budget" in suite.results[0].error
    assert statuses[1:] == ["Cancelled"] * 3
    assert all("not started" in r.error for r in suite.results[1:])
    assert len(server.requests) == 1


def test_provider_registry():
    assert resolve_endpoint("glm-4.6").base_url == "https://api.z.ai/api/paas/v4"
    coding = resolve_endpoint("glm-4.6-coding")
    assert (coding.base_url, coding.model, coding.api_key_env) == (
        "https://api.z.ai/api/coding/paas/v4",
        "glm-4.6",
        "GLM_CODING_API_KEY",
    )
    router = resolve_endpoint("openrouter/anthropic/claude-sonnet-4")
    assert (
        router.model == "anthropic/claude-sonnet-4" and router.api_key_env == "OPENROUTER_API_KEY"
    )
    local = resolve_endpoint("local/qwen3-8b", base_url="http://localhost:11434/v1/")
    assert (local.model, local.base_url, local.api_key_env) == (
        "qwen3-8b",
        "http://localhost:11434/v1",
        None,
    )
    assert resolve_endpoint("openai/gpt-4.1-mini", model="gpt-4o").model == "gpt-4o"
    with pytest.raises(ProviderError, match="unknown agent"):
        resolve_endpoint("nope")
    with pytest.raises(ProviderError, match="needs a model"):
        resolve_endpoint("openai")


def test_missing_key_is_an_error_before_any_episode(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ZAI_API_KEY"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "reev.cli",
            "run",
            "benchmarks/",
            "--agent",
            "glm-4.6",
            "--log-dir",
            str(tmp_path),
        ],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "ZAI_API_KEY" in proc.stderr
    assert not (tmp_path / "sessions").exists()


@pytest.mark.slow
def test_api_key_never_written_anywhere(tmp_path):
    secret = "sk-test-DO-NOT-LEAK-0123456789"
    bench = benchmark("001-sol-transfer")
    with FakeOpenAI(SolutionPlayer([bench])) as server:
        env = {**os.environ, "MY_KEY": secret, "COLUMNS": "200"}
        out = tmp_path / "results.json"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "reev.cli",
                "run",
                "benchmarks/001-sol-transfer.yml",
                "--agent",
                "local/m",
                "--base-url",
                server.base_url,
                "--api-key-env",
                "MY_KEY",
                "--log-dir",
                str(tmp_path),
                "-o",
                str(out),
                "-v",
            ],
            check=False,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=60,
        )
    assert proc.returncode == 0, proc.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(), path
    assert secret not in proc.stdout + proc.stderr
    assert "passed" in proc.stdout and "1 passed" in proc.stdout


def test_a_provider_that_refuses_connections_ends_the_episode_with_each_attempt_recorded(
    tmp_path,
):
    """Nothing listens at the URL: each attempt is a connection error (retried as transient),
    and the episode ends Failed with an agent error naming the attempts; nothing hangs."""
    # Bound but not listening for the whole test: connections to it are refused, and no other
    # process can take the port meanwhile.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        retry = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.05, max_total_wait_s=1)
        options = AgentOptions(base_url=f"http://127.0.0.1:{port}/v1", retry=retry)
        bench = benchmark("001-sol-transfer")
        suite = run([bench], agent_factory("local/scripted-model", options), tmp_path)
    result = suite.results[0]
    assert result.status == "Failed" and not result.passed  # an agent error, not a crash
    # Named as what it is: a transport that maps a refused connection to a timeout (as
    # httpx-aiohttp 0.2 does) would tell the user to raise a timeout instead of start a server.
    assert "failed after 2 attempt(s): connection error" in result.error
    calls = sessions(suite)[bench.id]["steps"][0]["model_calls"]
    assert [a["ok"] for a in calls[0]["attempts"]] == [False, False]

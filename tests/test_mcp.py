"""MCP in both directions (issue 20), through the official `mcp` SDK on both ends.

reev as a server: a scripted MCP client (tests/helpers/mcp_agent.py) completes 001 and 002
through `reev mcp serve` over stdio and over streamable HTTP, and as the `--agent-mcp` program
of `reev run`; the tools it lists are reev's registry (plus `finish`) and nothing it received
carries ground truth. MCP servers as an LLM's tools: the scripted model passes 001/002 with
only the test server's tools (tests/helpers/mcp_tool_server.py, real transactions over the
episode's RPC), fails a wrong amount with the failing check named, and a server that crashes,
hangs or lists malformed tools fails its episodes, named, while the run goes on.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters, stdio_client

from helpers.fake_openai import FakeOpenAI, Reply, named_addresses, turns_so_far, user_message
from helpers.leak import HIDDEN, LEAK
from helpers.mcp_agent import play
from helpers.paths import BENCHMARKS, ROOT, TESTS, subprocess_env
from reev.mcp.server import FINISH_TOOL
from reev.spec import load_benchmark
from reev.tools import TOOLS

BENCHES = ["001-sol-transfer", "002-spl-transfer"]
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
TOOL_SERVER = (
    f"{shlex.quote(sys.executable)} {shlex.quote(str(TESTS / 'helpers' / 'mcp_tool_server.py'))}"
)
# What no agent may read (the benchmark's ground truth), whatever the benchmark.
GROUND_TRUTH_WORDS = [
    "solution",
    "ground_truth",
    "final_state_assertions",
    "expected_instructions",
    "expected",
]


def assert_no_ground_truth(seen: list[str], *hidden: str) -> None:
    """Nothing the client received names the ground truth or holds one of `hidden`."""
    text = "\n".join(seen)
    for item in [*GROUND_TRUTH_WORDS, *hidden]:
        assert item not in text, item


def assert_lists_reev_tools(seen: list[str]) -> None:
    listed = json.loads(seen[0])["tools"]
    by_name = {t["name"]: t for t in listed}
    assert set(by_name) == set(TOOLS) | {FINISH_TOOL}
    for tool in TOOLS.values():
        assert by_name[tool.name]["description"] == tool.description
        assert by_name[tool.name]["input_schema"] == tool.json_schema()


@pytest.mark.slow
def test_no_ground_truth_in_anything_the_client_received(tmp_path):
    """Tools, prompts and every tool result of an episode whose ground truth holds markers."""
    bench = tmp_path / "leak.yml"
    bench.write_text(LEAK, encoding="utf-8")

    async def main() -> list[str]:
        args = ["-m", "reev.cli", "mcp", "serve", str(bench), "--log-dir", str(tmp_path)]
        params = StdioServerParameters(
            command=sys.executable, args=args, env=subprocess_env(), cwd=ROOT
        )
        seen: list[str] = []
        async with Client(stdio_client(params)) as client:
            seen.append((await client.list_tools()).model_dump_json())
            seen.append((await client.list_prompts()).model_dump_json())
            prompt = await client.get_prompt("task")
            seen.append(prompt.model_dump_json())
            text = prompt.messages[0].content.text  # type: ignore[union-attr]  # TextContent
            recipient = re.search(r"^- RECIPIENT_WALLET_PUBKEY: (\w+)$", text, re.M).group(1)  # type: ignore[union-attr]
            for tool, args in [
                ("get_wallet_overview", {}),
                ("sol_transfer", {"recipient": recipient, "amount": "0.1"}),
                ("submit_transaction", {}),
                ("finish", {"summary": "sent"}),
            ]:
                seen.append((await client.call_tool(tool, args)).model_dump_json())
        return seen

    seen = asyncio.run(main())
    (session_file,) = (tmp_path / "sessions").glob("session_*.json")
    session = json.loads(session_file.read_text())
    assert session["final_result"]["checks"], "the episode was scored"
    assert_no_ground_truth(
        seen,
        *HIDDEN,
        session["key_map"]["HIDDEN_TARGET_ATA"],
        session["key_map"]["SECRET_SIDE_WALLET"],
    )
    assert session["key_map"]["RECIPIENT_WALLET_PUBKEY"] in seen[2]


def results_of(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def serve_args(name: str, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "-m", "reev.cli", "mcp", "serve", str(BENCHMARKS / f"{name}.yml"),
        "--log-dir", str(tmp_path / "logs"), "-o", str(tmp_path / f"{name}.json"), *extra,
    ]  # fmt: skip


def assert_passed(results: dict[str, Any], agent: str) -> None:
    (result,) = results["results"]
    assert (result["status"], result["passed"], result["score"]) == ("Completed", True, 1.0)
    assert results["agent"] == result["agent"] == agent
    assert set(results) >= {"results", "benchmarks", "summary", "reev_version"}
    session = json.loads(Path(result["session_file"]).read_text())
    assert [c["tool"] for c in session["steps"][0]["tool_calls"]][-1] == "submit_transaction"


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHES)
def test_an_mcp_client_completes_the_task_over_stdio(tmp_path, name):
    async def main() -> list[str]:
        params = StdioServerParameters(
            command=sys.executable, args=serve_args(name, tmp_path), env=subprocess_env(), cwd=ROOT
        )
        async with Client(stdio_client(params)) as client:
            return await play(client, [load_benchmark(BENCHMARKS / f"{name}.yml").benchmark])

    seen = asyncio.run(main())
    assert_lists_reev_tools(seen)
    assert_no_ground_truth(seen)
    # The request, with real addresses, is what the prompt said.
    session = json.loads(
        Path(results_of(tmp_path / f"{name}.json")["results"][0]["session_file"]).read_text()
    )
    prompt = json.loads(seen[2])["messages"][0]["content"]["text"]
    assert session["steps"][0]["prompt"] in prompt
    assert_passed(results_of(tmp_path / f"{name}.json"), "mcp-stdio")


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHES)
def test_an_mcp_client_completes_the_task_over_http(tmp_path, name):
    proc = subprocess.Popen(
        [sys.executable, *serve_args(name, tmp_path, "--http", "--port", "0")],
        cwd=ROOT, env=subprocess_env(COLUMNS="300"), stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+/mcp)", banner)
        assert found, banner

        async def main() -> list[str]:
            async with Client(found.group(1)) as client:
                return await play(client, [load_benchmark(BENCHMARKS / f"{name}.yml").benchmark])

        seen = asyncio.run(main())
        proc.wait(timeout=30)
        rest = proc.stderr.read()
    finally:
        proc.kill()
    assert proc.returncode == 0, rest
    assert_lists_reev_tools(seen)
    assert_no_ground_truth(seen)
    assert_passed(results_of(tmp_path / f"{name}.json"), "mcp-http")


def reev_run(
    tmp_path: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    output = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "reev.cli", "run", *[str(BENCHMARKS / f"{b}.yml") for b in BENCHES],
         "--log-dir", str(tmp_path / "logs"), "-o", str(output), *args],
        cwd=ROOT, env=subprocess_env(COLUMNS="300", OPENAI_API_KEY="sk-test", **(env or {})),
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    results = results_of(output) if output.exists() else {}
    return done, results


def session_of(result: dict[str, Any]) -> dict[str, Any]:
    return json.loads(Path(result["session_file"]).read_text())


@pytest.mark.slow
def test_agent_mcp_runs_an_mcp_client_program_per_episode(tmp_path):
    dump = tmp_path / "seen-$REEV_BENCHMARK_ID.jsonl"
    program = (
        f"{shlex.quote(sys.executable)} -m helpers.mcp_agent {{url}} "
        f"{shlex.quote(str(BENCHMARKS))}/$REEV_BENCHMARK_ID.yml --dump {dump}"
    )
    done, results = reev_run(tmp_path, "--agent-mcp", program)
    assert done.returncode == 0, done.stderr
    assert [(r["benchmark_id"], r["passed"], r["score"]) for r in results["results"]] == [
        (b, True, 1.0) for b in BENCHES
    ]
    assert results["agent"] == f"mcp:{program}"
    for name, result in zip(BENCHES, results["results"], strict=True):
        seen = (tmp_path / f"seen-{name}.jsonl").read_text().splitlines()
        assert_lists_reev_tools(seen)
        assert_no_ground_truth(seen)
        step = session_of(result)["steps"][0]
        assert step["model_calls"][0]["request_messages_delta"][0]["env"]["REEV_MCP_URL"].endswith(
            "/mcp"
        )
        assert step["final_answer"] == "done as asked"  # what it said with `finish`


@pytest.mark.slow
def test_the_example_mcp_agent_does_the_task_with_a_model(tmp_path):
    """examples/mcp_agent.py, the README's `--agent-mcp` example, on the scripted model."""

    def model(body: dict[str, Any]) -> Reply:
        names = named_addresses(body)
        offered = {t["function"]["name"] for t in body["tools"]}
        assert offered == set(TOOLS), "reev's tools, without `finish`"
        turn = turns_so_far(body)
        if turn == 0:
            recipient = names["RECIPIENT_WALLET_PUBKEY"]
            return Reply(tool_calls=[("sol_transfer", {"recipient": recipient, "amount": "0.1"})])
        if turn == 1:
            return Reply(tool_calls=[("submit_transaction", {})])
        return Reply(content="Sent 0.1 SOL.")

    program = f"{shlex.quote(sys.executable)} examples/mcp_agent.py {{url}}"
    with FakeOpenAI(model) as fake:
        done, results = reev_run(
            tmp_path,
            "--agent-mcp",
            program,
            env={"OPENAI_BASE_URL": fake.base_url, "OPENAI_MODEL": "scripted"},
        )
    first = results["results"][0]
    assert (first["benchmark_id"], first["passed"], first["score"]) == (
        "001-sol-transfer",
        True,
        1.0,
    )
    assert session_of(first)["steps"][0]["final_answer"] == "Sent 0.1 SOL."
    # 002 asks for USDC: this model only knows SOL, and the score says so.
    assert not results["results"][1]["passed"], done.stderr


# --- MCP tool servers as the model's tools ----------------------------------------------------


class ServerToolsModel:
    """A scripted model that does 001/002 with the test server's tools only, and checks that
    those are all it was offered."""

    def __init__(self, sol_times: float = 1.0):
        self.sol_times = sol_times
        self.offered: list[list[str]] = []

    def __call__(self, body: dict[str, Any]) -> Reply:
        self.offered.append(sorted(t["function"]["name"] for t in body["tools"]))
        if turns_so_far(body) > 0:
            return Reply(content="Done.")
        names = named_addresses(body)
        if "USDC" in user_message(body):
            return Reply(
                tool_calls=[
                    ("send_token", {
                        "source": names["USER_USDC_ATA"],
                        "destination": names["RECIPIENT_USDC_ATA"],
                        "amount_base_units": 15_000_000,  # 15 USDC, 6 decimals
                    })
                ]
            )  # fmt: skip
        amount = 0.1 * self.sol_times
        return Reply(
            tool_calls=[
                (
                    "send_sol",
                    {"recipient": names["RECIPIENT_WALLET_PUBKEY"], "amount_sol": str(amount)},
                )
            ]
        )


def run_with_server(tmp_path: Path, model: ServerToolsModel, server: str, *extra: str):
    with FakeOpenAI(model) as fake:
        return reev_run(
            tmp_path, "--agent", "local/m", "--base-url", fake.base_url, "--api-key-env",
            "OPENAI_API_KEY", "--mcp-server", server, *extra,
        )  # fmt: skip


@pytest.mark.slow
def test_the_model_passes_with_only_the_mcp_servers_tools(tmp_path):
    model = ServerToolsModel()
    done, results = run_with_server(tmp_path, model, TOOL_SERVER)
    assert done.returncode == 0, done.stderr
    assert [(r["benchmark_id"], r["passed"]) for r in results["results"]] == [
        (b, True) for b in BENCHES
    ]
    sol, spl = (r["breakdown"] for r in results["results"])
    assert sol == {"state": 1.0, "instruction": 1.0, "transaction": 1.0}
    # As for any JSON-RPC agent (test_rpc_agent_cmd): the compiled transaction makes the fee
    # payer (the token owner) writable, so 3 of the 4 parts of the expected instruction match.
    assert spl == {"state": 1.0, "instruction": 0.75, "transaction": 1.0}
    assert results["agent"] == "local/m+mcp"
    assert {tuple(o) for o in model.offered} == {("send_sol", "send_token", "wallet_balance")}
    for result in results["results"]:
        step = session_of(result)["steps"][0]
        # The server's call is in the record, and its transaction is the step's, scored.
        assert [c["tool"] for c in step["tool_calls"]] in (["send_sol"], ["send_token"])
        (tx,) = step["transactions"]
        assert tx["success"] and tx["signature"] == step["tool_calls"][0]["result"]["signature"]
        # The server's tools send their own transactions: the system prompt does not tell the
        # model to call a submit_transaction it was not offered.
        assert "submit_transaction" not in system_message(step)


@pytest.mark.slow
def test_with_reev_tools_the_model_gets_both(tmp_path):
    model = ServerToolsModel()
    done, results = run_with_server(tmp_path, model, TOOL_SERVER, "--with-reev-tools")
    assert done.returncode == 0, done.stderr
    assert all(r["passed"] for r in results["results"])
    server_tools = {"send_sol", "send_token", "wallet_balance"}
    assert {tuple(o) for o in model.offered} == {tuple(sorted(set(TOOLS) | server_tools))}
    for result in results["results"]:  # reev's staging tools are offered: their contract is told
        assert "call submit_transaction" in system_message(session_of(result)["steps"][0])


def system_message(step: dict) -> str:
    """The system message of a step's first model call (the first call's delta is whole)."""
    first = step["model_calls"][0]
    assert first["messages_from"] == 0
    (system,) = [m for m in first["request_messages_delta"] if m["role"] == "system"]
    return system["content"]


@pytest.mark.slow
def test_a_wrong_amount_fails_with_the_check_named(tmp_path):
    done, results = run_with_server(tmp_path, ServerToolsModel(sol_times=2), TOOL_SERVER)
    assert done.returncode == 0, done.stderr  # ran to the end: the score says how it went
    first = results["results"][0]
    assert (first["benchmark_id"], first["status"], first["passed"]) == (
        "001-sol-transfer", "Completed", False,
    )  # fmt: skip
    failed = {c["name"]: c for c in session_of(first)["final_result"]["checks"] if not c["passed"]}
    check = failed["SolBalance RECIPIENT_WALLET_PUBKEY"]
    # Expected 0.1 SOL to arrive, 0.2 did: the check says both.
    assert (check["component"], check["actual"] - check["expected"]) == ("state", 100_000_000)
    assert check["reason"] == "SOL balance is 200000000 lamports, expected 100000000"
    assert results["results"][1]["passed"]  # 002 is not affected


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("crash", r"failed while starting.*no wallet configured"),
        ("hang", r"did not answer within 2 s"),
        (
            "malformed",
            r"does not follow the protocol: tools\.0\.inputSchema\.properties\.amount: Input "
            "should be a valid dictionary",
        ),
    ],
)
def test_a_broken_server_fails_its_episodes_and_the_run_goes_on(tmp_path, mode, said):
    server = f"{TOOL_SERVER} --mode {mode}"
    done, results = run_with_server(
        tmp_path, ServerToolsModel(), server, "--mcp-start-timeout", "2"
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert [(r["benchmark_id"], r["status"]) for r in results["results"]] == [
        (b, "Failed") for b in BENCHES
    ]
    for result in results["results"]:
        assert f"MCP server `{server}`" in result["error"]
        assert re.search(said, result["error"]), result["error"]


def test_contradictory_agent_options_are_refused_up_front(tmp_path):
    done, _ = reev_run(tmp_path, "--mcp-server", TOOL_SERVER)  # the deterministic agent
    assert done.returncode == 2 and "--mcp-server gives tools to a model" in done.stderr
    done, _ = reev_run(tmp_path, "--agent-cmd", "true", "--agent-mcp", "true")
    assert done.returncode == 2 and "give one" in done.stderr


# --- in-process: flows, the end of an episode, the checks on a server's tools --------------


def serve_in_process(bench_file: Path, tmp_path: Path, client_side, *, mode: str = "auto"):
    """`reev mcp serve --http` without the subprocess: the episode and the client in one loop."""
    from reev.mcp.bridge import EpisodeBridge
    from reev.mcp.served import ServedAgent
    from reev.mcp.server import build_server, serving_http
    from reev.runner import run_episode

    bench = load_benchmark(bench_file).benchmark

    async def main():
        bridge = EpisodeBridge()
        async with serving_http(build_server(bridge), bridge) as url:
            episode = asyncio.create_task(
                run_episode(bench, ServedAgent(bridge), log_dir=tmp_path, step_timeout_s=60)
            )
            async with Client(url, mode=mode) as client:
                seen = await client_side(client, bench)
            return await episode, seen

    return asyncio.run(main())


@pytest.mark.slow
def test_a_flow_is_one_task_prompt_per_step(tmp_path):
    async def client_side(client, bench):
        seen = await play(client, [bench])
        # The episode is over: a tool call is told so, and changes nothing.
        after = await client.call_tool("get_wallet_overview", {})
        return [*seen, after.model_dump_json()]

    result, seen = serve_in_process(
        BENCHMARKS / "012-flow-wrap-then-send-wsol.yml", tmp_path, client_side
    )
    assert (result.status, result.passed) == ("Completed", True)
    prompts = [json.loads(s) for s in seen if '"messages"' in s]
    bench = load_benchmark(BENCHMARKS / "012-flow-wrap-then-send-wsol.yml").benchmark
    assert [p["description"] for p in prompts] == [
        f"{bench.id}, step {i} of {len(bench.flow)}" for i in range(1, len(bench.flow) + 1)
    ]
    assert json.loads(seen[-1])["structured_content"] == {
        "error": "the episode is over: nothing more can be done"
    }
    assert_no_ground_truth(seen)


@pytest.mark.slow
def test_a_client_that_leaves_without_finish_ends_the_episode(tmp_path):
    async def client_side(client, bench):
        await client.get_prompt("task")
        return []  # disconnects here, having done nothing

    # A handshake-era client (`initialize`) has an HTTP session, which it deletes on leaving; the
    # 2026 protocol has no session to end over HTTP (docs/mcp.md), stdio's end is its close.
    result, _ = serve_in_process(
        BENCHMARKS / "001-sol-transfer.yml", tmp_path, client_side, mode="legacy"
    )
    # The step ended (no time limit ran out); nothing was sent, so the score says it failed.
    assert (result.status, result.passed, result.signatures) == ("Completed", False, ())


def test_tools_a_model_cannot_be_offered_are_refused_naming_the_server():
    from mcp import types as mcp_types

    from reev.mcp.toolbox import McpServerError, check_tool

    ok = check_tool("srv", mcp_types.Tool(name="pay", input_schema={"type": "object"}))
    assert (ok.name, ok.server, ok.openai_schema()["function"]["parameters"]) == (
        "pay", "srv", {"type": "object"},
    )  # fmt: skip
    for tool, said in [
        (mcp_types.Tool(name="pay now!", input_schema={"type": "object"}), "1-64 letters"),
        (mcp_types.Tool(name="x" * 65, input_schema={"type": "object"}), "1-64 letters"),
        (
            mcp_types.Tool(name="pay", input_schema={"type": "string"}),
            "not a JSON schema of an object",
        ),
    ]:
        with pytest.raises(McpServerError, match=said) as caught:
            check_tool("my-server --flag", tool)
        assert "MCP server `my-server --flag`" in str(caught.value)


def test_the_tool_count_limit_is_checked_before_the_model_is_called():
    import io

    from mcp import types as mcp_types

    from reev.mcp.agent import tool_count_error
    from reev.mcp.toolbox import OPENAI_TOOL_LIMIT, McpConnection, check_tool

    def server(name: str, n: int) -> McpConnection:
        tools = [
            check_tool(name, mcp_types.Tool(name=f"{name}_{i}", input_schema={"type": "object"}))
            for i in range(n)
        ]
        return McpConnection(name, client=None, tools=tools, stderr=io.StringIO())  # type: ignore[arg-type]  # never called

    assert OPENAI_TOOL_LIMIT == 128
    fits = [server("a", 50), server("b", 128 - 50 - len(TOOLS))]  # 128 with reev's: at the limit
    assert tool_count_error(fits, reev_tools=len(TOOLS), limit=OPENAI_TOOL_LIMIT) is None
    over = [server("a", 100), server("b", 29)]
    said = tool_count_error(over, reev_tools=0, limit=OPENAI_TOOL_LIMIT)
    assert said == (
        "129 tools (100 from `a`, 29 from `b`) exceed the limit of 128 tools per request of "
        "OpenAI-compatible APIs: offer fewer tools"
    )
    with_reev = tool_count_error([server("a", 100)], reev_tools=len(TOOLS), limit=128)
    assert with_reev == (
        f"{100 + len(TOOLS)} tools (100 from `a`, {len(TOOLS)} of reev's) exceed the limit of 128 "
        "tools per request of OpenAI-compatible APIs: offer fewer tools"
    )


@pytest.mark.slow
def test_the_server_ends_with_its_episode_while_a_stdio_client_stays(tmp_path):
    """A host that keeps the pipe open after the last `finish`: scored, written, exited."""
    proc = subprocess.Popen(
        [sys.executable, *serve_args("001-sol-transfer", tmp_path)],
        cwd=ROOT, env=subprocess_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:

        def send(message: dict[str, Any]) -> None:
            proc.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")  # type: ignore[union-attr]  # a pipe
            proc.stdin.flush()  # type: ignore[union-attr]  # a pipe

        hello = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"},
        }
        send({"id": 1, "method": "initialize", "params": hello})
        assert json.loads(proc.stdout.readline())["id"] == 1
        send({"method": "notifications/initialized"})
        send({"id": 2, "method": "tools/call", "params": {"name": "finish", "arguments": {}}})
        reply = json.loads(proc.stdout.readline())
        assert reply["result"]["structuredContent"]["next"] == "the episode is over"
        assert proc.wait(timeout=30) == 0  # stdin still open
    finally:
        proc.kill()
    (result,) = results_of(tmp_path / "001-sol-transfer.json")["results"]
    assert (result["status"], result["passed"]) == ("Completed", False)  # it did nothing

"""solana-agent-kit (the real npm package, examples/solana-agent-kit) as a `--agent-cmd` agent.

The scripted model (helpers.fake_openai) plays a competent model through the kit's own actions:
BALANCE_ACTION and TRANSFER for 001 and 002, TRADE for the swap 070 (the kit's Jupiter calls go
to reev's Jupiter-shaped API). The kit builds, signs and sends every transaction itself over the
episode's JSON-RPC; reev records them in the session file and scores the final state.

`make node-deps` installs the packages (`npm ci --prefix examples/solana-agent-kit`); the
fixture runs the same `npm ci` when they are missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from helpers.agent_cmd import reev_run, session
from helpers.fake_openai import FakeOpenAI, Reply, named_addresses, turns_so_far
from helpers.paths import BENCHMARKS, ROOT
from helpers.rpc import call, chain_serve
from reev.constants import LAMPORTS_PER_SOL, NATIVE_MINT

KIT_DIR = ROOT / "examples" / "solana-agent-kit"
AGENT = f"node {shlex.quote(str(KIT_DIR / 'agent.mjs'))}"
NODE = shutil.which("node")
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
SYSTEM_PROGRAM = "11111111111111111111111111111111"
COMPUTE_BUDGET = "ComputeBudget111111111111111111111111111111"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"

pytestmark = [
    pytest.mark.node,
    pytest.mark.slow,
    pytest.mark.skipif(NODE is None, reason="Node.js is not installed"),
]


@pytest.fixture(scope="module")
def kit_modules() -> Path:
    modules = KIT_DIR / "node_modules"
    if not (modules / "solana-agent-kit").exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(
                "examples/solana-agent-kit/node_modules is missing and npm is not installed"
            )
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            check=False,
            cwd=KIT_DIR,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci failed (run `make node-deps`): {done.stderr[-2000:]}")
    return modules


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(m["content"]) for m in body["messages"] if m["role"] == "tool"]


def scripted(turns: list[tuple[str, dict[str, Any]]]):
    """A model that makes `turns` (arguments may name addresses from the context the agent
    gave it, as `{NAME}`), one tool call a turn, then answers."""

    def script(body: dict[str, Any]) -> Reply:
        turn = turns_so_far(body)
        if turn >= len(turns):
            return Reply(content="Done.")
        names = named_addresses(body)
        tool, args = turns[turn]
        resolved = {
            k: names[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v
            for k, v in args.items()
        }
        return Reply(tool_calls=[(tool, resolved)])

    return script


def run_kit(tmp_path: Path, benchmark: str, turns: list[tuple[str, dict[str, Any]]]):
    with FakeOpenAI(scripted(turns)) as model:
        env = {
            "OPENAI_BASE_URL": model.base_url,
            "OPENAI_API_KEY": "scripted",
            "OPENAI_MODEL": "scripted-model",
        }
        done, results = reev_run(tmp_path, [benchmark], AGENT, env=env)
    assert done.returncode == 0, done.stderr
    (result,) = results["results"]
    return result, session(result), model.requests


def test_kit_transfers_sol(tmp_path, kit_modules):
    result, record, requests = run_kit(
        tmp_path,
        "001-sol-transfer",
        [
            ("BALANCE_ACTION", {}),
            ("TRANSFER", {"to": "{RECIPIENT_WALLET_PUBKEY}", "amount": 0.1}),
            ("GET_TPS", {}),
        ],
    )
    assert result["status"] == "Completed" and result["passed"], result
    # The kit's own balance action read the wallet's 1 SOL over getBalance.
    balance = tool_results(requests[1])[0]
    assert balance["status"] == "success" and balance["balance"] == 1_000_000_000 / LAMPORTS_PER_SOL
    step = record["steps"][0]
    (tx,) = step["transactions"]
    # The kit's TRANSFER: a unit limit and a price (0 here: no block paid one) before the transfer.
    programs = [ix["program_id"] for ix in tx["instructions"]]
    assert programs == [COMPUTE_BUDGET, COMPUTE_BUDGET, SYSTEM_PROGRAM]
    assert tx["success"] and tx["fee"] == 5000
    sent = tool_results(requests[2])[1]
    assert sent["status"] == "success" and sent["transaction"] == tx["signature"]
    # GET_TPS over getRecentPerformanceSamples: the one transaction in the 60-second sample.
    tps = tool_results(requests[3])[2]
    assert tps["status"] == "success" and tps["response"] == 1 / 60
    # Two extra instructions nobody asked for cost instruction points, not the pass.
    assert result["breakdown"]["state"] == 1.0 and result["breakdown"]["instruction"] < 1.0
    call = step["model_calls"][0]
    assert call["provider"] == "command" and call["response"]["exit_code"] == 0
    methods = {c["method"] for c in call["response"]["rpc_calls"]}
    assert {"getBalance", "simulateTransaction", "getRecentPrioritizationFees"} <= methods
    assert "getRecentPerformanceSamples" in methods
    assert {"sendTransaction", "getSignatureStatuses"} <= methods
    assert record["agent"] == f"cmd:{AGENT}"
    # Every request to the model carried the kit's actions as tools, TRANSFER among them.
    assert all("TRANSFER" in {t["function"]["name"] for t in r["tools"]} for r in requests) and all(
        r["model"] == "scripted-model" for r in requests
    )


def test_kit_transfers_spl_tokens(tmp_path, kit_modules):
    result, record, requests = run_kit(
        tmp_path,
        "002-spl-transfer",
        [
            ("BALANCE_ACTION", {"tokenAddress": "{USER_USDC_ATA}"}),
            ("TRANSFER", {"to": "{RECIPIENT_WALLET_PUBKEY}", "amount": 15, "mint": USDC}),
        ],
    )
    assert result["status"] == "Completed" and result["passed"], result
    assert result["breakdown"]["state"] == 1.0 and result["breakdown"]["transaction"] == 1.0
    balance = tool_results(requests[1])[0]
    assert balance["balance"] == 50_000_000 / 10**6  # the benchmark's 50 USDC, in UI units
    (tx,) = record["steps"][0]["transactions"]
    assert [ix["program_id"] for ix in tx["instructions"]] == [
        COMPUTE_BUDGET,
        COMPUTE_BUDGET,
        TOKEN_PROGRAM,
    ]
    assert tx["success"] and tx["fee"] == 5000


def test_kit_trades_through_reevs_jupiter_api(tmp_path, kit_modules):
    result, record, requests = run_kit(
        tmp_path,
        "070-swap-sol-usdc",
        [("TRADE", {"outputMint": USDC, "inputAmount": 0.1, "inputMint": str(NATIVE_MINT)})],
    )
    assert result["status"] == "Completed" and result["passed"], result
    traded = tool_results(requests[1])[0]
    (tx,) = record["steps"][0]["transactions"]
    assert traded["status"] == "success" and traded["transaction"] == tx["signature"]
    call = record["steps"][0]["model_calls"][0]
    # The kit asked its hard-coded Jupiter host; the agent routed both calls to reev's API.
    stderr = call["response"]["stderr"]
    assert "https://quote-api.jup.ag/v6/quote -> " in stderr
    assert "https://quote-api.jup.ag/v6/swap -> " in stderr


def test_kit_sending_the_wrong_amount_fails_on_the_state(tmp_path, kit_modules):
    result, record, _ = run_kit(
        tmp_path,
        "001-sol-transfer",
        [("TRANSFER", {"to": "{RECIPIENT_WALLET_PUBKEY}", "amount": 0.2})],
    )
    assert result["status"] == "Completed" and not result["passed"]
    (tx,) = record["steps"][0]["transactions"]
    assert tx["success"] and result["breakdown"]["transaction"] == 1.0  # it landed
    failing = {
        c["name"]: c["actual"]
        for c in record["final_result"]["checks"]
        if c["component"] == "state" and not c["passed"]
    }
    sent = 2 * LAMPORTS_PER_SOL // 10
    assert failing == {
        "SolBalance RECIPIENT_WALLET_PUBKEY": sent,
        "SolBalance USER_WALLET_PUBKEY": LAMPORTS_PER_SOL - sent - tx["fee"],
    }


def test_kit_as_an_mcp_tool_server(tmp_path, kit_modules):
    """examples/solana-agent-kit/mcp-server.mjs (the TypeScript MCP SDK over the kit), driven by
    the official Python MCP client against `reev chain serve`: the kit's tools are listed with
    their schemas, and its TRANSFER moves 0.1 SOL on the served chain."""
    with chain_serve(BENCHMARKS / "001-sol-transfer.yml", tmp_path) as info:
        recipient = info["addresses"]["RECIPIENT_WALLET_PUBKEY"]
        server = StdioServerParameters(
            command=str(NODE),
            args=[str(KIT_DIR / "mcp-server.mjs")],
            env={
                **os.environ,
                "REEV_RPC_URL": info["rpc_url"],
                "REEV_KEYPAIR": info["keypair"],
            },
        )

        async def scenario() -> tuple[Any, Any, Any]:
            async with stdio_client(server) as (read, write), ClientSession(read, write) as mcp:
                await mcp.initialize()
                listed = await mcp.list_tools()
                sent = await mcp.call_tool("TRANSFER", {"to": recipient, "amount": 0.1})
                unknown = await mcp.call_tool("NO_SUCH_ACTION", {})
                return listed, sent, unknown

        listed, sent, unknown = asyncio.run(scenario())
        balance = call(info["rpc_url"], "getBalance", [recipient])["result"]["value"]
        wallet = call(info["rpc_url"], "getBalance", [info["wallet"]])["result"]["value"]

    tools = {tool.name: tool for tool in listed.tools}
    assert len(tools) == 26 and {"TRANSFER", "BALANCE_ACTION", "TRADE", "GET_TPS"} <= set(tools)
    assert set(tools["TRANSFER"].input_schema["properties"]) == {"to", "amount", "mint"}
    answer = json.loads(sent.content[0].text)
    assert not sent.is_error and answer["status"] == "success", answer
    assert balance == LAMPORTS_PER_SOL // 10
    assert wallet == LAMPORTS_PER_SOL - LAMPORTS_PER_SOL // 10 - 5000
    assert unknown.is_error and "unknown tool NO_SUCH_ACTION" in unknown.content[0].text


def test_kit_mcp_server_as_the_models_toolbox(tmp_path, kit_modules):
    """The kit's MCP server (examples/solana-agent-kit/mcp-server.mjs) as `--mcp-server`: reev
    starts it per episode with the episode's RPC URL and wallet, the model (scripted) sees only
    its tools, and the kit's TRANSFER lands on the episode's chain: 001 passes on the state."""
    from helpers.reev_cli import reev

    server = f"node {shlex.quote(str(KIT_DIR / 'mcp-server.mjs'))}"
    turns = [("TRANSFER", {"to": "{RECIPIENT_WALLET_PUBKEY}", "amount": 0.1})]
    output = tmp_path / "results.json"
    with FakeOpenAI(scripted(turns)) as model:
        done = reev(
            "run",
            str(BENCHMARKS / "001-sol-transfer.yml"),
            "--agent",
            "openai/scripted-model",
            "--base-url",
            model.base_url,
            "--mcp-server",
            server,
            "--log-dir",
            str(tmp_path / "logs"),
            "-o",
            str(output),
            timeout=300,
            OPENAI_API_KEY="scripted",
        )
        requests = model.requests
    assert done.returncode == 0, done.stderr[-3000:]
    (result,) = json.loads(output.read_text())["results"]
    assert result["status"] == "Completed" and result["passed"], result
    assert result["breakdown"]["state"] == 1.0
    record = session(result)
    (tx,) = record["steps"][0]["transactions"]
    programs = [ix["program_id"] for ix in tx["instructions"]]
    assert programs == [COMPUTE_BUDGET, COMPUTE_BUDGET, SYSTEM_PROGRAM]  # the kit's own transfer
    chat = [r for r in requests if "messages" in r]
    offered = {t["function"]["name"] for t in chat[0]["tools"]}
    assert "TRANSFER" in offered and "sol_transfer" not in offered  # only the server's tools
    sent = tool_results(chat[1])[0]
    assert sent["status"] == "success" and sent["transaction"] == tx["signature"]

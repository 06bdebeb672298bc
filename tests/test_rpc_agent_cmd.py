"""`reev run --agent-cmd CMD`: any program as the agent, talking JSON-RPC to the episode's chain.

A Node.js agent on @solana/web3.js (tests/node/agent.mjs) passes the SOL and SPL transfer tasks,
fails when it sends the wrong amount, and is killed (and recorded) when it hangs; a Python agent
on solana-py shows what the program is given and that a crash is recorded as a failed run.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import time
from collections.abc import Callable

import pytest

from helpers.agent_cmd import reev_run, session
from helpers.paths import ROOT, TESTS

NODE = shutil.which("node")
NODE_AGENT = ROOT / "tests" / "node" / "agent.mjs"
PY_AGENT = (
    f"{shlex.quote(sys.executable)} {shlex.quote(str(TESTS / 'helpers' / 'rpc_agent_probe.py'))}"
)
_without_node = pytest.mark.skipif(
    NODE is None or not (ROOT / "tests" / "node" / "node_modules" / "@solana" / "web3.js").exists(),
    reason="Node.js or tests/node/node_modules missing (make node-deps)",
)


def needs_node(test: Callable[..., None]) -> Callable[..., None]:
    """The `node` marker (deselect with `-m "not node"`) and the skip when Node.js is missing."""
    return pytest.mark.node(_without_node(test))


@needs_node
def test_node_agent_passes_sol_and_spl_transfers(tmp_path):
    done, results = reev_run(
        tmp_path, ["001-sol-transfer", "002-spl-transfer"], f"node {NODE_AGENT}"
    )
    assert done.returncode == 0, done.stderr
    by_id = {r["benchmark_id"]: r for r in results["results"]}
    assert by_id["001-sol-transfer"]["passed"] and by_id["001-sol-transfer"]["score"] == 1.0
    spl = by_id["002-spl-transfer"]
    assert (
        spl["passed"]
        and spl["breakdown"]["state"] == 1.0
        and spl["breakdown"]["transaction"] == 1.0
    )
    # The compiled transaction makes the fee payer (the token owner) writable: 3 of 4 parts match.
    assert spl["breakdown"]["instruction"] == 0.75
    record = session(spl)
    step = record["steps"][0]
    call = step["model_calls"][0]
    assert (
        call["provider"] == "command"
        and call["error"] is None
        and call["response"]["exit_code"] == 0
    )
    methods = [(c["transport"], c["method"]) for c in call["response"]["rpc_calls"]]
    assert ("http", "sendTransaction") in methods and ("ws", "signatureSubscribe") in methods
    assert "confirmed" in call["response"]["stdout"] and step["final_answer"].endswith(
        step["transactions"][0]["signature"]
    )
    (tx,) = step["transactions"]
    assert tx["success"] and tx["fee"] == 5000
    assert tx["instructions"][0]["program_id"] == "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
    assert record["agent"] == f"cmd:node {NODE_AGENT}"


@needs_node
def test_node_agent_with_the_wrong_amount_fails(tmp_path):
    done, results = reev_run(
        tmp_path, ["001-sol-transfer"], f"node {NODE_AGENT}", env={"REEV_TEST_AMOUNT_FACTOR": "2"}
    )
    assert done.returncode == 0, done.stderr  # the run worked; the agent did the wrong thing
    (result,) = results["results"]
    assert result["status"] == "Completed" and not result["passed"]
    assert result["breakdown"]["state"] < 1.0 and result["breakdown"]["transaction"] == 1.0


@needs_node
def test_hanging_agent_is_killed_at_the_time_limit(tmp_path):
    started = time.monotonic()
    done, results = reev_run(
        tmp_path,
        ["001-sol-transfer"],
        f"node {NODE_AGENT}",
        "--step-timeout",
        "3",
        env={"REEV_TEST_HANG": "1"},
    )
    assert time.monotonic() - started < 60
    assert done.returncode == 1  # an episode did not run to its end
    (result,) = results["results"]
    assert result["status"] == "Timeout" and not result["passed"]
    step = session(result)["steps"][0]
    assert step["status"] == "timeout"
    call = step["model_calls"][0]
    assert (
        call["finish_reason"] == "timeout" and "killed after the step's time limit" in call["error"]
    )
    assert "hanging" in call["response"]["stdout"]  # what it printed before it was killed
    assert [c["method"] for c in call["response"]["rpc_calls"]] == ["getSlot"]


@pytest.mark.slow
def test_python_agent_environment_and_no_ground_truth(tmp_path):
    done, results = reev_run(tmp_path, ["001-sol-transfer"], PY_AGENT)
    assert done.returncode == 0, done.stderr
    (result,) = results["results"]
    assert result["passed"] and result["score"] == 1.0
    call = session(result)["steps"][0]["model_calls"][0]
    given = json.loads(call["response"]["stdout"].splitlines()[0])
    env = given["env"]
    assert given["keypair_len"] == 64
    assert {
        "REEV_RPC_URL",
        "REEV_WS_URL",
        "REEV_PROMPT",
        "REEV_CONTEXT",
        "REEV_CONTEXT_TEXT",
        "REEV_BENCHMARK_ID",
        "REEV_STEP",
        "REEV_STEP_COUNT",
        "REEV_TIME_LIMIT_S",
    } <= set(env)
    assert (
        env["REEV_RPC_URL"].startswith("http://127.0.0.1:")
        and env["REEV_BENCHMARK_ID"] == "001-sol-transfer"
    )
    context = json.loads(env["REEV_CONTEXT"])
    assert context["wallet"] == context["key_map"]["USER_WALLET_PUBKEY"]
    assert any(
        a["address"] == context["wallet"] and a["lamports"] == 1_000_000_000
        for a in context["accounts"]
    )
    everything = json.dumps(env)
    for secret in ("ground_truth", "expected_instructions", "final_state_assertions", "solution"):
        assert secret not in everything
    assert "stderr line" in call["response"]["stderr"]


@pytest.mark.slow
def test_agent_that_crashes_is_a_failed_run_with_its_transactions_kept(tmp_path):
    done, results = reev_run(tmp_path, ["001-sol-transfer"], PY_AGENT, env={"REEV_TEST_EXIT": "3"})
    assert done.returncode == 1
    (result,) = results["results"]
    assert result["status"] == "Failed" and "exited with code 3" in result["error"]
    step = session(result)["steps"][0]
    assert len(step["transactions"]) == 1 and step["transactions"][0]["success"]  # still recorded


@needs_node
def test_preflight_rejections_count_as_failed_transactions(tmp_path):
    """A transaction that failed preflight never landed, but the agent sent it: it is recorded
    and scored as a failed transaction, as the embedded chain (no preflight) would have run it."""
    _, results = reev_run(tmp_path, ["003-spl-transfer-fail"], f"node {NODE_AGENT}")
    (result,) = results["results"]
    assert result["status"] == "Failed" and "exited with code 1" in result["error"]  # web3.js threw
    step = session(result)["steps"][0]
    (tx,) = step["transactions"]
    assert not tx["success"] and tx["error"].startswith("not executed (rejected before landing)")
    assert "insufficient funds" in tx["error"] and any(
        "insufficient funds" in line for line in tx["logs"]
    )
    assert (
        tx["fee"] == 0
        and tx["instructions"][0]["program_id"] == "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
    )
    assert result["breakdown"] == {"state": 1.0, "instruction": 0.75, "transaction": 0.0}


@pytest.mark.slow
def test_agent_cannot_use_cheat_codes_or_airdrops(tmp_path):
    """An agent under evaluation gets mainnet rules: surfnet_* and requestAirdrop do not exist."""
    script = tmp_path / "cheat.py"
    script.write_text(
        "import json, os, urllib.request\n"
        "def rpc(method, params):\n"
        "    body = json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': method, 'params': params}).encode()\n"
        "    request = urllib.request.Request(os.environ['REEV_RPC_URL'], body, {'content-type': 'application/json'})\n"
        "    return json.loads(urllib.request.urlopen(request).read())\n"
        "wallet = json.loads(os.environ['REEV_CONTEXT'])['wallet']\n"
        "print(json.dumps([rpc('surfnet_setAccount', [wallet, {'lamports': 10**12}]),\n"
        "                  rpc('requestAirdrop', [wallet, 10**12]), rpc('getBalance', [wallet])]))\n"
    )
    _, results = reev_run(
        tmp_path, ["001-sol-transfer"], f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"
    )
    (result,) = results["results"]
    answers = json.loads(session(result)["steps"][0]["model_calls"][0]["response"]["stdout"])
    assert answers[0]["error"]["code"] == -32601 and answers[1]["error"]["code"] == -32601
    assert answers[2]["result"]["value"] == 1_000_000_000
    assert not result["passed"]

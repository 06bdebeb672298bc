"""Episode mechanics: reproducibility, flows, timeouts, agent failures, no ground-truth leaks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from helpers.episodes import ScriptedAgent, run
from helpers.leak import HIDDEN, LEAK
from helpers.suite import benchmark, bundled
from reev.agents import DeterministicAgent
from reev.agents.base import Agent, AgentTask, ToolBox
from reev.runner import run_suite
from reev.spec import parse_benchmark

FLOW_YAML = """
id: test-flow
description: two steps on one chain
tags: [flow, t2]
prompt: Send 0.1 SOL to RECIPIENT_WALLET_PUBKEY twice.
initial_state:
  - {pubkey: USER_WALLET_PUBKEY, owner: "11111111111111111111111111111111", lamports: 1000000000}
flow:
  - step: 1
    prompt: Send 0.1 SOL to RECIPIENT_WALLET_PUBKEY.
    critical: true
    solution:
      - {tool: sol_transfer, args: {recipient: RECIPIENT_WALLET_PUBKEY, amount: "0.1"}}
      - {tool: submit_transaction}
  - step: 2
    prompt: Send another 0.1 SOL to RECIPIENT_WALLET_PUBKEY.
    solution:
      - {tool: sol_transfer, args: {recipient: RECIPIENT_WALLET_PUBKEY, amount: "0.1"}}
ground_truth:
  final_state_assertions:
    - {type: SolBalance, pubkey: RECIPIENT_WALLET_PUBKEY, expected: 200000000}
    # 1 SOL - 0.2 SOL - two transactions at 5000 lamports each
    - {type: SolBalance, pubkey: USER_WALLET_PUBKEY, expected: 799990000}
"""


@pytest.mark.slow
def test_same_seed_same_signatures_and_state(tmp_path):
    benches = list(bundled().values())
    a = asyncio.run(run_suite(benches, DeterministicAgent, seed=7, log_dir=tmp_path / "a"))
    b = asyncio.run(run_suite(benches, DeterministicAgent, seed=7, log_dir=tmp_path / "b"))
    c = asyncio.run(run_suite(benches, DeterministicAgent, seed=8, log_dir=tmp_path / "c"))
    assert [r.signatures for r in a.results] == [r.signatures for r in b.results]
    # Every benchmark that expects a transaction produced one (judgement tasks may send none).
    assert all(
        r.signatures
        for r, b in zip(a.results, benches, strict=True)
        if b.ground_truth.transaction_status == "Success"
    )

    def final_states(suite):
        out = []
        for r in suite.results:
            session = json.loads(Path(r.session_file).read_text())
            out.append((session["key_map"], session["state"]["final"]))
        return out

    assert final_states(a) == final_states(b)
    for (keys_a, _), (keys_c, _) in zip(final_states(a), final_states(c), strict=True):
        assert keys_a["USER_WALLET_PUBKEY"] != keys_c["USER_WALLET_PUBKEY"]
    assert [r.signatures for r in a.results] != [r.signatures for r in c.results]


def test_flow_steps_share_the_chain(tmp_path):
    bench = parse_benchmark(FLOW_YAML, "flow.yml").benchmark
    result, session = run(bench, DeterministicAgent(), tmp_path)
    assert result.passed, session.final_result.checks
    assert [s.step for s in session.steps] == [1, 2]
    # Step 2 sees the state step 1 left: the recipient already holds 0.1 SOL.
    recipient = session.key_map["RECIPIENT_WALLET_PUBKEY"]
    seen = {a.address: a.lamports for a in session.steps[1].observation.accounts}
    assert seen[recipient] == 100_000_000
    assert session.steps[1].observation.last_transaction.success
    # Step 2 left its transfer staged; the runner submitted it.
    assert session.steps[1].tool_calls[-1].auto


def test_failed_critical_step_skips_the_rest(tmp_path):
    bench = parse_benchmark(FLOW_YAML, "flow.yml").benchmark
    agent = ScriptedAgent(
        [
            [
                ("sol_transfer", {"recipient": "{RECIPIENT_WALLET_PUBKEY}", "amount": "5"}),
                ("submit_transaction", {}),
            ]
        ]
    )
    result, session = run(bench, agent, tmp_path)
    assert [s.status for s in session.steps] == ["completed", "skipped"]
    assert len(agent.seen_tasks) == 1
    assert not result.passed and result.status == "Completed"


class SlowAgent(Agent):
    name = "slow"

    async def run_step(self, task: AgentTask, tools: ToolBox, reference=None) -> None:
        await asyncio.sleep(30)


def test_step_timeout_is_recorded(tmp_path):
    source = FLOW_YAML.replace("critical: true\n", "critical: true\n    timeout: 0.05\n", 1)
    bench = parse_benchmark(source, "flow.yml").benchmark
    result, session = run(bench, SlowAgent(), tmp_path)
    assert result.status == "Timeout"
    assert session.steps[0].status == "timeout"
    assert "timed out" in result.error
    assert session.final_result.success is False and session.final_result.passed is False


def test_missing_solution_is_a_clear_error(tmp_path):
    source = FLOW_YAML.replace(
        '    solution:\n      - {tool: sol_transfer, args: {recipient: RECIPIENT_WALLET_PUBKEY, amount: "0.1"}}\n      - {tool: submit_transaction}\n',
        "",
        1,
    )
    bench = parse_benchmark(source, "flow.yml").benchmark
    result, _ = run(bench, DeterministicAgent(), tmp_path)
    assert result.status == "Failed"
    assert "no `solution`" in result.error and "test-flow" in result.error


def test_undeclared_mint_is_a_load_error_with_a_line(tmp_path):
    from reev.spec import BenchmarkError

    source = """
id: bad-mint
prompt: send tokens
initial_state:
  - {pubkey: USER_WALLET_PUBKEY, lamports: 1000000000}
  - pubkey: USER_ATA
    owner: TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA
    data: {mint: SOME_UNKNOWN_MINT, owner: USER_WALLET_PUBKEY, amount: 5}
solution: []
"""
    with pytest.raises(BenchmarkError) as info:
        parse_benchmark(source, "bad.yml")
    text = str(info.value)
    assert "declare it under `mints:`" in text and "bad.yml:" in text


def test_setup_problems_fail_the_episode_with_reason(tmp_path):
    source = """
id: bad-supply
prompt: send tokens
mints: [{address: MY_MINT, decimals: 0, supply: 3}]
initial_state:
  - {pubkey: USER_WALLET_PUBKEY, lamports: 1000000000}
  - pubkey: USER_ATA
    owner: TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA
    data: {mint: MY_MINT, owner: USER_WALLET_PUBKEY, amount: 5}
solution: []
"""
    bench = parse_benchmark(source, "bad.yml").benchmark
    result, session = run(bench, DeterministicAgent(), tmp_path)
    assert result.status == "Failed"
    assert "declared supply 3 is less than the 5" in result.error
    assert session.error == result.error


def test_ground_truth_never_reaches_a_non_oracle_agent(tmp_path):
    """The task and every tool result an agent sees carry no solution, assertion or expected
    instruction content that is not also in the user's request."""
    bench = parse_benchmark(LEAK, "leak.yml").benchmark
    agent = ScriptedAgent(
        [
            [
                ("get_wallet_overview", {}),
                ("get_balance", {"address": "{USER_WALLET_PUBKEY}"}),
                ("sol_transfer", {"recipient": "{RECIPIENT_WALLET_PUBKEY}", "amount": "0.1"}),
                ("submit_transaction", {}),
            ]
        ]
    )
    _, session = run(bench, agent, tmp_path)
    seen = json.dumps([t.model_dump(mode="json") for t in agent.seen_tasks]) + json.dumps(
        agent.seen_results
    )
    assert agent.seen_references == [None]
    forbidden = [
        *HIDDEN,
        session.key_map["HIDDEN_TARGET_ATA"],
        session.key_map["SECRET_SIDE_WALLET"],
        "solution",
        "ground_truth",
        "expected",
    ]
    for item in forbidden:
        assert item not in seen, item
    # What the request names is visible, with real addresses.
    assert session.key_map["RECIPIENT_WALLET_PUBKEY"] in agent.seen_tasks[0].prompt
    assert "RECIPIENT_WALLET_PUBKEY" not in agent.seen_tasks[0].prompt


def test_only_declared_signers_can_sign(tmp_path):
    """A transfer from a wallet the environment has no key for is refused before sending."""
    from solders.keypair import Keypair
    from solders.system_program import TransferParams, transfer

    from reev.chain.litesvm import LiteSVMChain

    chain = LiteSVMChain()
    payer, stranger = Keypair(), Keypair()
    ix = transfer(
        TransferParams(from_pubkey=stranger.pubkey(), to_pubkey=payer.pubkey(), lamports=1)
    )
    result = chain.send([ix], payer, [])
    assert not result.success and result.signature is None
    assert str(stranger.pubkey()) in result.error


def test_single_step_benchmarks_are_bounded_by_the_default_step_timeout(tmp_path):
    result, session = run(benchmark("001-sol-transfer"), SlowAgent(), tmp_path, step_timeout_s=0.05)
    assert result.status == "Timeout" and session.steps[0].status == "timeout"


def test_depends_on_skips_steps_whose_dependency_failed(tmp_path):
    source = FLOW_YAML.replace("critical: true\n", "critical: false\n", 1).replace(
        "  - step: 2\n", "  - step: 2\n    depends_on: [step_1_result]\n", 1
    )
    bench = parse_benchmark(source, "flow.yml").benchmark
    agent = ScriptedAgent(
        [
            [
                ("sol_transfer", {"recipient": "{RECIPIENT_WALLET_PUBKEY}", "amount": "5"}),
                ("submit_transaction", {}),
            ]
        ]
    )
    _, session = run(bench, agent, tmp_path)
    assert [s.status for s in session.steps] == ["completed", "skipped"]
    assert "depends on step 1" in session.steps[1].error


def test_agent_bugs_and_odd_arguments_are_recorded_not_fatal(tmp_path):
    class Crashy(Agent):
        name = "crashy"

        async def run_step(self, task, tools, reference=None):
            await tools.call("sol_transfer", {"recipient": b"bytes", "amount": "1"})
            raise KeyError("oops")

    result, session = run(benchmark("001-sol-transfer"), Crashy(), tmp_path)
    assert result.status == "Failed" and "agent crashed: KeyError" in result.error
    assert session.steps[0].tool_calls[0].args["recipient"] == "b'bytes'"


def test_invalid_execution_id_is_refused(tmp_path):
    with pytest.raises(ValueError, match="invalid execution id"):
        run(benchmark("001-sol-transfer"), DeterministicAgent(), tmp_path, execution_id="../../x")

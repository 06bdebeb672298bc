"""The original reev's 100-jup-swap-sol-usdc.yml, unchanged, passes offline: a scripted
OpenAI-compatible model (the real `openai` SDK over HTTP) calls `jupiter_swap` for 0.1 SOL → USDC
against the default market."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from helpers.fake_openai import FakeOpenAI, Reply, named_addresses, turns_so_far
from helpers.paths import ROOT
from reev.agents import AgentOptions, agent_factory
from reev.defi.market import MARKET_POOLS, market_pool_address
from reev.runner import run_suite
from reev.scoring.profiles import REEV_INSTRUCTION_WEIGHT, REEV_TRANSACTION_WEIGHT
from reev.spec import load_benchmark

# A byte-for-byte copy of the original file (MIT, its LICENSE beside it): tests must not depend
# on a folder outside the repository; where that folder exists the copy is checked against it.
ORIGINAL = Path(__file__).parent / "original" / "100-jup-swap-sol-usdc.yml"
SHARED = ROOT.parent / "shared" / "reev-benchmarks" / "100-jup-swap-sol-usdc.yml"
SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def swap_model(body: dict) -> Reply:
    turn, names = turns_so_far(body), named_addresses(body)
    if turn == 0:
        args = {
            "user_pubkey": names["USER_WALLET_PUBKEY"],
            "input_mint": SOL,
            "output_mint": USDC,
            "amount": "100000000",
            "slippage_bps": 50,
        }
        return Reply(tool_calls=[("jupiter_swap", args)])
    if turn == 1:
        return Reply(tool_calls=[("submit_transaction", {})])
    return Reply(content="Swapped 0.1 SOL for USDC.")


def test_the_copy_is_the_original_file() -> None:
    if not SHARED.exists():
        pytest.skip(f"the original corpus is not beside the repository ({SHARED.parent})")
    assert ORIGINAL.read_bytes() == SHARED.read_bytes()


@pytest.mark.parametrize("profile", ["verified", "reev"])
def test_original_100_passes_with_a_model_calling_jupiter_swap(tmp_path, profile) -> None:
    bench = load_benchmark(ORIGINAL).benchmark
    assert not bench.pools and bench.solution is None
    with FakeOpenAI(swap_model) as server:
        factory = agent_factory("local/scripted-model", AgentOptions(base_url=server.base_url))
        suite = asyncio.run(run_suite([bench], factory, log_dir=tmp_path, profile=profile))
        first_request = json.dumps(server.requests[0])
    result = suite.results[0]
    assert result.status == "Completed" and result.passed
    session = json.loads(Path(result.session_file).read_text())
    checks = {c["name"]: c for c in session["final_result"]["checks"]}

    # The default market's SOL/USDC pool: R_SOL = 10,000 SOL, R_USDC = 1,500,000 USDC, 30 bps.
    # fee = ceil(100,000,000 · 30 / 10,000) = 300,000; a' = 99,700,000
    # out = floor(99,700,000 · 1,500,000,000,000 / (10,000,000,000,000 + 99,700,000))
    r_sol, r_usdc, a = 10_000 * 10**9, 1_500_000 * 10**6, 100_000_000
    net = a - -(-a * 30 // 10_000)
    expected_usdc = net * r_usdc // (r_sol + net)
    assert expected_usdc == 14_954_850
    assert checks["TokenAccountBalance USER_USDC_ATA"]["actual"] == expected_usdc
    # 0.1 SOL and one 5000-lamport signature; the temporary wSOL account's rent comes back
    assert checks["SolBalanceChange USER_WALLET_PUBKEY"]["actual"] == -(a + 5000)

    # every assertion holds, the one transaction succeeded, no instruction is expected
    if profile == "verified":
        assert session["final_result"]["breakdown"] == {
            "state": 1.0,
            "instruction": None,
            "transaction": 1.0,
        }
        assert result.score == 1.0
    else:  # 0.75 × instruction (1.0: nothing expected) + 0.25 × transaction success
        assert result.score == pytest.approx(REEV_INSTRUCTION_WEIGHT + REEV_TRANSACTION_WEIGHT)
    # the pools were never named to the model before it used a tool
    for pool in MARKET_POOLS:
        assert str(market_pool_address(pool.name)) not in first_request

"""The `Chain` protocol over JSON-RPC (`RpcChain`) against a `reev chain serve` started here:
the whole bundled suite with the deterministic agent gives the same scores, statuses and
signatures as the embedded chain."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from helpers.suite import bundled
from reev.agents.deterministic import DeterministicAgent
from reev.chain.litesvm import LiteSVMChain
from reev.chain.rpc_backend import RpcChain
from reev.runner.episode import run_episode
from reev.runner.suite import episode_seed

SYSTEM = Pubkey.from_string("11111111111111111111111111111111")


@pytest.fixture(scope="module")
def empty_chain(tmp_path_factory) -> Iterator[str]:
    """`reev chain serve` with no benchmark: an empty chain episodes set up themselves."""
    process = subprocess.Popen(
        [sys.executable, "-m", "reev.cli", "chain", "serve", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path_factory.mktemp("serve"),
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["benchmark_id"] is None and "wallet" not in info
        yield info["rpc_url"]
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


@pytest.mark.slow
def test_whole_suite_same_on_rpc_and_embedded(empty_chain):
    differences = []
    # `lend` benchmarks need reev Lend's default market, which only the embedded chain gets
    # (docs/lending.md); over RPC their share accounts are a SetupError, as on a fork.
    suite = {i: b for i, b in bundled().items() if "lend" not in b.tags}
    assert 0 < len(suite) < len(bundled())
    for benchmark_id, bench in sorted(suite.items()):
        seed = episode_seed(0, benchmark_id, 0)
        embedded = asyncio.run(run_episode(bench, DeterministicAgent(), seed=seed, log_dir=None))
        over_rpc = asyncio.run(
            run_episode(
                bench,
                DeterministicAgent(),
                seed=seed,
                log_dir=None,
                chain_factory=lambda: RpcChain(empty_chain, reset=True),
            )
        )
        a = (
            embedded.status,
            embedded.score,
            embedded.passed,
            embedded.breakdown,
            embedded.signatures,
        )
        b = (
            over_rpc.status,
            over_rpc.score,
            over_rpc.passed,
            over_rpc.breakdown,
            over_rpc.signatures,
        )
        if a != b:
            differences.append((benchmark_id, a, b, over_rpc.error))
    assert not differences, differences[:3]


def test_rpc_chain_operations_match_litesvm(empty_chain):
    rpc = RpcChain(empty_chain, reset=True)
    local = LiteSVMChain()
    payer, to = Keypair.from_seed(bytes(range(32))), Pubkey.new_unique()
    for chain in (rpc, local):
        chain.set_account(payer.pubkey(), Account(2_000_000_000, b"", SYSTEM, False, 0))
        assert chain.get_account(payer.pubkey()).lamports == 2_000_000_000
        assert chain.get_account(to) is None
        assert chain.rent_exempt_minimum(165) == 2_039_280
    outcomes = []
    for chain in (rpc, local):
        ok = chain.send(
            [
                transfer(
                    TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=1_000_000_000)
                )
            ],
            payer,
            [],
        )
        too_much = chain.send(
            [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=10**12))],
            payer,
            [],
        )
        stranger = Keypair.from_seed(
            bytes([7] * 32)
        )  # no account: cannot pay the fee, nothing lands
        unpaid = chain.send(
            [transfer(TransferParams(from_pubkey=stranger.pubkey(), to_pubkey=to, lamports=1))],
            stranger,
            [],
        )
        unsigned = chain.send(
            [transfer(TransferParams(from_pubkey=to, to_pubkey=payer.pubkey(), lamports=1))],
            payer,
            [],
        )
        outcomes.append(
            [
                (t.signature, t.success, t.error, t.fee, t.logs)
                for t in (ok, too_much, unpaid, unsigned)
            ]
        )
        # A failing transfer lands and pays its fee, as on the embedded chain.
        assert (
            chain.get_account(payer.pubkey()).lamports == 2_000_000_000 - 1_000_000_000 - 2 * 5_000
        )
    # LiteSVM reports the fee a rejected transaction would have paid; the RPC reports none was.
    assert outcomes[1][2][3] == 5_000 and outcomes[0][2][3] == 0
    outcomes[1][2] = (*outcomes[1][2][:3], 0, *outcomes[1][2][4:])
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][1][2].startswith("instruction 0 (11111111111111111111111111111111) failed")
    assert [a for a, _ in rpc.accounts_owned_by(SYSTEM)] and rpc.epoch == local.epoch
    assert rpc.advance_epochs(2) == local.advance_epochs(2)

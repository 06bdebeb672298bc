"""getRecentPerformanceSamples (solana-agent-kit's GET_TPS asks for it): Agave's shape, parsed
by solana-py (solders' `RpcPerfSample`), and the node's kept blocks as one 60-second sample."""

from __future__ import annotations

import asyncio

import base58
import pytest
from solana.rpc.async_api import AsyncClient
from solders.hash import Hash

from helpers.rpc import call
from test_rpc import SOL, serve, transfer_tx


@pytest.mark.slow  # two transfers and a solana-py client: ~2 s on the shared machine
def test_one_sample_of_the_kept_blocks_with_their_transactions():
    with serve("001-sol-transfer") as s:
        (fresh,) = call(s.url, "getRecentPerformanceSamples")["result"]
        # One sample over the blocks getRecentPrioritizationFees reports one entry each for.
        blocks = call(s.url, "getRecentPrioritizationFees")["result"]
        assert fresh == {
            "slot": call(s.url, "getSlot")["result"],
            "numTransactions": 0,
            "numNonVoteTransactions": 0,
            "numSlots": len(blocks),
            "samplePeriodSecs": 60,
        }
        recipient = s.address("RECIPIENT_WALLET_PUBKEY")
        sent = 2
        for _ in range(sent):
            blockhash = call(s.url, "getLatestBlockhash")["result"]["value"]["blockhash"]
            tx = transfer_tx(s.user, recipient, SOL // 100, Hash.from_string(blockhash))
            answer = call(s.url, "sendTransaction", [base58.b58encode(bytes(tx)).decode()])
            assert "result" in answer, answer

        async def parsed() -> list:
            async with AsyncClient(s.url) as client:
                return (await client.get_recent_performance_samples()).value

        (sample,) = asyncio.run(parsed())
        blocks = call(s.url, "getRecentPrioritizationFees")["result"]
        assert sample.num_transactions == sent and sample.num_non_vote_transactions == sent
        assert sample.num_slots == len(blocks) and sample.slot == blocks[-1]["slot"]
        assert sample.sample_period_secs == 60


def test_limit():
    with serve("001-sol-transfer") as s:
        assert call(s.url, "getRecentPerformanceSamples", [0])["result"] == []
        assert len(call(s.url, "getRecentPerformanceSamples", [720])["result"]) == 1
        too_many = call(s.url, "getRecentPerformanceSamples", [721])["error"]
        assert too_many == {"code": -32602, "message": "Invalid params: Invalid limit; max 720"}
        wrong = call(s.url, "getRecentPerformanceSamples", ["ten"])["error"]
        assert wrong["code"] == -32602 and "expected u64 (limit)" in wrong["message"]

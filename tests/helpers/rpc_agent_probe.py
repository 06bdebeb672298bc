"""A Python agent for `reev run --agent-cmd`: prints what it was given (minus the keypair) and,
unless REEV_TEST_NO_SEND is set, sends the 0.1 SOL transfer of 001-sol-transfer with solana-py.
REEV_TEST_EXIT sets its exit code."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction


async def main() -> int:
    env = {k: v for k, v in os.environ.items() if k.startswith("REEV_") and k != "REEV_KEYPAIR"}
    secret = json.loads(Path(os.environ["REEV_KEYPAIR"]).read_text())
    print(json.dumps({"env": env, "keypair_len": len(secret)}))
    if not os.environ.get("REEV_TEST_NO_SEND"):
        user = Keypair.from_bytes(bytes(secret))
        context = json.loads(os.environ["REEV_CONTEXT"])
        recipient = Pubkey.from_string(context["key_map"]["RECIPIENT_WALLET_PUBKEY"])
        amount = re.search(r"send ([0-9.]+) SOL", os.environ["REEV_PROMPT"])
        assert amount is not None
        lamports = int(float(amount.group(1)) * 1_000_000_000)
        async with AsyncClient(os.environ["REEV_RPC_URL"]) as client:
            latest = (await client.get_latest_blockhash()).value
            ix = transfer(
                TransferParams(from_pubkey=user.pubkey(), to_pubkey=recipient, lamports=lamports)
            )
            tx = VersionedTransaction(
                Message.new_with_blockhash([ix], user.pubkey(), latest.blockhash), [user]
            )
            sig = (await client.send_transaction(tx)).value
            await client.confirm_transaction(sig, "confirmed", sleep_seconds=0.05)
            print(f"confirmed {sig}")
    print("stderr line", file=sys.stderr)
    return int(os.environ.get("REEV_TEST_EXIT", "0"))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

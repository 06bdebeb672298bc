"""A minimal agent for `reev run --agent-cmd "python examples/agent.py"` (docs/rpc.md).

It does what any program given to `--agent-cmd` does: read the request from `REEV_PROMPT` (with real
addresses), sign with the wallet in `REEV_KEYPAIR`, and send its
transaction to the episode's chain at `REEV_RPC_URL` over plain Solana JSON-RPC. It only knows
SOL transfers ("send 0.1 SOL to <address or name>"): on any other request it says so on stderr
and exits 1, which reev reports as the episode's error with these stderr lines.

    reev run benchmarks/001-sol-transfer.yml --agent-cmd "python examples/agent.py"

It needs nothing beyond reev's own dependencies (solana-py, solders).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from decimal import Decimal
from pathlib import Path

from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

LAMPORTS_PER_SOL = 1_000_000_000
# "send 0.1 SOL ... to the recipient (<address>)": the amount, then the last address after "to".
AMOUNT = re.compile(r"send ([0-9]+(?:\.[0-9]+)?) SOL\b", re.IGNORECASE)
ADDRESS = re.compile(r"[1-9A-HJ-NP-Za-km-z]{32,44}")


async def main() -> int:
    prompt = os.environ["REEV_PROMPT"]
    amount_match = AMOUNT.search(prompt)
    to = prompt.rsplit(" to ", 1)[-1] if amount_match else ""
    addresses = ADDRESS.findall(to)
    if amount_match is None or not addresses:
        print(f"examples/agent.py only sends SOL; cannot do: {prompt[:200]}", file=sys.stderr)
        return 1
    amount = amount_match.group(1)
    recipient = Pubkey.from_string(addresses[-1])
    lamports = int(Decimal(amount) * LAMPORTS_PER_SOL)
    user = Keypair.from_bytes(bytes(json.loads(Path(os.environ["REEV_KEYPAIR"]).read_text())))
    instruction = transfer(
        TransferParams(from_pubkey=user.pubkey(), to_pubkey=recipient, lamports=lamports)
    )
    async with AsyncClient(os.environ["REEV_RPC_URL"]) as client:
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        tx = VersionedTransaction(
            Message.new_with_blockhash([instruction], user.pubkey(), blockhash), [user]
        )
        signature = (await client.send_transaction(tx)).value
        await client.confirm_transaction(signature, "confirmed", sleep_seconds=0.05)
    print(f"sent {amount} SOL to {recipient}: {signature}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

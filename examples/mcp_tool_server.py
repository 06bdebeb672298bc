"""An MCP tool server for Solana, to use with `reev run --mcp-server` (docs/mcp.md).

Written with the official `mcp` SDK, as a third-party server would be: its tools build real
transactions with solders / solana-py, sign them with the keypair at `REEV_KEYPAIR` and send
them to `REEV_RPC_URL`, the episode's chain. reev starts it per step and scores what it sent:

    reev run benchmarks/001-sol-transfer.yml benchmarks/002-spl-transfer.yml \
        --agent openai/gpt-4.1 --mcp-server "python examples/mcp_tool_server.py"

It speaks MCP on stdio.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from solana.rpc.async_api import AsyncClient
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.token.instructions import transfer as token_transfer
from spl.token.models import TransferParams as TokenTransferParams

TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
LAMPORTS_PER_SOL = 1_000_000_000


def _wallet() -> Keypair:
    return Keypair.from_bytes(bytes(json.loads(Path(os.environ["REEV_KEYPAIR"]).read_text())))


async def _send(instruction: Instruction) -> dict[str, Any]:
    user = _wallet()
    async with AsyncClient(os.environ["REEV_RPC_URL"]) as client:
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        message = Message.new_with_blockhash([instruction], user.pubkey(), blockhash)
        sent = await client.send_raw_transaction(bytes(VersionedTransaction(message, [user])))
        return {"signature": str(sent.value)}


server = MCPServer("reev-example-solana-tools")


@server.tool()
async def send_sol(recipient: str, amount_sol: str) -> dict[str, Any]:
    """Send SOL from your wallet to a recipient address; amount in SOL (e.g. "0.1")."""
    lamports = int(Decimal(amount_sol) * LAMPORTS_PER_SOL)
    user = _wallet().pubkey()
    return await _send(
        transfer(
            TransferParams(
                from_pubkey=user, to_pubkey=Pubkey.from_string(recipient), lamports=lamports
            )
        )
    )


@server.tool()
async def send_token(source: str, destination: str, amount_base_units: int) -> dict[str, Any]:
    """Move SPL tokens between token accounts you own (amount in base units)."""
    user = _wallet().pubkey()
    return await _send(
        token_transfer(
            TokenTransferParams(
                program_id=TOKEN_PROGRAM,
                source=Pubkey.from_string(source),
                dest=Pubkey.from_string(destination),
                owner=user,
                amount=amount_base_units,
            )
        )
    )


@server.tool()
async def wallet_balance() -> dict[str, Any]:
    """Your wallet's address and SOL balance in lamports."""
    user = _wallet().pubkey()
    async with AsyncClient(os.environ["REEV_RPC_URL"]) as client:
        return {"wallet": str(user), "lamports": (await client.get_balance(user)).value}


if __name__ == "__main__":
    server.run()

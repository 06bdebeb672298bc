"""A Solana MCP tool server for the tests of `reev run --mcp-server` (official `mcp` SDK).

Its tools build real transactions with solders / solana-py and send them to the episode's
chain at `REEV_RPC_URL`, signed with the keypair at `REEV_KEYPAIR`, as a third-party server
would. `--mode` makes it misbehave: `crash` (exits at start, saying why on stderr), `hang`
(never answers), `malformed` (lists a tool whose input schema has a property that is not a schema).

Run as `python tests/helpers/mcp_tool_server.py [--mode MODE]`; it speaks MCP on stdio.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
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


server = MCPServer("test-solana-tools")


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


def _malformed() -> None:
    """A server that speaks the protocol by hand, as a buggy one in another language might:
    its tool's schema has a property that is not a schema (the SDK's own server would refuse
    to send it)."""
    for line in sys.stdin:
        request = json.loads(line)
        if "id" not in request:
            continue  # a notification
        method = request["method"]
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request["id"]}
        if method == "initialize":
            reply["result"] = {
                "protocolVersion": request["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "malformed", "version": "0"},
            }
        elif method == "tools/list":
            schema = {"type": "object", "properties": {"amount": 5}}
            reply["result"] = {"tools": [{"name": "bad_tool", "inputSchema": schema}]}
        else:
            reply["error"] = {"code": -32601, "message": f"no method {method}"}
        print(json.dumps(reply), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["ok", "crash", "hang", "malformed"], default="ok")
    mode = parser.parse_args().mode
    if mode == "crash":
        print("test server: no wallet configured, giving up", file=sys.stderr)
        sys.exit(3)
    if mode == "hang":
        time.sleep(3600)
    if mode == "malformed":
        _malformed()
        return
    server.run()


if __name__ == "__main__":
    main()

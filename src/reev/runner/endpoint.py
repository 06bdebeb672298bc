"""The chain endpoint the runner serves to an `EndpointAgent` (`--agent-cmd`) for one step.

The agent never holds the chain: the runner wraps the episode's chain in a `ChainNode`, serves it
on a free loopback port without cheat codes or airdrops (only the agent's transactions change
the chain, as on mainnet), writes the user's keypair to a file only the owner can read, and
stops the server and deletes the file when the step ends. Every transaction a client sent with
sendTransaction (landed, or rejected by preflight; once per signature) is turned into reev's
`TxResult` here, to be recorded, traced and scored like one sent through a tool.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import base58
from solders.keypair import Keypair

from reev.agents.base import AgentEndpoint, AgentError
from reev.chain.errors import describe_error
from reev.chain.instructions import AccountMetaRecord, InstructionRecord
from reev.chain.litesvm import LiteSVMChain
from reev.chain.protocol import Chain, TxResult
from reev.rpc.history import Submission
from reev.rpc.node import ChainNode
from reev.rpc.serve import serving, write_keypair

LOOPBACK = "127.0.0.1"  # the agent runs on this machine; nothing else should reach its chain


@dataclass
class ServedEndpoint:
    """The node behind an agent's endpoint, for the runner to read once the step is over."""

    node: ChainNode
    endpoint: AgentEndpoint

    def transactions(self) -> list[TxResult]:
        """What the agent sent, in the order it first sent each signature."""
        with self.node.lock:
            submissions = list(self.node.submissions.values())
        return [tx_result(self.node, submission) for submission in submissions]


@contextlib.asynccontextmanager
async def serve_endpoint(chain: Chain, user: Keypair) -> AsyncIterator[ServedEndpoint]:
    """Serve `chain` for one step of an endpoint agent acting as `user`."""
    if not isinstance(chain, LiteSVMChain):
        raise AgentError("--agent-cmd runs only on reev's embedded chain")
    chain.keep_vm()  # the node drives the VM itself: make it exact, never reuse it
    node = ChainNode(chain)
    calls: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="reev-agent-") as workdir:
        keypair = write_keypair(Path(workdir) / "user.json", user)
        async with serving(node, host=LOOPBACK, on_call=calls.append, cheat_codes=False) as (
            rpc_url,
            ws_url,
        ):
            endpoint = AgentEndpoint(
                rpc_url=rpc_url,
                ws_url=ws_url,
                keypair_path=keypair,
                env={
                    "REEV_RPC_URL": rpc_url,
                    "REEV_WS_URL": ws_url,
                    "REEV_JUPITER_URL": f"{rpc_url}/swap/v1",
                    "REEV_JUPITER_LEND_URL": f"{rpc_url}/lend/v1",
                    "REEV_KEYPAIR": str(keypair),
                },
                rpc_calls=calls,
            )
            yield ServedEndpoint(node, endpoint)


def instruction_records(node: ChainNode, submission: Submission) -> list[InstructionRecord]:
    """The transaction's instructions in reev's contract. Signer and writable flags are the
    message's (what the runtime grants each instruction): the fee payer, for one, is always a
    writable signer in a compiled transaction."""
    message = submission.transaction.message
    if submission.record is not None:
        keys, writable = submission.record.account_keys, submission.record.writable
    else:
        keys, writable, _, _ = node.account_keys(message)
    signed = message.header.num_required_signatures
    records = []
    for ix in message.instructions:
        accounts = [
            AccountMetaRecord(pubkey=str(keys[i]), is_signer=i < signed, is_writable=writable[i])
            for i in bytes(ix.accounts)
            if i < len(keys)
        ]
        program = str(keys[ix.program_id_index]) if ix.program_id_index < len(keys) else "?"
        records.append(
            InstructionRecord(
                program_id=program,
                accounts=accounts,
                data=base58.b58encode(bytes(ix.data)).decode(),
            )
        )
    return records


def tx_result(node: ChainNode, submission: Submission) -> TxResult:
    """A sent transaction as reev records and scores it."""
    instructions = instruction_records(node, submission)
    record = submission.record
    error = None
    if submission.err is not None:
        error = describe_error(submission.err, [ix.program_id for ix in instructions])
        if record is None:
            error = f"not executed (rejected before landing): {error}"
    return TxResult(
        signature=str(submission.signature),
        success=record is not None and record.err is None,
        error=error,
        logs=list(submission.logs),
        compute_units=record.compute_units if record else submission.units_consumed,
        fee=record.fee if record else 0,
        instructions=instructions,
    )

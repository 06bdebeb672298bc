"""What a validator remembers and LiteSVM does not: blocks, signature statuses, history.

Each landed transaction is kept as a `TxRecord` (status, fee, balances before and after, token
balances, logs, inner instructions), indexed by every account it loads; each block keeps the
accounts its transactions wrote and their compute-unit prices (getRecentPrioritizationFees);
every transaction a client sent with sendTransaction is a `Submission`, landed or not (what
`--agent-cmd` records). The `ChainNode` fills the history under its lock; reading it needs the
same lock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import base58
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import TransactionMetadata
from solders.transaction_status import (
    TransactionReturnData,
    UiCompiledInstruction,
    UiInnerInstructions,
    UiTransactionTokenBalance,
)

from reev.constants import COMPUTE_BUDGET_PROGRAM, MEMO_PROGRAM, MEMO_V1_PROGRAM

MAX_PROCESSING_AGE = 150  # blocks a blockhash stays valid for, as on every cluster
MEMO_PROGRAMS = {MEMO_PROGRAM, MEMO_V1_PROGRAM}


@dataclass
class TxRecord:
    """A landed transaction, as getTransaction / getSignatureStatuses report it."""

    signature: Signature
    slot: int
    block_time: int
    index: int
    transaction: VersionedTransaction
    err: Any  # a solders TransactionError, or None
    fee: int
    account_keys: list[Pubkey]
    writable: list[bool]
    loaded_writable: list[Pubkey]
    loaded_readonly: list[Pubkey]
    pre_balances: list[int]
    post_balances: list[int]
    pre_token_balances: list[UiTransactionTokenBalance]
    post_token_balances: list[UiTransactionTokenBalance]
    logs: list[str]
    inner_instructions: list[UiInnerInstructions]
    compute_units: int
    return_data: TransactionReturnData | None
    memo: str | None
    compute_unit_price: int = 0


@dataclass
class Block:
    slot: int
    # (write-locked accounts, compute-unit price in micro-lamports) of each transaction in it
    transactions: list[tuple[frozenset[Pubkey], int]] = field(default_factory=list)


@dataclass
class Submission:
    """A transaction a client sent with sendTransaction, landed or not (one per signature)."""

    signature: Signature
    transaction: VersionedTransaction
    record: TxRecord | None = None  # set when it landed
    err: Any = None  # why it failed: preflight, dropped, or on chain
    logs: list[str] = field(default_factory=list)
    units_consumed: int = 0


def compiled_to_ui(inner: list[list[Any]]) -> list[UiInnerInstructions]:
    out = []
    for index, instructions in enumerate(inner):
        if not instructions:
            continue
        out.append(
            UiInnerInstructions(
                index,
                [
                    UiCompiledInstruction(
                        compiled.program_id_index,
                        bytes(compiled.accounts),
                        base58.b58encode(bytes(compiled.data)).decode(),
                        item.stack_height(),
                    )
                    for item in instructions
                    for compiled in (item.instruction(),)  # methods in solders' InnerInstruction
                ],
            )
        )
    return out


def return_data(meta: TransactionMetadata) -> TransactionReturnData | None:
    data = meta.return_data()
    return data if data is not None and len(bytes(data.data)) > 0 else None


def compute_budget(message: Any, keys: list[Pubkey]) -> tuple[int | None, int]:
    """(compute-unit limit if set, compute-unit price in micro-lamports) of a message."""
    limit: int | None = None
    price = 0
    for ix in message.instructions:
        if ix.program_id_index >= len(keys) or keys[ix.program_id_index] != COMPUTE_BUDGET_PROGRAM:
            continue
        data = bytes(ix.data)
        if len(data) >= 5 and data[0] == 2:
            limit = int.from_bytes(data[1:5], "little")
        elif len(data) >= 9 and data[0] == 3:
            price = int.from_bytes(data[1:9], "little")
    return limit, price


def memo_of(message: Any, keys: list[Pubkey]) -> str | None:
    """getSignaturesForAddress' `memo`: `[length] text` for each memo instruction, `; `-joined."""
    memos = []
    for ix in message.instructions:
        if ix.program_id_index < len(keys) and keys[ix.program_id_index] in MEMO_PROGRAMS:
            data = bytes(ix.data)
            memos.append(f"[{len(data)}] {data.decode('utf-8', errors='replace')}")
    return "; ".join(memos) if memos else None


class History:
    """The node's memory of landed transactions, blocks and submissions."""

    def __init__(self, slot: int) -> None:
        self.records: dict[Signature, TxRecord] = {}
        self.transaction_count = 0
        self.submissions: dict[Signature, Submission] = {}  # sendTransaction, in order
        self._by_address: dict[Pubkey, list[Signature]] = {}
        # The blocks a blockhash can still be valid for: enough for getRecentPrioritizationFees.
        self.blocks: deque[Block] = deque([Block(slot)], maxlen=MAX_PROCESSING_AGE)

    def add(self, record: TxRecord, written: frozenset[Pubkey]) -> None:
        """A transaction landed in the current block."""
        self.records[record.signature] = record
        self.transaction_count += 1
        for key in dict.fromkeys(record.account_keys):
            self._by_address.setdefault(key, []).append(record.signature)
        self.blocks[-1].transactions.append((written, record.compute_unit_price))

    def new_block(self, slot: int) -> None:
        self.blocks.append(Block(slot))

    def signatures_for(
        self, address: Pubkey, *, limit: int, before: Signature | None, until: Signature | None
    ) -> list[TxRecord]:
        """getSignaturesForAddress: newest first, after `before`, up to (not including) `until`."""
        newest_first = list(reversed(self._by_address.get(address, [])))
        if before is not None:
            if before in newest_first:
                newest_first = newest_first[newest_first.index(before) + 1 :]
            else:
                newest_first = []
        out = []
        for signature in newest_first:
            if signature == until:
                break
            out.append(self.records[signature])
            if len(out) >= limit:
                break
        return out

    def performance_sample(self) -> tuple[int, int, int]:
        """(last slot, slots, transactions) of the kept blocks: getRecentPerformanceSamples'
        one sample (150 blocks of 400 ms are Agave's 60-second sample period)."""
        return (
            self.blocks[-1].slot,
            len(self.blocks),
            sum(len(block.transactions) for block in self.blocks),
        )

    def prioritization_fees(self, accounts: list[Pubkey]) -> list[dict[str, int]]:
        """Per kept block, the lowest compute-unit price paid by a transaction writing one of
        `accounts` (any transaction when none are given); 0 for a block without one."""
        wanted = set(accounts)
        out = []
        for block in list(self.blocks):
            prices = [
                price for written, price in block.transactions if not wanted or (written & wanted)
            ]
            out.append({"slot": block.slot, "prioritizationFee": min(prices) if prices else 0})
        return out

"""The `Chain` protocol: the only thing the runner, tools and scorer know about a chain.

The embedded LiteSVM backend implements it today; an RPC backend (surfpool, `reev chain serve`)
can implement the same five operations without the rest of reev changing.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from reev.chain.instructions import InstructionRecord


class TxResult(BaseModel):
    """The outcome of one submitted transaction."""

    signature: str | None
    success: bool
    error: str | None = None
    logs: list[str] = Field(default_factory=list)
    compute_units: int = 0
    fee: int = 0
    instructions: list[InstructionRecord] = Field(default_factory=list)


class Chain(Protocol):
    def get_account(self, address: Pubkey) -> Account | None: ...

    def set_account(self, address: Pubkey, account: Account) -> None: ...

    def rent_exempt_minimum(self, data_len: int) -> int: ...

    def send(
        self, instructions: list[Instruction], payer: Keypair, signers: list[Keypair]
    ) -> TxResult:
        """Execute the instructions as one transaction paid by `payer`."""
        ...

    def accounts_owned_by(self, program: Pubkey) -> list[tuple[Pubkey, Account]]: ...

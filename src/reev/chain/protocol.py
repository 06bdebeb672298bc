"""The `Chain` protocol: the only thing the runner, tools and scorer know about a chain.

The embedded LiteSVM backend and the RPC backend (surfpool, `reev chain serve`) implement the
same five operations, so the rest of reev does not change with the backend. What only some
chains can do is a protocol of its own, checked with `isinstance` where it is optional:
`TimeTravel` (move the clock: stake warm-up and cool-down, the set-up of stake accounts that are
already active) and `Forked` (a chain that loads missing accounts from a snapshot or an
upstream RPC, and reports where they came from).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic import BaseModel, Field
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from reev.chain.instructions import InstructionRecord

if TYPE_CHECKING:
    from reev.chain.fork import AccountSource, SnapshotEntry


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


@runtime_checkable
class Releasable(Protocol):
    """A chain whose VM can be reused once the episode is over (`reev.chain.vm_pool`)."""

    def release(self) -> None:
        """The episode is done with the chain: nothing may use it afterwards."""
        ...


@runtime_checkable
class TimeTravel(Protocol):
    """A chain whose clock can be moved. Moving forward records every epoch boundary passed
    (stake history, vote accounts' epoch stakes) as a validator would."""

    def warp_to_slot(self, slot: int) -> None: ...

    def advance_epochs(self, epochs: int) -> int:
        """Move to the first slot of the epoch `epochs` ahead; returns the new epoch."""
        ...


@runtime_checkable
class Forked(Protocol):
    """A chain that may be a fork: `source` is where missing accounts come from (None when the
    chain is not a fork), `forked` what was loaded from it, in order (session files)."""

    source: AccountSource | None
    forked: list[SnapshotEntry]

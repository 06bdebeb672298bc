"""Wrapped-SOL instruction builders: the `wrap_sol`/`unwrap_sol` tools, the swap router and the
lending Earn plans all wrap and unwrap the same way, so they share these (below tools/ and defi/,
which both use them)."""

from __future__ import annotations

from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from spl.token.instructions import close_account, get_associated_token_address, sync_native
from spl.token.models import CloseAccountParams, SyncNativeParams

from reev.constants import NATIVE_MINT, TOKEN_PROGRAM


def wrap_instructions(wallet: Pubkey, ata: Pubkey, lamports: int) -> list[Instruction]:
    """Move `lamports` from the wallet into its wSOL account and sync the token balance."""
    return [
        transfer(TransferParams(from_pubkey=wallet, to_pubkey=ata, lamports=lamports)),
        sync_native(SyncNativeParams(program_id=TOKEN_PROGRAM, account=ata)),
    ]


def unwrap_instruction(wallet: Pubkey) -> Instruction:
    """Close the wallet's associated wSOL account: its balance and rent return as SOL."""
    ata = get_associated_token_address(wallet, NATIVE_MINT, TOKEN_PROGRAM)
    return close_account(
        CloseAccountParams(program_id=TOKEN_PROGRAM, account=ata, dest=wallet, owner=wallet)
    )

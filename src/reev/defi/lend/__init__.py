"""reev Lend from Python: its accounts, PDAs and error codes (`layout`) and a reference model
of its integer math (`model`). The interface is docs/lending.md."""

from reev.defi.lend.layout import (
    JL_SOL_MINT,
    JL_USDC_MINT,
    LEND_PROGRAM_ID,
    LendError,
    MarketState,
    ObligationState,
    OracleState,
    ReserveConfig,
    ReserveState,
    obligation_address,
    reserve_authority,
    vault_address,
)
from reev.defi.lend.model import LendingModel, LendModelError

__all__ = [
    "JL_SOL_MINT",
    "JL_USDC_MINT",
    "LEND_PROGRAM_ID",
    "LendError",
    "LendModelError",
    "LendingModel",
    "MarketState",
    "ObligationState",
    "OracleState",
    "ReserveConfig",
    "ReserveState",
    "obligation_address",
    "reserve_authority",
    "vault_address",
]

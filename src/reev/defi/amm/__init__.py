"""The reev AMM (constant product) from Python: its account layout (`layout`), its instruction
builders (`instructions`) and a reference model of its integer math (`model`). The interface is
docs/programs.md."""

from reev.defi.amm.layout import (
    AMM_PROGRAM_ID,
    POOL_DISCRIMINATOR,
    POOL_LEN,
    AmmError,
    PoolState,
    lp_mint_address,
    order_mints,
    pool_authority,
    vault_address,
)

__all__ = [
    "AMM_PROGRAM_ID",
    "POOL_DISCRIMINATOR",
    "POOL_LEN",
    "AmmError",
    "PoolState",
    "lp_mint_address",
    "order_mints",
    "pool_authority",
    "vault_address",
]
